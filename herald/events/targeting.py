"""Turning an envelope's targets into distinct recipients: users (by id) and raw addresses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.directory.models import Team, User, team_members
from herald.directory.service import resolve_external_ids
from herald.errors import ErrorDetail, ValidationFailed
from herald.events.schemas import Targets

CHUNK = 5000


@dataclass
class Recipients:
    """Distinct recipients: users (id → external id, in target order) and raw addresses."""

    users: dict[uuid.UUID, str] = field(default_factory=dict)
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many people and raw addresses, after de-duplication."""
        return len(self.users) + len(self.emails) + len(self.phones) + len(self.addresses)


async def _explicit_users(
    session: AsyncSession, account_id: uuid.UUID, targets: Targets, problems: list[ErrorDetail]
) -> dict[uuid.UUID, str]:
    found: dict[uuid.UUID, str] = {}
    for pointer, ids in (
        ("/targets/users", targets.users),
        ("/targets/negotiatorId", targets.negotiatorId),
    ):
        if not ids:
            continue
        try:
            resolved = await resolve_external_ids(
                session, account_id=account_id, external_ids=ids, pointer=pointer
            )
        except ValidationFailed as exc:
            problems.extend(exc.details)
            continue
        found.update({resolved[ext]: ext for ext in ids})
    return found


async def _team_ids(
    session: AsyncSession, account_id: uuid.UUID, keys: Sequence[str], problems: list[ErrorDetail]
) -> list[uuid.UUID]:
    rows = await session.execute(
        select(Team.key, Team.id).where(Team.account_id == account_id, Team.key.in_(set(keys)))
    )
    found = dict(rows.all())
    problems.extend(
        ErrorDetail(f"/targets/teams/{i}", f"Unknown team {key}")
        for i, key in enumerate(keys)
        if key not in found
    )
    return list(dict.fromkeys(found[k] for k in keys if k in found))


async def _users_where(
    session: AsyncSession, condition: ColumnElement[bool]
) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(User.id, User.external_id).where(condition).order_by(User.id)
    )
    return dict(rows.all())


async def _members(session: AsyncSession, team_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    found: dict[uuid.UUID, str] = {}
    for start in range(0, len(team_ids), CHUNK):
        chunk = team_ids[start : start + CHUNK]
        member_of = select(team_members.c.user_id).where(team_members.c.team_id.in_(chunk))
        found.update(await _users_where(session, User.id.in_(member_of)))
    return found


async def resolve_targets(
    session: AsyncSession, *, account_id: uuid.UUID, targets: Targets
) -> Recipients:
    """Every recipient the targets name, de-duplicated; unknown users and teams are one 422."""
    problems: list[ErrorDetail] = []
    users = await _explicit_users(session, account_id, targets, problems)
    team_ids = (
        await _team_ids(session, account_id, targets.teams, problems) if targets.teams else []
    )
    if problems:
        raise ValidationFailed("Unknown users or teams", details=problems, code="unknown_targets")
    if team_ids:
        users.update(await _members(session, team_ids))
    if targets.all:
        users.update(await _users_where(session, User.account_id == account_id))
    elif targets.admins:
        in_account = User.account_id == account_id
        users.update(await _users_where(session, in_account & User.admin.is_(True)))
    addresses = {(tuple(a.lines), a.postcode): a.model_dump() for a in targets.addresses}
    return Recipients(
        users=users,
        emails=list(dict.fromkeys(e.lower() for e in targets.emails)),
        phones=list(dict.fromkeys(targets.phones)),
        addresses=list(addresses.values()),
    )
