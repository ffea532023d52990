"""SMS from ``POST /v1/notifications``: the template's sms part rendered by the worker, the
segments reserved then, an unapproved template sender failing, and test keys simulated."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest

from herald.db import Database
from tests.channels.servers.http import Reply, serve
from tests.conftest import bearer, make_key
from tests.delivery.conftest import running_worker, send, wait_finished, worker_settings
from tests.sms.conftest import Family, charges, set_allowance

pytestmark = pytest.mark.usefixtures("parked")

UK = "+447400123456"
ACCEPTED = Reply(201, b'{"sid": "SM1", "status": "queued"}')


async def test_a_templated_sms_is_charged_when_rendered(
    client: httpx.AsyncClient, family: Family, db: Database, database_url: str
) -> None:
    child = family.child
    await set_allowance(client, family, 1)
    template = {"id": "branded", "channels": {"sms": {"body": "{{ message }}", "sender": "Nope"}}}
    assert (await client.post("/v1/templates", json=template, headers=child.headers)).is_success
    with serve(ACCEPTED) as server:
        settings = {"settings": {"url": server.url}}
        await client.put("/v1/providers/sms/http", json=settings, headers=child.headers)
        first = await send(
            client, child.headers, channels=["sms"], targets={"phones": ["447400123456"]},
            message="First",
        )  # fmt: skip
        second = await send(
            client, child.headers, channels=["sms"], targets={"phones": ["447400123456"]},
            message="Over the allowance",
        )  # fmt: skip
        refused = await send(
            client, child.headers, channels=["sms"], targets={"phones": ["447400123456"]},
            message="x", template="branded",
        )  # fmt: skip
        async with running_worker(worker_settings(database_url)):
            [sent] = await wait_finished(db, first)
            [over] = await wait_finished(db, second)
            [unapproved] = await wait_finished(db, refused)
    # The HTTP provider without a receipt field ends delivered when the provider takes it.
    assert (sent.status, sent.provider_message_id) == ("delivered", "SM1")
    assert parse_qs(server.requests[0].body.decode())["Body"] == ["First"]
    assert len(server.requests) == 1
    assert over.status == "permanent-failure" and unapproved.status == "permanent-failure"
    assert (await charges(db, child.account_id)) == {sent.id: (1, "committed")}


async def test_test_keys_are_simulated_and_never_charged(
    client: httpx.AsyncClient, family: Family, db: Database, database_url: str
) -> None:
    child = family.child
    key = bearer(await make_key(db, child, "notifications.write", test=True))
    ok = await send(client, key, channels=["sms"], targets={"phones": [UK]})
    failing = await send(client, key, channels=["sms"], targets={"phones": ["12025550102"]})
    async with running_worker(worker_settings(database_url)):
        [delivered] = await wait_finished(db, ok)
        [failed] = await wait_finished(db, failing)
    assert (delivered.status, delivered.provider) == ("delivered", "simulator")
    assert (failed.status, failed.provider) == ("permanent-failure", "simulator")
    assert await charges(db, child.account_id) == {}
