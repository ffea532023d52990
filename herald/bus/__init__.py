"""Publish/subscribe between processes: real-time events to every API process, wake-ups to workers.

Publish only after the transaction commits; ``publish`` never raises. Subscribers register
``subscribe(channel, handler)`` and ``on_reconnect(handler)``, then the owner calls ``start()``.
Channels are short names (``inbox``, ``deliveries``), namespaced on the wire (``herald.inbox``).
"""

from __future__ import annotations

from herald.bus.base import (
    MAX_MESSAGE_BYTES,
    Bus,
    BusStats,
    Handler,
    Message,
    ReconnectHandler,
)
from herald.bus.memory import MemoryBus
from herald.bus.postgres import PostgresBus, asyncpg_dsn
from herald.bus.redis import RedisBus
from herald.config import Settings

__all__ = [
    "MAX_MESSAGE_BYTES",
    "Bus",
    "BusStats",
    "Handler",
    "MemoryBus",
    "Message",
    "PostgresBus",
    "ReconnectHandler",
    "RedisBus",
    "create_bus",
]

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def create_bus(settings: Settings) -> Bus:
    """The bus the settings ask for: Redis if ``bus_url`` is set, else PostgreSQL, else memory."""
    if settings.bus_url:
        if not settings.bus_url.startswith(REDIS_SCHEMES):
            raise ValueError("HERALD_BUS_URL must be a redis://, rediss:// or unix:// URL")
        return RedisBus(settings.bus_url)
    if settings.database_url.startswith("postgresql"):
        return PostgresBus(asyncpg_dsn(settings.database_url))
    return MemoryBus()
