"""Seed 000 (the Reapit Notifications API) at ``/``: ``POST /notifications`` and
``GET /negotiators``.

``POST /notifications`` takes the seed's envelope (``type``, ``subType``, ``products``,
``targets.negotiatorId``, ``payload``) -- Herald's own envelope -- or seed 001's short form
``{"message", "notify"}``, told apart by ``notify``. ``GET /negotiators`` lists the account's
users the way the seed's integrators map them (Reapit's paged ``_embedded`` list).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response, status
from pydantic import ValidationError

from herald.accounts import scopes
from herald.accounts.auth import Principal, server
from herald.compat.crm import CustomNotification
from herald.directory import service as directory
from herald.directory.models import User
from herald.errors import ErrorDetail, Forbidden, ValidationFailed, json_pointer
from herald.events.schemas import Envelope
from herald.http.deps import RuntimeDep, SessionDep
from herald.notifications.routes import SEED_EXAMPLES, SEND_ERRORS, IdempotencyKey, send_envelope
from herald.notifications.schemas import AcceptedOut

router = APIRouter(tags=["seed 000"])
Sender = Annotated[Principal, Depends(server())]
NEGOTIATOR_SCOPES = ("users.read", "negotiators.read")
DEFAULT_PAGE_SIZE = 25  # Reapit's
MAX_PAGE_SIZE = 100
MAX_PAGE_NUMBER = 2**31 - 1  # keeps the offset well inside a 64-bit integer


def envelope_of(body: dict[str, Any]) -> Envelope:
    """Seed 000's envelope or seed 001's short form; 422 with JSON Pointers."""
    model: type[Envelope] | type[CustomNotification] = (
        CustomNotification if "notify" in body else Envelope
    )
    try:
        parsed = model.model_validate(body)
    except ValidationError as exc:
        details = [ErrorDetail(json_pointer(list(e["loc"])), e["msg"]) for e in exc.errors()]
        raise ValidationFailed("The request is invalid", details=details) from exc
    return parsed.envelope() if isinstance(parsed, CustomNotification) else parsed


@router.post("/notifications", status_code=status.HTTP_202_ACCEPTED, response_model=AcceptedOut)
@SEND_ERRORS
async def send(
    body: Annotated[dict[str, Any], Body(openapi_examples=SEED_EXAMPLES)],
    session: SessionDep,
    runtime: RuntimeDep,
    caller: Sender,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Seed-compatible send: seed 000's envelope or seed 001's ``{"message", "notify"}``."""
    return await send_envelope(
        envelope_of(body), session=session, runtime=runtime, caller=caller, key=idempotency_key
    )


async def negotiator_reader(caller: Sender) -> Principal:
    """A server credential holding ``users.read`` or seed 000's ``negotiators.read``."""
    if not any(scopes.grants(caller.scopes, scope) for scope in NEGOTIATOR_SCOPES):
        raise Forbidden("This credential lacks the scope users.read (or negotiators.read)")
    return caller


def negotiator(user: User) -> dict[str, Any]:
    """A user as the seed's integrators map them: the negotiator id is the external id."""
    return {
        "id": user.external_id,
        "name": user.display_name,
        "email": user.email,
        "mobilePhone": user.phone,
        "active": True,  # a removed user is gone from the directory, so every one listed is
    }


@router.get("/negotiators")
async def list_negotiators(
    session: SessionDep,
    caller: Annotated[Principal, Depends(negotiator_reader)],
    pageNumber: Annotated[int, Query(ge=1, le=MAX_PAGE_NUMBER)] = 1,
    pageSize: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
) -> dict[str, Any]:
    """The account's users, a page at a time: ``{"_embedded", "pageNumber", "pageSize",
    "pageCount" (items on this page), "totalCount"}``."""
    rows, total = await directory.list_users(
        session, account_id=caller.account_id, offset=(pageNumber - 1) * pageSize, limit=pageSize
    )
    return {
        "_embedded": [negotiator(user) for user in rows],
        "pageNumber": pageNumber,
        "pageSize": pageSize,
        "pageCount": len(rows),
        "totalCount": total,
    }
