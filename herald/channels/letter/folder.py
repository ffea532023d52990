"""Print by folder drop: each letter's PDF and a JSON manifest, for a print room's software.

Files are named by delivery id: ``<id>.pdf``, then ``<id>.json``. Each is written to a
temporary file, synced and renamed into place, and the manifest comes last, so software
that watches for manifests never finds a half-written PDF. A retry replaces both.
The folder is the operator's: it must exist, and Herald creates nothing above it.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from herald.channels.base import DeliveryResult, PermanentDeliveryError, Provider
from herald.channels.letter.messages import LetterMessage, manifest, render
from herald.channels.letter.store import write_atomically

# A delivery id becomes a file name: nothing that could name another folder.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


class FolderSettings(BaseModel):
    """Where the letters go: a folder the print room's software watches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    folder: str = Field(description="an existing folder; the operator's, never a tenant's")


class FolderPrintProvider(Provider[LetterMessage, FolderSettings]):
    """Drops each letter's PDF and manifest into a folder."""

    channel: ClassVar[str] = "letter"
    name: ClassVar[str] = "folder"
    Settings: ClassVar[type[BaseModel]] = FolderSettings

    async def _send(self, message: LetterMessage) -> DeliveryResult:
        if not _SAFE_NAME.fullmatch(message.delivery_id):
            raise PermanentDeliveryError("the delivery id cannot name a file")
        letter = await render(message)
        details = manifest(message, letter) | {"pdf": f"{message.delivery_id}.pdf"}
        folder = Path(self.settings.folder)
        await asyncio.to_thread(
            _drop,
            folder,
            message.delivery_id,
            letter.pdf,
            json.dumps(details, ensure_ascii=False, indent=2).encode(),
        )
        return DeliveryResult(
            provider_message_id=message.delivery_id,
            receipt=f"dropped {details['pdf']} ({letter.pages} pages)",
            provider_response={"pages": letter.pages, "sha256": letter.sha256},
        )


def _drop(folder: Path, name: str, pdf: bytes, manifest_json: bytes) -> None:
    # A missing folder is an OSError: technical, retried, and the operator alerted.
    if not folder.is_dir():
        raise FileNotFoundError(f"the print folder {folder} does not exist")
    write_atomically(folder / f"{name}.pdf", pdf)
    write_atomically(folder / f"{name}.json", manifest_json)
