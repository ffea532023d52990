"""HTTP routes of the directory: users, teams and devices (server side and ``/v1/me``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request, Response, status

from herald.accounts.auth import Principal, UserDep, server
from herald.directory import service
from herald.directory.contact import EXTERNAL_ID_PATTERN
from herald.directory.models import Device, Team, User
from herald.directory.schemas import DeviceIn, DeviceOut, TeamIn, TeamOut, UserIn, UserOut
from herald.http.deps import SessionDep
from herald.http.pagination import Page, Paging, page_body
from herald.http.responses import OrjsonResponse

router = APIRouter(tags=["directory"])
Reader = Annotated[Principal, Depends(server("users.read"))]
Writer = Annotated[Principal, Depends(server("users.write"))]
ExternalIdPath = Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN, max_length=255)]
KeyPath = Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN, max_length=255)]
TokenPath = Annotated[str, Path(min_length=1, max_length=1024)]
OptionalDevice = Annotated[DeviceIn | None, Body()]
NO_CONTENT = status.HTTP_204_NO_CONTENT


def user_out(user: User) -> UserOut:
    """The public view of a user."""
    return UserOut.model_validate(user, from_attributes=True)


def device_out(device: Device) -> DeviceOut:
    """The public view of a device (the subscription's keys stay private)."""
    return DeviceOut.model_validate(device, from_attributes=True)


async def team_out(session: SessionDep, team: Team) -> TeamOut:
    """A team with the external ids of its members."""
    members = await service.team_member_ids(session, team_id=team.id)
    return TeamOut(key=team.key, name=team.name, members=members)


@router.put("/v1/users/{external_id}", response_model=UserOut)
async def put_user(
    external_id: ExternalIdPath,
    body: UserIn,
    session: SessionDep,
    caller: Writer,
    response: Response,
) -> UserOut:
    """Create or replace a user (201 when created)."""
    user, created = await service.upsert_user(
        session, account_id=caller.account_id, external_id=external_id, body=body
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return user_out(user)


@router.get("/v1/users/{external_id}", response_model=UserOut)
async def get_user(external_id: ExternalIdPath, session: SessionDep, caller: Reader) -> UserOut:
    """One user."""
    user = await service.get_user(session, account_id=caller.account_id, external_id=external_id)
    return user_out(user)


@router.delete("/v1/users/{external_id}", status_code=NO_CONTENT)
async def delete_user(external_id: ExternalIdPath, session: SessionDep, caller: Writer) -> Response:
    """Remove a user and their personal data."""
    await service.delete_user(session, account_id=caller.account_id, external_id=external_id)
    return Response(status_code=NO_CONTENT)


@router.get("/v1/users", response_model=Page[UserOut])
async def list_users(
    request: Request, paging: Paging, session: SessionDep, caller: Reader
) -> OrjsonResponse:
    """The account's users, page by page."""
    rows, total = await service.list_users(
        session, account_id=caller.account_id, offset=paging.offset, limit=paging.per_page
    )
    data = [user_out(u).model_dump(mode="json") for u in rows]
    return OrjsonResponse(page_body(request, paging, data=data, total=total))


@router.put("/v1/teams/{key}", response_model=TeamOut)
async def put_team(key: KeyPath, body: TeamIn, session: SessionDep, caller: Writer) -> TeamOut:
    """Create or replace a team and its members; unknown members are a 422 naming each."""
    team = await service.put_team(
        session, account_id=caller.account_id, key=key, name=body.name, members=body.members
    )
    return await team_out(session, team)


@router.get("/v1/teams/{key}", response_model=TeamOut)
async def get_team(key: KeyPath, session: SessionDep, caller: Reader) -> TeamOut:
    """One team with its members."""
    return await team_out(
        session, await service.get_team(session, account_id=caller.account_id, key=key)
    )


@router.get("/v1/teams", response_model=Page[TeamOut])
async def list_teams(
    request: Request, paging: Paging, session: SessionDep, caller: Reader
) -> OrjsonResponse:
    """The account's teams, page by page."""
    rows, total = await service.list_teams(
        session, account_id=caller.account_id, offset=paging.offset, limit=paging.per_page
    )
    data = [(await team_out(session, t)).model_dump(mode="json") for t in rows]
    return OrjsonResponse(page_body(request, paging, data=data, total=total))


@router.delete("/v1/teams/{key}", status_code=NO_CONTENT)
async def delete_team(key: KeyPath, session: SessionDep, caller: Writer) -> Response:
    """Remove a team; its users stay."""
    await service.delete_team(session, account_id=caller.account_id, key=key)
    return Response(status_code=NO_CONTENT)


@router.post("/v1/teams/{key}/members/{external_id}", status_code=NO_CONTENT)
async def add_member(
    key: KeyPath, external_id: ExternalIdPath, session: SessionDep, caller: Writer
) -> Response:
    """Add a user to a team."""
    await service.add_member(
        session, account_id=caller.account_id, key=key, external_id=external_id
    )
    return Response(status_code=NO_CONTENT)


@router.delete("/v1/teams/{key}/members/{external_id}", status_code=NO_CONTENT)
async def remove_member(
    key: KeyPath, external_id: ExternalIdPath, session: SessionDep, caller: Writer
) -> Response:
    """Remove a user from a team."""
    await service.remove_member(
        session, account_id=caller.account_id, key=key, external_id=external_id
    )
    return Response(status_code=NO_CONTENT)


@router.post("/v1/me/devices/{token}", status_code=NO_CONTENT)
async def register_my_device(
    token: TokenPath, session: SessionDep, me: UserDep, body: OptionalDevice = None
) -> Response:
    """Register this user's device for push (the type defaults to iOS)."""
    assert me.user_id is not None
    await service.register_device(
        session, account_id=me.account_id, user_id=me.user_id, token=token, body=body or DeviceIn()
    )
    return Response(status_code=NO_CONTENT)


@router.delete("/v1/me/devices/{token}", status_code=NO_CONTENT)
async def unregister_my_device(token: TokenPath, session: SessionDep, me: UserDep) -> Response:
    """Detach a device from this user."""
    assert me.user_id is not None
    await service.unregister_device(
        session, account_id=me.account_id, user_id=me.user_id, token=token
    )
    return Response(status_code=NO_CONTENT)


@router.get("/v1/users/{external_id}/devices")
async def list_devices(
    external_id: ExternalIdPath,
    request: Request,
    paging: Paging,
    session: SessionDep,
    caller: Reader,
) -> dict[str, object]:
    """A user's devices."""
    user = await service.get_user(session, account_id=caller.account_id, external_id=external_id)
    devices = await service.list_devices(session, account_id=caller.account_id, user_id=user.id)
    page = devices[paging.offset : paging.offset + paging.per_page]
    data = [device_out(d).model_dump(mode="json") for d in page]
    return page_body(request, paging, data=data, total=len(devices))


@router.post("/v1/users/{external_id}/devices/{token}", status_code=NO_CONTENT)
async def register_device(
    external_id: ExternalIdPath,
    token: TokenPath,
    session: SessionDep,
    caller: Writer,
    body: OptionalDevice = None,
) -> Response:
    """Register a device for a user, from the server side."""
    user = await service.get_user(session, account_id=caller.account_id, external_id=external_id)
    await service.register_device(
        session, account_id=caller.account_id, user_id=user.id, token=token, body=body or DeviceIn()
    )
    return Response(status_code=NO_CONTENT)


@router.delete("/v1/users/{external_id}/devices/{token}", status_code=NO_CONTENT)
async def unregister_device(
    external_id: ExternalIdPath, token: TokenPath, session: SessionDep, caller: Writer
) -> Response:
    """Detach a device from a user, from the server side."""
    user = await service.get_user(session, account_id=caller.account_id, external_id=external_id)
    await service.unregister_device(
        session, account_id=caller.account_id, user_id=user.id, token=token
    )
    return Response(status_code=NO_CONTENT)
