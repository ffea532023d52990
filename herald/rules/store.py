"""Preferences documents: stored per account (defaults) and per user, merged down the tree.

A document has ``channels`` (channel → on/off), ``categories`` (category → channel → on/off),
``quiet_hours`` and, for an account, ``frequency_cap``. The documents in effect for a user
are the account tree's, root first, then the user's own; each later one wins field by field.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account, ancestors_in
from herald.db import utcnow
from herald.errors import ErrorDetail, ValidationFailed, json_pointer
from herald.events.builtin import BUILTIN
from herald.events.models import NotificationType
from herald.rules.models import ACCOUNT, Preference
from herald.templates.models import Template
from herald.templates.sending import paths_of

CHUNK = 5000


def merge(documents: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Documents applied in order, each later one winning per channel, per category and
    channel, and for ``quiet_hours`` / ``frequency_cap`` (``null`` clears an earlier one)."""
    merged: dict[str, Any] = {"channels": {}, "categories": {}, "quiet_hours": None}
    for document in documents:
        merged["channels"].update(document.get("channels") or {})
        for category, channels in (document.get("categories") or {}).items():
            merged["categories"].setdefault(category, {}).update(channels)
        for field in ("quiet_hours", "frequency_cap"):
            if field in document:
                merged[field] = document[field]
    return merged


async def defaults_of(
    session: AsyncSession, account_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The defaults in effect for each account, in two statements whatever their number (one
    once the accounts' paths are known: ``paths_of``)."""
    paths = await paths_of(session, account_ids)
    chains = {a: [*ancestors_in(path), a] for a, path in paths.items()}
    every = {member for chain in chains.values() for member in chain}
    rows = await session.execute(
        select(Preference.account_id, Preference.document).where(
            Preference.account_id.in_(every), Preference.subject == ACCOUNT
        )
    )
    found: dict[uuid.UUID, dict[str, Any]] = dict(rows.all())
    return {a: merge(found[m] for m in chain if m in found) for a, chain in chains.items()}


async def users_own(
    session: AsyncSession, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The users' own documents (only those who have one), a statement per 5000 users."""
    ids = list(user_ids)
    found: dict[uuid.UUID, dict[str, Any]] = {}
    for start in range(0, len(ids), CHUNK):
        rows = await session.execute(
            select(Preference.user_id, Preference.document).where(
                Preference.user_id.in_(ids[start : start + CHUNK])
            )
        )
        found.update({user_id: document for user_id, document in rows if user_id is not None})
    return found


async def own_document(
    session: AsyncSession, account_id: uuid.UUID, subject: str
) -> dict[str, Any]:
    """The stored document of the account (``ACCOUNT``) or of one user (their id), or ``{}``."""
    row = await session.get(Preference, (account_id, subject))
    return dict(row.document) if row is not None else {}


async def save(
    session: AsyncSession,
    *,
    account: Account,
    user_id: uuid.UUID | None,
    given: Mapping[str, Any],
) -> None:
    """Store the fields given over the stored document (after checking category names)."""
    await check_categories(session, account, given)
    subject = ACCOUNT if user_id is None else str(user_id)
    row = await session.get(Preference, (account.id, subject))
    if row is None:
        session.add(
            Preference(
                account_id=account.id, subject=subject, user_id=user_id, document=dict(given)
            )
        )
    else:
        row.document = {**row.document, **given}
        row.updated_at = utcnow()
    await session.flush()


async def known_categories(session: AsyncSession, account: Account) -> set[str]:
    """Every category the account can send: built-in and own types, and the categories of
    the templates it sees (its own, its ancestors', the system's)."""
    known = {type_ for type_, _ in BUILTIN}
    chain = [*account.ancestor_ids, account.id]
    known.update(
        await session.scalars(
            select(NotificationType.type).where(NotificationType.account_id.in_(chain))
        )
    )
    bodies = await session.scalars(
        select(Template.body).where(
            or_(Template.account_id.in_(chain), Template.account_id.is_(None)),
            Template.deleted_at.is_(None),
        )
    )
    known.update(str(b["category"]) for b in bodies if b.get("category"))
    return known


async def check_categories(
    session: AsyncSession, account: Account, given: Mapping[str, Any]
) -> None:
    """422 naming each category no type or template of the account has."""
    named = list((given.get("categories") or {}).keys())
    if not named:
        return
    known = await known_categories(session, account)
    details = [
        ErrorDetail(json_pointer(["categories", name]), f"Unknown category {name}")
        for name in named
        if name not in known
    ]
    if details:
        raise ValidationFailed("Unknown categories", details=details)
