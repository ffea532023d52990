"""A fault no handler knows (here: a stored row corrupted behind Herald's back) is the contract's
500, logged with its traceback and request id, and the client's keep-alive connection lives on.

Against a real ``herald serve``: uvicorn, not the ASGI test transport, decides whether a
connection survives an application error.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx

from herald.accounts import service as accounts
from herald.db import Database
from herald.migrate import upgrade
from tests.conftest import settings_for
from tests.support.herald_process import herald_process


async def _key(url: str) -> str:
    db = Database(settings_for(url))
    try:
        async with db.sessions() as session, session.begin():
            account = await accounts.create_account(session, name="faults")
            return (await accounts.create_key(session, account_id=account.id)).plain
    finally:
        await db.dispose()


def _logged(log: Path, event: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == event]


async def test_an_unexpected_error_is_a_500_in_the_contract_and_the_connection_stays(
    tmp_path: Path,
) -> None:
    path = tmp_path / "herald.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(settings_for(url))
    key = await _key(url)
    log = tmp_path / "herald.log"
    with herald_process("serve", url, log, LOG_JSON="true") as herald:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=herald.url, headers=headers, timeout=30) as http:
            template = {"id": "t1", "channels": {"sms": {"body": "hi"}}}
            assert (await http.post("/v1/templates", json=template)).status_code == 201
            with sqlite3.connect(path) as database:
                database.execute("UPDATE templates SET body = '\"corrupt\"'")
            broken = await http.get("/v1/templates/t1", headers={"X-Request-Id": "probe-1"})
            after = await http.get("/v1/templates")
    assert broken.status_code == 500
    assert broken.json() == {
        "error": {
            "code": "internal_error",
            "message": "Internal error (request id probe-1)",
            "details": [],
        }
    }
    assert broken.headers["x-request-id"] == "probe-1"
    assert "close" not in broken.headers.get("connection", "")
    # The next request went over the same TCP connection.
    assert after.extensions["network_stream"] is broken.extensions["network_stream"]
    assert after.status_code == 500 and after.headers["x-request-id"] != "probe-1"
    logged = _logged(log, "unhandled_error")
    assert [line["request_id"] for line in logged] == ["probe-1", after.headers["x-request-id"]]
    assert "Traceback" in str(logged[0]["exception"]) and logged[0]["path"] == "/v1/templates/t1"
    assert "Exception in ASGI application" not in log.read_text()
