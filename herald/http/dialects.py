"""The error envelopes of the dialects: under a path prefix, errors take another API's shape.

Herald answers every error in API.md's shape, except on the routes of a foreign dialect,
which its clients expect in that API's envelope (seed 002's ``{"status": "error", ...}``).
A dialect names its prefix and a renderer; the one error handler and the body-limit
middleware both ask ``DialectErrors`` which renderer a request's path calls for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from starlette.responses import Response
from starlette.types import Scope

from herald.errors import HeraldError

ErrorRenderer = Callable[[HeraldError, int, Scope], Response]
"""(the error, the HTTP status to answer with, the request's scope) → the answer."""


@dataclass(frozen=True)
class DialectErrors:
    """Renderers by path prefix (``/kazoo/v2/``); the longest matching prefix wins."""

    renderers: Mapping[str, ErrorRenderer] = field(default_factory=dict)

    def renderer_for(self, path: str) -> ErrorRenderer | None:
        """The renderer of the dialect serving ``path``, if any."""
        matching = [prefix for prefix in self.renderers if path.startswith(prefix)]
        return self.renderers[max(matching, key=len)] if matching else None

    def owns(self, path: str) -> bool:
        """Whether a dialect serves ``path`` (it then reads its own content types)."""
        return self.renderer_for(path) is not None
