"""Where each preference in effect comes from, and what a recipient may choose between.

The pages (the widget's preferences view, the console's preferences pages) show not only the
document in effect but its layers — each account's defaults down the tree, then the user's own
— and the categories a recipient can turn off (a category every type and template of which is
mandatory cannot be: it is shown locked). ``store`` merges; this module keeps the layers apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.events.builtin import BUILTIN
from herald.events.models import NotificationType
from herald.rules import store
from herald.rules.models import ACCOUNT, Preference
from herald.templates.models import Template

RECIPIENT_CHANNELS = ("in_app", "email", "sms", "push")
"""The channels the pages let a recipient choose between: the inbox (off: no inbox item) and
the person's own addresses and devices. Webhooks, letters and chat go to addresses the sender
chose, not to a person."""


@dataclass(frozen=True)
class Layer:
    """One account's own defaults (``user_id`` None) or one user's own choices."""

    account: Account
    document: dict[str, Any]
    user_id: uuid.UUID | None = None


@dataclass(frozen=True)
class CategoryChoice:
    """A category a recipient sees; ``mandatory`` when every type and template of it is;
    ``builtin`` when only Herald's built-in types carry it (no type or template of the
    account's: pages list those apart, most accounts send few of them)."""

    name: str
    mandatory: bool
    builtin: bool = False


async def account_layers(session: AsyncSession, account: Account) -> list[Layer]:
    """The stored defaults of the account's tree, root first, the account's own last (an
    account that stored nothing has an empty document): one statement each for the accounts
    and their documents."""
    chain = [*account.ancestor_ids, account.id]
    accounts = {
        a.id: a for a in await session.scalars(select(Account).where(Account.id.in_(chain)))
    }
    rows = await session.execute(
        select(Preference.account_id, Preference.document).where(
            Preference.account_id.in_(chain), Preference.subject == ACCOUNT
        )
    )
    found: dict[uuid.UUID, dict[str, Any]] = {a: dict(d) for a, d in rows.all()}
    return [Layer(accounts[a], found.get(a, {})) for a in chain if a in accounts]


async def user_layers(session: AsyncSession, account: Account, user_id: uuid.UUID) -> list[Layer]:
    """The account tree's layers, then the user's own choices."""
    own = await store.own_document(session, account.id, str(user_id))
    return [*await account_layers(session, account), Layer(account, own, user_id)]


def in_effect(layers: list[Layer]) -> dict[str, Any]:
    """The document the layers make, as ``store.merge`` makes it for the rules."""
    return store.merge(layer.document for layer in layers)


def source_of(layers: list[Layer], category: str | None, channel: str) -> Layer | None:
    """The layer whose choice decides ``channel`` (for ``category``, or the channel itself):
    the last one that said something, the category's choice before the channel's, as
    ``decide.allowed`` reads them; None when nobody did (on)."""
    if category is not None:
        for layer in reversed(layers):
            if channel in (layer.document.get("categories") or {}).get(category, {}):
                return layer
    for layer in reversed(layers):
        if channel in (layer.document.get("channels") or {}):
            return layer
    return None


def field_source(layers: list[Layer], field: str) -> Layer | None:
    """The layer whose ``quiet_hours`` / ``frequency_cap`` is in effect, None when none set it."""
    for layer in reversed(layers):
        if field in layer.document:
            return layer
    return None


async def categories(session: AsyncSession, account: Account) -> list[CategoryChoice]:
    """Every category the account sends (``store.known_categories``), by name, each marked
    mandatory when every type and template that carries it is."""
    chain = [*account.ancestor_ids, account.id]
    sources: dict[str, list[bool]] = {}
    for (builtin_type, _sub_type), definition in BUILTIN.items():
        sources.setdefault(builtin_type, []).append(bool(definition.rules.get("mandatory")))
    own: set[str] = set()  # carried by a type or template of the account's tree
    types = await session.execute(
        select(NotificationType.type, NotificationType.rules).where(
            NotificationType.account_id.in_(chain)
        )
    )
    for type_, rules in types:
        sources.setdefault(type_, []).append(bool((rules or {}).get("mandatory")))
        own.add(type_)
    templates = await session.execute(
        select(Template.account_id, Template.body).where(
            or_(Template.account_id.in_(chain), Template.account_id.is_(None)),
            Template.deleted_at.is_(None),
        )
    )
    for owner, body in templates:
        if body.get("category"):
            category = str(body["category"])
            sources.setdefault(category, []).append(bool(body.get("mandatory")))
            if owner is not None:  # Herald's default templates are built in, as its types
                own.add(category)
    return [
        CategoryChoice(name, all(flags), name not in own) for name, flags in sorted(sources.items())
    ]


def named_in(chain: list[Layer], category: str) -> bool:
    """Whether any layer makes a choice for ``category``."""
    return any(category in (layer.document.get("categories") or {}) for layer in chain)


async def replace_account_defaults(
    session: AsyncSession, account: Account, document: Mapping[str, Any]
) -> None:
    """Make ``document`` the account's whole own defaults (a field left out is inherited
    again), after the same category check ``store.save`` makes."""
    await store.check_categories(session, account, document)
    row = await session.get(Preference, (account.id, ACCOUNT))
    if row is None:
        await store.save(session, account=account, user_id=None, given=document)
        return
    row.document = dict(document)
    await session.flush()
