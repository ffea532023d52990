"""Print providers: a folder drop (PDF + manifest) and an upload to a local print partner."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import io
import itertools
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from herald.channels.base import DeliveryError, PermanentDeliveryError, RetryableDeliveryError
from herald.channels.letter.folder import FolderPrintProvider, FolderSettings
from herald.channels.letter.http_upload import HttpUploadPrintProvider, UploadSettings
from herald.channels.letter.messages import LetterMessage, page_count
from tests.channels.servers.http import Reply, Request, serve

DELIVERY_ID = "0190b2b4-7c1e-7a3e-9d2f-5b8a1c0d4e6f"
ADDRESS = ("Ann Jensen", "Vestergade 12, 2. tv.", "Aarhus C")
BODY = "<h1>Your new PIN</h1><p>Dear Ann, your voicemail PIN has changed.</p>"
TOKEN = "partner-token"


def letter(**overrides: Any) -> LetterMessage:
    fields: dict[str, Any] = {
        "delivery_id": DELIVERY_ID,
        "recipient": "Ann Jensen",
        "address_lines": ADDRESS,
        "postcode": "8000",
        "html": BODY,
    }
    return LetterMessage(**(fields | overrides))


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def listing(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def assert_is_the_letter(pdf: bytes) -> None:
    text = pdf_text(pdf)
    for line in (*ADDRESS, "8000", "Your new PIN", "voicemail PIN has changed"):
        assert line in text


async def test_folder_drop_writes_the_pdf_then_its_manifest(tmp_path: Path) -> None:
    provider = FolderPrintProvider(FolderSettings(folder=str(tmp_path)))
    result = await provider.send(letter())

    pdf = (tmp_path / f"{DELIVERY_ID}.pdf").read_bytes()
    assert_is_the_letter(pdf)
    details = json.loads((tmp_path / f"{DELIVERY_ID}.json").read_text())
    assert details["delivery_id"] == DELIVERY_ID
    assert details["address_lines"] == list(ADDRESS)
    assert (details["postcode"], details["pages"], details["pdf"]) == (
        "8000",
        1,
        f"{DELIVERY_ID}.pdf",
    )
    assert details["created_at"].endswith("+00:00")
    assert result.provider_response["sha256"] == details["sha256"]
    assert listing(tmp_path) == [
        f"{DELIVERY_ID}.json",
        f"{DELIVERY_ID}.pdf",
    ]  # no temporary file left behind


async def test_a_retry_replaces_the_drop_and_pages_are_counted(tmp_path: Path) -> None:
    provider = FolderPrintProvider(FolderSettings(folder=str(tmp_path)))
    await provider.send(letter())
    long_body = BODY + '<p style="break-before: page">Page two</p>'
    await provider.send(letter(html=long_body))
    details = json.loads((tmp_path / f"{DELIVERY_ID}.json").read_text())
    pdf = (tmp_path / f"{DELIVERY_ID}.pdf").read_bytes()
    assert details["pages"] == len(PdfReader(io.BytesIO(pdf)).pages) == 2
    assert "Page two" in pdf_text(pdf)


async def test_an_address_of_one_line_is_permanent(tmp_path: Path) -> None:
    provider = FolderPrintProvider(FolderSettings(folder=str(tmp_path)))
    with pytest.raises(PermanentDeliveryError, match="2 to 6 lines"):
        await provider.send(letter(address_lines=("Ann Aarhus",)))
    assert listing(tmp_path) == []


async def test_a_missing_folder_is_technical(tmp_path: Path) -> None:
    provider = FolderPrintProvider(FolderSettings(folder=str(tmp_path / "absent")))
    with pytest.raises(RetryableDeliveryError, match="does not exist"):
        await provider.send(letter())
    assert not (tmp_path / "absent").exists()


async def test_a_delivery_id_that_could_name_a_path_is_refused(tmp_path: Path) -> None:
    provider = FolderPrintProvider(FolderSettings(folder=str(tmp_path / "letters")))
    with pytest.raises(PermanentDeliveryError, match="file"):
        await provider.send(letter(delivery_id="../escape"))


def multipart(request: Request) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a multipart/form-data body: name → (filename, content)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str)
        assert isinstance(payload, bytes)
        parts[name] = (part.get_filename(), payload)
    return parts


def partner(request: Request) -> Reply:
    if request.headers.get("authorization") != f"Bearer {TOKEN}":
        return Reply(401)
    return Reply(201, json.dumps({"letter": {"id": "L-1", "status": "queued"}}).encode())


def uploader(url: str, **settings: Any) -> HttpUploadPrintProvider:
    config = {"url": url, "token": TOKEN, "id_path": "letter.id", "timeout": 30} | settings
    return HttpUploadPrintProvider(UploadSettings.model_validate(config), allow_private=True)


async def test_uploads_the_pdf_and_manifest_as_multipart() -> None:
    with serve(partner) as server:
        provider = uploader(server.url + "/letters")
        try:
            result = await provider.send(letter())
        finally:
            await provider.aclose()

    assert result.provider_message_id == "L-1"
    [request] = server.requests
    assert request.headers["idempotency-key"] == DELIVERY_ID
    parts = multipart(request)
    filename, pdf = parts["file"]
    assert filename == f"{DELIVERY_ID}.pdf"
    assert_is_the_letter(pdf)
    details = json.loads(parts["metadata"][1])
    assert (details["delivery_id"], details["postcode"], details["pages"]) == (
        DELIVERY_ID,
        "8000",
        1,
    )


async def test_uploads_as_json_with_the_pdf_in_base64() -> None:
    with serve(partner) as server:
        provider = uploader(server.url + "/letters", body_format="json")
        try:
            await provider.send(letter())
        finally:
            await provider.aclose()
    body = json.loads(server.requests[0].body)
    assert body["address_lines"] == list(ADDRESS)
    assert_is_the_letter(base64.b64decode(body["pdf"]))


@pytest.mark.parametrize(
    ("reply", "error", "retry_after"),
    [
        (Reply(422, b'{"error":"address not deliverable"}'), PermanentDeliveryError, None),
        (Reply(429, headers={"Retry-After": "60"}), RetryableDeliveryError, 60.0),
        (Reply(503), RetryableDeliveryError, None),
    ],
)
async def test_partner_refusals(
    reply: Reply, error: type[DeliveryError], retry_after: float | None
) -> None:
    with serve(reply) as server:
        provider = uploader(server.url)
        try:
            with pytest.raises(error) as caught:
                await provider.send(letter())
        finally:
            await provider.aclose()
    if isinstance(caught.value, RetryableDeliveryError):
        assert caught.value.retry_after == retry_after
    else:
        assert caught.value.provider_response["status"] == 422


async def test_a_wrong_token_is_permanent() -> None:
    with serve(partner) as server:
        provider = uploader(server.url, token="wrong")
        try:
            with pytest.raises(PermanentDeliveryError, match="401"):
                await provider.send(letter())
        finally:
            await provider.aclose()


async def test_an_internal_partner_url_needs_allow_private() -> None:
    with serve(partner) as server:
        settings = UploadSettings.model_validate({"url": server.url, "token": TOKEN})
        provider = HttpUploadPrintProvider(settings)
        try:
            with pytest.raises(PermanentDeliveryError, match="loopback"):
                await provider.send(letter())
        finally:
            await provider.aclose()
    assert server.requests == []


def test_page_count_refuses_what_is_not_a_pdf() -> None:
    with pytest.raises(ValueError, match="page tree"):
        page_count(b"not a pdf")


def _object_stream_ending_in_cr() -> bytes:
    """A PDF whose page tree sits in a compressed object stream (as WeasyPrint writes it)
    whose compressed bytes end in CR, as about one in 256 letters' do."""
    for n in itertools.count():
        tree = b"%d 0 << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>" % n
        data = zlib.compress(tree)
        if data.endswith(b"\r"):
            head = b"<< /Type /ObjStm /N 1 /First 2 /Filter /FlateDecode /Length %d >>" % len(data)
            return b"%PDF-1.7\n1 0 obj\n" + head + b"\nstream\n" + data + b"\nendstream\nendobj\n"
    raise AssertionError("unreachable")


def test_page_count_reads_a_compressed_page_tree_whose_stream_ends_in_cr() -> None:
    assert page_count(_object_stream_ending_in_cr()) == 2
