"""A local SMSC speaking the SMPP 3.4 PDUs the provider needs, coded here by hand (not smpplib).

It binds one transceiver (checking system id and password), answers submit_sm with a
message id or a scripted error status, and after a submit that asks for one sends a
delivery receipt (deliver_sm, ``id:… stat:DELIVRD …``) and waits for its deliver_sm_resp;
``mobile_originated`` delivers a message a person sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

BIND_TRANSCEIVER, BIND_TRANSCEIVER_RESP = 0x00000009, 0x80000009
SUBMIT_SM, SUBMIT_SM_RESP = 0x00000004, 0x80000004
DELIVER_SM, DELIVER_SM_RESP = 0x00000005, 0x80000005
ENQUIRE_LINK, ENQUIRE_LINK_RESP = 0x00000015, 0x80000015
UNBIND, UNBIND_RESP = 0x00000006, 0x80000006
ESME_RINVPASWD = 0x0E
TLV_MESSAGE_PAYLOAD, TLV_RECEIPTED_MESSAGE_ID, TLV_MESSAGE_STATE = 0x0424, 0x001E, 0x0427
_HEADER = struct.Struct(">LLLL")


@dataclass(frozen=True)
class Submit:
    """A submit_sm as the SMSC decoded it."""

    source_addr_ton: int
    source_addr: str
    destination_addr: str
    esm_class: int
    registered_delivery: int
    data_coding: int
    short_message: bytes
    tlvs: dict[int, bytes]


@dataclass
class Smsc:
    """The server's script and what it saw; ``statuses`` answers the next submits in order."""

    system_id: str = "herald"
    password: str = "secret"
    statuses: list[int] = field(default_factory=list)
    receipt_stat: str = "DELIVRD"
    receipt_as_tlv: bool = False
    submits: list[Submit] = field(default_factory=list)
    receipt_answers: list[int] = field(default_factory=list)
    receipt_answered: asyncio.Event = field(default_factory=asyncio.Event)
    commands: list[int] = field(default_factory=list)
    binds: int = 0
    port: int = 0
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _next_id: int = 0
    _sequence: int = 1000

    async def mobile_originated(self, sender: str, to: str, text: bytes, coding: int) -> None:
        """Deliver a message a person sent (a deliver_sm that is no receipt) on every bound
        session, and wait for its deliver_sm_resp."""
        self.receipt_answered.clear()
        self._sequence += 1
        body = (
            b"\0"
            + bytes([1, 1])
            + sender.encode()
            + b"\0"
            + bytes([1, 1])
            + to.encode()
            + b"\0"
            + bytes([0, 0, 0])
            + b"\0\0"
            + bytes([0, 0, coding, 0, len(text)])
            + text
        )
        for writer in self._writers:
            _write(writer, DELIVER_SM, 0, self._sequence, body)
            await writer.drain()
        await asyncio.wait_for(self.receipt_answered.wait(), 10)

    def drop(self) -> None:
        """Close every connection without unbinding, as a restarting SMSC would."""
        for writer in self._writers:
            writer.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                command, status, sequence, body = await _read(reader)
                self.commands.append(command)
                if not await self._handle(writer, command, status, sequence, body):
                    break
        writer.close()

    async def _handle(
        self, writer: asyncio.StreamWriter, command: int, status: int, sequence: int, body: bytes
    ) -> bool:
        if command == BIND_TRANSCEIVER:
            system_id, password = _cstrings(body, 2)
            ok = (system_id, password) == (self.system_id, self.password)
            self.binds += ok
            _write(writer, BIND_TRANSCEIVER_RESP, 0 if ok else ESME_RINVPASWD, sequence, b"smsc\0")
        elif command == SUBMIT_SM:
            await self._submit(writer, sequence, decode_submit(body))
        elif command == ENQUIRE_LINK:
            _write(writer, ENQUIRE_LINK_RESP, 0, sequence, b"")
        elif command == UNBIND:
            _write(writer, UNBIND_RESP, 0, sequence, b"")
            return False
        elif command == DELIVER_SM_RESP:
            self.receipt_answers.append(status)
            self.receipt_answered.set()
        await writer.drain()
        return True

    async def _submit(self, writer: asyncio.StreamWriter, sequence: int, submit: Submit) -> None:
        self.submits.append(submit)
        status = self.statuses.pop(0) if self.statuses else 0
        if status:
            _write(writer, SUBMIT_SM_RESP, status, sequence, b"")
            return
        self._next_id += 1
        message_id = f"msg-{self._next_id}"
        _write(writer, SUBMIT_SM_RESP, 0, sequence, message_id.encode() + b"\0")
        if submit.registered_delivery:
            self._sequence += 1
            receipt = self._receipt(submit, message_id)
            _write(writer, DELIVER_SM, 0, self._sequence, receipt)

    def _receipt(self, submit: Submit, message_id: str) -> bytes:
        text = (
            f"id:{message_id} sub:001 dlvrd:001 submit date:2501020304 done date:2501020305"
            f" stat:{self.receipt_stat} err:000 text:"
        ).encode()
        tlvs = b""
        if self.receipt_as_tlv:
            text = b""
            tlvs = _tlv(TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\0") + _tlv(
                TLV_MESSAGE_STATE, bytes([2 if self.receipt_stat == "DELIVRD" else 5])
            )
        # deliver_sm: the receipt comes from the recipient's number back to the sender.
        return (
            b"\0"
            + bytes([1, 1])
            + submit.destination_addr.encode()
            + b"\0"
            + bytes([submit.source_addr_ton, 0])
            + submit.source_addr.encode()
            + b"\0"
            + bytes([0x04, 0, 0])
            + b"\0\0"
            + bytes([0, 0, 0, 0, len(text)])
            + text
            + tlvs
        )


