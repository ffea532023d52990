"""What the template pages show: where each template comes from in the account tree, and the
editor's channels filled from the template or from what was just typed."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from herald.accounts.models import Account
from herald.templates.inheritance import Resolved
from herald.templates.models import Template
from herald.web.console.forms import raw
from herald.web.console.template_forms import CHANNEL_LABELS, PARTS, Part, field_name


@dataclass(frozen=True)
class Origin:
    """Where the template an account gets comes from, in words."""

    label: str
    kind: str  # "system", "inherited", "override" or "own"


@dataclass(frozen=True)
class EditorChannel:
    """One channel of the editor: its parts with their values, and whether it has any."""

    name: str
    label: str
    parts: list[tuple[Part, str]]

    @property
    def present(self) -> bool:
        """Whether the channel has a part (absent channels start folded)."""
        return any(value for _part, value in self.parts)


async def ancestor_names(session: AsyncSession, account: Account) -> dict[uuid.UUID, str]:
    """The names of the account's ancestors, by id."""
    if not account.ancestor_ids:
        return {}
    rows = await session.execute(
        select(Account.id, Account.name).where(Account.id.in_(account.ancestor_ids))
    )
    return {row.id: row.name for row in rows}


def origin_of(
    resolved: Resolved, *, rows: Iterable[Template], names: Mapping[uuid.UUID, str]
) -> Origin:
    """System default, inherited from an ancestor, this account's override, or its own."""
    owner = resolved.row.account_id
    if owner is None:
        return Origin("System default", "system")
    if not resolved.own:
        return Origin(f"Inherited from {names.get(owner, str(owner))}", "inherited")
    template_id = resolved.row.template_id
    if any(r.template_id == template_id and r.account_id != owner for r in rows):
        return Origin("This account's override", "override")
    return Origin("This account's own", "own")


def editor_channels(body: Mapping[str, Any], typed: FormData | None = None) -> list[EditorChannel]:
    """Every channel the editor offers, with the template's values or those just typed."""
    stored = body.get("channels") or {}
    channels = []
    for channel, parts in PARTS.items():
        values = []
        for part in parts:
            value = raw(typed, field_name(channel, part.name)) if typed is not None else None
            if value is None:
                value = (stored.get(channel) or {}).get(part.name)
            values.append((part, value if isinstance(value, str) else ""))
        channels.append(EditorChannel(channel, CHANNEL_LABELS[channel], values))
    return channels
