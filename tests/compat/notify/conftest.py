"""A real ``herald serve`` (subprocess, SQLite, a worker) sending email to a real SMTP server
(aiosmtpd), and a service on it with Notify keys of each type, users and Notify templates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from herald import cli
from herald.accounts import service as accounts
from herald.db import Database
from tests.bus.conftest import free_port
from tests.channels.conftest import Sink
from tests.conftest import settings_for

HERALD = str(Path(sys.executable).with_name("herald"))
TEAM_EMAIL = "team.member@example.com"
TEAM_PHONE = "+447700900111"


@dataclass
class Service:
    """The Notify service under test: where it is and its keys and templates."""

    base_url: str
    service_id: str
    herald_key: str
    keys: dict[str, str]
    templates: dict[str, str]
    sink: Sink
    database_url: str


def _wait_up(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("herald serve did not come up")


def _account(database_url: str) -> tuple[str, str]:
    import asyncio

    async def make() -> tuple[str, str]:
        db = Database(settings_for(database_url))
        try:
            async with db.sessions() as session, session.begin():
                account = await accounts.create_account(session, name="Pigeon Affairs")
                issued = await accounts.create_key(session, account_id=account.id)
        finally:
            await db.dispose()
        return str(account.id), issued.plain

    return asyncio.run(make())


TEMPLATES = {
    "email": {"friendly_name": "Appointment email",
              "channels": {"email": {"subject": "Your appointment, {{ name }}",
                                     "text": "Dear {{ name }}, see you on {{ day }}."}}},
    "sms": {"friendly_name": "Code", "channels": {"sms": {"body": "Your code is {{ code }}"}}},
    "letter": {"friendly_name": "Letter",
               "channels": {"letter": {"html": "<p>Dear {{ name }}, welcome.</p>"}}},
    "welcome": {"friendly_name": "Welcome", "channels": {"email": {
        "subject": "Welcome ((name))", "text": "Hello ((name)),\n\n((note))"}}},
}  # fmt: skip


def _notify_key(env: dict[str, str], service_id: str) -> str:
    """A team key made by the CLI (in this process), as a migrating team would."""
    argv = ["keys", "create", "--account", service_id, "--notify", "--type", "team",
            "--name", "team_key", "--json"]  # fmt: skip
    done = CliRunner().invoke(cli.app, argv, env=env)
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert answer["type"] == "team"
    return str(answer["api_key"])


def _provision(base_url: str, service_id: str, herald_key: str, env: dict[str, str]) -> Service:
    headers = {"Authorization": f"Bearer {herald_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        keys = {
            kind: http.post("/v1/keys", json={"notify": True, "type": kind, "name": f"{kind}_key"})
            .raise_for_status()
            .json()["api_key"]
            for kind in ("live", "test")
        }
        templates = {}
        for kind, body in TEMPLATES.items():
            template_id = str(uuid.uuid4())
            http.post("/v1/templates", json={"id": template_id, **body}).raise_for_status()
            templates[kind] = template_id
        user = {"email": TEAM_EMAIL, "phone": TEAM_PHONE, "name": "Team Member"}
        http.put("/v1/users/member", json=user).raise_for_status()
    keys["team"] = _notify_key(env, service_id)
    return Service(base_url, service_id, herald_key, keys, templates, Sink(), "")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """``herald serve`` on a free port with its own SQLite database and an SMTP sink."""
    folder = tmp_path_factory.mktemp("notify")
    sink = Sink()
    smtp_port, port = free_port(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    database_url = f"sqlite+aiosqlite:///{folder / 'herald.db'}"
    env = {
        **os.environ,
        "HERALD_DATABASE_URL": database_url,
        "HERALD_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "HERALD_EMAIL_FROM": "Pigeon Affairs <pigeons@example.com>",
        "HERALD_DOCUMENTS_DIR": str(folder / "documents"),
        "HERALD_LOG_LEVEL": "WARNING",
    }
    log = folder / "serve.log"
    base_url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [HERALD, "serve", "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_up(base_url, process, log)
        service_id, herald_key = _account(database_url)
        found = _provision(base_url, service_id, herald_key, env)
        found.sink, found.database_url = sink, database_url
        yield found
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        controller.stop()
