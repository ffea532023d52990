"""One bound SMPP 3.4 transceiver session over asyncio streams, PDUs coded by smpplib.

smpplib's own client is a blocking socket loop that owns the connection; here smpplib
only encodes and decodes PDUs, and this session does the I/O without threads: requests
wait for the response with their sequence number, while one reader task answers the
SMSC's ``enquire_link``, ``unbind`` and ``deliver_sm`` (delivery receipts) as they come.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from smpplib import consts, smpp
from smpplib.client import SimpleSequenceGenerator

from herald.logs import get_logger

_log = get_logger(__name__)

# deliver_sm_resp status asking the SMSC to deliver again later (the receipt was not kept).
ESME_RX_T_APPN = consts.SMPP_ESME_RX_T_APPN
_HEADER = struct.Struct(">L")
_MAX_PDU = 64 * 1024

DeliverHandler = Callable[[Any], Awaitable[None]]
"""Called with each ``deliver_sm`` PDU; raising makes the SMSC deliver it again later."""


class SessionClosed(ConnectionError):
    """The session ended (closed, unbound by the SMSC, or the connection lost)."""


class SmppSession:
    """A bound transceiver: ``request()`` sends a PDU and returns its response PDU."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        on_deliver: DeliverHandler,
        wait: float,
    ) -> None:
        self._reader, self._writer = reader, writer
        self._on_deliver = on_deliver
        self._wait = wait
        self._sequences = SimpleSequenceGenerator()
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._write_lock = asyncio.Lock()
        self._reading: asyncio.Task[None] | None = None
        self._keeping_alive: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        bind: dict[str, Any],
        on_deliver: DeliverHandler,
        wait: float,
        keepalive: float,
    ) -> SmppSession:
        """Connect and bind as a transceiver; raises ``BindRefused`` if the SMSC says no.

        ``wait`` bounds the connection and each later request's wait for its response;
        an ``enquire_link`` every ``keepalive`` seconds keeps the session (and NAT) open
        and finds a dead connection before a message does.
        """
        async with asyncio.timeout(wait):
            reader, writer = await asyncio.open_connection(host, port)
        session = cls(reader, writer, on_deliver=on_deliver, wait=wait)
        session._reading = asyncio.create_task(session._read_loop())
        try:
            answer = await session.request("bind_transceiver", **bind)
        except BaseException:
            await session.close()
            raise
        if answer.status != consts.SMPP_ESME_ROK:
            await session.close()
            raise BindRefused(answer.status)
        session._keeping_alive = asyncio.create_task(session._keep_alive(keepalive))
        return session

    @property
    def alive(self) -> bool:
        """Whether the session can still carry requests."""
        return self._reading is not None and not self._reading.done()

    def make(self, command: str, **fields: Any) -> Any:
        """A new request PDU with the next sequence number."""
        return smpp.make_pdu(command, client=self._sequences, **fields)

    async def request(self, command: str, **fields: Any) -> Any:
        """Send a request and return the SMSC's response PDU (whatever its status)."""
        pdu = self.make(command, **fields)
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[pdu.sequence] = answer
        try:
            await self._write(pdu)
            async with asyncio.timeout(self._wait):
                return await answer
        finally:
            self._pending.pop(pdu.sequence, None)

    async def close(self) -> None:
        """Unbind politely when still connected, then drop the connection."""
        if self._keeping_alive is not None:
            self._keeping_alive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeping_alive
        if self.alive:
            with contextlib.suppress(OSError, TimeoutError, SessionClosed):
                await self.request("unbind")
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def _keep_alive(self, interval: float) -> None:
        while self.alive:
            await asyncio.sleep(interval)
            try:
                await self.request("enquire_link")
            except (OSError, TimeoutError, SessionClosed):
                # No answer: the connection is dead even if no error said so. Ending the
                # reader marks the session closed; the next send opens a new one.
                _log.warning("smpp.keepalive_failed")
                if self._reading is not None:
                    self._reading.cancel()
                return

    async def _write(self, pdu: Any) -> None:
        if not self.alive:
            raise SessionClosed("the SMPP session is closed")
        async with self._write_lock:
            self._writer.write(pdu.generate())
            await self._writer.drain()

    async def _read_pdu(self) -> Any:
        raw_length = await self._reader.readexactly(_HEADER.size)
        (length,) = _HEADER.unpack(raw_length)
        if not 16 <= length <= _MAX_PDU:
            raise SessionClosed(f"malformed PDU length {length}")
        data = raw_length + await self._reader.readexactly(length - _HEADER.size)
        return smpp.parse_pdu(data, client=self._sequences, allow_unknown_opt_params=True)

    async def _read_loop(self) -> None:
        try:
            while True:
                pdu = await self._read_pdu()
                if pdu.is_response():
                    self._resolve(pdu)
                elif not await self._answer(pdu):
                    return
        except (OSError, asyncio.IncompleteReadError, SessionClosed) as exc:
            _log.warning("smpp.session_lost", error=f"{type(exc).__name__}: {exc}")
        finally:
            self._fail_pending()

    def _resolve(self, pdu: Any) -> None:
        waiting = self._pending.get(pdu.sequence)
        if waiting is not None and not waiting.done():
            waiting.set_result(pdu)

    async def _answer(self, pdu: Any) -> bool:
        """Answer a request from the SMSC; False when it ends the session (unbind)."""
        if pdu.command == "deliver_sm":
            status = await self._deliver(pdu)
            await self._respond(pdu, "deliver_sm_resp", status)
        elif pdu.command == "enquire_link":
            await self._respond(pdu, "enquire_link_resp", consts.SMPP_ESME_ROK)
        elif pdu.command == "unbind":
            await self._respond(pdu, "unbind_resp", consts.SMPP_ESME_ROK)
            return False
        else:
            await self._respond(pdu, "generic_nack", consts.SMPP_ESME_RINVCMDID)
        return True

    async def _deliver(self, pdu: Any) -> int:
        try:
            await self._on_deliver(pdu)
        except Exception as exc:
            # Not acknowledged: the SMSC keeps the receipt and delivers it again later.
            _log.warning("smpp.deliver_failed", error=type(exc).__name__, exc_info=exc)
            return int(ESME_RX_T_APPN)
        return int(consts.SMPP_ESME_ROK)

    async def _respond(self, request: Any, command: str, status: int) -> None:
        answer = smpp.make_pdu(command, client=self._sequences, sequence=request.sequence)
        answer.status = status
        async with self._write_lock:
            self._writer.write(answer.generate())
            await self._writer.drain()

    def _fail_pending(self) -> None:
        for waiting in self._pending.values():
            if not waiting.done():
                waiting.set_exception(SessionClosed("the SMPP connection was lost"))


class BindRefused(ConnectionError):
    """The SMSC refused to bind (wrong system id or password, or too many binds)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"bind refused: {describe(status)}")
        self.status = status


def describe(status: int) -> str:
    """An SMPP command status as its name and description (``0x58 Throttling error``)."""
    return f"0x{status:02X} {consts.DESCRIPTIONS.get(status, 'unknown status')}"
