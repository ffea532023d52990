"""SMS over SMPP 3.4: submit_sm on a bound transceiver session, delivery receipts by deliver_sm.

Encoding follows the segment counter (``herald.channels.sms.segments``): GSM 03.38 as
data_coding 0 (one septet per octet, as SMPP carries the default alphabet), otherwise
UCS-2 as data_coding 8. A long message is split into concatenated parts with a user
data header (IEI 0x00, one reference per message) on the counter's boundaries, so
neither an escape sequence nor a surrogate pair is ever cut; or, if the SMSC prefers
it, sent whole in the ``message_payload`` TLV. A receipt is asked for on the last part,
whose message id is the delivery's; the ids of the parts are kept in the response.

Outcomes of submit_sm_resp: throttling, a full queue, system errors → technical
(retried; ``possible_duplicate`` once an earlier part was accepted); any other status
(invalid destination, invalid source...) → permanent; connection lost or no answer →
technical, possible duplicate. Receipts (``id:… stat:DELIVRD …``, or the
``receipted_message_id`` and ``message_state`` TLVs) are parsed by ``parse_receipt`` and
handed to ``on_receipt`` while the session is open: the provider must stay open for
receipts to arrive. Any other ``deliver_sm`` is a message someone sent to the account's
number: ``parse_inbound`` reads it and ``on_inbound`` keeps it.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Literal

import gsm0338  # noqa: F401  # registers the "gsm03.38" codec
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from smpplib import consts

from herald.channels.base import (
    DeliveryError,
    DeliveryResult,
    PermanentDeliveryError,
    Provider,
    RetryableDeliveryError,
)
from herald.channels.circuit import CircuitBreaker
from herald.channels.sms.messages import (
    InboundSms,
    ReceiptOutcome,
    SmsMessage,
    SmsReceipt,
    outcome_of_status,
)
from herald.channels.sms.segments import GSM_PER_PART, UCS2_PER_PART
from herald.channels.sms.smpp_session import BindRefused, SessionClosed, SmppSession, describe
from herald.logs import get_logger

_log = get_logger(__name__)

DATA_CODING = {"GSM-7": consts.SMPP_ENCODING_DEFAULT, "UCS-2": consts.SMPP_ENCODING_ISO10646}
INBOUND_CODECS = {
    consts.SMPP_ENCODING_DEFAULT: "gsm03.38",
    consts.SMPP_ENCODING_ISO88591: "latin-1",
    consts.SMPP_ENCODING_ISO10646: "utf-16-be",
}
ESM_UDHI = consts.SMPP_GSMFEAT_UDHI
ESM_DELIVERY_RECEIPT = 0x04
TON_INTERNATIONAL, TON_ALPHANUMERIC, NPI_ISDN, NPI_UNKNOWN = 1, 5, 1, 0
MAX_PARTS = 255
RETRYABLE_STATUSES = frozenset(
    {
        consts.SMPP_ESME_RTHROTTLED,
        consts.SMPP_ESME_RMSGQFUL,
        consts.SMPP_ESME_RSYSERR,
        consts.SMPP_ESME_RSUBMITFAIL,
        consts.SMPP_ESME_RX_T_APPN,
    }
)
SMPP_STATUSES: dict[str, ReceiptOutcome] = {
    "ENROUTE": "pending",
    "ACCEPTD": "pending",
    "UNKNOWN": "pending",
    "DELIVRD": "delivered",
    "EXPIRED": "temporary",
    # Undeliverable: the handset unreachable or the carrier refusing, as Twilio's "undelivered".
    "UNDELIV": "temporary",
    "DELETED": "permanent",
    "REJECTD": "permanent",
}
# The message_state TLV's values, as the receipt text names them.
MESSAGE_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
_RECEIPT_FIELD = re.compile(r"(id|sub|dlvrd|submit date|done date|stat|err):(\S*)", re.IGNORECASE)
_ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 ]{1,11}")

ReceiptHandler = Callable[[SmsReceipt], Awaitable[None]]
InboundHandler = Callable[[InboundSms], Awaitable[None]]


class SmppSettings(BaseModel):
    """Where the SMSC is, how to bind, and how to send long messages."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    host: str
    port: int = Field(default=2775, gt=0, lt=65536)
    system_id: str = Field(max_length=15)
    password: SecretStr
    system_type: str = Field(default="", max_length=12)
    default_sender: str | None = None
    long_messages: Literal["udh", "payload"] = "udh"
    statuses: dict[str, ReceiptOutcome] = Field(default_factory=lambda: dict(SMPP_STATUSES))
    timeout: float = Field(default=10.0, gt=0, le=120, description="seconds to wait for a PDU")
    enquire_link_interval: float = Field(default=30.0, gt=0, le=600)

    @field_validator("password")
    @classmethod
    def _short_password(cls, password: SecretStr) -> SecretStr:
        if len(password.get_secret_value()) > 8:
            raise ValueError("an SMPP 3.4 password has at most 8 characters")
        return password


