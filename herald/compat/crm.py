"""Seed 001 (a CRM's notifications API) at ``/``: the user's inbox and devices, and the short
form of ``POST /notifications`` (``{"message", "notify": {"users", "teams"}}``).

The routes take a user token and answer as ``/v1/me`` does: the seed's item fields (``id``,
``type``, ``data``, ``message``, ``message_formatted``, ``read``, ``read_at``, ``created_at``)
and its ``pagination`` (with ``unread``) are a subset of Herald's. The seed's notification
types are built in (``herald.events.crm``).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from herald.accounts.auth import Principal, UserDep
from herald.directory import service as directory
from herald.directory.contact import ExternalId
from herald.directory.schemas import DeviceIn
from herald.events.schemas import Envelope, Targets
from herald.http.deps import RuntimeDep, SessionDep
from herald.http.pagination import Paging, page_body
from herald.http.responses import OrjsonResponse
from herald.inbox import service as inbox
from herald.inbox.service import Owner

router = APIRouter(tags=["seed 001"], include_in_schema=False)
NO_CONTENT = status.HTTP_204_NO_CONTENT
TokenPath = Annotated[str, Path(min_length=1, max_length=1024)]
OptionalDevice = Annotated[DeviceIn | None, Body()]


class Notify(BaseModel):
    """The seed's recipients: user ids and team ids (numbers taken as strings)."""

    model_config = ConfigDict(extra="forbid")
    users: list[ExternalId] = Field(default_factory=list, max_length=100_000)
    teams: list[ExternalId] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _someone(self) -> Notify:
        if not (self.users or self.teams):
            raise ValueError("notify.users is required without notify.teams")
        return self


class CustomNotification(BaseModel):
    """The seed's ``POST /notifications``: ``{"message", "notify": {"users", "teams"}}``."""

    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=512)
    notify: Notify

    def envelope(self) -> Envelope:
        """The same request as a ``custom/message`` envelope."""
        return Envelope(
            type="custom",
            subType="message",
            targets=Targets(users=self.notify.users, teams=self.notify.teams),
            message=self.message,
        )


def _owner(me: Principal) -> Owner:
    assert me.user_id is not None  # UserDep admits user tokens only
    return Owner(me.account_id, me.user_id, me.actor, by_user=True)


@router.get("/notifications")
async def list_notifications(
    request: Request,
    paging: Paging,
    session: SessionDep,
    runtime: RuntimeDep,
    me: UserDep,
    show: Literal["all", "unread"] = "all",
) -> OrjsonResponse:
    """The user's notifications, newest first; ``show=unread`` for unread ones only."""
    page = await inbox.list_items(
        session,
        owner=_owner(me),
        unread_only=show == "unread",
        offset=paging.offset,
        limit=paging.per_page,
        before=paging.cursor,
        bus=runtime.bus,
    )
    body = page_body(
        request,
        paging,
        data=page.documents,
        total=page.total,
        next_id=page.next_id,
        cursor_paging=True,
        unread=page.unread,
    )
    return OrjsonResponse(body)


@router.put("/notifications/read", status_code=NO_CONTENT)
async def read_all(session: SessionDep, runtime: RuntimeDep, me: UserDep) -> Response:
    """Mark every notification read."""
    await inbox.mark_all_read(session, owner=_owner(me), bus=runtime.bus)
    return Response(status_code=NO_CONTENT)


@router.put("/notifications/{notification_id}/read", status_code=NO_CONTENT)
async def read_one(
    notification_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, me: UserDep
) -> Response:
    """Mark one notification read."""
    await inbox.mark_read(session, owner=_owner(me), item_id=notification_id, bus=runtime.bus)
    return Response(status_code=NO_CONTENT)


@router.post("/notifications/devices/{token}", status_code=NO_CONTENT)
async def register_device(
    token: TokenPath, session: SessionDep, me: UserDep, body: OptionalDevice = None
) -> Response:
    """Register the user's device for push (``type`` iOS, the default, or Android)."""
    assert me.user_id is not None
    await directory.register_device(
        session, account_id=me.account_id, user_id=me.user_id, token=token, body=body or DeviceIn()
    )
    return Response(status_code=NO_CONTENT)


@router.delete("/notifications/devices/{token}", status_code=NO_CONTENT)
async def unregister_device(token: TokenPath, session: SessionDep, me: UserDep) -> Response:
    """Detach the device from the user."""
    assert me.user_id is not None
    await directory.unregister_device(
        session, account_id=me.account_id, user_id=me.user_id, token=token
    )
    return Response(status_code=NO_CONTENT)
