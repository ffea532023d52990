"""create_bus picks the backend from the settings: Redis if named, else PostgreSQL, else memory."""

from __future__ import annotations

import pytest

from herald.bus import MemoryBus, PostgresBus, RedisBus, create_bus
from herald.bus.postgres import asyncpg_dsn
from herald.config import Settings

POSTGRES_URL = "postgresql+asyncpg://herald:pw@db.internal:5432/herald"


@pytest.mark.parametrize(
    ("bus_url", "database_url", "expected"),
    [
        ("redis://cache:6379/0", POSTGRES_URL, RedisBus),
        ("rediss://cache:6380/0", "sqlite+aiosqlite:///./herald.db", RedisBus),
        (None, POSTGRES_URL, PostgresBus),
        (None, "sqlite+aiosqlite:///./herald.db", MemoryBus),
    ],
)
def test_the_settings_choose_the_backend(
    bus_url: str | None, database_url: str, expected: type
) -> None:
    settings = Settings(bus_url=bus_url, database_url=database_url)

    assert type(create_bus(settings)) is expected


def test_an_unknown_bus_url_is_refused() -> None:
    with pytest.raises(ValueError, match="HERALD_BUS_URL"):
        create_bus(Settings(bus_url="amqp://rabbit/"))


@pytest.mark.parametrize(
    ("url", "dsn"),
    [
        (POSTGRES_URL, "postgresql://herald:pw@db.internal:5432/herald"),
        ("postgresql://h@/db?host=/run/pg", "postgresql://h@/db?host=/run/pg"),
        ("postgresql+psycopg://h@db/x", "postgresql://h@db/x"),
    ],
)
def test_the_sqlalchemy_url_becomes_an_asyncpg_dsn(url: str, dsn: str) -> None:
    assert asyncpg_dsn(url) == dsn


def test_a_url_that_is_not_postgresql_has_no_dsn() -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        asyncpg_dsn("sqlite+aiosqlite:///./herald.db")


def test_channels_are_namespaced_under_herald_by_default() -> None:
    assert MemoryBus().prefix == "herald."
