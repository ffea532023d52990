"""What travels to a client: inbox events as WebSocket text frames or Server-Sent Events."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    One event read by the hub goes to every connection of its user: its frame is encoded on
    first use and the same bytes and text are handed to each of them.
    """

    seq: int
    event: str
    data: dict[str, Any]
    products: frozenset[str] | None = None
    _json: bytes | None = field(default=None, init=False, repr=False, compare=False)
    _text: str | None = field(default=None, init=False, repr=False, compare=False)

    def reaches(self, product: str | None) -> bool:
        """Whether a connection that named ``product`` (or none) should receive this event."""
        return product is None or not self.products or product in self.products

    def json(self) -> bytes:
        """The server frame of API.md: ``{"event", "data", "seq"}``, encoded once."""
        if self._json is None:
            encoded = orjson.dumps({"event": self.event, "data": self.data, "seq": self.seq})
            object.__setattr__(self, "_json", encoded)  # a cache on a frozen value
            return encoded
        return self._json

    def text(self) -> str:
        """The same frame as text, for a WebSocket text frame, decoded once."""
        if self._text is None:
            text = self.json().decode()
            object.__setattr__(self, "_text", text)
            return text
        return self._text

    def sse(self) -> bytes:
        """The same frame as a Server-Sent Event, with ``id`` (for Last-Event-ID) and ``event``."""
        return b"id: %d\nevent: %s\ndata: %s\n\n" % (self.seq, self.event.encode(), self.json())
