"""HTTP routes of accounts, keys, OAuth2 tokens and user tokens."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Path, Request, Response, status

from herald.accounts import service
from herald.accounts.auth import Principal, server
from herald.accounts.models import Account, ApiKey
from herald.accounts.oauth import OAuthRoute, token_request
from herald.accounts.schemas import (
    AccountCreate,
    AccountOut,
    AccountPatch,
    BroadcastIn,
    BroadcastOut,
    KeyCreate,
    KeyOut,
    Limits,
    NewKeyOut,
    OAuthErrorOut,
    TokenOut,
    UserTokenOut,
)
from herald.accounts.tokens import issue
from herald.directory.contact import EXTERNAL_ID_PATTERN
from herald.directory.service import get_user
from herald.errors import OAuthError
from herald.http.deps import RuntimeDep, SessionDep
from herald.http.openapi import ErrorEnvelope, envelope_for_errors, raises
from herald.http.pagination import Page, Paging, page_body
from herald.http.responses import OrjsonResponse
from herald.notifications.broadcast import BroadcastRequest, broadcast

router = APIRouter(tags=["accounts"])
AccountWriter = Annotated[Principal, Depends(server("accounts.write"))]
AnyServer = Annotated[Principal, Depends(server())]
Admin = Annotated[Principal, Depends(server("admin"))]
UserWriter = Annotated[Principal, Depends(server("users.write"))]
ExternalIdPath = Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN, max_length=255)]
envelope_for_errors(OAuthError, ErrorEnvelope(OAuthErrorOut, lambda error: error.body()))
"""The name a Notify-format key gets when none is given (its first part)."""


def account_out(account: Account) -> AccountOut:
    """The public view of an account."""
    return AccountOut(
        id=account.id,
        name=account.name,
        parent_id=account.parent_id,
        limits=Limits(
            rate=account.rate_limit, daily=account.daily_limit, sms_allowance=account.sms_allowance
        ),
        retention_days=account.retention_days,
        default_locale=account.default_locale,
        default_region=account.default_region,
        created_at=account.created_at,
    )


def key_out(key: ApiKey) -> KeyOut:
    """The public view of a key (never the key itself)."""
    return KeyOut(
        key_id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes=key.scopes,
        test=key.test,
        type=key.notify_type,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


FORM = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FormField = Annotated[str | None, Form()]
OAUTH_EXAMPLE = {
    "grant_type": "client_credentials",
    "client_id": "0190f1c2-7a3b-7c4d-8e5f-6a7b8c9d0e1f",
    "client_secret": "hk_live_…",
    "scope": "users.read",
}


@raises(
    OAuthError("invalid_request", "client_id and client_secret are required"),
    OAuthError("unsupported_grant_type", "Only client_credentials is supported"),
    OAuthError("invalid_scope", "The key does not grant admin"),
    OAuthError("invalid_client", "Unknown client or wrong secret", status_code=401),
)
async def oauth_token(
    session: SessionDep,
    runtime: RuntimeDep,
    response: Response,
    grant_type: FormField = None,
    client_id: FormField = None,
    client_secret: FormField = None,
    scope: FormField = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> TokenOut:
    """OAuth2 client credentials (form body or HTTP Basic): a short-lived JWT limited to a
    subset of the key's scopes. Every field is optional here so that a missing one is RFC
    6749's ``invalid_request``, not the 422 body."""
    request = token_request(
        grant_type=grant_type,
        client_id=client_id,
        client_secret=client_secret,
        scope=scope,
        authorization=authorization,
    )
    ttl = runtime.settings.access_token_ttl_seconds
    token, granted = await service.client_credentials(
        session, request=request, secret=runtime.secret, ttl=timedelta(seconds=ttl)
    )
    response.headers.update(NO_STORE)
    return TokenOut(access_token=token, expires_in=ttl, scope=" ".join(sorted(granted)))


router.add_api_route(
    "/oauth/token",
    oauth_token,
    methods=["POST"],
    response_model=TokenOut,
    route_class_override=OAuthRoute,
    openapi_extra={
        "requestBody": {
            "content": {"application/x-www-form-urlencoded": {"example": OAUTH_EXAMPLE}}
        }
    },
)


@router.post("/v1/accounts", status_code=status.HTTP_201_CREATED, response_model=AccountOut)
async def create_account(
    body: AccountCreate, session: SessionDep, caller: AccountWriter
) -> AccountOut:
    """A child account of the caller's."""
    account = await service.create_account(session, name=body.name, parent_id=caller.account_id)
    return account_out(account)


