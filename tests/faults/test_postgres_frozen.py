"""A PostgreSQL server that stops answering (every process of it frozen with SIGSTOP, as in a
network partition): requests answer 503 within the statement and connect timeouts instead of
hanging, ``/readyz`` within its bound, and all is well again once the server thaws."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from herald.app import create_app
from tests.conftest import settings_for
from tests.faults.conftest import email, make_tenant
from tests.support.postgres import PrivatePostgres, private_postgres

pytestmark = [pytest.mark.postgres]
TIMEOUT = 1.0  # both HERALD_DATABASE_TIMEOUT and HERALD_DATABASE_STATEMENT_TIMEOUT


def _processes(pg: PrivatePostgres) -> list[int]:
    postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    return [postmaster, *map(int, children)]


@contextmanager
def frozen(pg: PrivatePostgres) -> Iterator[None]:
    """Every process of the server stopped (SIGSTOP), continued at the end."""
    pids = _processes(pg)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


async def _timed(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = await call
    return answer, time.monotonic() - started


@pytest.mark.timeout(120)
async def test_a_server_that_stops_answering_is_a_503_not_a_hang() -> None:
    with private_postgres() as pg:
        url = await pg.create_database()
        tenant = await make_tenant(url)
        settings = settings_for(url, database_timeout=TIMEOUT, database_statement_timeout=TIMEOUT)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://herald.test", headers=tenant.headers
            ) as http:
                body = email("frozen@example.com", "frozen")
                headers = {"Idempotency-Key": "frozen"}
                assert (await http.get("/v1/notifications")).status_code == 200  # pooled
                with frozen(pg):
                    answers = [
                        await _timed(http.post("/v1/notifications", json=body, headers=headers))
                        for _ in range(3)  # a pooled connection, then new ones
                    ]
                    ready = await _timed(http.get("/readyz"))
                sent, _ = await _timed(http.post("/v1/notifications", json=body, headers=headers))
                again = await http.post("/v1/notifications", json=body, headers=headers)

    for answer, took in answers:
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "database_unavailable"
        assert answer.headers["Retry-After"].isdigit()
        assert took < 3 * TIMEOUT + 1, took
    assert ready[0].status_code == 503 and ready[1] < 2 * TIMEOUT + 1, ready
    assert sent.status_code == 202, sent.text
    assert again.content == sent.content
