"""A real ``herald serve`` for the seeds' clients: a subprocess on a free port, with a SQLite
database of its own, shared by the seed modules.

Its worker sends only what these tests make: the database is not the suite's shared one.
Tenants are made directly in that database, as ``herald accounts create`` would. The dialects
only translate, so one backend is enough here; the services they call are tested on both
(tests/sms/test_records.py covers the queries only the seed routes use).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from herald.accounts import service as accounts
from herald.db import Database
from tests.bus.conftest import free_port
from tests.conftest import Tenant, settings_for

HERALD = str(Path(sys.executable).with_name("herald"))


@dataclass
class Seeded:
    """A running ``herald serve`` and direct access to its database."""

    url: str
    db: Database

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        """An HTTP client of the server, sending ``Authorization: Bearer <token>`` if given."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)

    async def tenant(self, name: str, *, parent: Tenant | None = None) -> Tenant:
        """A new account (a child of ``parent``) and a key with every scope."""
        async with self.db.sessions() as session, session.begin():
            account = await accounts.create_account(
                session, name=name, parent_id=parent.account_id if parent else None
            )
            issued = await accounts.create_key(session, account_id=account.id)
        return Tenant(account.id, issued.key.id, issued.plain)

    async def key(self, account_id: uuid.UUID, *scopes: str) -> str:
        """A key of the account with only these scopes."""
        async with self.db.sessions() as session, session.begin():
            issued = await accounts.create_key(session, account_id=account_id, scopes=list(scopes))
        return issued.plain


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)


async def _up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(600):
        assert process.poll() is None, _tail(log)
        try:
            async with httpx.AsyncClient() as http:
                if (await http.get(f"{url}/healthz")).status_code == 200:
                    return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"herald serve at {url} did not come up: {_tail(log)}")


async def serve_herald(
    database_url: str,
    log: Path,
    *,
    env_for: Callable[[str], dict[str, str]] | None = None,
    **settings: str,
) -> AsyncIterator[Seeded]:
    """``herald serve`` on a free port; ``env_for(its URL)`` and ``settings`` (``HERALD_``
    names without the prefix) add to its environment."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("HERALD_")}
    env |= {
        "HERALD_DATABASE_URL": database_url,
        "HERALD_ALLOW_PRIVATE_URLS": "true",  # the local push service of seed 001's test
        "HERALD_LOG_LEVEL": "WARNING",
        **(env_for(f"http://127.0.0.1:{port}") if env_for else {}),
        **{f"HERALD_{name}": value for name, value in settings.items()},
    }
    argv = [HERALD, "serve", "--port", str(port)]
    process = _start(argv, env, log)
    db = Database(settings_for(database_url))
    try:
        url = f"http://127.0.0.1:{port}"
        await _up(url, process, log)
        yield Seeded(url, db)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        await db.dispose()


@pytest.fixture(scope="session")
async def seeded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Seeded]:
    """``herald serve`` on a SQLite file (it migrates the file itself)."""
    folder = tmp_path_factory.mktemp("seeds")
    url = f"sqlite+aiosqlite:///{folder / 'herald.db'}"
    async for server in serve_herald(url, folder / "serve.log"):
        yield server


Waited = Callable[[], Awaitable[bool]]


async def eventually(check: Waited, *, what: str, within: float = 15.0) -> None:
    """Wait until ``check`` holds (the server's worker runs on its own)."""
    for _ in range(int(within / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
