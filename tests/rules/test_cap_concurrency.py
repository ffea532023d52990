"""A frequency cap is exact under concurrent accepts, on both databases: many requests at once
to the rig's ``herald serve`` (group commit: several accepts in one transaction) and to two
more ``herald api`` processes on the same database without group commit (a transaction each,
at the same moment), and exactly ``max`` notifications reach the recipient's email."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from herald.rules import caps
from tests.rules.conftest import Rig, setup_tenant
from tests.support.herald_process import HeraldProcess, herald_process

SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}
AT_ONCE = 24


@pytest.fixture(scope="module")
def apis(rig: Rig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """The URLs of the rig's server and of two ``herald api`` processes on its database."""
    url = rig.herald.db.settings.database_url
    folder = tmp_path_factory.mktemp("cap-apis")
    env = {"GROUP_COMMIT": "false", "LOG_LEVEL": "WARNING"}
    with (
        herald_process("api", url, folder / "one.log", **env) as one,
        herald_process("api", url, folder / "two.log", **env) as two,
    ):
        yield [rig.herald.url, *_urls(one, two)]


def _urls(*running: HeraldProcess) -> list[str]:
    return [process.url for process in running]


async def _post_all(urls: list[str], api_key: str, envelope: dict[str, object]) -> list[str]:
    """``AT_ONCE`` accepts of ``envelope`` at the same moment, spread over ``urls``."""
    headers = {"Authorization": f"Bearer {api_key}"}
    clients = [httpx.AsyncClient(base_url=u, headers=headers, timeout=60) for u in urls]
    try:
        # Connected first, so that the accepts leave together rather than one per handshake.
        await asyncio.gather(*(client.get("/healthz") for client in clients for _ in range(4)))
        answers = await asyncio.gather(
            *(
                clients[n % len(clients)].post("/v1/notifications", json=envelope)
                for n in range(AT_ONCE)
            )
        )
    finally:
        for client in clients:
            await client.aclose()
    assert all(a.status_code == 202 for a in answers), [a.text for a in answers]
    return [a.json()["id"] for a in answers]


@pytest.mark.timeout(300)
async def test_concurrent_accepts_pass_a_cap_of_one_exactly_once(rig: Rig, apis: list[str]) -> None:
    users = {
        "kim": {"first_name": "Kim", "email": "kim@race.test"},
        "lou": {"first_name": "Lou", "email": "lou@race.test"},
    }
    tenant = await setup_tenant(rig, "race", users)
    async with rig.herald.client(tenant.api_key) as http:
        capped = {"schema": SCHEMA, "frequency_cap": {"max": 1, "per": "1h"}}
        answer = await http.put("/v1/notification-types/deals/once", json=capped)
        assert answer.status_code == 200, answer.text
        answer = await http.put("/v1/notification-types/deals/twice", json={
            **capped, "frequency_cap": {"max": 2, "per": "1h"},
        })  # fmt: skip
        assert answer.status_code == 200, answer.text
        flash = {  # a category of its own: ``promo``'s is ``marketing``, whatever the type
            "id": "flash",
            "category": "flash",
            "channels": {"email": {"subject": "Flash", "text": "A deal."}},
        }
        assert (await http.post("/v1/templates", json=flash)).status_code == 201
    envelope: dict[str, object] = {
        "type": "deals",
        "subType": "once",
        "message": "One deal.",
        "template": "promo",
        "channels": ["in_app", "email"],
        "targets": {"users": ["kim", "lou"]},
    }
    once = await _post_all(apis, tenant.api_key, envelope)
    twice = await _post_all(
        apis,
        tenant.api_key,
        {**envelope, "subType": "twice", "template": "flash", "channels": ["email"]},
    )

    for ids, most in ((once, 1), (twice, 2)):
        rows = [d for i in ids for d in await rig.deliveries(i)]
        for user in users:
            mine = [d for d in rows if d.recipient["user"] == user]
            assert len(mine) == AT_ONCE
            passed = [d for d in mine if d.reason != "frequency_cap"]
            assert len(passed) == most, [(d.status, d.reason) for d in mine]
            assert all(d.status == "skipped" for d in mine if d.reason == "frequency_cap")
    async with rig.herald.client(tenant.api_key) as http:
        count = (await http.get("/v1/users/kim/notifications/count")).json()
    assert count["unread"] == AT_ONCE  # the inbox still gets every item


def _rows(account: uuid.UUID, users: list[uuid.UUID]) -> list[dict[str, object]]:
    return [{"account_id": account, "user_id": user} for user in users]


def test_a_few_recipients_lock_each_and_a_fan_out_locks_its_category() -> None:
    account, other = uuid.uuid4(), uuid.uuid4()
    few = [uuid.uuid4() for _ in range(caps.FEW)]
    many = [uuid.uuid4() for _ in range(caps.FEW + 1)]
    category_keys, recipients = caps.locks(
        {"deals": _rows(account, few) + _rows(other, many), "news": _rows(account, few[:1])}
    )
    assert len(category_keys) == 3  # (account, deals), (other, deals), (account, news)
    assert sorted(category_keys.values()) == [False, False, True]  # only the fan-out's is exclusive
    assert len(recipients) == caps.FEW + 1 and recipients == sorted(recipients)
    again, _ = caps.locks({"deals": list(reversed(_rows(account, few)))})
    assert set(again) <= set(category_keys)  # the same keys in any process, in any order
