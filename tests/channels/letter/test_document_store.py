"""The filesystem document store: round trips, atomic writes, ids that cannot escape the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from herald.channels.letter.store import DocumentNotFound, DocumentStore, FilesystemDocumentStore


@pytest.fixture
def store(tmp_path: Path) -> FilesystemDocumentStore:
    return FilesystemDocumentStore(tmp_path / "documents")


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


async def test_put_then_get_returns_the_bytes(store: FilesystemDocumentStore) -> None:
    as_protocol: DocumentStore = store
    first = await as_protocol.put(b"%PDF-1.7 first")
    second = await as_protocol.put(b"%PDF-1.7 second")
    assert first != second
    assert await as_protocol.get(first) == b"%PDF-1.7 first"
    assert await as_protocol.get(second) == b"%PDF-1.7 second"
    assert files_under(store.root) == sorted(
        [store.root / first[:2] / first, store.root / second[:2] / second]
    )


async def test_delete_removes_and_is_idempotent(store: FilesystemDocumentStore) -> None:
    document_id = await store.put(b"x")
    await store.delete(document_id)
    await store.delete(document_id)
    with pytest.raises(DocumentNotFound) as caught:
        await store.get(document_id)
    assert (caught.value.status_code, caught.value.code) == (404, "document_not_found")


@pytest.mark.parametrize(
    "document_id",
    ["", "../outside", "../../victim.txt", "/etc/passwd", "ab/../../victim.txt", "A" * 32, "0"],
)
async def test_ids_not_handed_out_by_the_store_name_nothing(
    store: FilesystemDocumentStore, tmp_path: Path, document_id: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    with pytest.raises(DocumentNotFound):
        await store.get(document_id)
    await store.delete(document_id)
    assert victim.read_bytes() == b"keep me"


async def test_a_failed_write_leaves_nothing_behind(
    store: FilesystemDocumentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        await store.put(b"half a letter")
    assert files_under(store.root) == []
