"""A real ``herald serve`` (a subprocess on a free port, its own database) sending email to a
real SMTP server (aiosmtpd in this process), for the dialects' end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.bus.conftest import free_port
from tests.channels.conftest import Sink
from tests.support.postgres import throwaway_database

HERALD = str(Path(sys.executable).with_name("herald"))
# The seed's own SMTP log example: the sender and the server's reply to the data.
EMAIL_FROM = "no_reply@dev-01.90e9.com"
SMTP_REPLY = "250 2.0.0 Ok: queued as B60E22044B"


@dataclass
class Served:
    """A running ``herald serve``: where it answers, its database, the SMTP server it sends to."""

    url: str
    database_url: str
    smtp: Sink


@asynccontextmanager
async def _database(kind: str, tmp: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'herald.db'}"
        return
    async with throwaway_database("herald_compat") as url:
        yield url


@contextmanager
def _smtp_server(sink: Sink) -> Iterator[int]:
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def _serve(port: int, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``herald serve`` on ``port``, stopped with SIGTERM at the end."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [HERALD, "serve", "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


async def _ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(600):
            assert process.poll() is None, _tail(log)
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"herald serve did not come up: {_tail(log)}")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    """``herald serve`` with its own database (SQLite, then PostgreSQL), sending through a real
    SMTP server whose reply to the data is the seed's."""
    tmp = tmp_path_factory.mktemp("serve")
    sink = Sink(reply=SMTP_REPLY)
    async with _database(request.param, tmp) as database_url:
        with _smtp_server(sink) as smtp_port:
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
            env.update(
                HERALD_DATABASE_URL=database_url,
                HERALD_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
                HERALD_EMAIL_FROM=EMAIL_FROM,
                HERALD_LOG_LEVEL="WARNING",
            )
            log = tmp / "serve.log"
            with _serve(port, env, log) as process:
                url = f"http://127.0.0.1:{port}"
                await _ready(url, process, log)
                yield Served(url, database_url, sink)
