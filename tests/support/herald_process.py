"""A real ``herald`` process on a free port, for tests that talk to it over TCP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.bus.conftest import free_port

HERALD = str(Path(sys.executable).with_name("herald"))


@dataclass
class HeraldProcess:
    """A running ``herald`` command: its URL and its log."""

    url: str
    log: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        """Everything the process has written so far."""
        return self.log.read_text(errors="replace")


@contextmanager
def herald_process(
    command: str, database_url: str, log: Path, **env: str
) -> Iterator[HeraldProcess]:
    """``herald serve`` or ``herald api`` on a free port, up before this yields, stopped after.

    ``env`` adds ``HERALD_*`` settings (names without the prefix, e.g. ``RATE_LIMIT``).
    """
    with herald_processes(command, [(database_url, log)], **env) as (running,):
        yield running


@contextmanager
def herald_processes(
    command: str, databases: Sequence[tuple[str, Path]], **env: str
) -> Iterator[list[HeraldProcess]]:
    """``herald_process`` for each ``(database_url, log)``, started at once (each start-up is
    seconds of imports, which the other core can run meanwhile), all up before this yields."""
    started: list[HeraldProcess] = []
    try:
        for database_url, log in databases:
            started.append(_start(command, database_url, log, env))
        for running in started:
            _wait_until_up(running)
        yield started
    finally:
        for running in started:
            _stop(running.process)


def _start(command: str, database_url: str, log: Path, env: dict[str, str]) -> HeraldProcess:
    port = free_port()
    environment = {
        **os.environ,
        "HERALD_DATABASE_URL": database_url,
        "HERALD_LOG_LEVEL": "INFO",
        **{f"HERALD_{name}": value for name, value in env.items()},
    }
    argv = [HERALD, command, "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(argv, env=environment, stdout=output, stderr=subprocess.STDOUT)
    return HeraldProcess(f"http://127.0.0.1:{port}", log, process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_up(running: HeraldProcess, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert running.process.poll() is None, running.log_text()[-3000:]
        try:
            if httpx.get(f"{running.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"herald did not come up:\n{running.log_text()[-3000:]}")
