"""Seed 004 (the Relatel SMS gateway) at ``/``: ``POST /messages``, ``POST /employees/{id}/message``
and ``POST /employee_groups/{id}/message``."""

from __future__ import annotations

from fastapi import APIRouter, status

from herald.sms import routes as sms

router = APIRouter(tags=["seed 004"], include_in_schema=False)
ACCEPTED = status.HTTP_202_ACCEPTED
router.add_api_route("/messages", sms.send_messages, methods=["POST"], status_code=ACCEPTED)
router.add_api_route(
    "/employees/{external_id}/message", sms.message_user, methods=["POST"], status_code=ACCEPTED
)
router.add_api_route(
    "/employee_groups/{key}/message", sms.message_team, methods=["POST"], status_code=ACCEPTED
)
