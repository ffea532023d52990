"""The retention purge's rules: per account, only what expired and finished, chains whole,
bounded passes; the worker's schedule and ``herald purge`` both run it."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from herald import cli
from herald.accounts.models import Account
from herald.channels.letter.store import FilesystemDocumentStore
from herald.db import Database, utcnow
from herald.delivery.gate import Gate
from herald.delivery.models import CallbackJob, Delivery, DeliveryAttempt
from herald.inbox.models import InboxEvent, InboxItem, InboxItemHistory
from herald.migrate import upgrade
from herald.notifications.models import IdempotencyKey, Notification
from herald.retention.service import Purged, purge, purge_pass
from herald.sms.models import ReceivedMessage
from herald.throttling.models import DailyUsage
from tests.conftest import MakeTenant, Tenant, settings_for
from tests.delivery.conftest import make_deliveries, running_worker, wait_until, worker_settings
from tests.notifications.helpers import add_users, call_event

RENDERED = {"subject": "Hi", "text/plain": "secret text", "emails": {"to": ["q@example.com"]}}


async def _run(db: Database, store: Path, *, batch: int = 1000) -> Purged:
    return await purge(Gate(db).transaction, documents=FilesystemDocumentStore(store), batch=batch)


async def _age(
    db: Database, notification_id: uuid.UUID, *, days: int, status: str = "delivered"
) -> None:
    """The notification and its deliveries ``days`` old, the deliveries ended in ``status``."""
    old = utcnow() - timedelta(days=days)
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Notification).where(Notification.id == notification_id).values(created_at=old)
        )
        ids = list(
            await session.scalars(
                update(Delivery)
                .where(Delivery.notification_id == notification_id)
                .values(created_at=old, status=status, rendered=RENDERED, attempts=1,
                        receipt="250 2.0.0 Ok: queued as X1")
                .returning(Delivery.id)
            )
        )  # fmt: skip
        session.add_all(
            DeliveryAttempt(delivery_id=i, outcome="delivered", provider="smtp",
                            provider_response={"refused": {"q@example.com": "550"}})
            for i in ids
        )  # fmt: skip


async def _notification(db: Database, notification_id: uuid.UUID) -> Notification:
    async with db.sessions() as session:
        found = await session.get(Notification, notification_id)
    assert found is not None
    return found


async def test_only_what_expired_and_finished_is_purged_per_account(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: MakeTenant, db: Database, tmp_path: Path
) -> None:
    patient = await make_tenant("patient")
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == patient.account_id).values(retention_days=30)
        )
    now = utcnow()
    old, _ = await make_deliveries(db, tenant, 2, due_at=now)
    recent, _ = await make_deliveries(db, tenant, 1, due_at=now)
    running, _ = await make_deliveries(db, tenant, 1, due_at=now)
    scheduled, _ = await make_deliveries(db, tenant, 1, due_at=now)
    theirs, _ = await make_deliveries(db, patient, 1, due_at=now)
    for notification_id, days, status in [(old, 8, "delivered"), (recent, 6, "delivered"),
                                          (running, 8, "sending"), (scheduled, 8, "delivered"),
                                          (theirs, 8, "delivered")]:  # fmt: skip
        await _age(db, notification_id, days=days, status=status)
    async with db.sessions() as session, session.begin():
        await session.execute(  # sent two days ago, though accepted eight days ago
            update(Notification)
            .where(Notification.id == scheduled)
            .values(scheduled_at=now - timedelta(days=2))
        )
    first = await _run(db, tmp_path)
    assert first.notifications >= 1 and first.deliveries >= 2
    gone = await _notification(db, old)
    assert gone.purged_at is not None and gone.message is None and gone.targets == {}
    assert gone.type == "custom" and gone.channels == ["email"]
    for kept in (recent, running, scheduled, theirs):
        row = await _notification(db, kept)
        assert row.purged_at is None and row.message == "queued"
    listed = await client.get(f"/v1/deliveries?notification_id={old}", headers=tenant.headers)
    first_id = listed.json()["data"][0]["id"]
    log = (await client.get(f"/v1/deliveries/{first_id}", headers=tenant.headers)).json()
    assert (log["rendered"], log["recipient"], log["status"]) == (None, {}, "delivered")
    assert log["receipt"] == "250 2.0.0 Ok: queued as X1" and log["purged_at"] is not None
    assert log["attempts"] == [{"at": log["attempts"][0]["at"], "outcome": "delivered",
                                "provider_response": None}]  # fmt: skip
    assert (await _run(db, tmp_path)).notifications == 0  # nothing left to purge


async def test_a_chain_item_stays_until_its_last_event_expires(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, tmp_path: Path
) -> None:
    await add_users(client, tenant, "ann")
    call_id = f"call-{uuid.uuid4().hex[:8]}"
    ids = []
    for sub_type in ("incomingCall", "endedCall"):
        event = call_event(sub_type, {"users": ["ann"]}, id=call_id)
        answer = await client.post("/v1/notifications", json=event, headers=tenant.headers)
        assert answer.status_code == 202, answer.text
        ids.append(uuid.UUID(answer.json()["id"]))
    first, later = ids

    async def items() -> int:
        async with db.sessions() as session:
            touched = select(InboxItemHistory.item_id).where(
                InboxItemHistory.notification_id == later
            )
            return int(
                await session.scalar(select(func.count()).where(InboxItem.id.in_(touched))) or 0
            )

    await _age(db, first, days=8)
    await _run(db, tmp_path)
    assert (await _notification(db, first)).purged_at is not None
    assert await items() == 1  # the later event of its chain is live
    await _age(db, later, days=8)
    await _run(db, tmp_path)
    assert await items() == 0


async def test_passes_are_bounded_and_the_purge_goes_on_until_done(
    tenant: Tenant, db: Database, tmp_path: Path
) -> None:
    made = [(await make_deliveries(db, tenant, 3, due_at=utcnow()))[0] for _ in range(3)]
    for notification_id in made:
        await _age(db, notification_id, days=9)
    store = FilesystemDocumentStore(tmp_path)
    async with Gate(db).transaction() as session:
        done, more = await purge_pass(session, documents=store, now=utcnow(), batch=2)
    assert (done.deliveries, more) == (2, True)  # two rows, and the batch's notifications wait
    total = await _run(db, tmp_path, batch=2)
    assert total.deliveries >= 7 and total.notifications >= 3
    assert all([(await _notification(db, n)).purged_at is not None for n in made])


async def test_events_keys_callbacks_and_daily_counts_go_when_their_time_is_up(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, tmp_path: Path
) -> None:
    await add_users(client, tenant, "bo")
    body = {"type": "custom", "subType": "message", "message": "m", "targets": {"users": ["bo"]},
            "channels": ["in_app"]}  # fmt: skip
    for _ in range(2):
        assert (
            await client.post("/v1/notifications", json=body, headers=tenant.headers)
        ).status_code == 202
    now = utcnow()
    async with db.sessions() as session, session.begin():
        user_id = select(InboxItem.user_id).where(InboxItem.account_id == tenant.account_id)
        seqs = list(await session.scalars(
            select(InboxEvent.seq).where(InboxEvent.user_id.in_(user_id)).order_by(InboxEvent.seq)
        ))  # fmt: skip
        await session.execute(  # the first notification's events are 25 hours old
            update(InboxEvent)
            .where(InboxEvent.user_id.in_(user_id), InboxEvent.seq <= seqs[1])
            .values(created_at=now - timedelta(hours=25))
        )
        for key, hours in (("gone", 25), ("kept", 1)):
            session.add(IdempotencyKey(
                account_id=tenant.account_id, key=key, fingerprint="f", status_code=202, body="{}",
                locked_until=now - timedelta(hours=hours), created_at=now - timedelta(hours=hours),
                expires_at=now - timedelta(hours=hours) + timedelta(hours=24),
            ))  # fmt: skip
        for status in ("delivered", "sending"):
            old = now - timedelta(days=8)
            session.add(CallbackJob(account_id=tenant.account_id, event="delivery.delivered",
                                    payload={}, status=status, created_at=old))  # fmt: skip
        # Today's count was made by the two sends; one of three days ago is done with.
        long_ago = (now - timedelta(days=3)).strftime("%Y-%m-%d")
        session.add(DailyUsage(account_id=tenant.account_id, day=long_ago, messages=5))
    await _run(db, tmp_path)
    async with db.sessions() as session:
        left = list(await session.scalars(
            select(InboxEvent.seq).where(InboxEvent.user_id.in_(user_id)).order_by(InboxEvent.seq)
        ))  # fmt: skip
        keys = set(await session.scalars(
            select(IdempotencyKey.key).where(IdempotencyKey.account_id == tenant.account_id)
        ))  # fmt: skip
        callbacks = list(await session.scalars(
            select(CallbackJob.status).where(CallbackJob.account_id == tenant.account_id)
        ))  # fmt: skip
        days = list(await session.scalars(
            select(DailyUsage.day).where(DailyUsage.account_id == tenant.account_id)
        ))  # fmt: skip
    assert left == seqs[2:] and keys == {"kept"} and callbacks == ["sending"]
    assert days == [now.strftime("%Y-%m-%d")]


async def test_received_texts_go_after_their_accounts_retention(
    tenant: Tenant, make_tenant: MakeTenant, db: Database, tmp_path: Path
) -> None:
    keeping = await make_tenant()  # keeps 30 days: its text of 8 days ago stays
    now = utcnow()
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == keeping.account_id).values(retention_days=30)
        )
        for account, body, days in ((tenant, "old", 8), (tenant, "new", 1), (keeping, "kept", 8)):
            session.add(ReceivedMessage(
                account_id=account.account_id, provider="http", from_number="+447700900123",
                to_number="07700900000", body=body, created_at=now - timedelta(days=days),
            ))  # fmt: skip
    total = await _run(db, tmp_path)
    async with db.sessions() as session:
        left = set(await session.scalars(select(ReceivedMessage.body)))
    assert left == {"new", "kept"} and total.received_messages == 1


@pytest.mark.usefixtures("parked")
async def test_the_worker_purges_on_its_schedule(
    tenant: Tenant, db: Database, database_url: str
) -> None:
    notification_id, _ = await make_deliveries(db, tenant, 1, due_at=utcnow())
    await _age(db, notification_id, days=8)
    async with running_worker(worker_settings(database_url)):

        async def purged() -> bool:
            return (await _notification(db, notification_id)).purged_at is not None

        await wait_until(purged, what="the worker's first purge")


async def test_herald_purge_runs_it_now(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    await upgrade(settings_for(url))
    db = Database(settings_for(url))
    try:
        async with db.sessions() as session, session.begin():
            account = Account(name="a", path="/", retention_days=1)
            session.add(account)
            await session.flush()
            account.path = f"/{account.id}/"
            notification = Notification(
                account_id=account.id, type="custom", sub_type="message", products=[],
                targets={"emails": ["x@example.com"]}, channels=["email"], payload={},
                message="hello", actions=[], created_at=utcnow() - timedelta(days=2),
            )  # fmt: skip
            session.add(notification)
        env = {"HERALD_DATABASE_URL": url, "HERALD_DOCUMENTS_DIR": str(tmp_path / "documents")}
        # The command in this process (in a thread: it runs its own event loop), which spares
        # the suite a start of Python and Herald's imports (seconds on a busy machine).
        done = await asyncio.to_thread(CliRunner().invoke, cli.app, ["purge", "--json"], env=env)
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout)["notifications"] == 1
        async with db.sessions() as session:
            row = await session.get(Notification, notification.id)
        assert row is not None and row.targets == {} and row.purged_at is not None
    finally:
        await db.dispose()
