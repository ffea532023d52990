"""Seed 003 (a council's notifications API) at ``/hackney`` against a real ``herald serve``: the
seed's request body as written, then every route, answers checked field by field against the
seed's documented shapes; email to a real SMTP server, texts and letters to a real HTTP peer,
and sending through GOV.UK Notify (a second account's ``/v2`` on the same server)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from herald.db import utcnow
from herald.delivery.models import Delivery
from herald.notifications.models import Notification
from herald.retention.service import purge_pass
from tests.compat.conftest import eventually
from tests.compat.hackney.conftest import NOTIFY_TEXT, SEED_TEMPLATE, Council

SEEDS = Path(__file__).parent.parent
REQUEST = (SEEDS / "seed003_request.txt").read_text()
EXAMPLES = json.loads((SEEDS / "seed003_examples.json").read_text())
RECORD_FIELDS = set(EXAMPLES["list"][0])  # the seed's record, field for field
STATUS_FIELDS = set(EXAMPLES["message_status"])
TEMPLATE_FIELDS = set(EXAMPLES["message_status"]["template"])
FINAL = {"delivered", "received", "permanent-failure", "temporary-failure", "technical-failure"}
ADDRESS = {"addressLine1": "Hackney Service Centre", "addressLine2": "1 Hillman Street",
           "addressLine3": "London", "addressLine4": "E8 1DY"}  # fmt: skip


def as_json(text: str) -> str:
    """The seed's body made JSON, each repair the seed's own typography needs: straight
    quotes, no ``//`` comments, and the comma its ``templateId`` line leaves out."""
    text = text.translate(str.maketrans({"\u201c": '"', "\u201d": '"'}))
    text = re.sub(r"\s*//[^\n]*", "", text)
    return text.replace('"c6a75cc9-1193-..."\n', '"c6a75cc9-1193-...",\n')


def seed_body(**changes: Any) -> dict[str, Any]:
    """The seed's body (as JSON), with ``changes``."""
    body: dict[str, Any] = json.loads(as_json(REQUEST))
    return {**body, **changes}


def check_record(record: dict[str, Any]) -> None:
    """A record of the seed's shape: its fields, and the types its example shows."""
    assert set(record) == RECORD_FIELDS
    uuid.UUID(record["id"])
    for flag in ("requireAction", "requireEmailNotification", "requireSmsNotification",
                 "requireLetter", "isReadStatus", "isRemovable"):  # fmt: skip
        assert isinstance(record[flag], bool), flag
    assert isinstance(record["personalisationParams"], dict)
    assert datetime.fromisoformat(record["createdDate"]).tzinfo is not None
    assert record["serviceKey"] in (None, "**********")
    details = record["sentMessageDetails"]
    assert details is None or (isinstance(details, list) and details)


def check_status(status: dict[str, Any]) -> None:
    """A message status of the seed's shape."""
    assert set(status) == STATUS_FIELDS
    assert set(status["template"]) == TEMPLATE_FIELDS
    assert status["type"] in ("email", "sms", "letter")
    for field in ("sentAt", "completedAt"):
        assert datetime.fromisoformat(status[field]).tzinfo is not None


async def finished(http: httpx.AsyncClient, notification_id: str) -> list[dict[str, Any]]:
    """The notification's deliveries, once every one has ended."""
    found: list[dict[str, Any]] = []

    async def done() -> bool:
        answer = await http.get("/v1/deliveries", params={"notification_id": notification_id})
        found[:] = answer.json()["data"]
        return bool(found) and all(d["status"] in FINAL for d in found)

    await eventually(done, what="the deliveries to end")
    return found


async def test_the_seeds_body_as_written_is_not_json(council: Council) -> None:
    async with council.client() as http:
        answer = await http.post(
            "/hackney/notifications", content=REQUEST.encode(),
            headers={"content-type": "application/json"},
        )  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_json"


async def test_the_seeds_body_made_json_is_refused_for_its_empty_address(council: Council) -> None:
    async with council.client() as http:
        answer = await http.post("/hackney/notifications", json=seed_body())
    assert answer.status_code == 422
    [detail] = answer.json()["error"]["details"]
    assert detail["path"] == "/personalisationParams/addressLine1"
    assert "3 address lines" in detail["message"]


