"""Real SMTP servers (aiosmtpd, in this process) that accept, refuse or hang up, and a TLS cert."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.support.tls import self_signed

ACCEPTED = "250 2.0.0 Ok: queued as 4BqZ1x"
USERNAME, PASSWORD = "herald", "s3cret pass"


@dataclass
class Received:
    """One message as the server got it."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: tuple[str, int]


@dataclass
class Sink:
    """An aiosmtpd handler: answers DATA with ``reply`` (hangs up instead when it is None),
    refuses the recipients in ``refuse``, and records what it received."""

    reply: str | None = ACCEPTED
    delay: float = 0.0
    hang_up_after_reply: bool = False
    refuse: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    peers: set[tuple[str, int]] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        peer = cast(tuple[str, int], session.peer)  # aiosmtpd annotates it as a str
        self.peers.add(peer)
        content = envelope.original_content or b""
        self.received.append(
            Received(envelope.mail_from or "", list(envelope.rcpt_tos), content, peer)
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.reply is None:
            # The data arrived, but the answer never leaves: a connection lost after ".".
            server.transport.close()
            return "250 2.0.0 never sent"
        if self.hang_up_after_reply:
            # Like a server closing an idle session: the client finds it dead in its pool.
            asyncio.get_running_loop().call_later(0.05, server.transport.close)
        return self.reply


@dataclass
class Server:
    host: str
    port: int
    sink: Sink
    controller: Controller


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _authenticate(
    server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (USERNAME, PASSWORD)
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., Server]]:
    """Start aiosmtpd servers on free ports.

    ``tls`` offers (and requires) STARTTLS, ``implicit_tls`` speaks TLS from the start.
    """
    started: list[Controller] = []

    def start(
        *,
        reply: str | None = ACCEPTED,
        tls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        auth: bool = False,
    ) -> Server:
        sink = Sink(reply=reply)
        port = _free_port()
        options: dict[str, Any] = {}
        if tls is not None:
            options.update(tls_context=tls, require_starttls=True)
        if auth:
            options.update(authenticator=_authenticate, auth_required=True)
        controller = Controller(
            sink, hostname="127.0.0.1", port=port, ssl_context=implicit_tls, **options
        )
        controller.start()
        started.append(controller)
        return Server("127.0.0.1", port, sink, controller)

    yield start
    for controller in started:
        controller.stop()


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    server_context: ssl.SSLContext


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, and a server TLS context that uses it."""
    made = self_signed(common_name="herald test smtp")
    cert_file, _ = made.write(tmp_path_factory.mktemp("tls"))
    return Certificate(cert_file, made.server_context())