class SmppProvider(Provider[SmsMessage, SmppSettings]):
    """Sends SMS to an SMSC over one SMPP transceiver session, opened on first use."""

    channel: ClassVar[str] = "sms"
    name: ClassVar[str] = "smpp"
    Settings: ClassVar[type[BaseModel]] = SmppSettings

    def __init__(
        self,
        settings: SmppSettings,
        *,
        circuit: CircuitBreaker | None = None,
        on_receipt: ReceiptHandler | None = None,
        on_inbound: InboundHandler | None = None,
    ) -> None:
        """``on_receipt`` records a delivery receipt, ``on_inbound`` a message someone sent;
        what either fails to take the SMSC delivers again."""
        super().__init__(settings, circuit=circuit)
        self.on_receipt = on_receipt
        self.on_inbound = on_inbound
        self._session: SmppSession | None = None
        self._opening = asyncio.Lock()

    async def aclose(self) -> None:
        """Unbind and close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _send(self, message: SmsMessage) -> DeliveryResult:
        session = await self._bound_session()
        ids: list[str] = []
        submits = submit_fields(message, self.settings)
        for fields in submits:
            try:
                answer = await session.request("submit_sm", **fields)
            except (SessionClosed, OSError, TimeoutError) as exc:
                raise RetryableDeliveryError(
                    f"no answer to submit_sm ({type(exc).__name__})", possible_duplicate=True
                ) from exc
            if answer.status != consts.SMPP_ESME_ROK:
                raise _refusal(answer.status, accepted=ids)
            ids.append(_text(answer.message_id))
        return DeliveryResult(
            provider_message_id=ids[-1],
            receipt=f"accepted in {len(ids)} submit_sm",
            provider_response={"message_ids": ids, "parts": len(submits)},
            awaits_receipt=True,  # the last part always asks for a receipt
        )

    async def _bound_session(self) -> SmppSession:
        async with self._opening:
            if self._session is None or not self._session.alive:
                self._session = await self._open()
            return self._session

    async def _open(self) -> SmppSession:
        settings = self.settings
        bind = {
            "system_id": settings.system_id,
            "password": settings.password.get_secret_value(),
            "system_type": settings.system_type,
            "interface_version": 0x34,
        }
        try:
            return await SmppSession.open(
                settings.host,
                settings.port,
                bind=bind,
                on_deliver=self._delivered,
                wait=settings.timeout,
                keepalive=settings.enquire_link_interval,
            )
        except BindRefused as exc:
            raise RetryableDeliveryError(
                str(exc), provider_response={"status": exc.status}
            ) from exc

    async def _delivered(self, pdu: Any) -> None:
        if not pdu.esm_class or not pdu.esm_class & ESM_DELIVERY_RECEIPT:
            await self._received(pdu)
            return
        receipt = parse_receipt(pdu, self.settings.statuses)
        if self.on_receipt is None:
            _log.warning("smpp.receipt_dropped", provider_message_id=receipt.provider_message_id)
            return
        await self.on_receipt(receipt)

    async def _received(self, pdu: Any) -> None:
        message = parse_inbound(pdu)
        if self.on_inbound is None:
            _log.info("smpp.mobile_originated_ignored")
            return
        await self.on_inbound(message)


def parse_inbound(pdu: Any) -> InboundSms:
    """A message a person sent (a ``deliver_sm`` that is no receipt): its numbers and text,
    decoded by its data coding (GSM 03.38, UCS-2, Latin-1), a user data header skipped."""
    data = pdu.short_message or getattr(pdu, "message_payload", None) or b""
    if isinstance(data, str):
        data = data.encode("latin-1")
    if pdu.esm_class and pdu.esm_class & ESM_UDHI and data:
        data = data[1 + data[0] :]
    return InboundSms(
        sender=_number(_text(pdu.source_addr), pdu.source_addr_ton),
        recipient=_number(_text(pdu.destination_addr), pdu.dest_addr_ton),
        body=data.decode(INBOUND_CODECS.get(pdu.data_coding or 0, "latin-1"), errors="replace"),
    )


def _number(address: str, ton: int | None) -> str:
    """An address as E.164 when the SMSC says it is an international number."""
    if ton == TON_INTERNATIONAL and address.isdigit():
        return f"+{address}"
    return address


def submit_fields(message: SmsMessage, settings: SmppSettings) -> list[dict[str, Any]]:
    """The submit_sm fields for each part of ``message`` (one, unless it is long)."""
    sender = message.sender or settings.default_sender or ""
    encoding = message.segments.encoding
    common: dict[str, Any] = {
        "service_type": "",
        "source_addr": sender.lstrip("+"),
        "destination_addr": message.recipient.lstrip("+"),
        "dest_addr_ton": TON_INTERNATIONAL,
        "dest_addr_npi": NPI_ISDN,
        "data_coding": DATA_CODING[encoding],
        **_source_numbering(sender),
    }
    units = encoded_units(message.body, encoding)
    if message.segments.segments == 1:
        return [{**common, "short_message": b"".join(units), "registered_delivery": 1}]
    if settings.long_messages == "payload":
        return [{**common, "message_payload": b"".join(units), "registered_delivery": 1}]
    parts = split_parts(units, GSM_PER_PART if encoding == "GSM-7" else UCS2_PER_PART * 2)
    return [
        {**common, "esm_class": ESM_UDHI, "short_message": part, "registered_delivery": last}
        for part, last in _with_headers(parts)
    ]


def encoded_units(text: str, encoding: str) -> list[bytes]:
    """Each character's bytes: a GSM septet per octet (two with the escape), or UTF-16-BE."""
    codec = "gsm03.38" if encoding == "GSM-7" else "utf-16-be"
    return [character.encode(codec) for character in text]


