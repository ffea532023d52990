"""Letter PDFs: address and body in the text, the address in the window, nothing fetched."""

from __future__ import annotations

import base64
import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest

from herald.channels.letter.pdf import DataOnlyFetcher, check_address, render_letter_pdf
from herald.errors import ValidationFailed

ADDRESS = ["Ada Lovelace", "12 St James's Square", "London"]
POSTCODE = "SW1Y 4JH"
MM_PER_POINT = 25.4 / 72


def page_text(pdf: bytes, page: int = 0) -> str:
    return pypdf.PdfReader(io.BytesIO(pdf)).pages[page].extract_text()


def positions(pdf: bytes) -> dict[str, tuple[float, float]]:
    """Each text run on page one, at (mm from the left, mm from the top) of its baseline."""
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    height = float(page.mediabox.height)
    found: dict[str, tuple[float, float]] = {}

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
        y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
        if text.strip():
            found[text.strip()] = (x * MM_PER_POINT, (height - y) * MM_PER_POINT)

    page.extract_text(visitor_text=visit)
    return found


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port on 127.0.0.1 nobody accepts on: any fetch attempt leaves a connection queued."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        yield server


def assert_never_connected(server: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        server.accept()


def test_the_pdf_holds_the_address_and_the_body() -> None:
    pdf = render_letter_pdf(
        html="<h1>Your appointment</h1><p>Dear Ada, see you on Monday.</p>",
        address_lines=ADDRESS,
        postcode=POSTCODE,
    )
    assert pdf.startswith(b"%PDF-")
    text = page_text(pdf)
    for expected in [*ADDRESS, POSTCODE, "Your appointment", "Dear Ada, see you on Monday."]:
        assert expected in text


def test_the_address_sits_in_the_envelope_window_whatever_the_template_says() -> None:
    template = (
        "<style>@page { margin: 0 } body { margin: 50mm; padding: 9mm }"
        " .herald-address { margin: 0; position: absolute; top: 200mm }</style><p>Body text</p>"
    )
    found = positions(render_letter_pdf(html=template, address_lines=ADDRESS, postcode=POSTCODE))
    left, top = found["Ada Lovelace"]
    assert left == pytest.approx(20, abs=0.5)
    assert 45 < top < 52  # the first baseline, just under the field's top edge
    assert found[POSTCODE][1] < 45 + 40
    assert found["Body text"][1] > 45 + 40


def test_a_whole_document_is_accepted_and_its_styles_apply() -> None:
    template = (
        "<!DOCTYPE html><html><head><title>Hidden title</title>"
        "<style>.shout::after { content: ' (added by the template style)' }</style></head>"
        "<body><p class='shout'>Hello</p></body></html>"
    )
    text = page_text(render_letter_pdf(html=template, address_lines=ADDRESS, postcode=POSTCODE))
    assert "Hello (added by the template style)" in text
    assert "Hidden title" not in text


def test_address_lines_are_text_not_markup() -> None:
    lines = ["<b>Flat 1</b> & Co", "2 Road", "Town"]
    text = page_text(render_letter_pdf(html="<p>x</p>", address_lines=lines, postcode=POSTCODE))
    assert "<b>Flat 1</b> & Co" in text


def test_data_uris_are_served() -> None:
    css = base64.b64encode(b".mark::after { content: 'from a data stylesheet' }").decode()
    fetcher = DataOnlyFetcher()
    pdf = render_letter_pdf(
        html=f"<link rel='stylesheet' href='data:text/css;base64,{css}'><p class='mark'></p>",
        address_lines=ADDRESS,
        postcode=POSTCODE,
        fetcher=fetcher,
    )
    assert "from a data stylesheet" in page_text(pdf)
    assert fetcher.refused == []


def test_file_and_http_resources_are_refused_and_never_read(
    tmp_path: Path, listener: socket.socket
) -> None:
    secret_css = tmp_path / "secret.css"
    secret_css.write_text("body::after { content: 'SECRET FROM DISK' }")
    port = listener.getsockname()[1]
    urls = [
        secret_css.as_uri(),
        "file:///etc/passwd",
        "http://127.0.0.1:1/x.png",
        f"http://127.0.0.1:{port}/x.png",
        f"http://127.0.0.1:{port}/style.css",
        f"http://127.0.0.1:{port}/font.woff",
    ]
    template = (
        f"<link rel='stylesheet' href='{urls[0]}'>"
        f"<style>@import url('{urls[4]}');"
        f" @font-face {{ font-family: F; src: url('{urls[5]}') }} p {{ font-family: F }}</style>"
        f"<img src='{urls[1]}'><img src='{urls[2]}'><img src='{urls[3]}'><p>Body</p>"
    )
    fetcher = DataOnlyFetcher()
    pdf = render_letter_pdf(
        html=template, address_lines=ADDRESS, postcode=POSTCODE, fetcher=fetcher
    )

    assert sorted(fetcher.refused) == sorted(urls)
    assert "SECRET FROM DISK" not in page_text(pdf)
    assert "Body" in page_text(pdf)
    assert_never_connected(listener)


@pytest.mark.parametrize(
    ("lines", "postcode", "message"),
    [
        (["Ada"], POSTCODE, "2 to 6 lines"),
        (["Ada", " ", ""], POSTCODE, "2 to 6 lines"),
        ([f"line {i}" for i in range(7)], POSTCODE, "2 to 6 lines"),
        (ADDRESS, "  ", "postcode"),
    ],
)
def test_unusable_addresses_are_refused(lines: list[str], postcode: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message) as caught:
        render_letter_pdf(html="<p>x</p>", address_lines=lines, postcode=postcode)
    assert (caught.value.status_code, caught.value.code) == (422, "invalid_address")
    assert caught.value.details[0].path == "/address"


def test_check_address_strips_blank_lines_and_reports_at_the_pointer() -> None:
    assert check_address([" Ada ", "", "1 Road", "Town"], "N1 1AA") == ["Ada", "1 Road", "Town"]
    with pytest.raises(ValidationFailed) as caught:
        check_address(["Ada"], "N1", pointer="/personalisation/address_line_1")
    assert caught.value.details[0].path == "/personalisation/address_line_1"
