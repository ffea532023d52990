"""Mount the static assets of every page folder (after the routers, whose routes come first)."""

from __future__ import annotations

from fastapi import FastAPI

from herald.web.docs import routes as docs
from herald.web.widget import routes as widget


def install_pages(app: FastAPI) -> None:
    """The widget's module and the documentation's vendored libraries."""
    widget.install(app)
    docs.install(app)
