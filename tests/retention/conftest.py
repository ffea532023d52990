"""Retention fixtures: the local receivers (callbacks, webhooks) of the delivery tests."""

from __future__ import annotations

from tests.http.conftest import start_receiver

__all__ = ["start_receiver"]
