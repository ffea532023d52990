"""Fixtures of the letters_channel tests."""

from __future__ import annotations

import pytest

from herald.db import Database
from tests.parking import park_unfinished


@pytest.fixture(autouse=True)
async def _parked(db: Database) -> None:
    """Each test's worker sends only its own deliveries (``tests.parking``)."""
    await park_unfinished(db)
