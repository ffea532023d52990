"""Many rows of one table inserted without SQLAlchemy's per-row binding, on SQLite.

``session.execute(insert(table), rows)`` makes SQLAlchemy turn every row's dict into the
driver's tuple, a bind processor call per value (``UTCDateTime``, ``DATETIME``, ``Uuid``,
JSON), a fixed cost per statement and a few microseconds per row. Here each column's
processor is looked up once per table, a value repeated on consecutive rows (the same user,
timestamp object) is converted once, and the tuples go to sqlite3 as they are, through SQLAlchemy's
connection (its transaction, its error handling, ``herald.sqlite_driver.deferred_inserts``):
a group's 32 inbox events and 16 history rows cost 30-40% less of the main thread this way
(docs/performance.md). The values are what SQLAlchemy would bind. Rows that leave out a
column with a Python-side default go through SQLAlchemy, which applies it; a column left
out gets its server default. On PostgreSQL the statement is SQLAlchemy's, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from herald.db import remembering

Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


@lru_cache(maxsize=64)  # a few tables per engine; tests make a few engines
def _converters(dialect: Dialect, table: Table) -> dict[str, Convert] | None:
    """Each column's conversion to what the driver takes, as SQLAlchemy binds it; None when
    a column's type also rewrites the SQL around its parameter (SQLAlchemy must bind then)."""
    found: dict[str, Convert] = {}
    for column in table.columns:
        impl = column.type.dialect_impl(dialect)
        if impl._has_bind_expression:
            return None
        convert = impl.bind_processor(dialect)
        found[column.key] = convert if convert is not None else _same
    return found


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (by column key, every row with the same keys) into ``table`` in the
    session's transaction; on SQLite without SQLAlchemy's per-row binding."""
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    converters = _converters(dialect, table) if dialect.name == "sqlite" else None
    if converters is None:
        await session.execute(insert(table), rows)
        return
    given = rows[0].keys()
    if any(c.key not in given and c.default is not None for c in table.columns):
        # A Python-side default to apply: SQLAlchemy's insert applies it.
        await session.execute(insert(table), rows)
        return
    columns = [c for c in table.columns if c.key in given]
    if len(columns) != len(given):
        raise ValueError(f"{table.name}: not columns of the table: {given - table.columns.keys()}")
    if any(row.keys() != given for row in rows):
        raise ValueError(f"{table.name}: every row must name the same columns")
    # Column by column: one list per column, converted with ``map``, zipped into rows.
    by_column: list[list[Any]] = []
    for column in columns:
        raw = [row[column.key] for row in rows]
        convert = converters[column.key]
        by_column.append(raw if convert is _same else list(map(remembering(convert), raw)))
    values = list(zip(*by_column, strict=True))
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c.name) for c in columns)
    marks = ", ".join("?" * len(columns))
    # Names of our own tables and columns; the values are bound.
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608
    await connection.exec_driver_sql(sql, values)
