"""The ``herald`` command, run as a real process against a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from herald.app import create_app
from tests.conftest import settings_for

HERALD = str(Path(sys.executable).with_name("herald"))


def _herald(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HERALD_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    return subprocess.run(
        [HERALD, *args], env=env, capture_output=True, text=True, timeout=60, check=True
    )


async def test_bootstrap_prints_a_working_key(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    _herald("migrate", db=db)
    made = json.loads(_herald("accounts", "create", "acme", "--json", db=db).stdout)
    assert set(made) == {"account_id", "api_key", "key_id"}
    key = json.loads(
        _herald(
            "keys",
            "create",
            "--account",
            made["account_id"],
            "--scope",
            "users.read",
            "--scope",
            "users.write",
            "--test",
            "--json",
            db=db,
        ).stdout
    )
    assert key["scopes"] == ["users.read", "users.write"] and key["test"] is True
    child = json.loads(
        _herald("accounts", "create", "kid", "--parent", made["account_id"], "--json", db=db).stdout
    )
    app = create_app(settings_for(f"sqlite+aiosqlite:///{db}"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            headers = {"Authorization": f"Bearer {made['api_key']}"}
            assert (await http.put("/v1/users/u", json={}, headers=headers)).status_code == 201
            seen = await http.get(f"/v1/accounts/{child['account_id']}", headers=headers)
            assert seen.json()["parent_id"] == made["account_id"]
            limited = {"Authorization": f"Bearer {key['api_key']}"}
            assert (await http.get("/v1/users", headers=limited)).json()["pagination"]["total"] == 1


def test_unknown_scope_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    _herald("migrate", db=db)
    made = json.loads(_herald("accounts", "create", "acme", "--json", db=db).stdout)
    env = {**os.environ, "HERALD_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    result = subprocess.run(
        [HERALD, "keys", "create", "--account", made["account_id"], "--scope", "root"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "unknown scope" in result.stderr
