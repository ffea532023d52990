"""After the purge, no personal value of an expired notification is left in any column of any
table, nor its letter in the document store; an unexpired one is untouched.

Two notifications are sent the same way, with every channel and everything that records
personal data around them (template personalisation, payload, message, raw email, phone and
postal address, actions, correlation id, idempotency key, an action note, status callbacks,
real-time events, an SMS through the gateway). One is then aged past the account's retention.
The check reads every table the database has, not a list kept by hand: a table added later
is covered without changing this test.
"""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import String, case, cast, func, inspect, or_, select, update
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.ext.asyncio import AsyncSession

from herald.channels.letter.store import FilesystemDocumentStore
from herald.db import Database, utcnow
from herald.delivery.gate import Gate
from herald.delivery.models import CallbackJob, Delivery
from herald.inbox.models import InboxEvent, InboxItemHistory
from herald.notifications.models import IdempotencyKey, Notification
from herald.retention.service import purge
from tests.conftest import Tenant, bearer, make_key
from tests.delivery.conftest import running_worker, wait_until, worker_settings
from tests.http.conftest import Receiver, StartReceiver

pytestmark = pytest.mark.usefixtures("parked")

TEMPLATE = {
    "id": "everything",
    "channels": {
        "email": {"subject": "About {{ topic }}", "text": "{{ message }} / {{ payload.ref }}"},
        "sms": {"body": "{{ topic }}"},
        "push": {"title": "{{ topic }}", "body": "{{ message }}"},
        "letter": {"html": "<p>{{ topic }}: {{ message }}</p>"},
        "in_app": {"message": "{{ topic }} {{ message }}"},
    },
}
FINISHED = ("delivered", "temporary-failure", "permanent-failure", "technical-failure",
            "cancelled")  # fmt: skip


@dataclass(frozen=True)
class Sent:
    """A notification and a gateway SMS whose personal values all contain ``tag``, or (the
    phone number) ``digits``."""

    tag: str
    digits: str
    ids: tuple[uuid.UUID, uuid.UUID]
    idempotency_key: str

    @property
    def patterns(self) -> tuple[str, str]:
        """What finds any of its personal values."""
        return self.tag, self.digits


def _ok(answer: httpx.Response, *codes: int) -> Any:
    assert answer.status_code in codes, answer.text
    return answer.json() if answer.content else None


async def _setup(client: httpx.AsyncClient, tenant: Tenant, start_receiver: StartReceiver) -> None:
    """A user with a device, a webhook endpoint, status callbacks, the template."""
    headers = tenant.headers
    _ok(
        await client.put(
            "/v1/users/ann",
            json={"email": "ann@example.com", "phone": "+447400123456"},
            headers=headers,
        ),
        201,
    )
    _ok(await client.post("/v1/users/ann/devices/apns-device", json={}, headers=headers), 204)
    receiver = await start_receiver(Receiver())
    hook = {"url": receiver.url("/hook"), "types": ["*"]}
    _ok(await client.put("/v1/endpoints/crm", json=hook, headers=headers), 200)
    events = {"url": receiver.url("/callbacks"), "events": ["delivery.delivered",
              "notification.action"]}  # fmt: skip
    _ok(await client.put("/v1/callbacks", json=events, headers=headers), 200)
    _ok(await client.post("/v1/templates", json=TEMPLATE, headers=headers), 201)


async def _send(
    client: httpx.AsyncClient, tenant: Tenant, key: dict[str, str], db: Database
) -> Sent:
    tag, digits = secrets.token_hex(6), f"79{random.randrange(10**8):08d}"
    envelope = {
        "type": "custom", "subType": "message", "message": f"msg-{tag}",
        "channels": ["in_app", "email", "sms", "push", "webhook", "letter"],
        "targets": {
            "users": ["ann"], "emails": [f"mail-{tag}@example.com"], "phones": [f"+44{digits}"],
            "addresses": [{"lines": [f"Flat {tag}", f"{tag} High St", "London"],
                           "postcode": "E8 1AA"}],
        },
        "template": "everything", "personalisation": {"topic": f"topic-{tag}"},
        "payload": {"ref": f"ref-{tag}"}, "correlationId": f"corr-{tag}",
        "requireAction": True,
        "actions": [{"label": f"label-{tag}", "url": f"https://example.com/{tag}"}],
    }  # fmt: skip
    idempotency_key = f"idem-{tag}"
    with_key = {**key, "Idempotency-Key": idempotency_key}
    sent = _ok(await client.post("/v1/notifications", json=envelope, headers=with_key), 202)
    sms = {"message": {"body": f"sms-{tag}"}, "to_numbers": [f"44{digits}"]}
    gateway = _ok(await client.post("/v1/messages", json=sms, headers=key), 200, 201, 202)
    async with db.sessions() as session:
        sms_id = await session.scalar(
            select(Delivery.notification_id).where(
                Delivery.id == uuid.UUID(gateway["messages"][0]["id"])
            )
        )
    assert sms_id is not None
    items = _ok(await client.get("/v1/users/ann/notifications", headers=tenant.headers), 200)
    [item] = [i for i in items["data"] if i["notification_id"] == sent["id"]]
    action = {"actionType": "Approved", "actionNote": f"note-{tag}"}
    path = f"/v1/users/ann/notifications/{item['id']}"
    _ok(await client.patch(path, json=action, headers=tenant.headers), 200)
    return Sent(tag, digits, (uuid.UUID(sent["id"]), sms_id), idempotency_key)


