"""HTTP routes of preferences: the user's own (user token), a user's (server key) and the
account's defaults (API.md "Preferences and delivery rules")."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from herald.accounts.auth import Principal, UserDep, server
from herald.accounts.models import Account
from herald.directory import service as directory
from herald.directory.contact import EXTERNAL_ID_PATTERN
from herald.errors import NotFound
from herald.http.deps import SessionDep
from herald.rules import store
from herald.rules.schemas import PreferencesIn, PreferencesOut

router = APIRouter(tags=["preferences"])
Reader = Annotated[Principal, Depends(server("users.read"))]
Writer = Annotated[Principal, Depends(server("users.write"))]
ExternalIdPath = Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN, max_length=255)]


async def _account(session: SessionDep, account_id: uuid.UUID) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("No such account")
    return account


async def _effective(
    session: SessionDep, account: Account, user_id: uuid.UUID | None
) -> PreferencesOut:
    defaults = (await store.defaults_of(session, [account.id]))[account.id]
    own = {} if user_id is None else await store.own_document(session, account.id, str(user_id))
    return PreferencesOut.model_validate(store.merge([defaults, own]))


async def _user_id(session: SessionDep, account_id: uuid.UUID, external_id: str) -> uuid.UUID:
    user = await directory.get_user(session, account_id=account_id, external_id=external_id)
    return user.id


@router.get("/v1/me/preferences", response_model=PreferencesOut)
async def get_my_preferences(session: SessionDep, caller: UserDep) -> PreferencesOut:
    """The preferences in effect for the signed-in user."""
    return await _effective(session, await _account(session, caller.account_id), caller.user_id)


@router.put("/v1/me/preferences", response_model=PreferencesOut)
async def put_my_preferences(
    body: PreferencesIn, session: SessionDep, caller: UserDep
) -> PreferencesOut:
    """Change the signed-in user's own choices (the fields given); answers what is in effect."""
    account = await _account(session, caller.account_id)
    given = body.given()
    given.pop("frequency_cap", None)  # caps are the sender's rule, not the recipient's
    await store.save(session, account=account, user_id=caller.user_id, given=given)
    return await _effective(session, account, caller.user_id)


@router.get("/v1/users/{external_id}/preferences", response_model=PreferencesOut)
async def get_user_preferences(
    external_id: ExternalIdPath, session: SessionDep, caller: Reader
) -> PreferencesOut:
    """The preferences in effect for one user."""
    account = await _account(session, caller.account_id)
    return await _effective(session, account, await _user_id(session, account.id, external_id))


@router.put("/v1/users/{external_id}/preferences", response_model=PreferencesOut)
async def put_user_preferences(
    external_id: ExternalIdPath, body: PreferencesIn, session: SessionDep, caller: Writer
) -> PreferencesOut:
    """Change one user's own choices (the fields given); answers what is in effect."""
    account = await _account(session, caller.account_id)
    user_id = await _user_id(session, account.id, external_id)
    given = body.given()
    given.pop("frequency_cap", None)
    await store.save(session, account=account, user_id=user_id, given=given)
    return await _effective(session, account, user_id)


@router.get("/v1/preferences", response_model=PreferencesOut)
async def get_account_preferences(session: SessionDep, caller: Reader) -> PreferencesOut:
    """The account's defaults in effect (its ancestors', then its own)."""
    return await _effective(session, await _account(session, caller.account_id), None)


@router.put("/v1/preferences", response_model=PreferencesOut)
async def put_account_preferences(
    body: PreferencesIn, session: SessionDep, caller: Writer
) -> PreferencesOut:
    """Change the account's own defaults (the fields given), inherited by its descendants."""
    account = await _account(session, caller.account_id)
    await store.save(session, account=account, user_id=None, given=body.given())
    return await _effective(session, account, None)
