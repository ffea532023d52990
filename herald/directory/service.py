"""Users, teams and devices of one account. Every query is scoped by account; never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.cache import forget_credentials
from herald.db import shared_reads
from herald.directory.models import Device, Team, User, team_members
from herald.directory.schemas import DeviceIn, UserIn
from herald.errors import ErrorDetail, NotFound, ValidationFailed


async def get_user(session: AsyncSession, *, account_id: uuid.UUID, external_id: str) -> User:
    """A user of the account by external id, or 404."""
    user = await session.scalar(
        select(User).where(User.account_id == account_id, User.external_id == external_id)
    )
    if user is None:
        raise NotFound(f"No user {external_id}")
    return user


async def upsert_user(
    session: AsyncSession, *, account_id: uuid.UUID, external_id: str, body: UserIn
) -> tuple[User, bool]:
    """Create or replace a user; returns it and whether it was created."""
    user = await session.scalar(
        select(User).where(User.account_id == account_id, User.external_id == external_id)
    )
    created = user is None
    if user is None:
        user = User(account_id=account_id, external_id=external_id)
        session.add(user)
    for field, value in body.model_dump().items():
        setattr(user, field, value)
    await session.flush()
    return user, created


async def delete_user(session: AsyncSession, *, account_id: uuid.UUID, external_id: str) -> None:
    """Remove a user and, through cascades, their devices, memberships and personal data."""
    user = await get_user(session, account_id=account_id, external_id=external_id)
    await session.delete(user)
    await session.flush()
    forget_credentials(session)  # the user's tokens: at once here, within a second elsewhere


async def list_users(
    session: AsyncSession, *, account_id: uuid.UUID, offset: int, limit: int
) -> tuple[list[User], int]:
    """A page of users in creation order, with the total."""
    where = User.account_id == account_id
    total = await session.scalar(select(func.count()).select_from(User).where(where))
    rows = await session.scalars(
        select(User).where(where).order_by(User.id).offset(offset).limit(limit)
    )
    return list(rows), int(total or 0)


# Built once: the accept path resolves its targets with it on every request.
BY_EXTERNAL_ID = select(User.external_id, User.id).where(
    User.account_id == bindparam("account_id"),
    User.external_id.in_(bindparam("ids", expanding=True)),
)


async def resolve_external_ids(
    session: AsyncSession, *, account_id: uuid.UUID, external_ids: Sequence[str], pointer: str
) -> dict[str, uuid.UUID]:
    """Map external ids to user ids in one query; unknown ones are a 422 naming each."""
    wanted = list(dict.fromkeys(external_ids))
    found: dict[str, uuid.UUID] = {}
    shared = shared_reads(session)
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        key = ("external_ids", account_id, tuple(chunk))
        if shared is not None and key in shared:
            found.update(shared[key])
            continue
        rows = await session.execute(BY_EXTERNAL_ID, {"account_id": account_id, "ids": chunk})
        known = {str(ext): uid for ext, uid in rows}
        found.update(known)
        if shared is not None:
            shared[key] = known
    missing = [
        ErrorDetail(f"{pointer}/{i}", f"Unknown user {ext}")
        for i, ext in enumerate(external_ids)
        if ext not in found
    ]
    if missing:
        raise ValidationFailed("Unknown users", details=missing, code="unknown_users")
    return found


async def get_team(session: AsyncSession, *, account_id: uuid.UUID, key: str) -> Team:
    """A team of the account by key, or 404."""
    team = await session.scalar(select(Team).where(Team.account_id == account_id, Team.key == key))
    if team is None:
        raise NotFound(f"No team {key}")
    return team


async def team_member_ids(session: AsyncSession, *, team_id: uuid.UUID) -> list[str]:
    """External ids of a team's members, in a stable order."""
    rows = await session.scalars(
        select(User.external_id)
        .join(team_members, team_members.c.user_id == User.id)
        .where(team_members.c.team_id == team_id)
        .order_by(User.external_id)
    )
    return list(rows)


