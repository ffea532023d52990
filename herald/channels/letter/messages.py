"""A letter as the print providers receive it, its PDF and the manifest that goes with it.

The message carries the rendered HTML, the postal address and, from the pipeline, the
PDF it rendered once and kept in the document store (``GET /v1/deliveries/{id}/pdf``),
so the printed letter is the stored one and a retry prints it again. A message without
a PDF is rendered here, in a thread (WeasyPrint is synchronous and CPU-bound), with
``render_letter_pdf``, imported on first use (``render_pdf``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from herald.channels.base import OutboundMessage, PermanentDeliveryError
from herald.errors import ValidationFailed

# A stream's data runs from the EOL after ``stream`` to ``endstream``; the EOL before that
# is left in, since a compressed stream may itself end in CR (or LF): inflating stops at
# the end of the compressed data and ignores what follows.
_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.DOTALL)
_PAGE_TREE = re.compile(rb"<<[^<>]*/Type\s*/Pages\b[^<>]*>>")
_COUNT = re.compile(rb"/Count\s+(\d+)")


@dataclass(frozen=True, kw_only=True)
class LetterMessage(OutboundMessage):
    """A letter to one postal address; ``recipient`` names the addressee for the log."""

    channel: ClassVar[str] = "letter"
    address_lines: tuple[str, ...]
    postcode: str
    html: str
    pdf: bytes | None = field(default=None, repr=False)
    """The PDF already rendered (and kept in the document store); None: render ``html``."""
    postage: str | None = None
    """The template's postage (Notify's ``first``, ``second``, ``economy``...), if it says."""


@dataclass(frozen=True)
class RenderedLetter:
    """A letter's PDF and the facts a printer needs about it."""

    pdf: bytes
    pages: int

    @property
    def sha256(self) -> str:
        """The PDF's digest, so a printer can check what it received."""
        return hashlib.sha256(self.pdf).hexdigest()


def render_pdf(*, html: str, address_lines: Sequence[str], postcode: str) -> bytes:
    """``render_letter_pdf``, importing WeasyPrint only now: its import (Pango through cffi)
    is a fifth of every ``herald`` process's start-up, and most never render a letter."""
    from herald.channels.letter.pdf import render_letter_pdf

    return render_letter_pdf(html=html, address_lines=address_lines, postcode=postcode)


async def render(message: LetterMessage) -> RenderedLetter:
    """The letter's PDF (rendered in a thread unless it came with the message); an unusable
    address is permanent."""
    if message.pdf is not None:
        return RenderedLetter(message.pdf, page_count(message.pdf))
    try:
        pdf = await asyncio.to_thread(
            render_pdf,
            html=message.html,
            address_lines=message.address_lines,
            postcode=message.postcode,
        )
    except ValidationFailed as exc:
        raise PermanentDeliveryError(exc.message) from exc
    return RenderedLetter(pdf, page_count(pdf))


def manifest(message: LetterMessage, letter: RenderedLetter) -> dict[str, Any]:
    """What a printer is told besides the PDF: whose letter, where to, how many pages."""
    return {
        "delivery_id": message.delivery_id,
        "address_lines": [line.strip() for line in message.address_lines if line.strip()],
        "postcode": message.postcode.strip(),
        "pages": letter.pages,
        "sha256": letter.sha256,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def page_count(pdf: bytes) -> int:
    """Pages in a PDF WeasyPrint wrote: its page tree's largest ``/Count``.

    WeasyPrint keeps the page tree in compressed object streams, so each stream is
    inflated and searched as well as the file itself; pypdf is a test-only dependency.
    """
    chunks = [pdf]
    for stream in _STREAM.findall(pdf):
        try:
            chunks.append(zlib.decompressobj().decompress(stream))
        except zlib.error:
            continue  # an image or font stream, not a Flate-compressed object stream
    counts = [
        int(count)
        for chunk in chunks
        for tree in _PAGE_TREE.findall(chunk)
        for count in _COUNT.findall(tree)
    ]
    if not counts:
        raise ValueError("the PDF has no page tree")
    return max(counts)