def split_parts(units: list[bytes], limit: int) -> list[bytes]:
    """Whole characters packed into parts of at most ``limit`` octets, as the counter counts."""
    parts: list[bytes] = [b""]
    for unit in units:
        if len(parts[-1]) + len(unit) > limit:
            parts.append(b"")
        parts[-1] += unit
    if len(parts) > MAX_PARTS:
        raise PermanentDeliveryError(f"the message needs more than {MAX_PARTS} parts")
    return parts


def _with_headers(parts: list[bytes]) -> list[tuple[bytes, int]]:
    """Each part behind its concatenation header; a receipt is asked for on the last only."""
    reference = secrets.randbelow(256)
    total = len(parts)
    return [
        (bytes([0x05, 0x00, 0x03, reference, total, number]) + part, int(number == total))
        for number, part in enumerate(parts, start=1)
    ]


def _source_numbering(sender: str) -> dict[str, int]:
    """TON/NPI of the sender: international for a number, alphanumeric for a name."""
    if sender.lstrip("+").isdigit():
        return {"source_addr_ton": TON_INTERNATIONAL, "source_addr_npi": NPI_ISDN}
    if sender and not _ALPHANUMERIC_SENDER.fullmatch(sender):
        raise PermanentDeliveryError("an alphanumeric sender has at most 11 letters and digits")
    return {"source_addr_ton": TON_ALPHANUMERIC, "source_addr_npi": NPI_UNKNOWN}


def parse_receipt(pdu: Any, statuses: dict[str, ReceiptOutcome] | None = None) -> SmsReceipt:
    """A delivery receipt from a deliver_sm: its TLVs when present, else its receipt text."""
    mapping = {key.upper(): value for key, value in (statuses or SMPP_STATUSES).items()}
    text = _text(pdu.short_message or getattr(pdu, "message_payload", None) or b"")
    fields = {name.lower(): value for name, value in _RECEIPT_FIELD.findall(text)}
    message_id = _text(getattr(pdu, "receipted_message_id", None)) or fields.get("id", "")
    state = getattr(pdu, "message_state", None)
    status = MESSAGE_STATES.get(state, "") if state else fields.get("stat", "").upper()
    if not message_id or not status:
        raise ValueError("the deliver_sm is not a delivery receipt")
    return SmsReceipt(
        provider_message_id=message_id,
        status=status,
        outcome=outcome_of_status(mapping.get(status)),
        error_code=fields.get("err"),
        raw={"text": text},
    )


def _refusal(status: int, *, accepted: list[str]) -> DeliveryError:
    response = {"status": status, "accepted_message_ids": accepted}
    text = f"submit_sm refused: {describe(status)}"
    if status in RETRYABLE_STATUSES:
        return RetryableDeliveryError(
            text, possible_duplicate=bool(accepted), provider_response=response
        )
    return PermanentDeliveryError(text, provider_response=response)


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else value