async def test_the_seeds_notification_on_every_channel(council: Council) -> None:
    params = {**seed_body()["personalisationParams"], **ADDRESS}
    async with council.client() as http:
        created = await http.post("/hackney/notifications",
                                  json=seed_body(personalisationParams=params))  # fmt: skip
        assert created.status_code == 201, created.text
        record = created.json()
        check_record(record)
        assert (record["targetId"], record["targetType"], record["user"]) == (
            "7e6041e2-01b6-4c41-9ccd-5b0932616b50",
            "FailedDirectDebits,MissedServiceChargePayments,Estimates,Actuals",
            "test.user@hackney.gov.uk",
        )
        assert record["notificationType"] == "Screen,Email,Text,Letter"
        assert (record["mobileNumber"], record["email"]) == ("+441234567890", "test@example.com")
        assert (record["templateId"], record["serviceKey"]) == (SEED_TEMPLATE, None)
        assert record["requireAction"] is True and record["isRemovable"] is False
        assert record["isReadStatus"] is False and record["performedActionType"] is None
        assert record["personalisationParams"]["firstName"] == "Joe"
        await finished(http, record["id"])
        listed = await http.get("/hackney/notifications", params={
            "notificationType": "Letter", "targetId": record["targetId"]})  # fmt: skip
        [shown] = listed.json()
    check_record(shown)
    sent = {d["notificationType"]: d for d in shown["sentMessageDetails"]}
    assert set(sent) == {"Email", "Text", "Letter"}
    assert sent["Email"]["to"] == "test@example.com"
    assert sent["Email"]["body"].strip() == "Dear Joe Bloggs, 3 payments are missed."
    assert sent["Text"]["body"].strip() == "Dear Joe, 3 payments are missed."
    # The letter's PDF is in the document store, under the id the record names.
    pdf = await council.documents.get(sent["Letter"]["documentId"])
    assert pdf.startswith(b"%PDF")
    [mail] = [r for r in council.smtp.sink.received if r.rcpt_tos == ["test@example.com"]]
    message = message_from_bytes(mail.content, policy=policy.default)
    assert message["Subject"] == "Missed payments"


