"""The databases a benchmark runs on: a fresh SQLite file always, and a throwaway PostgreSQL
database when ``HERALD_BENCH_DATABASE_URL`` names an admin DSN (dropped after the run).

Each backend is migrated and given one account with an all-scopes key, through Herald's CLI,
so that the benchmark measures a database set up exactly as an operator would set it up.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.common import PYTHON, ROOT

BENCH_DSN_ENV = "HERALD_BENCH_DATABASE_URL"
HERALD = str(Path(PYTHON).parent / "herald")
# The accept benchmark sends far more than the default 3000 requests/minute and 250,000
# messages/day of one key; the limits are raised so that they measure Herald, not its caps.
UNTHROTTLED = {
    "HERALD_RATE_LIMIT": "1000000000/minute",
    "HERALD_DAILY_LIMIT": str(10**12),
    "HERALD_LOG_LEVEL": "WARNING",
}


@dataclass(frozen=True)
class Backend:
    """A migrated database with one account: its name, URL and the account's key."""

    name: str
    url: str
    account_id: uuid.UUID
    api_key: str

    def env(self) -> dict[str, str]:
        """Environment of a Herald process on this database."""
        return {**UNTHROTTLED, "HERALD_DATABASE_URL": self.url}


def herald(args: list[str], url: str) -> str:
    """Run the ``herald`` CLI against ``url``; its standard output."""
    env = {**os.environ, **UNTHROTTLED, "HERALD_DATABASE_URL": url}
    done = subprocess.run(
        [HERALD, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"herald {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _prepare(name: str, url: str) -> Backend:
    herald(["migrate"], url)
    created = json.loads(herald(["accounts", "create", "bench", "--json"], url))
    return Backend(name, url, uuid.UUID(created["account_id"]), created["api_key"])


@contextlib.contextmanager
def sqlite() -> Iterator[Backend]:
    """A fresh SQLite database in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="herald-bench-") as tmp:
        yield _prepare("sqlite", f"sqlite+aiosqlite:///{Path(tmp) / 'herald.db'}")


def _admin_dsn() -> str | None:
    dsn = os.environ.get(BENCH_DSN_ENV)
    return dsn.replace("postgresql+asyncpg://", "postgresql://", 1) if dsn else None


async def _admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def postgresql(admin_dsn: str) -> Iterator[Backend]:
    """A throwaway database next to the admin DSN's, dropped afterwards."""
    import asyncio

    name = f"herald_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    base, _, _ = admin_dsn.rpartition("/")
    url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield _prepare("postgresql", url)
    finally:
        asyncio.run(_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def names() -> list[str]:
    """The backends this run covers."""
    return ["sqlite", "postgresql"] if _admin_dsn() else ["sqlite"]


@contextlib.contextmanager
def backend(name: str) -> Iterator[Backend]:
    """The named backend, fresh."""
    if name == "sqlite":
        with sqlite() as found:
            yield found
        return
    dsn = _admin_dsn()
    if dsn is None:
        raise SystemExit(f"{BENCH_DSN_ENV} is not set")
    with postgresql(dsn) as found:
        yield found
