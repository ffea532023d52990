"""The in-process bus: the default when Herald runs as one process with no other service."""

from __future__ import annotations

from herald.bus.base import Bus


class MemoryBus(Bus):
    """Delivers to this process's subscribers only; it never disconnects, so never reconnects."""

    async def _open(self) -> None:
        """Nothing to connect to."""

    async def _listen(self, wire: str) -> None:
        """Subscriptions live in ``_handlers`` only."""

    async def _send(self, wire: str, data: bytes) -> None:
        self._deliver(wire, data)

    async def _shutdown(self) -> None:
        """Nothing to disconnect."""
