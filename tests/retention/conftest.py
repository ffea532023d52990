"""Retention fixtures: the local receivers (callbacks, webhooks) of the delivery tests."""

from __future__ import annotations

from tests.webhooks.conftest import start_receiver

__all__ = ["start_receiver"]
