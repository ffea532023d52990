"""Serving a folder of the package's static files: the helper every page of ``herald/web`` mounts.

Starlette's ``StaticFiles`` answers ``ETag`` / ``Last-Modified`` and 304s; this adds how long a
browser may keep a file, and CORS for files that pages of other origins load (an ES module is
fetched in CORS mode, so the widget's module needs ``Access-Control-Allow-Origin``).
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

# A file whose URL changes with its content (a vendored folder named with its version).
IMMUTABLE = "public, max-age=31536000, immutable"
# A file whose URL stays the same across Herald versions: the browser revalidates (304) each time.
REVALIDATE = "no-cache"


class Assets(StaticFiles):
    """Static files with a ``Cache-Control`` policy and, optionally, open to every origin."""

    def __init__(self, directory: Path, *, cache_control: str, cross_origin: bool) -> None:
        super().__init__(directory=directory)
        self.headers = {"Cache-Control": cache_control, "X-Content-Type-Options": "nosniff"}
        if cross_origin:
            # Public files, no credentials: any page may load them (the data they reach is
            # guarded by the user's token and HERALD_ALLOWED_ORIGINS, not by this header).
            self.headers["Access-Control-Allow-Origin"] = "*"
            self.headers["Cross-Origin-Resource-Policy"] = "cross-origin"

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """Starlette's answer (200 or 304) with this folder's headers."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(self.headers)
        return response


def mount_assets(
    app: FastAPI,
    path: str,
    directory: Path,
    *,
    cache_control: str = REVALIDATE,
    cross_origin: bool = False,
) -> None:
    """Serve ``directory`` under ``path`` (GET and HEAD; 404 in API.md's error body otherwise).

    Mounted after the routers, so a route under the same prefix (``/widget/demo``) still wins.
    """
    name = "assets" + path.replace("/", ".")
    assets = Assets(directory, cache_control=cache_control, cross_origin=cross_origin)
    app.mount(path, assets, name=name)
