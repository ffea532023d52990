"""``/unsubscribe/{token}``: ``GET`` asks to confirm (link scanners fetch links, so a ``GET``
changes nothing), ``POST`` (a mail client's RFC 8058 one-click, or the page's button) turns the
token's category email off. A forged or expired token gets a page saying so, and no change."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParameter
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from herald.http.deps import RuntimeDep, SessionDep
from herald.rules.unsubscribe import BadToken, Unsubscribe, read_token, turn_off_email

HERE = Path(__file__).parent
POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'"

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")
Token = Annotated[str, PathParameter(min_length=1, max_length=2048)]


def _page(request: Request, status: int, **context: str) -> HTMLResponse:
    response = templates.TemplateResponse(request, "unsubscribe.html", context, status_code=status)
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    response.headers["Cache-Control"] = "no-store"
    return response


def _checked(request: Request, secret: str, token: str) -> Unsubscribe | HTMLResponse:
    try:
        return read_token(secret, token)
    except BadToken as exc:
        return _page(request, 400, state="invalid", title="Link not valid", problem=str(exc))


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
async def confirm(request: Request, token: Token, runtime: RuntimeDep) -> HTMLResponse:
    """Ask before unsubscribing."""
    target = _checked(request, runtime.secret, token)
    if isinstance(target, HTMLResponse):
        return target
    return _page(request, 200, state="confirm", title="Unsubscribe", category=target.category)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe(
    request: Request, token: Token, runtime: RuntimeDep, session: SessionDep
) -> HTMLResponse:
    """Turn the category's email off for the token's user."""
    target = _checked(request, runtime.secret, token)
    if isinstance(target, HTMLResponse):
        return target
    await turn_off_email(session, target)
    return _page(request, 200, state="done", title="Unsubscribed", category=target.category)
