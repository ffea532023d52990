"""Where a direct SMS is sent from (seed 004): the endpoint recorded, the sender shown, and the
employee it is sent for.

``endpoint`` is ``Reception#<sender id>`` (a registered sender name: with
``from_number_hidden`` the approved name is shown, else the employee's number),
``Employee#<external id>`` (that user's mobile number), a sender name or a number as given,
or absent: a user token then sends as its own user (``Employee#<their id>``, their number),
a server key with the provider's default sender. A user token sends only as its own user.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.auth import Principal
from herald.directory.contact import normalize_phone
from herald.directory.models import User
from herald.directory.service import get_user
from herald.errors import Forbidden, NotFound, ValidationFailed
from herald.sms.schemas import MessageBody
from herald.sms.senders import (
    SenderNotApproved,
    SenderStatus,
    check_sender,
    find_by_id,
    is_number,
)

RECEPTION, EMPLOYEE = "Reception#", "Employee#"
ENDPOINT = "/message/endpoint"


@dataclass(frozen=True)
class Origin:
    """What a message is sent from."""

    endpoint: str | None
    """As recorded, and as ``GET /messages?endpoint=`` finds it."""
    sender: str | None
    """Shown on the handset: an E.164 number, an approved name, or None (the provider's)."""
    employee: User | None
    """The user it is sent by or for, if any."""
    hidden: bool = False


def employee_endpoint(external_id: str) -> str:
    """A user's endpoint, as seed 004 writes it."""
    return EMPLOYEE + external_id


async def _user(session: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None or user.account_id != account_id:
        raise NotFound("No such user")
    return user


async def _me(session: AsyncSession, principal: Principal) -> User | None:
    """The user a user token acts as (the seed's authenticated employee); None for a server."""
    if principal.user_id is None:
        return None
    return await _user(session, principal.account_id, principal.user_id)


def _number_of(user: User | None) -> str | None:
    return user.phone if user is not None else None


async def origin_of(session: AsyncSession, *, principal: Principal, message: MessageBody) -> Origin:
    """Resolve the message's ``endpoint``: 422 for an unknown one, 400 for an unapproved or
    missing name with ``from_number_hidden``, 403 for a user token naming another user."""
    endpoint, hidden = message.endpoint, message.from_number_hidden
    me = await _me(session, principal)
    if endpoint is not None and endpoint.startswith(RECEPTION):
        return await _reception(session, principal, endpoint, hidden, me)
    if endpoint is not None and endpoint.startswith(EMPLOYEE):
        if hidden:
            raise SenderNotApproved("from_number_hidden needs a reception's approved name")
        return await _employee(session, principal, endpoint.removeprefix(EMPLOYEE), me)
    if endpoint is None:
        if hidden:
            raise SenderNotApproved("from_number_hidden needs an approved sender name (endpoint)")
        mine = employee_endpoint(me.external_id) if me is not None else None
        return Origin(mine, _number_of(me), me)
    return await _as_given(session, principal, endpoint, hidden, me)


async def _reception(
    session: AsyncSession, principal: Principal, endpoint: str, hidden: bool, me: User | None
) -> Origin:
    try:
        sender_id = uuid.UUID(endpoint.removeprefix(RECEPTION))
    except ValueError as exc:
        raise ValidationFailed.at(ENDPOINT, f"No reception {endpoint}") from exc
    sender = await find_by_id(session, account_id=principal.account_id, sender_id=sender_id)
    if sender is None:
        raise ValidationFailed.at(ENDPOINT, f"No reception {endpoint}")
    canonical = RECEPTION + str(sender.id)
    if not hidden:
        return Origin(canonical, _number_of(me), me)
    if sender.status != SenderStatus.APPROVED:
        raise SenderNotApproved(
            f"The sender name {sender.name!r} is not approved ({sender.status})"
        )
    return Origin(canonical, sender.name, me, hidden=True)


async def _employee(
    session: AsyncSession, principal: Principal, external_id: str, me: User | None
) -> Origin:
    if me is not None and me.external_id != external_id:
        raise Forbidden("A user token sends only as its own user")
    try:
        user = me or await get_user(
            session, account_id=principal.account_id, external_id=external_id
        )
    except NotFound as exc:
        raise ValidationFailed.at(ENDPOINT, f"No employee {external_id}") from exc
    if user.phone is None:
        raise ValidationFailed.at(ENDPOINT, f"Employee {external_id} has no mobile number")
    return Origin(employee_endpoint(user.external_id), user.phone, user)


async def _as_given(
    session: AsyncSession, principal: Principal, endpoint: str, hidden: bool, me: User | None
) -> Origin:
    """A number, or a sender name that must be approved (Herald's own ``/v1`` form)."""
    if is_number(endpoint):
        if hidden:
            raise SenderNotApproved("from_number_hidden needs a sender name, not a number")
        try:
            return Origin(endpoint, normalize_phone(endpoint), me)
        except ValueError as exc:
            raise ValidationFailed.at(ENDPOINT, str(exc)) from exc
    await check_sender(session, account_id=principal.account_id, name=endpoint)
    return Origin(endpoint, endpoint, me, hidden=hidden)
