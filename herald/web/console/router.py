"""The console's router: every group of pages under ``/console``, hidden from the OpenAPI
document (they are pages, not API)."""

from __future__ import annotations

from fastapi import APIRouter

from herald.web.console.routes import deliveries, notifications, signing, templates

router = APIRouter(include_in_schema=False)
for group in (signing, notifications, deliveries, templates):
    router.include_router(group.router)
