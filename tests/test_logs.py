"""Structured logs never carry a secret."""

from __future__ import annotations

from typing import Any

from herald.logs import redact_secrets


def test_secrets_are_masked() -> None:
    event: dict[str, Any] = {
        "event": "request hk_live_abcdefghijklmnop and eyJhbGciOi.eyJzdWIi.c2ln",
        "authorization": "Bearer x",
        "client_secret": "y",
        "url": "postgresql+asyncpg://herald:hunter2@db/herald",
        "nested": {"password": "p", "fine": "whsec_Zm9vYmFy"},
        "count": 3,
    }
    out = redact_secrets(None, "info", event)
    text = repr(out)
    for secret in ("hk_live_abcdefghijklmnop", "eyJhbGciOi", "hunter2", "Bearer x", "whsec_Zm9v"):
        assert secret not in text
    assert out["count"] == 3 and "herald:***@db" in out["url"]
