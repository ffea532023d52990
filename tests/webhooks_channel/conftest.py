"""The local webhook receivers of the webhooks tests, for the webhook channel's tests."""

from __future__ import annotations

from tests.http.conftest import start_receiver

__all__ = ["start_receiver"]
