"""The console's router: every group of pages under ``/console``, hidden from the OpenAPI
document (they are pages, not API)."""

from __future__ import annotations

from fastapi import APIRouter

from herald.web.console.routes import (
    accounts,
    callbacks,
    deliveries,
    directory,
    keys,
    notifications,
    preferences,
    providers,
    senders,
    signing,
    stats,
    templates,
)

router = APIRouter(include_in_schema=False)
GROUPS = (
    signing,
    notifications,
    deliveries,
    stats,
    templates,
    directory,
    preferences,
    keys,
    providers,
    senders,
    callbacks,
    accounts,
)
for group in GROUPS:
    router.include_router(group.router)
