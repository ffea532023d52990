"""Local receivers on 127.0.0.1 and a fake resolver, so no test sends traffic off the machine."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytest

from tests.support.tls import self_signed


@dataclass(frozen=True)
class Received:
    """One request a local receiver got."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A minimal HTTP/1.1 server that records requests and gives one fixed answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    hang: bool = False
    requests: list[Received] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)
    port: int = 0

    def url(self, path: str = "/hook", *, host: str = "127.0.0.1", scheme: str = "http") -> str:
        """The URL of ``path`` on this receiver."""
        return f"{scheme}://{host}:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read one request, record it, answer it (or never answer, when ``hang``)."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            headers = dict(_header(line) for line in lines if line)
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            method, target, _ = request_line.split(" ", 2)
            self.requests.append(Received(method, target, headers, body))
            if self.hang:
                await asyncio.sleep(3600)
            writer.write(self._answer())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _answer(self) -> bytes:
        lines = [f"HTTP/1.1 {self.status} X", f"content-length: {len(self.body)}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        lines.append("connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def _header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip().lower(), value.strip()


class StartReceiver(Protocol):
    def __call__(
        self, receiver: Receiver, *, tls: ssl.SSLContext | None = None
    ) -> Awaitable[Receiver]: ...


@pytest.fixture
async def start_receiver() -> AsyncIterator[StartReceiver]:
    """Start receivers on 127.0.0.1 (ephemeral ports); all are closed after the test."""
    servers: list[asyncio.Server] = []

    async def start(receiver: Receiver, *, tls: ssl.SSLContext | None = None) -> Receiver:
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: receiver.server_names.append(name)
        server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0, ssl=tls)
        servers.append(server)
        receiver.port = server.sockets[0].getsockname()[1]
        return receiver

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


FakeAnswers = dict[str, list[str] | Exception]


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> Callable[[FakeAnswers], list[str]]:
    """Answer lookups of the given names from a table (no real DNS); returns the lookup log."""

    def install(answers: FakeAnswers) -> list[str]:
        loop = asyncio.get_running_loop()
        real = loop.getaddrinfo
        lookups: list[str] = []

        async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
            if host not in answers:
                return await real(host, port, *args, **kwargs)
            lookups.append(host)
            answer = answers[host]
            if isinstance(answer, Exception):
                raise answer
            return list(_infos(answer, int(port)))

        monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
        return lookups

    return install


def _infos(addresses: Iterable[str], port: int) -> Iterable[tuple[Any, ...]]:
    for address in addresses:
        if ipaddress.ip_address(address).version == 6:
            yield (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
        else:
            yield (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for one host name, as server and client TLS contexts."""

    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="session")
def certificate() -> Certificate:
    """A certificate for ``receiver.herald.test`` only, so verification proves the SNI/host used."""
    made = self_signed(host="receiver.herald.test", common_name="receiver.herald.test")
    return Certificate(made.server_context(), made.client_context())
