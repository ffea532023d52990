"""The API documentation pages: Swagger UI at ``/docs``, Redoc at ``/redoc``.

Both render ``/openapi.json`` with copies of the libraries vendored from the npm registry
(``vendor/vendor.json`` pins them; decision 0015), so the pages work with no network. The
Content-Security-Policy holds them to Herald's own origin.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from herald.web.static import IMMUTABLE, mount_assets

HERE = Path(__file__).parent
VENDOR = HERE / "vendor"
ASSETS = "/docs/assets"
STATIC = "/docs/static"
# Redoc runs its search index in a Worker made from a blob: URL; both inline styles.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")


def vendored_folders() -> dict[str, str]:
    """Each vendored package's folder (named with its version), from the manifest."""
    manifest = json.loads((VENDOR / "vendor.json").read_text())
    return {package: entry["folder"] for package, entry in manifest.items()}


FOLDERS = vendored_folders()


def _page(request: Request, template: str) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    context = {
        "openapi_url": root + (request.app.openapi_url or "/openapi.json"),
        "assets": {package: f"{root}{ASSETS}/{folder}" for package, folder in FOLDERS.items()},
        "static": root + STATIC,
    }
    response = templates.TemplateResponse(request, template, context)
    response.headers["Content-Security-Policy"] = POLICY
    return response


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI: every operation, with "try it out" against this Herald."""
    return _page(request, "swagger.html")


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    """Redoc: the same document as a three-panel reference."""
    return _page(request, "redoc.html")


def install(app: FastAPI) -> None:
    """Mount the vendored libraries (immutable: their folders carry the version) and our files."""
    mount_assets(app, ASSETS, VENDOR, cache_control=IMMUTABLE)
    mount_assets(app, STATIC, HERE / "static")
