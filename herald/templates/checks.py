"""Checks made *before* an operation whose result can be far larger than its inputs.

Every value a template builds is measured afterwards (``limits.check_size``), which
stops growth by concatenation a step at a time. That is too late for operations that
multiply: ``'a' * 10**9``, ``9**9**9``, ``'x'|center(10**9)``, ``'%0999999999d' % 1``,
``s.replace('a', s)`` or joining a list with a huge separator would exhaust memory or
time before returning. Each of those is estimated here first and refused if too big.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, MutableMapping
from string import Formatter
from typing import Any

from herald.templates.limits import RenderLimits, TemplateError, measure

# Sanity bounds for layout arguments no real template needs more of.
MAX_COLUMNS = 1000
MAX_JSON_INDENT = 16
MAX_WRAPPED_LINES = 50_000

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_NUMBER = re.compile(r"\d+")

Arguments = MutableMapping[str, Any]


def check_binop(operator: str, left: Any, right: Any, limits: RenderLimits) -> None:
    """Refuse ``*``, ``**`` and ``%`` whose result would exceed the limits."""
    if operator == "*":
        _check_repeat(left, right, limits)
        _check_repeat(right, left, limits)
    elif operator == "**":
        _check_power(left, right, limits)
    elif operator == "%" and isinstance(left, str):
        check_percent_format(left, limits)


def check_percent_format(text: str, limits: RenderLimits) -> None:
    """Refuse %-format widths and precisions beyond the output limit, and ``*`` widths."""
    for match in _PERCENT_SPEC.finditer(text):
        for number in match.groups():
            if number == "*":
                raise TemplateError("'*' widths are not allowed in format strings")
            if number is not None:
                _at_most(int(number), limits.max_output_size, "A format width")


def check_format_string(text: str, limits: RenderLimits) -> None:
    """Refuse ``str.format`` specs with nested fields or widths beyond the output limit."""
    try:
        fields = list(Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError(f"Invalid format string: {exc}") from exc
    for _literal, _name, spec, _conversion in fields:
        if spec and "{" in spec:
            raise TemplateError("Nested fields are not allowed in format specifications")
        for number in _NUMBER.findall(spec or ""):
            _at_most(int(number), limits.max_output_size, "A format width")


def prepare_str_call(
    name: str, text: str, args: tuple[Any, ...], limits: RenderLimits
) -> tuple[Any, ...]:
    """Check a call of the string method ``name``; returns the arguments to call it with."""
    if name in ("center", "ljust", "rjust", "zfill") and args:
        _at_most(args[0], limits.max_output_size, "A padding width")
    elif name == "replace" and len(args) >= 2:
        _check_replace(text, args[0], args[1], args[2] if len(args) > 2 else -1, limits)
    elif name == "join" and args:
        items = list(args[0])
        _check_join(items, text, limits)
        return (items, *args[1:])
    return args


def _check_repeat(sequence: Any, times: Any, limits: RenderLimits) -> None:
    if isinstance(times, int) and isinstance(sequence, str | bytes | list | tuple):
        _at_most(measure(sequence, limits) * times, limits.max_output_size, "A repeated value")


def _check_power(base: Any, exponent: Any, limits: RenderLimits) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        bits = exponent * (abs(base) - 1).bit_length()
        _at_most(bits, limits.max_int_bits, "The bits of a power")


def _check_replace(text: str, old: Any, new: Any, count: Any, limits: RenderLimits) -> None:
    if not isinstance(old, str) or not isinstance(new, str):
        return
    hits = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    _at_most(len(text) + hits * len(new), limits.max_output_size, "A replacement")


def _check_join(items: Iterable[Any], separator: Any, limits: RenderLimits) -> None:
    total, gap = 0, len(separator) if isinstance(separator, str) else 0
    for index, item in enumerate(items):
        total += measure(item, limits) + (gap if index else 0)
        _at_most(total, limits.max_output_size, "A joined value")


def _at_most(value: Any, limit: int, what: str) -> None:
    if isinstance(value, int) and value > limit:
        raise TemplateError(f"{what} exceeds the limit of {limit}")


# Filters: each check sees the filter's bound arguments, and may replace a lazy
# argument with a list it has measured.


def _filter_center(arguments: Arguments, limits: RenderLimits) -> None:
    _at_most(arguments.get("width"), limits.max_output_size, "A padding width")


def _filter_indent(arguments: Arguments, limits: RenderLimits) -> None:
    text, width = str(arguments.get("s", "")), arguments.get("width", 4)
    pad = len(width) if isinstance(width, str) else width
    if isinstance(pad, int):
        lines = text.count("\n") + 1
        _at_most(len(text) + pad * lines, limits.max_output_size, "An indented value")


def _filter_format(arguments: Arguments, limits: RenderLimits) -> None:
    check_percent_format(str(arguments.get("value", "")), limits)


def _filter_replace(arguments: Arguments, limits: RenderLimits) -> None:
    text = str(arguments.get("s", ""))
    count = arguments.get("count")
    _check_replace(text, arguments.get("old"), arguments.get("new"), count, limits)


def _filter_join(arguments: Arguments, limits: RenderLimits) -> None:
    arguments["value"] = items = list(arguments.get("value", ()))
    _check_join(items, arguments.get("d", ""), limits)


def _filter_slice(arguments: Arguments, limits: RenderLimits) -> None:
    _at_most(arguments.get("slices"), MAX_COLUMNS, "The number of slices")


def _filter_batch(arguments: Arguments, limits: RenderLimits) -> None:
    if arguments.get("fill_with") is not None:
        _at_most(arguments.get("linecount"), MAX_COLUMNS, "A padded batch size")


def _filter_tojson(arguments: Arguments, limits: RenderLimits) -> None:
    indent = arguments.get("indent")
    _at_most(len(indent) if isinstance(indent, str) else indent, MAX_JSON_INDENT, "An indent")


def _filter_wordwrap(arguments: Arguments, limits: RenderLimits) -> None:
    text, width = str(arguments.get("s", "")), arguments.get("width", 79)
    wrap = arguments.get("wrapstring") or "\n"
    if isinstance(wrap, str) and isinstance(width, int):
        # textwrap is slow per line it makes: bound the lines as well as the size.
        lines = len(text) // max(width, 1) + 1
        _at_most(lines, MAX_WRAPPED_LINES, "The number of wrapped lines")
        _at_most(len(text) + lines * len(wrap), limits.max_output_size, "A wrapped value")


FILTER_CHECKS: dict[str, Callable[[Arguments, RenderLimits], None]] = {
    "center": _filter_center,
    "indent": _filter_indent,
    "format": _filter_format,
    "replace": _filter_replace,
    "join": _filter_join,
    "slice": _filter_slice,
    "batch": _filter_batch,
    "tojson": _filter_tojson,
    "wordwrap": _filter_wordwrap,
}
