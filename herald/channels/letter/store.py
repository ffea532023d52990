"""Where letter PDFs are kept: a store that hands out an id for each document.

The id is recorded on the delivery and serves ``GET /v1/deliveries/{id}/pdf``. The
filesystem store is the default; another backend (object storage) implements the same
protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Protocol

from herald.errors import NotFound

# Ids are ours, 32 lowercase hex digits: nothing a caller passes can name another path.
_ID = re.compile(r"[0-9a-f]{32}")


class DocumentNotFound(NotFound):
    """No document has this id (or the id is not one a store hands out)."""

    code = "document_not_found"


class DocumentStore(Protocol):
    """Keeps documents by an id it chooses."""

    async def put(self, data: bytes) -> str:
        """Store ``data``; return its new id."""
        ...

    async def get(self, document_id: str) -> bytes:
        """The document's bytes; ``DocumentNotFound`` when there is none."""
        ...

    async def delete(self, document_id: str) -> None:
        """Remove the document; removing a missing one is not an error."""
        ...


class FilesystemDocumentStore:
    """Documents as files under ``root``, in folders named by the id's first two digits."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def put(self, data: bytes) -> str:
        """Write ``data`` atomically (temporary file, fsync, rename) and return its id."""
        document_id = secrets.token_hex(16)
        await asyncio.to_thread(write_atomically, self._path(document_id), data)
        return document_id

    async def get(self, document_id: str) -> bytes:
        """The document's bytes; ``DocumentNotFound`` for an unknown or malformed id."""
        try:
            return await asyncio.to_thread(self._path(document_id).read_bytes)
        except FileNotFoundError:
            raise DocumentNotFound("no such document") from None

    async def delete(self, document_id: str) -> None:
        """Remove the document if it exists (a malformed id names nothing to remove)."""
        with contextlib.suppress(DocumentNotFound, FileNotFoundError):
            await asyncio.to_thread(self._path(document_id).unlink)

    def _path(self, document_id: str) -> Path:
        if not _ID.fullmatch(document_id):
            raise DocumentNotFound("no such document")
        return self.root / document_id[:2] / document_id


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees all of it or none (fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A reader sees the whole document or none: the rename is atomic within one folder.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
