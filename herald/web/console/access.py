"""Who is using the console: the session's key as a ``Principal``, its scopes checked per page
as ``server(scope)`` checks them for ``/v1``, and the CSRF token every form post must carry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.datastructures import FormData
from starlette.requests import Request

from herald.accounts import scopes as scope_rules
from herald.accounts.auth import Principal, key_principal
from herald.accounts.models import Account
from herald.errors import Forbidden, Unauthorized
from herald.http.deps import RuntimeDep, SessionDep
from herald.web.console.sessions import SignedOut, csrf_matches, csrf_token, find_session

COOKIE = "herald_console"
SIGN_IN_COOKIE = "herald_console_sign_in"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
_STATE = "console_visit"


class CsrfRefused(Forbidden):
    """A form post without this session's CSRF token."""

    code = "csrf_token_invalid"


@dataclass(frozen=True)
class Visit:
    """A signed-in request: the key acting, its account, and the CSRF token for its forms."""

    principal: Principal
    account: Account
    csrf: str

    def can(self, scope: str) -> bool:
        """Whether the key holds ``scope`` (to show or hide what a page offers)."""
        return scope_rules.grants(self.principal.scopes, scope)


def visit_of(request: Request) -> Visit | None:
    """The visit of a request, once its session was checked (None before, or signed out)."""
    found = getattr(request.state, _STATE, None)
    return found if isinstance(found, Visit) else None


async def current_visit(request: Request, session: SessionDep, runtime: RuntimeDep) -> Visit:
    """The session of the request's cookie and its live key; ``SignedOut`` otherwise."""
    token = request.cookies.get(COOKIE)
    row = await find_session(session, token=token)
    assert token is not None
    try:
        principal = await key_principal(
            request, key_id=row.key_id, account_id=row.account_id, session=session, runtime=runtime
        )
    except Unauthorized as exc:
        raise SignedOut("The key of this session was revoked; sign in with another") from exc
    account = await session.get(Account, row.account_id)
    if account is None:
        raise SignedOut("The account of this session no longer exists")
    visit = Visit(principal, account, csrf_token(runtime.secret, token))
    setattr(request.state, _STATE, visit)
    return visit


def console(scope: str | None = None) -> Callable[..., Awaitable[Visit]]:
    """A dependency admitting a signed-in key holding ``scope``: 403 otherwise, as /v1 does."""

    async def dependency(visit: Annotated[Visit, Depends(current_visit)]) -> Visit:
        if scope is not None:
            visit.principal.require(scope)
        return visit

    return dependency


async def checked_form(request: Request, runtime: RuntimeDep) -> FormData:
    """The posted form, once its CSRF token (field ``csrf`` or header ``X-CSRF-Token``) is
    this session's: 403 otherwise, before anything else is read or done."""
    form = await request.form()
    given = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    token = request.cookies.get(COOKIE)
    if not token or not isinstance(given, str) or not csrf_matches(runtime.secret, token, given):
        raise CsrfRefused("The form's CSRF token is missing or wrong: reload the page and retry")
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]
AnyKey = Annotated[Visit, Depends(console())]
