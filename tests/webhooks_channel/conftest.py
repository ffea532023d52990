"""The local webhook receivers of the webhooks tests, for the webhook channel's tests."""

from __future__ import annotations

import pytest

from herald.db import Database
from tests.parking import park_unfinished
from tests.webhooks.conftest import start_receiver

__all__ = ["start_receiver"]


@pytest.fixture(autouse=True)
async def _parked(db: Database) -> None:
    """Each test's worker sends only its own deliveries (``tests.parking``)."""
    await park_unfinished(db)
