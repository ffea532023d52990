"""JSON answers serialised once, with orjson, for routes on hot paths."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class OrjsonResponse(JSONResponse):
    """A JSON answer rendered by orjson.

    A route that returns this skips FastAPI's serialisation of its return value (a
    ``dict[str, Any]`` annotation is validated and encoded again on every answer). Bodies that
    orjson refuses (integers beyond 64 bits in a stored payload) are rendered by the standard
    library, as ``JSONResponse`` does.
    """

    def render(self, content: Any) -> bytes:
        """The body as compact UTF-8 JSON."""
        try:
            return orjson.dumps(content)
        except TypeError:
            return super().render(content)
