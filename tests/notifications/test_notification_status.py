"""A notification's status follows its deliveries (API.md "Sending"), on GET one and in the
list's ``status=`` filter, kept by the worker as deliveries start and end."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from herald.db import Database
from herald.notifications.progress import status_of
from tests.conftest import Tenant, bearer, make_key
from tests.delivery.conftest import (
    deliveries_of,
    running_worker,
    send,
    wait_finished,
    wait_until,
    worker_settings,
)
from tests.http.conftest import Receiver, StartReceiver, start_receiver
from tests.notifications.helpers import add_users

__all__ = ["start_receiver"]  # the fixture, for this module

pytestmark = pytest.mark.usefixtures("parked")

PERM = "perm-fail@simulator.herald.test"


@pytest.mark.parametrize(
    ("present", "in_app", "cancelled", "status"),
    [
        (set(), True, False, "delivered"),  # in-app only, once its items are written
        (set(), False, False, "delivered"),  # nothing to deliver
        (set(), False, True, "cancelled"),
        ({"created"}, False, False, "queued"),
        ({"created"}, True, False, "queued"),
        ({"created", "sending"}, False, False, "sending"),
        ({"created", "delivered"}, False, False, "sending"),
        ({"delivered", "skipped"}, False, False, "delivered"),
        ({"skipped"}, False, False, "delivered"),
        ({"delivered", "permanent-failure"}, False, False, "partially-delivered"),
        ({"technical-failure"}, True, False, "partially-delivered"),  # the inbox got it
        ({"temporary-failure", "cancelled"}, False, False, "failed"),
        ({"cancelled"}, False, False, "cancelled"),
        ({"cancelled"}, True, True, "cancelled"),
        ({"delivered", "cancelled"}, True, True, "partially-delivered"),
        ({"delivered"}, True, True, "partially-delivered"),  # sent, then its items withdrawn
    ],
)
def test_the_status_of_what_the_deliveries_did(
    present: set[str], in_app: bool, cancelled: bool, status: str
) -> None:
    assert status_of(present, in_app=in_app, cancelled=cancelled) == status


async def _status(client: httpx.AsyncClient, tenant: Tenant, notification_id: str) -> str:
    answer = await client.get(f"/v1/notifications/{notification_id}", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    status: str = answer.json()["status"]
    return status


async def _listed(client: httpx.AsyncClient, tenant: Tenant, status: str) -> set[str]:
    answer = await client.get(f"/v1/notifications?status={status}", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    return {n["id"] for n in answer.json()["data"]}


async def test_status_follows_the_deliveries_through_the_worker(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    database_url: str,
    start_receiver: StartReceiver,
) -> None:
    await add_users(client, tenant, "ann")
    key = bearer(await make_key(db, tenant, "notifications.write", test=True))
    emails: dict[str, Any] = {
        "delivered": {"targets": {"emails": ["a@example.com", "b@example.com"]}},
        "partially-delivered": {"targets": {"emails": ["a@example.com", PERM]}},
        "failed": {"targets": {"emails": [PERM]}},
        "in-app-and-failed": {"targets": {"users": ["ann"], "emails": [PERM]},
                              "channels": ["in_app"]},
    }  # fmt: skip
    sent = {name: await send(client, key, **body) for name, body in emails.items()}
    in_app = await send(client, key, targets={"users": ["ann"]}, channels=["in_app"])
    # A webhook its receiver keeps refusing (retried in an hour), and an email for later.
    receiver = await start_receiver(Receiver(status=503, headers={"retry-after": "3600"}))
    hook = {"url": receiver.url(), "types": ["*"]}
    put = await client.put("/v1/endpoints/busy", json=hook, headers=tenant.headers)
    assert put.status_code == 200, put.text
    retried = await send(client, tenant.headers, targets={"all": True}, channels=["webhook"])
    later = await send(
        client, tenant.headers, targets={"emails": ["a@example.com"]},
        scheduledAt="2099-01-01T00:00:00Z",
    )  # fmt: skip
    assert await _status(client, tenant, in_app) == "delivered"
    queued = {*sent.values(), retried, later}
    assert all([await _status(client, tenant, n) == "queued" for n in queued])
    assert await _listed(client, tenant, "queued") == queued
    async with running_worker(worker_settings(database_url)):
        for notification_id in sent.values():
            await wait_finished(db, notification_id)

        async def attempted() -> bool:
            return any(d.attempts and d.leased_by is None for d in await deliveries_of(db, retried))

        await wait_until(attempted, what="the webhook's first attempt")
    expected = {**{n: name for name, n in sent.items()}, in_app: "delivered"}
    expected[sent["in-app-and-failed"]] = "partially-delivered"  # the inbox item was written
    expected |= {retried: "sending", later: "queued"}
    assert {n: await _status(client, tenant, n) for n in expected} == expected
    for status in ("delivered", "partially-delivered", "failed", "sending", "queued"):
        assert await _listed(client, tenant, status) == {
            n for n, wanted in expected.items() if wanted == status
        }
    for notification_id in (retried, later):
        deleted = await client.delete(
            f"/v1/notifications/{notification_id}", headers=tenant.headers
        )
        assert deleted.status_code == 204
    # The webhook between its retries is cancelled too: nothing of either was delivered.
    assert await _status(client, tenant, later) == "cancelled"
    assert await _status(client, tenant, retried) == "cancelled"
    assert await _listed(client, tenant, "cancelled") == {retried, later}
