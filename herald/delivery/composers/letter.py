"""The letter channel's composition: the template's letter HTML rendered to a PDF once, kept
in the document store, and handed to the print provider at every attempt.

The PDF's id is recorded on the delivery (``document_id``) and serves
``GET /v1/deliveries/{id}/pdf``; the printed letter is byte for byte the stored one.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from herald.channels.base import PermanentDeliveryError
from herald.channels.letter.messages import LetterMessage, page_count, render_pdf
from herald.channels.letter.store import DocumentNotFound, DocumentStore, FilesystemDocumentStore
from herald.config import Settings
from herald.delivery.composers.base import Keys, Target
from herald.delivery.models import Delivery
from herald.errors import ValidationFailed


def documents(settings: Settings) -> DocumentStore:
    """The document store settings name (``HERALD_DOCUMENTS_DIR``)."""
    return FilesystemDocumentStore(Path(settings.documents_dir))


async def compose_letter(
    session: AsyncSession, target: Target, parts: Mapping[str, Any]
) -> dict[str, Any]:
    """Render the PDF for the delivery's address, store it, and describe it for the log."""
    delivery = target.delivery
    address = delivery.recipient.get("address")
    if not isinstance(address, dict):
        raise PermanentDeliveryError("the recipient has no postal address")
    lines = [str(line) for line in address.get("lines") or []]
    postcode = str(address.get("postcode") or "")
    html = str(parts.get("html") or "")
    try:
        pdf = await asyncio.to_thread(render_pdf, html=html, address_lines=lines, postcode=postcode)
    except ValidationFailed as exc:
        raise PermanentDeliveryError(exc.message) from exc
    delivery.document_id = await documents(target.settings).put(pdf)
    return {
        "to": lines[0],
        "address_lines": lines,
        "postcode": postcode,
        "html": html,
        "document_id": delivery.document_id,
        "pages": page_count(pdf),
        "sha256": hashlib.sha256(pdf).hexdigest(),
        "postage": parts.get("postage"),
    }


async def letter_pdf(_session: AsyncSession, delivery: Delivery, keys: Keys) -> dict[str, Any]:
    """The stored PDF, for the print provider."""
    try:
        return {"pdf": await documents(keys.settings).get(delivery.document_id or "")}
    except DocumentNotFound as exc:
        raise PermanentDeliveryError("the letter's PDF is no longer in the document store") from exc


def letter_message(
    delivery: Delivery, rendered: Mapping[str, Any], loaded: Mapping[str, Any]
) -> LetterMessage:
    """The letter every attempt prints: the stored PDF and its manifest's facts."""
    return LetterMessage(
        delivery_id=str(delivery.id),
        recipient=rendered["to"],
        address_lines=tuple(rendered["address_lines"]),
        postcode=rendered["postcode"],
        html=rendered["html"],
        pdf=loaded["pdf"],
        postage=rendered.get("postage"),
    )
