"""Whose a raw address is: an email address or number that is exactly one directory user's.

A delivery to ``targets.emails`` / ``phones`` (GOV.UK Notify's ``/v2``, the SMS gateway's
``to_numbers``) names no user, but the address may be one user's own: that user's choices then
apply to it as to the deliveries addressed to them. An address nobody of the notification's
account has, or several users share, has no choices to apply. Emails match in any case (as a
team key's check does, ``herald.directory.service.reaches_team``), numbers in E.164. One
statement per 5000 addresses of each kind, on the ``(account_id, lower(email))`` and
``(account_id, phone)`` indexes.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from herald.directory.models import User

CHUNK = 5000
Address = tuple[uuid.UUID, str, str]
"""(account id, ``email`` or ``phone``, the address as matched: lower-cased email, E.164)."""


def address_of(row: dict[str, Any]) -> Address | None:
    """The raw address a delivery row names, as matched; None for a user's or any other."""
    if row["user_id"] is not None:
        return None
    recipient = row["recipient"]
    if isinstance(recipient.get("email"), str):
        return (row["account_id"], "email", recipient["email"].lower())
    if isinstance(recipient.get("phone"), str):
        return (row["account_id"], "phone", recipient["phone"])
    return None


async def owners(session: AsyncSession, addresses: Iterable[Address]) -> dict[Address, uuid.UUID]:
    """The one user of each address's account who has it (an address nobody or several
    users have is left out)."""
    wanted: dict[str, set[tuple[uuid.UUID, str]]] = defaultdict(set)
    for account, kind, value in addresses:
        wanted[kind].add((account, value))
    columns: dict[str, ColumnElement[Any]] = {
        "email": func.lower(User.email),
        "phone": User.phone,  # type: ignore[dict-item]
    }
    holders: dict[Address, set[uuid.UUID]] = defaultdict(set)
    for kind, pairs in wanted.items():
        column, listed = columns[kind], sorted(pairs)
        for start in range(0, len(listed), CHUNK):
            found = await session.execute(
                select(User.account_id, column, User.id).where(
                    tuple_(User.account_id, column).in_(listed[start : start + CHUNK])
                )
            )
            for account, value, user in found:
                holders[(account, kind, value)].add(user)
    return {address: next(iter(users)) for address, users in holders.items() if len(users) == 1}
