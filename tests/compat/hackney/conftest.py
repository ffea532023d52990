"""A real ``herald serve`` for seed 003 with real SMTP and HTTP peers: the council's account
sends email through its SMTP provider, texts and letters to a local HTTP service; a second
account of the same server plays the GOV.UK Notify service (its ``/v2``, a live Notify key
and a template), and the server's ``HERALD_GOVUK_NOTIFY_URL`` is the server itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from herald.channels.letter.store import FilesystemDocumentStore
from tests.bus.conftest import free_port
from tests.channels.conftest import Server, Sink
from tests.channels.servers.http import Reply, serve
from tests.channels.servers.http import Server as HttpServer
from tests.compat.conftest import Seeded, serve_herald
from tests.conftest import Tenant

ACCEPTED = Reply(201, b'{"sid": "SM1", "status": "queued", "id": "print-1"}')
# The seed's templateId, which names a Herald template when the serviceKey is no Notify key.
SEED_TEMPLATE = "c6a75cc9-1193-..."
TEMPLATE = {
    "id": SEED_TEMPLATE,
    "friendly_name": "Missed payments",
    "channels": {
        "email": {"subject": "Missed payments", "text": "Dear {{ firstName }} {{ lastName }}, "
                  "3 payments are missed."},
        "sms": {"body": "Dear {{ firstName }}, 3 payments are missed."},
        "letter": {"html": "<p>Dear {{ firstName }} {{ lastName }}, 3 payments are missed.</p>"},
    },
}  # fmt: skip
NOTIFY_TEXT = "Dear ((firstName)) ((lastName)),\n\nYour service charge payment is overdue."
NOTIFY_TEMPLATE = {
    "friendly_name": "Payment reminder",
    "channels": {"email": {"subject": "Payment reminder for ((firstName))", "text": NOTIFY_TEXT}},
}


@dataclass
class Council:
    """The server, its peers, and its two accounts."""

    server: Seeded
    smtp: Server
    peer: HttpServer
    council: Tenant
    notify: Tenant
    notify_key: str
    notify_template: str
    documents: FilesystemDocumentStore

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        """A client of the server as the council (or with another token)."""
        return self.server.client(token or self.council.api_key)


@pytest.fixture(scope="package")
def smtp_server() -> Iterator[Server]:
    """A real SMTP server that keeps what it received."""
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield Server("127.0.0.1", port, sink, controller)
    controller.stop()


@pytest.fixture(scope="package")
def peer() -> Iterator[HttpServer]:
    """The SMS provider, the print room and the callback receiver: records every request."""
    with serve(ACCEPTED) as server:
        yield server


async def _put(http: httpx.AsyncClient, path: str, body: dict[str, object]) -> None:
    answer = await http.put(path, json=body)
    assert answer.status_code == 200, answer.text


async def _council_account(server: Seeded, smtp: Server, peer: HttpServer) -> Tenant:
    council = await server.tenant("London Borough of Hackney")
    async with server.client(council.api_key) as http:
        patched = await http.patch(f"/v1/accounts/{council.account_id}",
                                   json={"default_region": "GB"})  # fmt: skip
        assert patched.status_code == 200, patched.text
        await _put(
            http, "/v1/providers/email/smtp", {"settings": {"url": f"smtp://127.0.0.1:{smtp.port}"}}
        )
        await _put(http, "/v1/providers/sms/http", {"settings": {"url": peer.url}})
        await _put(http, "/v1/providers/letter/http_upload",
                   {"settings": {"url": peer.url, "token": "print-room-token"}})  # fmt: skip
        await _put(http, "/v1/callbacks", {"url": f"{peer.url}/feedback",
                                           "events": ["notification.action"]})  # fmt: skip
        made = await http.post("/v1/templates", json=TEMPLATE)
        assert made.status_code == 201, made.text
    return council


async def _notify_service(server: Seeded, smtp: Server) -> tuple[Tenant, str, str]:
    service = await server.tenant("Council Notify service")
    async with server.client(service.api_key) as http:
        await _put(
            http, "/v1/providers/email/smtp", {"settings": {"url": f"smtp://127.0.0.1:{smtp.port}"}}
        )
        key = await http.post("/v1/keys", json={"notify": True, "type": "live", "name": "council"})
        assert key.status_code == 201, key.text
        made = await http.post("/v1/templates", json=NOTIFY_TEMPLATE)
        assert made.status_code == 201, made.text
    return service, str(key.json()["api_key"]), str(made.json()["id"])


@pytest.fixture(scope="package")
async def council(
    tmp_path_factory: pytest.TempPathFactory, smtp_server: Server, peer: HttpServer
) -> AsyncIterator[Council]:
    """``herald serve`` on SQLite, sending through itself as GOV.UK Notify."""
    folder: Path = tmp_path_factory.mktemp("hackney")
    documents = folder / "documents"
    documents.mkdir()

    def env_for(url: str) -> dict[str, str]:
        return {"HERALD_GOVUK_NOTIFY_URL": url, "HERALD_PUBLIC_URL": url,
                "HERALD_DOCUMENTS_DIR": str(documents)}  # fmt: skip

    database = f"sqlite+aiosqlite:///{folder / 'herald.db'}"
    async for server in serve_herald(database, folder / "serve.log", env_for=env_for):
        council = await _council_account(server, smtp_server, peer)
        service, key, template = await _notify_service(server, smtp_server)
        yield Council(
            server, smtp_server, peer, council, service, key, template,
            FilesystemDocumentStore(documents),
        )  # fmt: skip
