"""Signing in with an API key, signing out, the home page and the two static files."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Path
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from herald.errors import HeraldError, NotFound
from herald.http.deps import RuntimeDep, SessionDep
from herald.runtime import Runtime
from herald.web.console.access import (
    COOKIE,
    SIGN_IN_COOKIE,
    AnyKey,
    CheckedForm,
    CsrfRefused,
    current_visit,
)
from herald.web.console.forms import attempt, text
from herald.web.console.rendering import ASSETS, PAGE_HEADERS, asset_response, page
from herald.web.console.routing import ConsoleRoute, safe_next
from herald.web.console.sessions import (
    SignedOut,
    csrf_matches,
    csrf_token,
    end_session,
    open_session,
)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """A console cookie: sent to ``/console`` only, never to scripts, never from another site;
    ``Secure`` when the console is served over HTTPS (behind a proxy: ``X-Forwarded-Proto``)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _drop_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/console", httponly=True, samesite="strict")


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers=PAGE_HEADERS)


def _sign_in_page(
    request: Request, runtime: Runtime, *, next_url: str, error: HeraldError | None = None
) -> Response:
    """The sign-in form with a fresh pre-session token: the form's CSRF token is derived from
    it, so a page of another site cannot post a key of its choosing (login CSRF)."""
    nonce = secrets.token_urlsafe(32)
    response = page(
        request,
        "sign_in.html",
        status_code=error.status_code if error else 200,
        csrf=csrf_token(runtime.secret, nonce, purpose="sign-in"),
        next=next_url,
        ended=request.query_params.get("ended") == "1",
        signed_out=request.query_params.get("signed_out") == "1",
        error=error,
    )
    _set_cookie(request, response, SIGN_IN_COOKIE, nonce, max_age=3600)
    return response


@router.get("/console/sign-in")
async def sign_in_form(request: Request, session: SessionDep, runtime: RuntimeDep) -> Response:
    """The sign-in page (or straight on, when the browser is signed in already)."""
    next_url = safe_next(request.query_params.get("next"))
    try:
        await current_visit(request, session, runtime)
    except SignedOut:
        return _sign_in_page(request, runtime, next_url=next_url)
    return _redirect(next_url)


@router.post("/console/sign-in")
async def sign_in(request: Request, session: SessionDep, runtime: RuntimeDep) -> Response:
    """Check the key, open a server-side session and set its cookie (the key is not kept)."""
    form = await request.form()
    nonce = request.cookies.get(SIGN_IN_COOKIE)
    given = form.get("csrf")
    if (
        not nonce
        or not isinstance(given, str)
        or not csrf_matches(runtime.secret, nonce, given, purpose="sign-in")
    ):
        raise CsrfRefused("The sign-in form's CSRF token is missing or wrong: reload the page")
    next_url = safe_next(text(form, "next"))
    opened = await attempt(
        session, lambda: open_session(session, api_key=text(form, "api_key") or "", runtime=runtime)
    )
    if isinstance(opened, HeraldError):
        return _sign_in_page(request, runtime, next_url=next_url, error=opened)
    response = _redirect(next_url)
    ttl = runtime.settings.console_session_ttl_seconds
    _set_cookie(request, response, COOKIE, opened.token, max_age=ttl)
    _drop_cookie(response, SIGN_IN_COOKIE)
    return response


@router.post("/console/sign-out")
async def sign_out(form: CheckedForm, request: Request, session: SessionDep) -> Response:
    """End the session: its row is removed and the cookie cleared."""
    await end_session(session, token=request.cookies.get(COOKIE))
    response = _redirect("/console/sign-in?signed_out=1")
    _drop_cookie(response, COOKIE)
    return response


@router.get("/console")
async def home(request: Request, visit: AnyKey) -> Response:
    """What the key can do here: its account, scopes and the sections it may open."""
    return page(request, "home.html", title="Home")


@router.get("/console/static/{name}")
async def static_file(name: Annotated[str, Path(max_length=64)]) -> Response:
    """The console's stylesheet and script."""
    if name not in ASSETS:
        raise NotFound("No such file")
    return asset_response(name)