async def _created(http: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    body = seed_body(notificationType="Email", **changes)
    answer = await http.post("/hackney/notifications", json=body)
    assert answer.status_code == 201, answer.text
    record: dict[str, Any] = answer.json()
    return record


async def test_message_status_within_retention_then_404(council: Council) -> None:
    async with council.client() as http:
        record = await _created(http, targetId=str(uuid.uuid4()))
        [delivery] = await finished(http, record["id"])
        answer = await http.get(f"/hackney/message-status/email/{record['id']}")
        assert answer.status_code == 200, answer.text
        status = answer.json()
        check_status(status)
        assert (status["id"], status["status"], status["type"]) == (
            delivery["id"], "delivered", "email"
        )  # fmt: skip
        assert (status["emailAddress"], status["subject"]) == (
            "test@example.com",
            "Missed payments",
        )
        assert status["body"].strip() == "Dear Joe Bloggs, 3 payments are missed."
        assert status["createdByName"] == "test.user@hackney.gov.uk"
        assert status["template"]["id"] == SEED_TEMPLATE
        assert (await http.get(f"/hackney/message-status/text/{record['id']}")).status_code == 404
        assert (await http.get(f"/hackney/message-status/fax/{record['id']}")).status_code == 404
        note = {"actionType": "Approved", "actionNote": "Called Joe Bloggs"}
        assert (await http.patch(f"/hackney/notifications/{record['id']}", json=note)).is_success
        # Eight days on, retention has emptied it: the status is gone, the record stays.
        async with council.server.db.sessions() as session, session.begin():
            await purge_pass(session, documents=council.documents, now=utcnow() + timedelta(days=8))
        gone = await http.get(f"/hackney/message-status/email/{record['id']}")
        listed = await http.get("/hackney/notifications", params={"targetId": record["targetId"]})
    assert gone.status_code == 404
    [kept] = listed.json()
    assert (kept["id"], kept["personalisationParams"], kept["email"]) == (record["id"], {}, None)
    assert (kept["user"], kept["message"], kept["actionNote"]) == (None, None, None)
    assert kept["performedActionType"] == "Approved"


async def test_an_action_is_audited_and_fed_back_then_the_record_can_go(council: Council) -> None:
    async with council.client() as http:
        record = await _created(http)
        path = f"/hackney/notifications/{record['id']}"
        assert (await http.delete(path)).status_code == 409  # it awaits its action
        read = await http.patch(path, json={"id": record["id"], "actionType": "IsRead",
                                            "actionNote": ""})  # fmt: skip
        assert read.status_code == 200, read.text
        assert (read.json()["isReadStatus"], read.json()["isRemovable"]) == (True, False)
        body = {"id": record["id"], "actionType": "Approved", "actionNote": "Seen, calling them"}
        approved = await http.patch(path, json=body)
        assert approved.status_code == 200, approved.text
        shown = approved.json()
        check_record(shown)
        assert (shown["performedActionType"], shown["actionNote"]) == (
            "Approved",
            body["actionNote"],
        )
        assert shown["performedActionDoneBy"] == f"key:{council.council.key_id}"
        assert datetime.fromisoformat(shown["performedActionDate"]).tzinfo is not None
        assert shown["isRemovable"] is True
        trail = await http.get(f"/v1/notifications/{record['id']}/actions")
        assert [a["actionType"] for a in trail.json()["data"]] == ["IsRead", "Approved"]

        async def fed_back() -> bool:
            return any(
                r.path == "/feedback" and b"Approved" in r.body and record["id"].encode() in r.body
                for r in council.peer.requests
            )

        await eventually(fed_back, what="the action's callback")
        assert (await http.delete(path)).status_code == 204
        assert (await http.delete(path)).status_code == 404
        assert (await http.patch(path, json=body)).status_code == 404
        status = await http.get(f"/hackney/message-status/email/{record['id']}")
        assert status.status_code == 404
        listed = await http.get("/hackney/notifications", params={"notificationType": "Email"})
    assert record["id"] not in {r["id"] for r in listed.json()}
    async with council.server.db.sessions() as session:
        left = await session.scalar(
            select(Notification).where(Notification.id == uuid.UUID(record["id"]))
        )
    assert left is None


async def test_sending_through_a_notify_service_with_its_key_and_template(council: Council) -> None:
    body = {
        "targetId": str(uuid.uuid4()),
        "targetType": "Estimates",
        "notificationType": "Email",
        "user": "officer@hackney.gov.uk",
        "message": "Your estimate is ready",
        "serviceKey": council.notify_key,
        "templateId": council.notify_template,
        "email": "resident@example.com",
        "personalisationParams": {"firstName": "Ann", "lastName": "Jones"},
        "requireAction": False,
    }
    async with council.client() as http:
        created = await http.post("/hackney/notifications", json=body)
        assert created.status_code == 201, created.text
        record = created.json()
        check_record(record)
        assert (record["serviceKey"], record["templateId"]) == (
            "**********",
            council.notify_template,
        )
        [delivery] = await finished(http, record["id"])
        status = (await http.get(f"/hackney/message-status/email/{record['id']}")).json()
    assert (delivery["provider"], delivery["status"]) == ("govuk_notify", "delivered")
    # The message status is the Notify service's own record of the message.
    check_status(status)
    notify_id = json.loads(delivery["attempts"][0]["provider_response"]["body"])["id"]
    assert (status["id"], status["status"], status["type"]) == (notify_id, "delivered", "email")
    assert (status["emailAddress"], status["subject"]) == (
        "resident@example.com", "Payment reminder for Ann"
    )  # fmt: skip
    assert "Your service charge payment is overdue." in status["body"]
    assert status["template"]["id"] == council.notify_template
    assert status["template"]["path"].endswith(f"/v2/template/{council.notify_template}/version/1")
    assert status["reference"] == delivery["id"]
    # The email reached SMTP from the Notify service, written by its template.
    [mail] = [r for r in council.smtp.sink.received if r.rcpt_tos == ["resident@example.com"]]
    message = message_from_bytes(mail.content, policy=policy.default)
    assert message["Subject"] == "Payment reminder for Ann"
    text = message.get_body(("plain",))
    assert text is not None
    assert (
        NOTIFY_TEXT.replace("((firstName))", "Ann")
        .replace("((lastName))", "Jones")
        .split("\n\n")[1]
        in text.get_content()
    )
    # The Notify service received it as a Notify notification of the council's reference.
    async with council.client(council.notify.api_key) as service:
        seen = await service.get("/v1/notifications", params={"type": "notify"})
    assert any(n["targets"].get("emails") == ["resident@example.com"] for n in seen.json()["data"])
    # The key is nowhere in the database in clear, and never answered back.
    async with council.server.db.sessions() as session:
        notification = await session.get(Notification, uuid.UUID(record["id"]))
        rows = (
            await session.scalars(
                select(Delivery).where(Delivery.notification_id == uuid.UUID(record["id"]))
            )
        ).all()
    assert notification is not None
    stored = json.dumps(notification.options) + "".join(r.own_provider or "" for r in rows)
    assert council.notify_key[-36:] not in stored  # its secret
    assert rows[0].own_provider
    assert council.notify_key not in created.text
