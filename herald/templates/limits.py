"""Render limits and the per-render state that enforces them.

A template is code written by a tenant, so every render runs on a budget: a deadline,
a count of loop iterations and macro calls, a call depth, a size cap on every value it
builds and on its output. The state lives in a context variable for the duration of one
render, so one environment serves concurrent renders in threads and tasks alike.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set, ValuesView
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from jinja2 import Undefined
from jinja2.utils import Namespace

from herald.errors import BadRequest

PathPart = str | int


class TemplateError(BadRequest):
    """A template that cannot be compiled or rendered: syntax, sandbox or limits."""

    code = "template_error"


@dataclass(frozen=True)
class RenderLimits:
    """What one render may spend. Sizes are in characters (or container elements)."""

    time_limit: float = 1.0
    max_output_size: int = 1 << 20
    max_iterations: int = 1_000_000
    max_call_depth: int = 40
    max_int_bits: int = 4096
    max_source_size: int = 256 << 10

    @property
    def max_work(self) -> int:
        """Characters a render may produce in all, counting macro and block buffers.

        Output of a macro is counted when the macro writes it and again when it is
        printed, so the budget is a multiple of the final output size.
        """
        return 8 * self.max_output_size


@dataclass
class RenderState:
    """Counters and findings of one render in progress."""

    limits: RenderLimits
    context: Mapping[str, Any]
    deadline: float
    iterations: int = 0
    work: int = 0
    depth: int = 0
    missing: dict[tuple[PathPart, ...], None] = field(default_factory=dict)
    markdown_lists: bool = False
    """The part is Notify-formatted: a list in a ``((placeholder))`` becomes bullets."""
    _paths: dict[int, tuple[PathPart, ...]] | None = None

    def check_time(self) -> None:
        """Stop a render that has run past its deadline."""
        if time.monotonic() > self.deadline:
            raise TemplateError(
                f"The template took longer than {self.limits.time_limit:g}s to render"
            )

    def tick(self, cost: int) -> None:
        """Account for one loop iteration or macro call that writes ``cost`` literal chars."""
        self.iterations += 1
        if self.iterations > self.limits.max_iterations:
            raise TemplateError(
                f"The template ran more than {self.limits.max_iterations} loop iterations"
            )
        self.charge(cost)
        self.check_time()

    def charge(self, size: int) -> None:
        """Account for ``size`` characters written anywhere during the render."""
        self.work += size
        if self.work > self.limits.max_work:
            raise TemplateError("The template produced too much output")

    def path_of(self, obj: object) -> tuple[PathPart, ...] | None:
        """Where ``obj`` sits in the render context (by identity), for error messages."""
        if self._paths is None:
            self._paths = _index_containers(self.context)
        return self._paths.get(id(obj))


_STATE: ContextVar[RenderState | None] = ContextVar("herald_render_state", default=None)


def current_state() -> RenderState | None:
    """The render in progress in this thread or task, if any."""
    return _STATE.get()


@contextmanager
def rendering(
    limits: RenderLimits, context: Mapping[str, Any], *, markdown_lists: bool = False
) -> Iterator[RenderState]:
    """Open a render budget for the duration of the ``with`` block."""
    deadline = time.monotonic() + limits.time_limit
    state = RenderState(limits, context, deadline, markdown_lists=markdown_lists)
    token = _STATE.set(state)
    try:
        yield state
    finally:
        _STATE.reset(token)


def measure(value: object, limits: RenderLimits) -> int:
    """The size of ``value`` as printed, counting shared references each time they appear.

    Raises TemplateError as soon as it passes ``max_output_size``; walking stops there, so
    the cost is bounded even for a list that holds itself a million times over.
    """
    if isinstance(value, int) and value.bit_length() > limits.max_int_bits:
        raise TemplateError(f"A number in the template exceeds {limits.max_int_bits} bits")
    budget, total, stack = limits.max_output_size, 0, [value]
    while stack:
        size, children = _expand(stack.pop())
        total += size
        if total > budget:
            raise TemplateError(f"A value in the template exceeds {budget} characters")
        stack.extend(children)
    return total


def check_size(value: Any, limits: RenderLimits) -> Any:
    """Return ``value`` if it is within the size limits, else raise TemplateError."""
    measure(value, limits)
    return value


def _expand(item: object) -> tuple[int, Iterable[object]]:
    """The own size of ``item`` and what it contains."""
    if isinstance(item, str | bytes):
        return len(item), ()
    if isinstance(item, Undefined | range):
        return 1, ()
    if isinstance(item, Namespace):
        return 1, (object.__getattribute__(item, "_Namespace__attrs"),)
    if isinstance(item, Mapping):
        return len(item), chain(item.keys(), item.values())
    if isinstance(item, Sequence | Set | ValuesView):
        return len(item), item
    return 1, ()


def _index_containers(context: Mapping[str, Any]) -> dict[int, tuple[PathPart, ...]]:
    """Map the id of every value in ``context`` to its path from the root.

    The shortest path wins; equal interned values (small ints, short strings) share an id,
    so a message may then name another field holding the same value.
    """
    paths: dict[int, tuple[PathPart, ...]] = {}
    queue: deque[tuple[tuple[PathPart, ...], Any]] = deque([((), context)])
    while queue:
        path, value = queue.popleft()
        if id(value) in paths:
            continue
        paths[id(value)] = path
        if isinstance(value, Mapping):
            queue.extend(((*path, str(k)), v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            queue.extend(((*path, i), v) for i, v in enumerate(value))
    return paths
