"""Users and teams: the lists, adding or replacing one (``PUT``), and removing one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from herald.directory import service
from herald.directory.contact import EXTERNAL_ID_PATTERN
from herald.directory.schemas import TeamIn, UserIn
from herald.errors import HeraldError
from herald.http.deps import SessionDep
from herald.web.console.access import CheckedForm, Visit, console
from herald.web.console.forms import (
    attempt,
    checked,
    identifier,
    model,
    problems,
    text,
    words,
)
from herald.web.console.rendering import PAGE_HEADERS, page
from herald.web.console.routing import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Reader = Annotated[Visit, Depends(console("users.read"))]
Writer = Annotated[Visit, Depends(console("users.write"))]
ExternalId = Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN, max_length=255)]
PER_PAGE = 50
USER_FIELDS = ("name", "first_name", "last_name", "email", "phone", "locale", "timezone")
NOTICES = {
    "user-saved": "User saved.",
    "user-deleted": "User removed, with their personal data.",
    "team-saved": "Team saved.",
    "team-deleted": "Team removed (its users stay).",
}


def _redirect(notice: str) -> RedirectResponse:
    return RedirectResponse(
        f"/console/users?notice={notice}", status_code=303, headers=PAGE_HEADERS
    )


async def _directory(
    request: Request,
    session: SessionDep,
    visit: Visit,
    *,
    page_number: int = 1,
    error: HeraldError | None = None,
    typed: FormData | None = None,
    form_name: str = "",
) -> Response:
    account_id = visit.principal.account_id
    offset = (page_number - 1) * PER_PAGE
    users, total = await service.list_users(
        session, account_id=account_id, offset=offset, limit=PER_PAGE
    )
    teams, team_total = await service.list_teams(
        session, account_id=account_id, offset=0, limit=100
    )
    members = {t.key: await service.team_member_ids(session, team_id=t.id) for t in teams}
    return page(
        request,
        "users.html",
        status_code=error.status_code if error else 200,
        title="Users and teams",
        users=users,
        total=total,
        page_number=page_number,
        more=offset + len(users) < total,
        teams=teams,
        team_total=team_total,
        members=members,
        error=error,
        problems=problems(error),
        form_name=form_name,
        typed={k: v for k, v in (typed or {}).items() if isinstance(v, str)},
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


@router.get("/console/users")
async def directory(
    request: Request,
    session: SessionDep,
    visit: Reader,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """The account's users and teams."""
    return await _directory(request, session, visit, page_number=page_number)


def _user_body(form: FormData) -> tuple[str, UserIn]:
    external_id = identifier(form, "external_id", label="The user's id")
    fields: dict[str, Any] = {name: text(form, name) for name in USER_FIELDS}
    fields["admin"] = checked(form, "admin")
    return external_id, model(UserIn, fields)


@router.post("/console/users")
async def put_user(
    form: CheckedForm, request: Request, session: SessionDep, visit: Writer
) -> Response:
    """Add or replace a user, as ``PUT /v1/users/{external_id}`` does."""

    async def save() -> object:
        external_id, body = _user_body(form)
        return await service.upsert_user(
            session, account_id=visit.principal.account_id, external_id=external_id, body=body
        )

    done = await attempt(session, save)
    if isinstance(done, HeraldError):
        return await _directory(request, session, visit, error=done, typed=form, form_name="user")
    return _redirect("user-saved")


@router.post("/console/users/{external_id}/delete")
async def delete_user(
    external_id: ExternalId, form: CheckedForm, session: SessionDep, visit: Writer
) -> Response:
    """Remove a user and their personal data."""
    await service.delete_user(
        session, account_id=visit.principal.account_id, external_id=external_id
    )
    return _redirect("user-deleted")


@router.post("/console/teams")
async def put_team(
    form: CheckedForm, request: Request, session: SessionDep, visit: Writer
) -> Response:
    """Add or replace a team and its whole membership, as ``PUT /v1/teams/{key}`` does."""

    async def save() -> object:
        key = identifier(form, "key", label="The team's key")
        body = model(TeamIn, {"name": text(form, "name"), "members": words(text(form, "members"))})
        return await service.put_team(
            session,
            account_id=visit.principal.account_id,
            key=key,
            name=body.name,
            members=body.members,
        )

    done = await attempt(session, save)
    if isinstance(done, HeraldError):
        return await _directory(request, session, visit, error=done, typed=form, form_name="team")
    return _redirect("team-saved")


@router.post("/console/teams/{key}/delete")
async def delete_team(
    key: ExternalId, form: CheckedForm, session: SessionDep, visit: Writer
) -> Response:
    """Remove a team (its users stay)."""
    await service.delete_team(session, account_id=visit.principal.account_id, key=key)
    return _redirect("team-deleted")
