"""The chat channel through the worker: a notification posted to the account's Apprise URL
(a ``json://`` target on loopback), titled and worded by the template's push part."""

from __future__ import annotations

import json

import httpx
import pytest

from herald.db import Database
from tests.channels.servers.http import Reply, serve
from tests.conftest import Tenant
from tests.delivery.conftest import (
    deliveries_of,
    running_worker,
    send,
    wait_finished,
    wait_until,
    worker_settings,
)

pytestmark = pytest.mark.usefixtures("parked")


async def _apprise(client: httpx.AsyncClient, tenant: Tenant, *urls: str) -> None:
    answer = await client.put(
        "/v1/providers/chat/apprise",
        json={"settings": {"urls": list(urls)}},
        headers=tenant.headers,
    )
    assert answer.status_code == 200, answer.text


async def test_a_json_target_on_loopback_receives_the_notification(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, database_url: str
) -> None:
    with serve() as server:
        await _apprise(client, tenant, server.url.replace("http://", "json://") + "/chat")
        notification = await send(
            client, tenant.headers, channels=["chat"], targets={"all": True},
            message="Ann called about the flat",
        )  # fmt: skip
        async with running_worker(worker_settings(database_url)):
            [delivery] = await wait_finished(db, notification)
    assert (delivery.status, delivery.provider) == ("delivered", "apprise")
    [request] = server.requests
    received = json.loads(request.body)
    assert request.path == "/chat"
    assert (received["title"], received["message"]) == ("acme", "Ann called about the flat")
    assert delivery.receipt == "notified 1 of 1"


async def test_a_failing_target_is_retried(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, database_url: str
) -> None:
    with serve(Reply(500)) as server:
        await _apprise(client, tenant, server.url.replace("http://", "json://") + "/chat")
        notification = await send(
            client, tenant.headers, channels=["chat"], targets={"all": True}, message="x"
        )
        async with running_worker(worker_settings(database_url)):

            async def tried() -> bool:
                rows = await deliveries_of(db, notification)
                return bool(rows) and rows[0].attempts == 1 and rows[0].leased_until is None

            await wait_until(tried, what="the first attempt to be recorded")
        [delivery] = await deliveries_of(db, notification)
    assert delivery.status == "sending" and delivery.completed_at is None
    assert len(server.requests) == 1
