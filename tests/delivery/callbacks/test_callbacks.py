"""Status callbacks: registration (secret once, SSRF-checked), signed POSTs a receiver can
verify, retries on the policy with a stable webhook-id, and inbox actions."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from herald.db import Database, utcnow
from herald.delivery.callbacks.service import ACTION_EVENT, action_data, enqueue_callback
from herald.delivery.models import CallbackJob
from herald.webhooks.signing import verify
from tests.channels.conftest import Server
from tests.conftest import Tenant, bearer, make_key
from tests.delivery.conftest import (
    Receiver,
    StartReceiver,
    email_to,
    running_worker,
    wait_finished,
    wait_until,
    worker_settings,
)

pytestmark = pytest.mark.usefixtures("parked")

EVENTS = ["delivery.delivered", "delivery.permanent-failure", ACTION_EVENT]


async def _register(client: httpx.AsyncClient, tenant: Tenant, url: str) -> str:
    answer = await client.put(
        "/v1/callbacks", json={"url": url, "events": EVENTS}, headers=tenant.headers
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["url"] == url and body["events"] == sorted(EVENTS)
    secret: str = body["secret"]
    assert secret.startswith("whsec_")
    return secret


async def _jobs(db: Database, tenant: Tenant) -> list[CallbackJob]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(CallbackJob).where(CallbackJob.account_id == tenant.account_id)
        )
        return list(rows)


async def test_registration_shows_the_secret_once_and_checks_url_events_and_scope(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await _register(client, tenant, "http://127.0.0.1:9/hook")
    shown = (await client.get("/v1/callbacks", headers=tenant.headers)).json()
    assert shown == {
        "url": "http://127.0.0.1:9/hook",
        "events": sorted(EVENTS),
        "format": "standard",
    }
    unsafe = await client.put(
        "/v1/callbacks",
        json={"url": "http://169.254.169.254/latest", "events": EVENTS},
        headers=tenant.headers,
    )
    assert unsafe.status_code == 422 and unsafe.json()["error"]["details"][0]["path"] == "/url"
    unknown = await client.put(
        "/v1/callbacks",
        json={"url": "http://127.0.0.1:9/", "events": ["delivery.lost"]},
        headers=tenant.headers,
    )
    assert unknown.json()["error"]["details"][0]["path"] == "/events/0"
    reader = bearer(await make_key(db, tenant, "deliveries.read"))
    assert (await client.get("/v1/callbacks", headers=reader)).status_code == 403
    deleted = await client.delete("/v1/callbacks", headers=tenant.headers)
    assert deleted.status_code == 204
    assert (await client.get("/v1/callbacks", headers=tenant.headers)).status_code == 404


async def test_status_changes_are_posted_signed_and_verifiable(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    database_url: str,
    smtp: Server,
    start_receiver: StartReceiver,
) -> None:
    receiver = await start_receiver(Receiver())
    secret = await _register(client, tenant, receiver.url())
    smtp.sink.refuse = {"gone@example.com": "550 5.1.1 No such user"}
    notification = await email_to(client, tenant, "ok@example.com", "gone@example.com")
    async with running_worker(worker_settings(database_url, smtp)):
        await wait_finished(db, notification)
        await wait_until(lambda: _count(receiver, 2), what="two callbacks")
    bodies = []
    for request in receiver.requests:
        verify(secret, request.headers, request.body)
        bodies.append(json.loads(request.body))
    by_type = {b["type"]: b for b in bodies}
    assert set(by_type) == {"delivery.delivered", "delivery.permanent-failure"}
    delivered = by_type["delivery.delivered"]["data"]
    assert delivered["status"] == "delivered" and delivered["recipient"] == {
        "email": "ok@example.com"
    }
    assert delivered["notification_id"] == notification and "rendered" not in delivered
    assert delivered["attempts"][0]["outcome"] == "delivered"
    assert by_type["delivery.permanent-failure"]["timestamp"].endswith("Z")


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.requests) >= n


async def test_a_failing_receiver_is_retried_with_the_same_webhook_id(
    db: Database,
    client: httpx.AsyncClient,
    tenant: Tenant,
    database_url: str,
    start_receiver: StartReceiver,
) -> None:
    receiver = await start_receiver(Receiver(status=503, headers={"retry-after": "3600"}))
    secret = await _register(client, tenant, receiver.url())
    item_id = uuid.uuid4()
    async with db.sessions() as session, session.begin():
        data = action_data(
            notification_id=uuid.uuid4(), item_id=item_id, recipient="u1", action_type="Approved",
            action_note="ok", performed_by="u1", performed_at=utcnow(),
        )  # fmt: skip
        job = await enqueue_callback(
            session, account_id=tenant.account_id, event=ACTION_EVENT, data=data
        )
        assert job is not None
    async with running_worker(worker_settings(database_url)):
        await wait_until(lambda: _count(receiver, 1), what="the first try")
        # The worker records the 503 (retry in an hour) a little after the receiver answered:
        # moving the retry forward before that record would be overwritten by it.
        await wait_until(lambda: _answered(db, tenant, 503), what="the first try's record")
        receiver.status = 200
        async with db.sessions() as session, session.begin():
            await session.execute(
                update(CallbackJob)
                .where(CallbackJob.id == job.id)
                .values(due_at=utcnow() - timedelta(seconds=1))
            )
        await wait_until(lambda: _count(receiver, 2), what="the retry")
        await wait_until(lambda: _done(db, tenant), what="the job to finish")
    first, second = receiver.requests[:2]
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{job.id.hex}"
    verify(secret, second.headers, second.body)
    body = json.loads(second.body)
    assert body["type"] == ACTION_EVENT and body["data"]["item_id"] == str(item_id)
    assert body["data"]["actionType"] == "Approved"
    [stored] = await _jobs(db, tenant)
    assert stored.attempts == 2 and stored.last_response is not None
    assert stored.last_response["status"] == 200


async def _answered(db: Database, tenant: Tenant, status: int) -> bool:
    """Whether the worker has recorded an answer with this status for the account's one job."""
    [job] = await _jobs(db, tenant)
    return job.last_response is not None and job.last_response.get("status") == status


async def _done(db: Database, tenant: Tenant) -> bool:
    return all(j.status == "delivered" for j in await _jobs(db, tenant))


async def test_events_not_subscribed_and_accounts_without_endpoint_queue_nothing(
    db: Database, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    data = {"id": "x"}
    async with db.sessions() as session, session.begin():
        assert await enqueue_callback(
            session, account_id=tenant.account_id, event="delivery.delivered", data=data
        ) is None  # fmt: skip
    await _register(client, tenant, "http://127.0.0.1:9/hook")
    async with db.sessions() as session, session.begin():
        assert await enqueue_callback(
            session, account_id=tenant.account_id, event="delivery.sending", data=data
        ) is None  # fmt: skip
        queued = await enqueue_callback(
            session, account_id=tenant.account_id, event="delivery.delivered", data=data
        )
    assert queued is not None and [j.event for j in await _jobs(db, tenant)] == [
        "delivery.delivered"
    ]
