"""The SMPP provider against a local SMSC: submits, long messages, receipts and error statuses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from smpplib import consts

from herald.channels.base import PermanentDeliveryError, RetryableDeliveryError
from herald.channels.outcome import Outcome
from herald.channels.sms.messages import SmsMessage, SmsReceipt
from herald.channels.sms.smpp import SmppProvider, SmppSettings
from tests.channels.servers.smpp import (
    ENQUIRE_LINK,
    TLV_MESSAGE_PAYLOAD,
    UNBIND,
    Smsc,
    running,
)

DELIVERY_ID = "0190b2b4-7c1e-7a3e-9d2f-5b8a1c0d4e6f"
UDH_LENGTH = 6

Providers = Callable[..., SmppProvider]
RECEIPTS: dict[SmppProvider, asyncio.Queue[SmsReceipt]] = {}


def sms(body: str = "Missed call from Ann", **overrides: Any) -> SmsMessage:
    fields: dict[str, Any] = {
        "delivery_id": DELIVERY_ID,
        "recipient": "+4571000000",
        "body": body,
        "sender": "Herald",
    }
    return SmsMessage(**(fields | overrides))


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    async with running(Smsc()) as server:
        yield server


@pytest.fixture
async def providers() -> AsyncIterator[Providers]:
    """Build providers bound to a local SMSC, with a receipt queue; closed after the test."""
    made: list[SmppProvider] = []

    def make(server: Smsc, **settings: Any) -> SmppProvider:
        config = {
            "host": "127.0.0.1",
            "port": server.port,
            "system_id": "herald",
            "password": "secret",
            "timeout": 5,
        } | settings
        receipts: asyncio.Queue[SmsReceipt] = asyncio.Queue()

        async def on_receipt(receipt: SmsReceipt) -> None:
            await receipts.put(receipt)

        provider = SmppProvider(SmppSettings.model_validate(config), on_receipt=on_receipt)
        RECEIPTS[provider] = receipts
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()
        RECEIPTS.pop(provider, None)


async def next_receipt(provider: SmppProvider) -> SmsReceipt:
    return await asyncio.wait_for(RECEIPTS[provider].get(), 5)


async def test_submits_gsm_text_and_the_receipt_ends_delivered(
    smsc: Smsc, providers: Providers
) -> None:
    provider = providers(smsc)
    result = await provider.send(sms())

    [submit] = smsc.submits
    assert (submit.destination_addr, submit.source_addr, submit.source_addr_ton) == (
        "4571000000",
        "Herald",
        5,
    )
    assert (submit.data_coding, submit.esm_class, submit.registered_delivery) == (0, 0, 1)
    assert submit.short_message == b"Missed call from Ann"
    receipt = await next_receipt(provider)
    assert receipt.provider_message_id == result.provider_message_id == "msg-1"
    assert (receipt.status, receipt.outcome) == ("DELIVRD", Outcome.DELIVERED)
    await asyncio.wait_for(smsc.receipt_answered.wait(), 5)
    assert smsc.receipt_answers == [0]


async def test_a_numeric_sender_is_international(smsc: Smsc, providers: Providers) -> None:
    await providers(smsc).send(sms(sender="+4570000000"))
    [submit] = smsc.submits
    assert (submit.source_addr, submit.source_addr_ton) == ("4570000000", 1)


async def test_gsm_escape_characters_are_two_septets(smsc: Smsc, providers: Providers) -> None:
    await providers(smsc).send(sms("Price: 5€ [net]"))
    [submit] = smsc.submits
    assert submit.short_message == "Price: 5€ [net]".encode("gsm03.38")
    assert submit.short_message.count(b"\x1b") == 3


async def test_a_long_gsm_message_is_concatenated_without_splitting_an_escape(
    smsc: Smsc, providers: Providers
) -> None:
    body = "a" * 152 + "€" + "b" * 10  # 164 septets; the euro sign cannot fit part one
    message = sms(body)
    assert message.segments.segments == 2
    result = await providers(smsc).send(message)

    first, second = smsc.submits
    assert first.esm_class == second.esm_class == consts.SMPP_GSMFEAT_UDHI
    assert first.short_message[:3] == second.short_message[:3] == b"\x05\x00\x03"
    assert first.short_message[3] == second.short_message[3]  # one reference
    assert (first.short_message[4:6], second.short_message[4:6]) == (b"\x02\x01", b"\x02\x02")
    assert len(first.short_message) - UDH_LENGTH == 152
    assert second.short_message[UDH_LENGTH:].startswith(b"\x1be")
    text = b"".join(s.short_message[UDH_LENGTH:] for s in smsc.submits)
    assert text.decode("gsm03.38") == body
    assert (first.registered_delivery, second.registered_delivery) == (0, 1)
    assert result.provider_message_id == "msg-2"
    assert result.provider_response["message_ids"] == ["msg-1", "msg-2"]


async def test_a_long_unicode_message_is_ucs2_in_whole_characters(
    smsc: Smsc, providers: Providers
) -> None:
    body = "Hej 👋 " * 20
    provider = providers(smsc)
    await provider.send(sms(body))

    assert len(smsc.submits) == sms(body).segments.segments == 3
    assert {submit.data_coding for submit in smsc.submits} == {8}
    parts = [submit.short_message[UDH_LENGTH:] for submit in smsc.submits]
    assert all(len(part) <= 134 for part in parts)
    assert "".join(part.decode("utf-16-be") for part in parts) == body  # no pair cut
    receipt = await next_receipt(provider)
    assert receipt.provider_message_id == "msg-3"


async def test_message_payload_mode_sends_one_pdu(smsc: Smsc, providers: Providers) -> None:
    body = "x" * 400
    await providers(smsc, long_messages="payload").send(sms(body))
    [submit] = smsc.submits
    assert submit.short_message == b""
    assert submit.tlvs[TLV_MESSAGE_PAYLOAD] == body.encode()


@pytest.mark.parametrize(("stat", "outcome"), [("UNDELIV", Outcome.TEMPORARY), ("DELIVRD", None)])
async def test_receipts_in_tlvs(stat: str, outcome: Outcome | None, providers: Providers) -> None:
    async with running(Smsc(receipt_as_tlv=True, receipt_stat=stat)) as server:
        provider = providers(server)
        await provider.send(sms())
        receipt = await next_receipt(provider)
    expected = outcome or Outcome.DELIVERED
    assert (receipt.provider_message_id, receipt.outcome) == ("msg-1", expected)


async def test_throttling_is_retryable(smsc: Smsc, providers: Providers) -> None:
    smsc.statuses = [consts.SMPP_ESME_RTHROTTLED]
    with pytest.raises(RetryableDeliveryError, match="0x58") as caught:
        await providers(smsc).send(sms())
    assert not caught.value.possible_duplicate
    assert not caught.value.temporary


async def test_an_invalid_destination_is_permanent(smsc: Smsc, providers: Providers) -> None:
    smsc.statuses = [consts.SMPP_ESME_RINVDSTADR]
    with pytest.raises(PermanentDeliveryError, match="0x0B") as caught:
        await providers(smsc).send(sms())
    assert caught.value.provider_response["status"] == consts.SMPP_ESME_RINVDSTADR


async def test_throttled_after_a_part_was_accepted_is_a_possible_duplicate(
    smsc: Smsc, providers: Providers
) -> None:
    smsc.statuses = [0, consts.SMPP_ESME_RTHROTTLED]
    with pytest.raises(RetryableDeliveryError) as caught:
        await providers(smsc).send(sms("y" * 200))
    assert caught.value.possible_duplicate
    assert caught.value.provider_response["accepted_message_ids"] == ["msg-1"]


async def test_a_wrong_password_is_a_technical_failure(smsc: Smsc, providers: Providers) -> None:
    with pytest.raises(RetryableDeliveryError, match="bind refused"):
        await providers(smsc, password="wrong").send(sms())
    assert smsc.submits == []


async def test_no_smsc_is_a_technical_failure(providers: Providers) -> None:
    async with running(Smsc()) as gone:
        pass
    with pytest.raises(RetryableDeliveryError):
        await providers(gone).send(sms())


async def test_a_receipt_the_handler_fails_to_take_is_not_acknowledged(smsc: Smsc) -> None:
    async def refuse(_receipt: SmsReceipt) -> None:
        raise RuntimeError("database down")

    settings = {"host": "127.0.0.1", "port": smsc.port, "system_id": "herald", "password": "secret"}
    provider = SmppProvider(SmppSettings.model_validate(settings), on_receipt=refuse)
    try:
        await provider.send(sms())
        await asyncio.wait_for(smsc.receipt_answered.wait(), 5)
    finally:
        await provider.aclose()
    assert smsc.receipt_answers == [consts.SMPP_ESME_RX_T_APPN]


async def test_one_session_keeps_alive_and_unbinds_on_close(smsc: Smsc) -> None:
    settings = {
        "host": "127.0.0.1",
        "port": smsc.port,
        "system_id": "herald",
        "password": "secret",
        "enquire_link_interval": 0.05,
    }
    provider = SmppProvider(SmppSettings.model_validate(settings))
    await provider.send(sms())
    await provider.send(sms())
    await asyncio.sleep(0.2)
    await provider.aclose()
    await asyncio.sleep(0.05)
    assert smsc.binds == 1
    assert ENQUIRE_LINK in smsc.commands
    assert smsc.commands[-1] == UNBIND


async def test_a_session_the_smsc_dropped_is_reopened(smsc: Smsc, providers: Providers) -> None:
    provider = providers(smsc)
    await provider.send(sms())
    smsc.drop()
    await asyncio.sleep(0.05)
    await provider.send(sms())
    assert smsc.binds == 2
    assert len(smsc.submits) == 2
