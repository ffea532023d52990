"""Seed 002's routes, in the order they must be matched (``/smtplog`` before ``/{id}``)."""

from __future__ import annotations

from fastapi import APIRouter

from herald.compat.kazoo import account_routes, message_routes, system_routes

router = APIRouter()
router.include_router(message_routes.router)
router.include_router(system_routes.router)
router.include_router(account_routes.router)
