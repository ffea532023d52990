"""Strict undefined values that report every missing field, not only the first.

``StrictUndefined`` raises on the first use of a missing variable, so a template with
three missing fields would take three attempts to fix. ``MissingValue`` is as strict --
printing, iterating, testing, comparing or computing with it is an error, only
``is defined`` and ``|default`` are allowed -- but it records
the use and lets the render go on as if the value were empty; the renderer then raises
``MissingPersonalisation`` naming everything recorded. Output produced after such a
use is never returned.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jinja2 import Undefined, UndefinedError
from jinja2.utils import missing

from herald.errors import ErrorDetail, MissingPersonalisation, json_pointer
from herald.templates.limits import PathPart, RenderState, current_state


class MissingValue(Undefined):
    """A missing variable or attribute; using it records its path in the render state."""

    __slots__ = ()

    def path(self, state: RenderState | None) -> tuple[PathPart, ...]:
        """The path of this value from the context root, e.g. ``("user", "first_name")``."""
        name = self._undefined_name if self._undefined_name is not None else "?"
        parent = self._undefined_obj
        if isinstance(parent, MissingValue):
            return (*parent.path(state), name)
        if parent is missing or state is None:
            return (name,)
        return (*(state.path_of(parent) or ()), name)

    def _record(self) -> None:
        state = current_state()
        if state is None:  # outside a render, e.g. constant folding while compiling
            raise UndefinedError(f"{dotted(self.path(None))} is undefined")
        state.missing[self.path(state)] = None

    def _use(self, *args: Any, **kwargs: Any) -> MissingValue:
        """Any operation on a missing value: record it, and yield another missing value."""
        self._record()
        return self

    # Undefined binds these to a method that raises; each is rebound to record instead.
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _use  # type: ignore[assignment]
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _use  # type: ignore[assignment]
    __mod__ = __rmod__ = __pow__ = __rpow__ = __pos__ = __neg__ = _use  # type: ignore[assignment]
    __lt__ = __le__ = __gt__ = __ge__ = __call__ = __getitem__ = _use  # type: ignore[assignment]

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        return self._use()

    def __str__(self) -> str:
        self._record()
        return ""

    def __iter__(self) -> Iterator[Any]:
        self._record()
        return iter(())

    def __len__(self) -> int:
        self._record()
        return 0

    def __bool__(self) -> bool:
        self._record()
        return False

    def __eq__(self, other: object) -> bool:
        self._record()
        return False

    def __int__(self) -> int:  # type: ignore[override]  # Undefined types it as raising
        self._record()
        return 0

    def __float__(self) -> float:  # type: ignore[override]
        self._record()
        return 0.0

    def __complex__(self) -> complex:  # type: ignore[override]
        self._record()
        return 0j


def dotted(path: tuple[PathPart, ...]) -> str:
    """A path as a template would spell it: ``user.first_name``, ``payload.items[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def missing_personalisation(paths: list[tuple[PathPart, ...]]) -> MissingPersonalisation:
    """The 400 error naming every missing field, each with a pointer under /personalisation."""
    names = [dotted(path) for path in paths]
    details = [
        ErrorDetail("/personalisation" + json_pointer(path), f"{name} is required by the template")
        for path, name in zip(paths, names, strict=True)
    ]
    return MissingPersonalisation(f"Missing personalisation: {', '.join(names)}", details=details)