async def put_team(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    key: str,
    name: str | None,
    members: list[str],
) -> Team:
    """Create or replace a team and its whole membership (bulk insert)."""
    ids = await resolve_external_ids(
        session, account_id=account_id, external_ids=members, pointer="/members"
    )
    team = await session.scalar(select(Team).where(Team.account_id == account_id, Team.key == key))
    if team is None:
        team = Team(account_id=account_id, key=key)
        session.add(team)
    team.name = name
    await session.flush()
    await session.execute(delete(team_members).where(team_members.c.team_id == team.id))
    rows = [{"team_id": team.id, "user_id": uid} for uid in dict.fromkeys(ids.values())]
    for start in range(0, len(rows), 5000):
        await session.execute(insert(team_members), rows[start : start + 5000])
    return team


async def delete_team(session: AsyncSession, *, account_id: uuid.UUID, key: str) -> None:
    """Remove a team (its users stay)."""
    team = await get_team(session, account_id=account_id, key=key)
    await session.delete(team)
    await session.flush()


async def list_teams(
    session: AsyncSession, *, account_id: uuid.UUID, offset: int, limit: int
) -> tuple[list[Team], int]:
    """A page of teams with the total."""
    where = Team.account_id == account_id
    total = await session.scalar(select(func.count()).select_from(Team).where(where))
    rows = await session.scalars(
        select(Team).where(where).order_by(Team.key).offset(offset).limit(limit)
    )
    return list(rows), int(total or 0)


async def add_member(
    session: AsyncSession, *, account_id: uuid.UUID, key: str, external_id: str
) -> None:
    """Add one user to a team (idempotent)."""
    team = await get_team(session, account_id=account_id, key=key)
    user = await get_user(session, account_id=account_id, external_id=external_id)
    exists = await session.scalar(
        select(func.count())
        .select_from(team_members)
        .where(team_members.c.team_id == team.id, team_members.c.user_id == user.id)
    )
    if not exists:
        await session.execute(insert(team_members).values(team_id=team.id, user_id=user.id))


async def remove_member(
    session: AsyncSession, *, account_id: uuid.UUID, key: str, external_id: str
) -> None:
    """Remove one user from a team (404 if the team or user is unknown)."""
    team = await get_team(session, account_id=account_id, key=key)
    user = await get_user(session, account_id=account_id, external_id=external_id)
    await session.execute(
        delete(team_members).where(
            team_members.c.team_id == team.id, team_members.c.user_id == user.id
        )
    )


async def register_device(
    session: AsyncSession, *, account_id: uuid.UUID, user_id: uuid.UUID, token: str, body: DeviceIn
) -> Device:
    """Attach a device token to a user; a token seen before moves to this user."""
    device = await session.scalar(
        select(Device).where(Device.account_id == account_id, Device.token == token)
    )
    if device is None:
        device = Device(account_id=account_id, token=token)
        session.add(device)
    device.user_id = user_id
    device.type = body.type
    device.subscription = body.subscription
    await session.flush()
    return device


async def unregister_device(
    session: AsyncSession, *, account_id: uuid.UUID, user_id: uuid.UUID, token: str
) -> None:
    """Detach a device from a user (idempotent, as a logout should be)."""
    await session.execute(
        delete(Device).where(
            Device.account_id == account_id, Device.user_id == user_id, Device.token == token
        )
    )


async def list_devices(
    session: AsyncSession, *, account_id: uuid.UUID, user_id: uuid.UUID
) -> list[Device]:
    """A user's devices, oldest first."""
    rows = await session.scalars(
        select(Device)
        .where(Device.account_id == account_id, Device.user_id == user_id)
        .order_by(Device.id)
    )
    return list(rows)


async def reaches_team(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    email: str | None = None,
    phone: str | None = None,
) -> bool:
    """Whether an address (any case) or a number (E.164) is one of the account's own users'."""
    if email is None and phone is None:
        return False
    conditions = []
    if email is not None:
        conditions.append(func.lower(User.email) == email.lower())
    if phone is not None:
        conditions.append(User.phone == phone)
    found = await session.scalar(
        select(User.id).where(User.account_id == account_id, or_(*conditions)).limit(1)
    )
    return found is not None
