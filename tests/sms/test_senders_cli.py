"""``herald senders approve|reject --account ID NAME``, run as a real process."""

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


def _herald(*args: str, db: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HERALD_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    return subprocess.run(
        [HERALD, *args], env=env, capture_output=True, text=True, timeout=60, check=check
    )


async def test_the_cli_approves_and_rejects_a_sender_name(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    _herald("migrate", db=db)
    made = json.loads(_herald("accounts", "create", "shop", "--json", db=db).stdout)
    app = create_app(settings_for(f"sqlite+aiosqlite:///{db}"))
    headers = {"Authorization": f"Bearer {made['api_key']}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            put = await http.put("/v1/senders/Bakery", headers=headers)
            assert put.json()["status"] == "pending"
    approved = _herald("senders", "approve", "--account", made["account_id"], "Bakery", db=db)
    assert approved.stdout.strip() == "Bakery: approved"
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            listed = (await http.get("/v1/senders", headers=headers)).json()["data"]
            assert [(s["name"], s["status"]) for s in listed] == [("Bakery", "approved")]
    rejected = _herald("senders", "reject", "--account", made["account_id"], "Bakery", db=db)
    assert rejected.stdout.strip() == "Bakery: rejected"
    missing = _herald(
        "senders", "approve", "--account", made["account_id"], "Nope", db=db, check=False
    )
    assert missing.returncode != 0