async def _wait_done(db: Database, tenant: Tenant) -> None:
    """Every delivery and status callback of the tenant has finished."""

    async def done() -> bool:
        async with db.sessions() as session:
            running = 0
            for model in (Delivery, CallbackJob):
                running += int(
                    await session.scalar(
                        select(func.count()).where(
                            model.account_id == tenant.account_id, model.status.not_in(FINISHED)
                        )
                    )
                    or 0
                )
        return running == 0

    await wait_until(done, within=60, what="every delivery and callback to finish")


async def _age(db: Database, sent: Sent, *, days: int) -> None:
    """Make everything of ``sent`` look ``days`` old."""
    old = utcnow() - timedelta(days=days)
    ids = list(sent.ids)
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Notification).where(Notification.id.in_(ids)).values(created_at=old)
        )
        await session.execute(
            update(Delivery).where(Delivery.notification_id.in_(ids)).values(created_at=old)
        )
        items = select(InboxItemHistory.item_id).where(InboxItemHistory.notification_id.in_(ids))
        await session.execute(
            update(InboxEvent).where(InboxEvent.item_id.in_(items)).values(created_at=old)
        )
        mentions = or_(*(cast(CallbackJob.payload, String).like(f"%{i}%") for i in ids))
        await session.execute(update(CallbackJob).where(mentions).values(created_at=old))
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == sent.idempotency_key)
            .values(created_at=old, expires_at=old + timedelta(hours=24), locked_until=old)
        )  # fmt: skip


async def _found(session: AsyncSession, patterns: tuple[str, ...]) -> dict[str, list[str]]:
    """Every table and column (of the database itself) holding a value matching a pattern."""
    tables = await session.run_sync(
        lambda s: {name: [c["name"] for c in inspect(s.connection()).get_columns(name)]
                   for name in inspect(s.connection()).get_table_names()}
    )  # fmt: skip
    found: dict[str, list[str]] = {}
    for name, columns in tables.items():
        relation = sql_table(name, *(sql_column(c) for c in columns))
        flags = [
            func.max(case((or_(*(cast(relation.c[c], String).like(f"%{p}%") for p in patterns)),
                           1), else_=0))
            for c in columns
        ]  # fmt: skip
        row = (await session.execute(select(*flags).select_from(relation))).one()
        if any(row):
            found[name] = [c for c, flag in zip(columns, row, strict=True) if flag]
    return found


async def test_the_purge_leaves_nothing_personal_of_an_expired_notification(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    database_url: str,
    start_receiver: StartReceiver,
    tmp_path: Path,
) -> None:
    await _setup(client, tenant, start_receiver)
    key = bearer(
        await make_key(db, tenant, "notifications.write", "notifications.sms.write", test=True)
    )
    expired, kept = [await _send(client, tenant, key, db) for _ in range(2)]
    store = tmp_path / "documents"
    async with running_worker(worker_settings(database_url, documents_dir=str(store))):
        await _wait_done(db, tenant)
    async with db.sessions() as session:
        letters = dict(
            (await session.execute(
                select(Delivery.notification_id, Delivery.document_id)
                .where(Delivery.channel == "letter", Delivery.notification_id.in_(
                    [expired.ids[0], kept.ids[0]]))
            )).all()
        )  # fmt: skip
    pdf = store / letters[expired.ids[0]][:2] / letters[expired.ids[0]]
    assert pdf.exists()
    await _age(db, expired, days=8)

    purged = await purge(Gate(db).transaction, documents=FilesystemDocumentStore(store))

    assert purged.notifications >= 2 and purged.documents >= 1 and purged.inbox_items >= 1
    async with db.sessions() as session:
        assert await _found(session, expired.patterns) == {}
        left = await _found(session, kept.patterns)
        rows = {
            n.id: n
            for n in await session.scalars(
                select(Notification).where(Notification.id.in_([*expired.ids, *kept.ids]))
            )
        }
    assert not pdf.exists()
    kept_pdf = letters[kept.ids[0]]
    assert (store / kept_pdf[:2] / kept_pdf).exists()
    # The unexpired one, sent the same way, is untouched everywhere it was: the expired one
    # was there too, and is gone.
    assert set(left) >= {"notifications", "deliveries", "inbox_items", "inbox_events",
                         "inbox_audit", "callback_jobs", "idempotency_keys"}  # fmt: skip
    assert all(rows[i].purged_at is None for i in kept.ids)
    # What the documentation promises stays: ids, statuses, timestamps.
    gone = rows[expired.ids[0]]
    assert gone.purged_at is not None and (gone.status, gone.type) == ("delivered", "custom")
    shown = _ok(await client.get(f"/v1/notifications/{gone.id}", headers=tenant.headers), 200)
    assert shown["payload"] == {} and shown["targets"] == {} and shown["message"] is None
    assert shown["purged_at"] is not None
    assert {d["status"] for d in shown["deliveries"]} == {"delivered"}
    assert all(d["recipient"] == {} for d in shown["deliveries"])
