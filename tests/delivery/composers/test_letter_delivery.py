"""Letters through the worker: the template's letter part rendered to a PDF once, kept in the
document store, dropped in the print folder, and served by ``GET /v1/deliveries/{id}/pdf``."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pypdf import PdfReader

from herald.app import create_app
from herald.config import Settings
from herald.db import Database
from tests.conftest import MakeTenant, Tenant, settings_for
from tests.delivery.conftest import running_worker, send, wait_finished

pytestmark = pytest.mark.usefixtures("parked")

ADDRESS = {"lines": ["Flat 1", "2 High Street", "London"], "postcode": "E8 1AA"}


@pytest.fixture
def letter_settings(database_url: str, tmp_path: Path) -> Settings:
    """API and worker settings sharing one document store."""
    return settings_for(database_url, documents_dir=str(tmp_path / "documents"))


@pytest.fixture
async def letters_client(letter_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(letter_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
            yield http


def _text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_a_letter_is_rendered_once_stored_printed_and_served(
    letters_client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    letter_settings: Settings,
    tmp_path: Path,
    make_tenant: MakeTenant,
) -> None:
    client = letters_client
    folder = tmp_path / "print-room"
    folder.mkdir()
    provider = {"settings": {"folder": str(folder)}}
    answer = await client.put("/v1/providers/letter/folder", json=provider, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    notification = await send(
        client, tenant.headers, channels=["letter"], targets={"addresses": [ADDRESS]},
        message="Your repair is booked for Tuesday",
    )  # fmt: skip
    async with running_worker(letter_settings):
        [delivery] = await wait_finished(db, notification)
    assert (delivery.status, delivery.provider) == ("delivered", "folder")
    assert delivery.document_id is not None
    served = await client.get(f"/v1/deliveries/{delivery.id}/pdf", headers=tenant.headers)
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/pdf"
    text = _text(served.content)
    for expected in ("2 High Street", "E8 1AA", "Dear Sir or Madam", "Your repair is booked"):
        assert expected in text
    printed = (folder / f"{delivery.id}.pdf").read_bytes()
    assert printed == served.content
    manifest = json.loads((folder / f"{delivery.id}.json").read_text())
    assert manifest["address_lines"] == ADDRESS["lines"] and manifest["postcode"] == "E8 1AA"
    assert delivery.rendered is not None
    assert delivery.rendered["document_id"] == delivery.document_id
    stranger = await make_tenant("stranger")
    other = await client.get(f"/v1/deliveries/{delivery.id}/pdf", headers=stranger.headers)
    assert other.status_code == 404


async def test_a_delivery_without_a_pdf_is_404(
    letters_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    client = letters_client
    notification = await send(client, tenant.headers, targets={"emails": ["a@example.com"]})
    listed = await client.get(
        "/v1/deliveries", params={"notification_id": notification}, headers=tenant.headers
    )
    [email] = listed.json()["data"]
    answer = await client.get(f"/v1/deliveries/{email['id']}/pdf", headers=tenant.headers)
    assert answer.status_code == 404


async def test_an_address_without_three_lines_is_refused_at_accept(
    letters_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    short = {"lines": ["2 High Street", "London"], "postcode": "E8 1AA"}
    answer = await letters_client.post(
        "/v1/notifications",
        json={"type": "custom", "subType": "message", "message": "x",
              "targets": {"addresses": [short]}},
        headers=tenant.headers,
    )  # fmt: skip
    assert answer.status_code == 422
