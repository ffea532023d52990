"""Real Herald processes for end-to-end tests and probes: ``herald api`` / ``worker`` /
``serve`` on a free port, logging to a file, and an SMTP sink that counts what it got."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

HERALD = str(Path(sys.executable).with_name("herald"))


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Herald:
    """One running ``herald`` command."""

    process: subprocess.Popen[bytes]
    log: Path
    command: list[str]
    env: Mapping[str, str]
    port: int | None = None

    @property
    def url(self) -> str:
        """Its base URL (API processes)."""
        return f"http://127.0.0.1:{self.port}"

    def tail(self, chars: int = 4000) -> str:
        """The end of its log, for an assertion message."""
        return self.log.read_text(errors="replace")[-chars:]

    async def up(self, within: float = 60.0) -> None:
        """Wait until ``/healthz`` answers."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, self.tail()
                try:
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"herald did not come up:\n{self.tail()}")

    def again(self) -> Herald:
        """Start the same command once more (a restart after ``kill``), on a new port."""
        return start_herald(self.command, self.env, self.log)

    def kill(self) -> None:
        """SIGKILL, like a crash, and reap it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait (SIGKILL after ``timeout``); the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode


def start_herald(command: list[str], env: Mapping[str, str], log: Path) -> Herald:
    """Start ``herald *command`` (``api`` and ``serve`` get ``--port``) with ``env`` added."""
    port = free_port() if command[0] in ("api", "serve") else None
    argv = [HERALD, *command, *(["--port", str(port)] if port else [])]
    with log.open("ab") as output:
        process = subprocess.Popen(
            argv, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT
        )
    return Herald(process, log, command, env, port)


@contextmanager
def herald(command: list[str], env: Mapping[str, str], log: Path) -> Iterator[Herald]:
    """``start_herald``, stopped at the end of the block."""
    running = start_herald(command, env, log)
    try:
        yield running
    finally:
        running.stop()


@dataclass
class SmtpSink:
    """An SMTP server that keeps the ``X-Herald-Delivery-Id`` and recipient of every message."""

    delivery_ids: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    arrived: dict[str, list[float]] = field(default_factory=dict)  # id -> monotonic times
    delay: float = 0.0  # seconds each message takes, as a real server's would

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        """Record one message."""
        head = (envelope.original_content or b"").split(b"\r\n\r\n", 1)[0].decode()
        fields = dict(line.split(": ", 1) for line in head.split("\r\n") if ": " in line)
        delivery_id = fields.get("X-Herald-Delivery-Id", "")
        self.delivery_ids.append(delivery_id)
        self.arrived.setdefault(delivery_id, []).append(time.monotonic())
        self.recipients.extend(envelope.rcpt_tos)
        return "250 2.0.0 Ok: queued"

    @property
    def copies(self) -> Counter[str]:
        """How many copies of each delivery arrived."""
        return Counter(self.delivery_ids)


@contextmanager
def smtp_sink(delay: float = 0.0) -> Iterator[tuple[SmtpSink, str]]:
    """A running sink (taking ``delay`` seconds per message) and its ``smtp://`` URL."""
    sink = SmtpSink(delay=delay)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()
