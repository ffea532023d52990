"""Every mistake a user can make with ``herald`` is one line on stderr and exit 1 (2 for usage).

Each case runs the real command as a process (all at once: they are independent), and checks
the exit code, that stderr is one line with no traceback and no secret, and with ``--json``
that the line is ``{"error": {...}}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import uuid
from pathlib import Path

import pytest

HERALD = str(Path(sys.executable).with_name("herald"))
UNKNOWN = str(uuid.uuid4())


async def _run(*args: str, db: str) -> tuple[int, str, str]:
    env = {**os.environ, "HERALD_DATABASE_URL": db, "COLUMNS": "200"}
    process = await asyncio.create_subprocess_exec(
        HERALD, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture(scope="module")
def bootstrapped(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """A migrated SQLite file with one account (made by the CLI itself)."""
    path = tmp_path_factory.mktemp("cli") / "herald.db"
    db = f"sqlite+aiosqlite:///{path}"

    async def make() -> dict[str, str]:
        code, _, err = await _run("migrate", db=db)
        assert code == 0, err
        code, out, err = await _run("accounts", "create", "acme", "--json", db=db)
        assert code == 0, err
        made: dict[str, str] = json.loads(out)
        return made

    return db, asyncio.run(make())


def _taken_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.mark.timeout(300)  # a dozen processes at once, on a shared machine
async def test_each_mistake_is_one_line_and_the_right_exit_code(
    bootstrapped: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    db, made = bootstrapped
    account = made["account_id"]
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"type": ')
    no_recipients = tmp_path / "rows.csv"
    no_recipients.write_text("name,city\nAda,London\n")
    busy = _taken_port()
    unreachable = "postgresql+asyncpg://herald:s3cret-pass@127.0.0.1:1/herald"
    missing_dir = f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/herald.db"
    cases: list[tuple[tuple[str, ...], str, int, str]] = [
        (("keys", "create", "--account", UNKNOWN), db, 1, f"No account {UNKNOWN}"),
        (("keys", "create", "--account", "acme"), db, 1, "is not an id"),
        (("keys", "revoke", UNKNOWN), db, 1, "No key"),
        (("accounts", "create", "kid", "--parent", UNKNOWN), db, 1, "No such parent account"),
        (("senders", "approve", "Acme", "--account", account), db, 1, "No such sender name"),
        (("accounts", "list"), unreachable, 1, "cannot reach the database"),
        (("accounts", "list"), missing_dir, 1, "cannot reach the database"),
        (("send", str(tmp_path / "none.csv"), "--account", account), db, 1, "no such file"),
        (("send", str(bad_json), "--account", account), db, 1, "invalid JSON"),
        (("send", str(no_recipients), "--account", account), db, 1, "no column names"),
        (("keys", "create"), db, 2, "Missing option '--account'"),
        (("serve", "--port", str(busy.getsockname()[1])), db, 1, "already in use"),
    ]
    try:
        runs = await asyncio.gather(*(_run(*args, db=url) for args, url, _, _ in cases))
        as_json = await _run("keys", "create", "--account", UNKNOWN, "--json", db=db)
    finally:
        busy.close()
    for (args, _, exit_code, says), (code, _, err) in zip(cases, runs, strict=True):
        assert code == exit_code, (args, code, err)
        assert err.count("\n") == 1 and err.startswith("herald: "), (args, err)
        assert says in err, (args, err)
        assert "Traceback" not in err and "s3cret-pass" not in err and "hk_live_" not in err
    code, out, err = as_json
    assert code == 1 and out == ""
    assert json.loads(err) == {
        "error": {"code": "not_found", "message": f"No account {UNKNOWN}", "details": []}
    }


@pytest.mark.timeout(300)
async def test_listing_revoking_and_the_version(bootstrapped: tuple[str, dict[str, str]]) -> None:
    db, made = bootstrapped
    (code, version, _), (_, listed, _), (_, out, _) = await asyncio.gather(
        _run("--version", db=db),
        _run("accounts", "list", "--json", db=db),
        _run("keys", "create", "--account", made["account_id"], "--json", db=db),
    )
    assert code == 0 and version.startswith("herald ")
    assert made["account_id"] in [a["account_id"] for a in json.loads(listed)]
    key_id = json.loads(out)["key_id"]
    code, out, err = await _run("keys", "revoke", key_id, db=db)
    assert code == 0, err
    code, out, _ = await _run("keys", "list", "--account", made["account_id"], "--json", db=db)
    keys = {k["key_id"]: k for k in json.loads(out)}
    assert keys[key_id]["revoked_at"] and keys[made["key_id"]]["revoked_at"] is None
    assert made["api_key"] not in out and made["api_key"].startswith(keys[made["key_id"]]["prefix"])