async def _read(reader: asyncio.StreamReader) -> tuple[int, int, int, bytes]:
    header = await reader.readexactly(_HEADER.size)
    length, command, status, sequence = _HEADER.unpack(header)
    body = await reader.readexactly(length - _HEADER.size)
    return command, status, sequence, body


def _write(
    writer: asyncio.StreamWriter, command: int, status: int, sequence: int, body: bytes
) -> None:
    writer.write(_HEADER.pack(_HEADER.size + len(body), command, status, sequence) + body)


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


def _cstrings(body: bytes, count: int) -> list[str]:
    return [part.decode("latin-1") for part in body.split(b"\0")[:count]]


def decode_submit(body: bytes) -> Submit:
    """The mandatory fields and TLVs of a submit_sm body (SMPP 3.4, 4.4.1)."""
    position = 0

    def cstring() -> str:
        nonlocal position
        end = body.index(b"\0", position)
        value, position = body[position:end].decode("latin-1"), end + 1
        return value

    def octet() -> int:
        nonlocal position
        position += 1
        return body[position - 1]

    cstring()  # service_type
    source_ton, _source_npi, source = octet(), octet(), cstring()
    _dest_ton, _dest_npi, destination = octet(), octet(), cstring()
    esm_class, _protocol_id, _priority = octet(), octet(), octet()
    cstring(), cstring()  # schedule_delivery_time, validity_period
    registered, _replace, data_coding, _default_id, length = (octet() for _ in range(5))
    short_message = body[position : position + length]
    position += length
    tlvs: dict[int, bytes] = {}
    while position < len(body):
        tag, size = struct.unpack_from(">HH", body, position)
        tlvs[tag] = body[position + 4 : position + 4 + size]
        position += 4 + size
    return Submit(
        source_ton, source, destination, esm_class, registered, data_coding, short_message, tlvs
    )


@contextlib.asynccontextmanager
async def running(smsc: Smsc) -> AsyncIterator[Smsc]:
    """Serve ``smsc`` on a free port of 127.0.0.1 (``smsc.port``) until the block ends."""
    server = await asyncio.start_server(smsc.serve, "127.0.0.1", 0)
    smsc.port = server.sockets[0].getsockname()[1]
    try:
        yield smsc
    finally:
        server.close()
        await server.wait_closed()
