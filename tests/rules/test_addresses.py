"""The sends that name numbers and addresses, not users, go through the same rules, against a
real ``herald serve`` on both databases: the SMS gateway's routes (a user, a team, numbers),
GOV.UK Notify's ``/v2`` email and SMS, and a precompiled letter. A recipient who is a
directory user (named, or whose own number or address it is) gets their choices applied; a
number or address that is nobody's (or several users') has none."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

from notifications_python_client.notifications import NotificationsAPIClient
from sqlalchemy import select

from herald.delivery.models import Delivery
from herald.sms.models import SmsCharge
from tests.compat.notify.pdf import one_page_pdf
from tests.rules.conftest import Rig, setup_tenant

IVY, JON, NOBODY = "+447700900111", "+447700900222", "+447700900333"
EMAIL = {"subject": "Your appointment", "text": "See you on Monday."}


async def _sms_rows(rig: Rig, answer: dict[str, Any]) -> dict[str, Delivery]:
    """The deliveries an SMS send answered, by number."""
    ids = [uuid.UUID(message["id"]) for message in answer["messages"]]
    async with rig.herald.db.sessions() as session:
        rows = await session.scalars(select(Delivery).where(Delivery.id.in_(ids)))
        return {row.recipient["phone"]: row for row in rows}


async def _charged(rig: Rig, rows: dict[str, Delivery]) -> set[str]:
    """The numbers whose delivery reserved some of the SMS allowance."""
    by_id = {row.id: number for number, row in rows.items()}
    async with rig.herald.db.sessions() as session:
        charged = await session.scalars(
            select(SmsCharge.delivery_id).where(SmsCharge.delivery_id.in_(list(by_id)))
        )
        return {by_id[delivery_id] for delivery_id in charged}


async def test_the_sms_gateway_applies_the_choices_of_users_and_of_their_numbers(
    rig: Rig,
) -> None:
    users = {"ivy": {"phone": IVY}, "jon": {"phone": JON}}
    tenant = await setup_tenant(rig, "gateway", users)
    async with rig.herald.client(tenant.api_key) as http:
        off = {"channels": {"sms": False}}
        assert (await http.put("/v1/users/ivy/preferences", json=off)).status_code == 200
        assert (await http.put("/v1/teams/desk", json={"name": "Desk"})).status_code in (200, 201)
        for member in users:
            answer = await http.post(f"/v1/teams/desk/members/{member}")
            assert answer.status_code == 204, answer.text
        message = {"message": {"body": "Your viewing is at 10."}}
        to_user = await http.post("/v1/users/ivy/message", json=message)
        to_team = await http.post("/v1/teams/desk/message", json=message)
        numbers = {**message, "to_numbers": [IVY, JON, NOBODY]}
        to_numbers = await http.post("/v1/messages", json=numbers)
    for answer in (to_user, to_team, to_numbers):
        assert answer.status_code == 202, answer.text

    [ivy] = (await _sms_rows(rig, to_user.json())).values()
    assert (ivy.status, ivy.reason, ivy.user_id is not None) == ("skipped", "preference", True)
    team = await _sms_rows(rig, to_team.json())
    assert {n: r.reason for n, r in team.items()} == {IVY: "preference", JON: None}
    raw = await _sms_rows(rig, to_numbers.json())
    # Ivy's own number follows her choice though the send named a number, not her.
    assert {n: r.reason for n, r in raw.items()} == {IVY: "preference", JON: None, NOBODY: None}
    assert all(row.user_id is None for row in raw.values())  # still addressed to the number
    assert await _charged(rig, raw) == {JON, NOBODY}  # a skipped SMS uses no allowance
    async with rig.herald.client(tenant.api_key) as http:
        shown = (await http.get(f"/v1/notifications/{ivy.notification_id}")).json()
    assert shown["status"] == "delivered"  # skipped counts as done, as for every send


def _notify(rig: Rig, key: str) -> NotificationsAPIClient:
    return NotificationsAPIClient(key, base_url=rig.herald.url)


async def test_notify_sends_to_a_users_own_address_follow_that_users_choices(rig: Rig) -> None:
    users = {
        "kay": {"email": "Kay@notify.test", "phone": "+447700900444"},
        "ben": {"email": "shared@notify.test"},
        "bea": {"email": "shared@notify.test"},
    }
    tenant = await setup_tenant(rig, "notify rules", users)
    async with rig.herald.client(tenant.api_key) as http:
        for user in ("kay", "ben"):
            off = {"channels": {"email": False, "sms": False}}
            assert (await http.put(f"/v1/users/{user}/preferences", json=off)).status_code == 200
        key = await http.post("/v1/keys", json={"notify": True, "type": "live", "name": "k"})
        email, sms = str(uuid.uuid4()), str(uuid.uuid4())
        templates = [
            {"id": email, "friendly_name": "E", "channels": {"email": EMAIL}},
            {"id": sms, "friendly_name": "S", "channels": {"sms": {"body": "Code 1"}}},
        ]
        for template in templates:
            assert (await http.post("/v1/templates", json=template)).status_code == 201
    api = _notify(rig, key.json()["api_key"])

    def send_all() -> dict[str, str]:
        return {
            "kay": api.send_email_notification("KAY@notify.test", email)["id"],  # any case
            "kay sms": api.send_sms_notification("+447700900444", sms)["id"],
            "shared": api.send_email_notification("shared@notify.test", email)["id"],
            "nobody": api.send_email_notification("nobody@notify.test", email)["id"],
        }

    sent = await asyncio.to_thread(send_all)
    reasons = {name: [d.reason for d in await rig.deliveries(i)] for name, i in sent.items()}
    assert reasons == {
        "kay": ["preference"],
        "kay sms": ["preference"],
        "shared": [None],  # two users' address: nobody's choice to apply
        "nobody": [None],
    }
    shown = await asyncio.to_thread(api.get_notification_by_id, sent["kay"])
    # Notify has no "skipped": its nearest status name, and a filter by it finds the send.
    assert shown["status"] == "cancelled" and shown["email_address"] == "kay@notify.test"
    listed = await asyncio.to_thread(api.get_all_notifications, status="cancelled")
    assert sent["kay"] in [n["id"] for n in listed["notifications"]]


async def test_a_precompiled_letter_is_decided_and_keeps_its_category(rig: Rig) -> None:
    tenant = await setup_tenant(rig, "letters", {})
    async with rig.herald.client(tenant.api_key) as http:
        key = await http.post("/v1/keys", json={"notify": True, "type": "live", "name": "k"})
    api = _notify(rig, key.json()["api_key"])
    pdf = io.BytesIO(one_page_pdf())
    sent = await asyncio.to_thread(api.send_precompiled_letter_notification, "invoice-8", pdf)
    letter = str(sent["id"])
    [row] = await rig.deliveries(letter)
    assert (row.channel, row.category, row.reason, row.status != "skipped") == (
        "letter", "notify", None, True,
    )  # fmt: skip
