"""Header safety: a rendered subject, name or address must stay on one header line."""

from __future__ import annotations

from herald.errors import ValidationFailed

# NUL plus every character str.splitlines() breaks on: any of them could end a header
# line in some mail library or relay and let a template inject headers of its own.
FORBIDDEN_IN_HEADERS = frozenset("\0\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def check_header(value: str, *, field: str) -> str:
    """Return ``value`` unchanged, or raise ValidationFailed at the JSON pointer ``field``.

    Rejects CR, LF, NUL and every other line break character.
    """
    bad = next((c for c in value if c in FORBIDDEN_IN_HEADERS), None)
    if bad is not None:
        raise ValidationFailed.at(
            field, f"must not contain a line break or NUL character (found {bad!r})"
        )
    return value
