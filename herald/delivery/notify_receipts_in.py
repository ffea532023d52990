"""Delivery receipts from a GOV.UK Notify service that Herald sends through (``govuk_notify``).

The Notify service's delivery-status callback points at ``POST /v1/receipts/govuk_notify
?account=<account id>`` with a bearer token; the token must be the ``callback_bearer_token``
of one of that account's ``govuk_notify`` providers. The receipt's ``id`` is Notify's
notification id, which the provider recorded as the delivery's message id. A receipt that
comes before Herald recorded Notify's answer (Notify can deliver within that moment) is
answered 503 with ``Retry-After``: Notify, and Herald's own callbacks, post it again.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.bus import Bus
from herald.channels.govuk_notify import GovukNotifySettings, parse_receipt
from herald.delivery.models import AccountProvider
from herald.delivery.sealing import unseal
from herald.errors import TryLater, Unauthorized, ValidationFailed
from herald.sms.receipts import apply_receipt

PROVIDER = "govuk_notify"
CHANNELS = ("email", "sms", "letter")
RETRY_AFTER = "5"


async def take_receipt(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    bearer: str | None,
    body: Mapping[str, Any],
    sealing_key: str,
    bus: Bus,
) -> None:
    """Apply a Notify receipt to the account's delivery it names (401 for a wrong token)."""
    if not bearer or not await _known_token(session, account_id, bearer, sealing_key):
        raise Unauthorized("The bearer token is not one of this account's Notify callbacks")
    try:
        receipt = parse_receipt(body)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    found = await apply_receipt(
        session, account_id=account_id, provider=PROVIDER, receipt=receipt, bus=bus,
        channels=CHANNELS,
    )  # fmt: skip
    if not found:
        raise TryLater(
            f"No message of this account has Notify id {receipt.provider_message_id} yet",
            headers={"Retry-After": RETRY_AFTER},
        )


async def _known_token(
    session: AsyncSession, account_id: uuid.UUID, bearer: str, sealing_key: str
) -> bool:
    rows = await session.scalars(
        select(AccountProvider.settings).where(
            AccountProvider.account_id == account_id, AccountProvider.provider == PROVIDER
        )
    )
    for sealed in rows:
        settings = GovukNotifySettings.model_validate(orjson.loads(unseal(sealing_key, sealed)))
        token = settings.callback_bearer_token
        if token is not None and hmac.compare_digest(bearer, token.get_secret_value()):
            return True
    return False