@router.get("/v1/accounts/{account_id}", response_model=AccountOut)
async def get_account(account_id: uuid.UUID, session: SessionDep, caller: AnyServer) -> AccountOut:
    """The caller's own account or one of its descendants."""
    account = await service.visible_account(
        session, caller_id=caller.account_id, account_id=account_id
    )
    return account_out(account)


@router.get("/v1/accounts/{account_id}/children", response_model=Page[AccountOut])
async def list_children(
    account_id: uuid.UUID, request: Request, paging: Paging, session: SessionDep, caller: AnyServer
) -> OrjsonResponse:
    """Direct children of a visible account."""
    await service.visible_account(session, caller_id=caller.account_id, account_id=account_id)
    rows, total = await service.children(
        session, account_id=account_id, offset=paging.offset, limit=paging.per_page
    )
    data = [account_out(a).model_dump(mode="json") for a in rows]
    return OrjsonResponse(page_body(request, paging, data=data, total=total))


@router.patch("/v1/accounts/{account_id}", response_model=AccountOut)
async def patch_account(
    account_id: uuid.UUID, body: AccountPatch, session: SessionDep, caller: AccountWriter
) -> AccountOut:
    """Rename, set retention and locale; limits only from an ancestor account."""
    account = await service.visible_account(
        session, caller_id=caller.account_id, account_id=account_id
    )
    service.update_account(account, body, by_ancestor=account.id != caller.account_id)
    await session.flush()
    return account_out(account)


@router.post(
    "/v1/accounts/{account_id}/broadcast",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BroadcastOut,
)
async def broadcast_to_accounts(
    account_id: uuid.UUID,
    body: BroadcastIn,
    session: SessionDep,
    runtime: RuntimeDep,
    caller: AccountWriter,
) -> BroadcastOut:
    """A templated notification to every account below ``account_id`` (or ``recipient_id``)."""
    request = BroadcastRequest(
        template=body.template,
        user_type=body.user_type,
        recipient_id=body.recipient_id,
        personalisation=body.personalisation,
        channels=list(dict.fromkeys(body.channels)),
    )
    done = await broadcast(
        session,
        principal=caller,
        account_id=account_id,
        request=request,
        throttle=runtime.throttle,
        bus=runtime.bus,
    )
    return BroadcastOut(accounts=done.accounts, recipients=done.recipients, ids=done.ids)


@router.get("/v1/keys", response_model=Page[KeyOut])
async def list_keys(
    request: Request, paging: Paging, session: SessionDep, caller: Admin
) -> OrjsonResponse:
    """The account's keys (prefixes only)."""
    keys = await service.list_keys(session, account_id=caller.account_id)
    page = keys[paging.offset : paging.offset + paging.per_page]
    data = [key_out(k).model_dump(mode="json") for k in page]
    return OrjsonResponse(page_body(request, paging, data=data, total=len(keys)))


@router.post("/v1/keys", status_code=status.HTTP_201_CREATED, response_model=NewKeyOut)
async def create_key(
    body: KeyCreate, session: SessionDep, runtime: RuntimeDep, caller: Admin
) -> NewKeyOut:
    """A new key for the caller's account, shown once; it cannot exceed the caller's scopes.

    With ``"notify": true`` a GOV.UK Notify-format key ``<name>-<service id>-<secret>`` of
    ``type`` live, team or test, for the ``/v2`` routes.
    """
    issued = await service.issue_key(
        session,
        account_id=caller.account_id,
        held=caller.scopes,
        body=body,
        sealing_key=runtime.secret,
    )
    return NewKeyOut(
        key_id=issued.key.id,
        api_key=issued.plain,
        scopes=issued.key.scopes,
        test=issued.key.test,
        type=issued.key.notify_type,
    )


@router.delete("/v1/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_key(key_id: uuid.UUID, session: SessionDep, caller: Admin) -> Response:
    """Revoke a key now."""
    await service.revoke_key(session, account_id=caller.account_id, key_id=key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/v1/users/{external_id}/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=UserTokenOut,
)
async def user_token(
    external_id: ExternalIdPath, session: SessionDep, runtime: RuntimeDep, caller: UserWriter
) -> UserTokenOut:
    """A token for a browser or app acting as this one user (the /v1/me routes, real time)."""
    user = await get_user(session, account_id=caller.account_id, external_id=external_id)
    token, expires = issue(
        secret=runtime.secret,
        kind="user",
        account_id=caller.account_id,
        subject=str(user.id),
        ttl=timedelta(seconds=runtime.settings.user_token_ttl_seconds),
        test=caller.test,
    )
    return UserTokenOut(token=token, expires_at=expires)
