"""The Jinja2 environment tenant templates run in: sandboxed, immutable, on a budget.

On top of Jinja's ``ImmutableSandboxedEnvironment`` (no ``_private`` or internal
attributes, no mutation of lists and dicts):

- methods of built-in values are allow-listed (``str.upper`` yes, ``str.format_map``,
  ``int.to_bytes`` no), and an unsafe attribute is an error at once rather than an
  undefined value that fails later;
- every compiled template is rewritten so each loop iteration, macro call and
  ``{% call %}`` body ticks the render budget (time, iterations, output written into
  buffers), and so every list, tuple, dict and ``~`` concatenation it builds is measured;
- ``*``, ``**``, ``%`` and ``+``, calls, and filters are checked before (``checks``) and
  measured after; call depth is bounded, so a macro calling itself stops early;
- ``{{ mapping.key }}`` prefers the key to a method, as JSON data expects
  (``payload.items`` is the ``items`` field, not ``dict.items``);
- ``lipsum`` is gone and ``namespace`` measures what is stored in it;
- GOV.UK Notify's ``((name))`` and ``((name??text))`` work beside ``{{ name }}``
  (``notify_placeholders``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from herald.templates.checks import (
    FILTER_CHECKS,
    check_binop,
    check_format_string,
    prepare_str_call,
)
from herald.templates.limits import (
    RenderLimits,
    RenderState,
    TemplateError,
    check_size,
    current_state,
    measure,
)
from herald.templates.notify_placeholders import FILTERS as NOTIFY_FILTERS
from herald.templates.notify_placeholders import NotifyPlaceholders
from herald.templates.undefined import MissingValue

_STR_METHODS = frozenset(
    {"capitalize", "casefold", "center", "count", "endswith", "find", "format", "index",
     "isalnum", "isalpha", "isdecimal", "isdigit", "islower", "isnumeric", "isspace",
     "istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition", "removeprefix",
     "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip",
     "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper", "zfill"}
)  # fmt: skip
_ALLOWED_METHODS: tuple[tuple[type | tuple[type, ...], frozenset[str]], ...] = (
    (Markup, _STR_METHODS | {"striptags", "unescape"}),
    (str, _STR_METHODS),
    (Mapping, frozenset({"get", "items", "keys", "values"})),
    ((list, tuple), frozenset({"count", "index"})),
    ((int, float, complex, bytes, bytearray, set, frozenset), frozenset()),
)


def _allowed_methods(obj: object) -> frozenset[str] | None:
    """Methods a template may use on a built-in value; None for Jinja's own helpers."""
    for kind, names in _ALLOWED_METHODS:
        if isinstance(obj, kind):
            return names
    return None


class GuardedNamespace(Namespace):
    """``namespace()`` whose attributes are measured when assigned in a loop."""

    def __setitem__(self, name: str, value: Any) -> None:
        state = current_state()
        if state is not None:
            check_size(value, state.limits)
        super().__setitem__(name, value)


