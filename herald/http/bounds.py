"""Bounds of the numbers a client may send, so that every one fits where it is stored.

A number past a column's range is a 422 at its pointer, never a driver's ``OverflowError``
(SQLite) or ``DataError`` (PostgreSQL) at the statement; a JSON document holds only the
integers orjson, which encodes every stored document, can write back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

INT32_MAX = 2**31 - 1  # PostgreSQL INTEGER, the type of counters and versions
INT64_MAX = 2**63 - 1  # SQLite INTEGER and PostgreSQL BIGINT
JSON_INT_MIN, JSON_INT_MAX = -(2**63), 2**64 - 1  # what orjson encodes


def oversized_integers(document: Any) -> Iterator[list[str | int]]:
    """The path of every integer in a JSON document that orjson cannot encode.

    Iterative, so that a deeply nested document cannot exhaust the stack.
    """
    stack: list[tuple[list[str | int], Any]] = [([], document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(([*path, key], item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend(([*path, index], item) for index, item in enumerate(value))
        elif isinstance(value, int) and not JSON_INT_MIN <= value <= JSON_INT_MAX:
            yield path
