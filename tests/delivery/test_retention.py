"""Retention: finished deliveries past the account's retention lose content and personal
data and keep their metadata; newer or unfinished ones are untouched."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from herald.accounts.models import Account
from herald.db import Database, utcnow
from herald.delivery.models import CallbackJob, Delivery, DeliveryAttempt
from herald.delivery.retention import purge
from tests.conftest import MakeTenant, Tenant
from tests.delivery.conftest import deliveries_of, drop_notification, make_deliveries

RENDERED = {"subject": "Hi", "text/plain": "secret text", "emails": {"to": ["q@example.com"]}}


async def _age(db: Database, delivery_id: uuid.UUID, *, days: int, status: str) -> None:
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(
                created_at=utcnow() - timedelta(days=days),
                status=status,
                rendered=RENDERED,
                receipt="250 2.0.0 Ok: queued as X1",
                attempts=1,
            )
        )
        session.add(
            DeliveryAttempt(
                delivery_id=delivery_id, outcome="delivered", provider="smtp",
                provider_response={"refused": {"q@example.com": "550"}},
            )
        )  # fmt: skip


async def test_purge_removes_content_and_keeps_metadata_per_account_retention(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: MakeTenant, db: Database
) -> None:
    patient = await make_tenant("patient")
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == patient.account_id).values(retention_days=30)
        )
    mine, (old, recent, unfinished) = await make_deliveries(db, tenant, 3, due_at=utcnow())
    theirs, (kept,) = await make_deliveries(db, patient, 1, due_at=utcnow())
    await _age(db, old, days=8, status="delivered")
    await _age(db, recent, days=6, status="delivered")
    await _age(db, unfinished, days=8, status="sending")
    await _age(db, kept, days=8, status="delivered")
    try:
        async with db.sessions() as session, session.begin():
            first = await purge(session)
        assert first.deliveries >= 1
        rows = {r.id: r for r in await deliveries_of(db, mine)}
        gone = rows[old]
        assert gone.rendered is None and gone.recipient == {} and gone.purged_at is not None
        assert (gone.status, gone.attempts, gone.receipt) == (
            "delivered",
            1,
            "250 2.0.0 Ok: queued as X1",
        )
        assert rows[recent].rendered == RENDERED and rows[unfinished].rendered == RENDERED
        [other] = await deliveries_of(db, theirs)
        assert other.rendered == RENDERED and other.purged_at is None

        log = (await client.get(f"/v1/deliveries/{old}", headers=tenant.headers)).json()
        assert log["rendered"] is None and log["recipient"] == {} and log["status"] == "delivered"
        assert log["attempts"] == [
            {"at": log["attempts"][0]["at"], "outcome": "delivered", "provider_response": None}
        ]
        async with db.sessions() as session, session.begin():
            assert (await purge(session)).deliveries == 0  # nothing left to purge
    finally:
        await drop_notification(db, mine)
        await drop_notification(db, theirs)


async def test_finished_callbacks_past_retention_are_deleted(db: Database, tenant: Tenant) -> None:
    old = utcnow() - timedelta(days=8)
    async with db.sessions() as session, session.begin():
        for status in ("delivered", "sending"):
            session.add(
                CallbackJob(
                    account_id=tenant.account_id, event="delivery.delivered", payload={},
                    status=status, created_at=old,
                )
            )  # fmt: skip
    async with db.sessions() as session, session.begin():
        await purge(session)
    async with db.sessions() as session:
        left = await session.scalars(
            select(CallbackJob.status).where(CallbackJob.account_id == tenant.account_id)
        )
        assert list(left) == ["sending"]
