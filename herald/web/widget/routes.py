"""``/widget/herald-inbox.js`` (the module, open to every origin) and ``/widget/demo?token=``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from herald.web.static import mount_assets

HERE = Path(__file__).parent
MAX_PARAMETER = 4096
# The widget's styles are a constructed stylesheet and its code a module from 'self', so the
# demo needs no 'unsafe-inline': the page shows the widget under a strict policy, as a
# developer's own page may have.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")
Text = Annotated[str | None, Query(max_length=MAX_PARAMETER)]


@router.get("/widget/demo", response_class=HTMLResponse)
async def demo(
    request: Request,
    token: Text = None,
    product: Text = None,
    locale: Text = None,
    categories: Text = None,
) -> HTMLResponse:
    """A page that shows the widget for a user token (a form asks for one when absent)."""
    root = request.scope.get("root_path", "")
    context = {
        "token": token,
        "product": product,
        "locale": locale,
        "categories": categories,
        "module": f"{root}/widget/herald-inbox.js",
        "styles": f"{root}/widget/demo.css",
        "origin": str(request.base_url).rstrip("/"),
    }
    response = templates.TemplateResponse(request, "demo.html", context)
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in this page's URL
    response.headers["Cache-Control"] = "no-store"
    return response


def install(app: FastAPI) -> None:
    """Serve the module and the demo's stylesheet; any origin may load them."""
    mount_assets(app, "/widget", HERE / "static", cross_origin=True)