class GuardedEnvironment(ImmutableSandboxedEnvironment):
    """A sandboxed environment that enforces ``RenderLimits`` on every render."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self, *, autoescape: bool, limits: RenderLimits) -> None:
        super().__init__(
            autoescape=autoescape,
            undefined=MissingValue,
            finalize=self._finalize,
            extensions=[NotifyPlaceholders],
        )
        self.limits = limits
        del self.globals["lipsum"]  # lipsum(n=10**9) would write forever
        self.globals["namespace"] = GuardedNamespace
        self.filters.update(NOTIFY_FILTERS)
        self.filters = {name: self._guard_filter(name, f) for name, f in self.filters.items()}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Parse, then add the budget checks; every compile path goes through here."""
        if len(source) > self.limits.max_source_size:
            raise TemplateError(
                f"The template is longer than {self.limits.max_source_size} characters"
            )
        tree = _InsertGuards().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree  # type: ignore[no-any-return]

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Jinja's rules, plus the method allow-list for built-in values."""
        if not super().is_safe_attribute(obj, attr, value):
            return False
        allowed = _allowed_methods(obj)
        return allowed is None or not callable(value) or attr in allowed

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """Fail at once: reaching for an unsafe attribute is an attack, not a typo."""
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
        )

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``a.b``: a key of a mapping first, then the sandboxed attribute lookup."""
        if isinstance(obj, MissingValue):
            return self.undefined(obj=obj, name=attribute)
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        """``a[b]``: a path below a missing value stays missing (and is reported whole)."""
        if isinstance(obj, MissingValue):
            return self.undefined(obj=obj, name=argument)
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's sandboxed ``str.format``, refusing huge widths up front.

        ``format_map`` is left to the method allow-list, which refuses it.
        """
        if getattr(value, "__name__", None) == "format_map":
            return None
        wrapper = super().wrap_str_format(value)
        if wrapper is not None:
            check_format_string(value.__self__, self.limits)
        return wrapper

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Call from template code: deadline, method checks, depth limit, result size."""
        state = _state()
        state.check_time()
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str):
            args = prepare_str_call(obj.__name__, owner, args, self.limits)
        state.depth += 1
        try:
            if state.depth > self.limits.max_call_depth:
                raise TemplateError(
                    f"Macro or loop calls are nested more than {self.limits.max_call_depth} deep"
                )
            result = super().call(context, obj, *args, **kwargs)
        finally:
            state.depth -= 1
        return check_size(result, self.limits)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """``+ * ** %``: refuse results that would be too large, measure the rest."""
        _state().check_time()
        check_binop(operator, left, right, self.limits)
        return check_size(super().call_binop(context, operator, left, right), self.limits)

    def _tick(self, cost: int) -> None:
        """Called at the top of every loop body and macro body (see ``_InsertGuards``)."""
        _state().tick(cost)

    def _measure(self, value: Any) -> Any:
        """Called around every list, tuple, dict and ``~`` a template builds."""
        return check_size(value, self.limits)

    def _finalize(self, value: Any) -> Any:
        """Charge every printed value to the render's budget of characters written."""
        state = current_state()
        if state is not None and not isinstance(value, Undefined):
            state.charge(measure(value, self.limits))
        return value

    def _guard_filter(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a filter with its up-front check (if any) and a measure of its result."""
        signature = inspect.signature(func)
        check = FILTER_CHECKS.get(name)
        # Jinja's async_variant wrappers take an eval context their signature omits.
        hidden = int(_passes_arg(func) and not _passes_arg(inspect.unwrap(func)))

        @functools.wraps(func)  # keeps Jinja's pass_context/pass_eval_context marks
        def guarded(*args: Any, **kwargs: Any) -> Any:
            state = current_state()
            if state is not None:
                state.check_time()
            if check is not None:
                bound = signature.bind(*args[hidden:], **kwargs)
                check(bound.arguments, self.limits)
                args, kwargs = (*args[:hidden], *bound.args), bound.kwargs
            return check_size(func(*args, **kwargs), self.limits)

        return guarded


def _passes_arg(func: Callable[..., Any]) -> bool:
    """Whether Jinja passes ``func`` a context, eval context or environment first."""
    return getattr(func, "jinja_pass_arg", None) is not None


def _state() -> RenderState:
    state = current_state()
    if state is None:
        raise RuntimeError("Template code ran outside Renderer (no render budget)")
    return state


class _InsertGuards(NodeTransformer):
    """Rewrites a parsed template to call ``_tick`` and ``_measure`` (see the module doc)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        return self._tick_body(node)

    def visit_Macro(self, node: nodes.Macro) -> nodes.Node:
        return self._tick_body(node)

    def visit_CallBlock(self, node: nodes.CallBlock) -> nodes.Node:
        return self._tick_body(node)

    def visit_List(self, node: nodes.List) -> nodes.Node:
        return self._measured(node)

    def visit_Dict(self, node: nodes.Dict) -> nodes.Node:
        return self._measured(node)

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        return self._measured(node)

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        return self._measured(node) if node.ctx == "load" else self.generic_visit(node)

    def _tick_body(self, node: nodes.For | nodes.Macro | nodes.CallBlock) -> nodes.Node:
        self.generic_visit(node)
        call = _environment_call("_tick", nodes.Const(_literal_size(node.body)))
        tick = nodes.ExprStmt(call)
        tick.set_lineno(node.lineno)
        node.body.insert(0, tick)
        return node

    def _measured(self, node: nodes.Expr) -> nodes.Node:
        self.generic_visit(node)
        call = _environment_call("_measure", node)
        call.set_lineno(node.lineno)
        return call


def _environment_call(method: str, argument: nodes.Expr) -> nodes.Call:
    return nodes.Call(nodes.EnvironmentAttribute(method), [argument], [], None, None)


def _literal_size(body: list[nodes.Node]) -> int:
    """Characters of literal text a body writes, not counting nested bodies (they tick)."""
    total, stack = 0, list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.TemplateData):
            total += len(node.data)
        elif not isinstance(node, nodes.For | nodes.Macro | nodes.CallBlock):
            stack.extend(node.iter_child_nodes())
    return total
