"""Escalation across processes: ``herald api`` accepts, a separate ``herald worker`` sends. The
email escalation of a notification waits ``after``; the worker is SIGKILLed while it waits and
a new one started; the time is then injected (the deliveries' ``due_at`` moved to now, as if
the hour had passed) and the new worker decides from the database: the email goes to the
recipient who did not read the item, and ends ``skipped`` (``escalation_not_needed``) for the
one who did."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from herald.accounts import service as accounts
from herald.db import Database, utcnow
from herald.delivery.models import Delivery
from herald.migrate import upgrade
from tests.channels.conftest import Sink
from tests.conftest import Tenant, settings_for
from tests.rules.conftest import FINAL, Rig, eventually, send, setup_tenant
from tests.support.herald_process import HERALD, HeraldProcess, herald_process

ESCALATION = [{"channel": "email", "after": "1h", "unless": "read"}]


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'escalation.db'}")
    await upgrade(settings)
    db = Database(settings)
    yield db
    await db.dispose()


@pytest.fixture
def api(database: Database, tmp_path: Path) -> Iterator[HeraldProcess]:
    url = database.settings.database_url
    with herald_process("api", url, tmp_path / "api.log", LOG_LEVEL="WARNING") as running:
        yield running


def _worker(database_url: str, smtp_port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HERALD_")}
    env |= {
        "HERALD_DATABASE_URL": database_url,
        "HERALD_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "HERALD_EMAIL_FROM": "Herald <noreply@herald.test>",
        "HERALD_LOG_LEVEL": "WARNING",
    }
    with log.open("ab") as output:
        argv = [HERALD, "worker", "--poll", "0.1", "--lease", "5"]
        return subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)


async def _deliveries(db: Database, notification_id: str) -> dict[str, Delivery]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(Delivery).where(Delivery.notification_id == uuid.UUID(notification_id))
        )
        return {d.recipient["user"]: d for d in rows}


@pytest.mark.timeout(120)
async def test_escalation_is_sent_when_unread_and_skipped_when_read_across_a_worker_restart(
    database: Database,
    api: HeraldProcess,
    smtp_sink: tuple[int, Sink],
    tmp_path: Path,
) -> None:
    port, sink = smtp_sink
    async with database.sessions() as session, session.begin():
        account = await accounts.create_account(session, name="escalation")
        issued = await accounts.create_key(session, account_id=account.id)
    tenant = Tenant(account.id, issued.key.id, issued.plain)
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    async with httpx.AsyncClient(base_url=api.url, headers=headers, timeout=30) as http:
        for user in ("pia", "rob"):
            fields = {"first_name": user.title(), "email": f"{user}@escalate.test"}
            assert (await http.put(f"/v1/users/{user}", json=fields)).status_code == 201
        template = {
            "id": "alarm",
            "category": "alarms",
            "channels": {
                "email": {"subject": "Unconfirmed alarm", "text": "Please look."},
                "in_app": {"message": "Alarm"},
            },
        }
        assert (await http.post("/v1/templates", json=template)).status_code == 201
        envelope = {
            "type": "custom",
            "subType": "message",
            "message": "Alarm",
            "template": "alarm",
            "targets": {"users": ["pia", "rob"]},
            "channels": ["in_app", "email"],
            "escalation": ESCALATION,
        }
        answer = await http.post("/v1/notifications", json=envelope)
        assert answer.status_code == 202, answer.text
        sent = answer.json()["id"]
        token = (await http.post("/v1/users/pia/tokens")).json()["token"]

    url = database.settings.database_url
    log = tmp_path / "worker.log"
    first = _worker(url, port, log)
    try:
        waiting = await _deliveries(database, sent)
        assert {u: d.status for u, d in waiting.items()} == {"pia": "created", "rob": "created"}
        hour = {u: (d.due_at - d.created_at).total_seconds() for u, d in waiting.items()}
        assert hour == {"pia": 3600, "rob": 3600}
        # pia reads her item while the escalation waits; then the worker dies.
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as me:
            me.headers["Authorization"] = f"Bearer {token}"
            [item] = (await me.get("/v1/me/notifications")).json()["data"]
            assert (await me.put(f"/v1/me/notifications/{item['id']}/read")).status_code == 204
        first.send_signal(signal.SIGKILL)
        first.wait()
        # The hour passes (injected), and a new worker takes over.
        async with database.sessions() as session, session.begin():
            await session.execute(
                update(Delivery)
                .where(Delivery.notification_id == uuid.UUID(sent))
                .values(due_at=utcnow())
            )
        second = _worker(url, port, log)
        try:

            async def decided() -> bool:
                rows = await _deliveries(database, sent)
                return all(d.status in FINAL for d in rows.values())

            await eventually(decided, what="the escalations to be decided", within=30)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    ended = await _deliveries(database, sent)
    assert (ended["pia"].status, ended["pia"].reason) == ("skipped", "escalation_not_needed")
    assert (ended["rob"].status, ended["rob"].reason) == ("delivered", None)
    received = [r for r in sink.received if any("@escalate.test" in t for t in r.rcpt_tos)]
    assert [r.rcpt_tos for r in received] == [["rob@escalate.test"]]


async def test_a_types_escalation_delays_its_channel_and_bad_steps_are_422(rig: Rig) -> None:
    tenant = await setup_tenant(rig, "typed escalation", {"sue": {"email": "sue@esc.test"}})
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}
    steps = [{"channel": "email", "after": "10m", "unless": "seen"}]
    async with rig.herald.client(tenant.api_key) as http:
        body = {"schema": schema, "channels": ["in_app", "email"], "escalation": steps}
        answer = await http.put("/v1/notification-types/ops/page", json=body)
        assert answer.status_code == 200 and answer.json()["escalation"] == steps, answer.text
        for bad, pointer in (
            ([{"channel": "email", "after": "later"}], "/escalation/0/after"),
            ([{"channel": "fax", "after": "10m"}], "/escalation/0/channel"),
            ([{"channel": "email", "after": "10m", "unless": "ignored"}], "/escalation/0/unless"),
        ):
            refused = await http.put(
                "/v1/notification-types/ops/bad", json={"schema": schema, "escalation": bad}
            )
            assert refused.status_code == 422, refused.text
            assert [d["path"] for d in refused.json()["error"]["details"]] == [pointer]
    sent = await send(rig, tenant, type="ops", subType="page", targets={"users": ["sue"]})
    [delivery] = await rig.deliveries(sent)
    assert (delivery.status, delivery.escalation) == ("created", "seen")
    assert (delivery.due_at - delivery.created_at).total_seconds() == 600
