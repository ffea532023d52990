"""What travels to a client: inbox events as WebSocket text frames or Server-Sent Events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

PING = orjson.dumps({"event": "ping"})
PONG = orjson.dumps({"event": "pong"})
# An SSE comment line: ignored by EventSource, but it keeps proxies from closing an idle stream.
SSE_KEEPALIVE = b": ping\n\n"


@dataclass(frozen=True, slots=True)
class Event:
    """One numbered change to a user's inbox, as read from ``inbox_events``.

    ``products`` are those of the envelope behind the item (``None`` or empty: every product).
    """

    seq: int
    event: str
    data: dict[str, Any]
    products: frozenset[str] | None = None

    def reaches(self, product: str | None) -> bool:
        """Whether a connection that named ``product`` (or none) should receive this event."""
        return product is None or not self.products or product in self.products

    def json(self) -> bytes:
        """The server frame of API.md: ``{"event", "data", "seq"}``."""
        return orjson.dumps({"event": self.event, "data": self.data, "seq": self.seq})

    def sse(self) -> bytes:
        """The same frame as a Server-Sent Event, with ``id`` (for Last-Event-ID) and ``event``."""
        return b"id: %d\nevent: %s\ndata: %s\n\n" % (self.seq, self.event.encode(), self.json())
