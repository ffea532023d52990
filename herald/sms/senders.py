"""Sender names (seed 004): registered per account, approved by an ancestor account.

A name is 1 to 11 letters, digits and spaces (what an alphanumeric SMS sender may hold),
with at least one letter. Names of well-known brands (banks, public authorities,
payment providers, carriers) are rejected at once, compared without regard to case,
spaces or punctuation, and no ancestor can approve them; the account's own name is
approved at once (seed 004 fast-tracks the company's name); any other name waits
``pending`` until an ancestor account's admin (or the CLI) approves or rejects it.
Only an ``approved`` name may be used. A name's ``id`` is what seed 004 calls a
reception (``endpoint: "Reception#<id>"``).
"""

from __future__ import annotations

import re
import uuid
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.accounts.service import visible_account
from herald.db import utcnow
from herald.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from herald.sms.models import SmsSender

NAME = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
_FOLD = re.compile(r"[^a-z0-9]")
# A short brand is refused as a whole word only: "ups" inside "Groups" is not UPS.
WELL_KNOWN_BRANDS = frozenset(
    {
        "amazon", "americanexpress", "amex", "apple", "applepay", "bankofamerica",
        "barclays", "citibank", "danskebank", "dhl", "ebay", "facebook", "fedex", "google",
        "googlepay", "govuk", "hmrc", "hsbc", "instagram", "irs", "jpmorgan", "klarna",
        "lloyds", "mastercard", "microsoft", "mitid", "mobilepay", "monzo", "natwest",
        "netflix", "nhs", "nordea", "paypal", "police", "postnord", "revolut", "royalmail",
        "santander", "skat", "stripe", "ups", "usps", "visa", "wellsfargo", "whatsapp",
    }
)  # fmt: skip
MIN_CONTAINED = 5


class SenderStatus(StrEnum):
    """Where a sender name stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class SenderNotApproved(BadRequest):
    """A send named a sender that is not approved, or hid the number without one."""

    code = "sender_not_approved"


class BrandNameRejected(Conflict):
    """An ancestor tried to approve a name that was rejected for naming a brand."""

    code = "brand_name_rejected"


def folded(name: str) -> str:
    """The name compared to brands: lower case, letters and digits only."""
    return _FOLD.sub("", name.lower())


def brand_of(name: str) -> str | None:
    """The well-known brand the name matches, if any."""
    key = folded(name)
    words = {folded(word) for word in name.split()}
    for brand in sorted(WELL_KNOWN_BRANDS):
        if key == brand or brand in words or (len(brand) >= MIN_CONTAINED and brand in key):
            return brand
    return None


def _first_decision(name: str, account_name: str) -> tuple[SenderStatus, str | None]:
    """A new name's status and why: a brand is rejected, the account's own name approved."""
    brand = brand_of(name)
    if brand:
        return SenderStatus.REJECTED, f"matches the well-known brand {brand!r}"
    if folded(name) and folded(name) == folded(account_name):
        return SenderStatus.APPROVED, "the account's own name"
    return SenderStatus.PENDING, None


async def register(session: AsyncSession, *, account_id: uuid.UUID, name: str) -> SmsSender:
    """Register ``name`` (again): pending, rejected at once if it names a brand, approved at
    once if it is the account's own name.

    Registering a name the account already has changes nothing: a decision stands.
    """
    if not NAME.fullmatch(name):
        raise ValidationFailed.at(
            "/path/name", "A sender name is 1-11 letters, digits and spaces, with a letter"
        )
    found = await find(session, account_id=account_id, name=name)
    if found is not None:
        return found
    account_name = await session.scalar(select(Account.name).where(Account.id == account_id))
    status, reason = _first_decision(name, account_name or "")
    sender = SmsSender(
        account_id=account_id,
        name=name,
        status=status,
        reason=reason,
        decided_at=None if status == SenderStatus.PENDING else utcnow(),
    )
    session.add(sender)
    await session.flush()
    return sender


async def find(session: AsyncSession, *, account_id: uuid.UUID, name: str) -> SmsSender | None:
    """The account's sender of that name, if registered."""
    found: SmsSender | None = await session.scalar(
        select(SmsSender).where(SmsSender.account_id == account_id, SmsSender.name == name)
    )
    return found


async def find_by_id(
    session: AsyncSession, *, account_id: uuid.UUID, sender_id: uuid.UUID
) -> SmsSender | None:
    """The account's sender of that id (seed 004's reception), if registered."""
    found: SmsSender | None = await session.scalar(
        select(SmsSender).where(SmsSender.account_id == account_id, SmsSender.id == sender_id)
    )
    return found


async def list_senders(session: AsyncSession, *, account_id: uuid.UUID) -> list[SmsSender]:
    """The account's sender names, by name."""
    rows = await session.scalars(
        select(SmsSender).where(SmsSender.account_id == account_id).order_by(SmsSender.name)
    )
    return list(rows)


async def list_senders_below(
    session: AsyncSession, *, account: Account, status: SenderStatus | None = None
) -> list[tuple[SmsSender, Account]]:
    """The sender names of every account below ``account`` (those it may decide on), with
    their accounts: pending first, then by account and name."""
    query = (
        select(SmsSender, Account)
        .join(Account, Account.id == SmsSender.account_id)
        .where(Account.path.startswith(account.path), Account.id != account.id)
        .order_by(SmsSender.status != SenderStatus.PENDING.value, Account.name, SmsSender.name)
    )
    if status is not None:
        query = query.where(SmsSender.status == status.value)
    rows = await session.execute(query)
    return [(sender, owner) for sender, owner in rows]


async def decide(
    session: AsyncSession, *, account: Account, name: str, status: SenderStatus
) -> SmsSender:
    """Approve or reject the account's sender name (the caller checked it may decide).

    A well-known brand's name stays rejected: no ancestor may approve it (409)."""
    sender = await find(session, account_id=account.id, name=name)
    if sender is None:
        raise NotFound("No such sender name")
    brand = brand_of(sender.name)
    if status is SenderStatus.APPROVED and brand is not None:
        raise BrandNameRejected(
            f"{sender.name!r} matches the well-known brand {brand!r} and stays rejected"
        )
    sender.status = status.value
    sender.reason = None
    sender.decided_at = utcnow()
    await session.flush()
    return sender


async def decide_for(
    session: AsyncSession,
    *,
    caller_id: uuid.UUID,
    account_id: uuid.UUID,
    name: str,
    status: SenderStatus,
) -> SmsSender:
    """An ancestor's decision on a descendant's sender name: 404 for an account the caller does
    not see, 403 for the caller's own names (an account cannot approve itself)."""
    account = await visible_account(session, caller_id=caller_id, account_id=account_id)
    if account.id == caller_id:
        raise Forbidden("Only an ancestor account may decide on an account's sender names")
    return await decide(session, account=account, name=name, status=status)


async def check_sender(session: AsyncSession, *, account_id: uuid.UUID, name: str) -> None:
    """400 ``sender_not_approved`` unless the account's sender ``name`` is approved."""
    sender = await find(session, account_id=account_id, name=name)
    if sender is None or sender.status != SenderStatus.APPROVED:
        state = sender.status if sender else "not registered"
        raise SenderNotApproved(f"The sender name {name!r} is not approved ({state})")


def is_number(sender: str) -> bool:
    """Whether a sender is a phone number (needs no approval) rather than a name."""
    return sender.lstrip("+").isdigit()
