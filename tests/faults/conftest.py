"""What the fault tests share: a tenant made directly in the database, and a client that sends
like a careful one, with an ``Idempotency-Key``, retrying after a 503 or a lost connection,
and writing down every answer it got."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from herald.accounts import service as accounts
from herald.db import Database
from tests.conftest import Tenant, settings_for

ERROR_KEYS = {"code", "message", "details"}


async def make_tenant(database_url: str, **limits: Any) -> Tenant:
    """An account with an all-scopes key, written straight to the database."""
    db = Database(settings_for(database_url))
    try:
        async with db.sessions() as session, session.begin():
            account = await accounts.create_account(session, name="faults")
            for name, value in limits.items():
                setattr(account, name, value)
            issued = await accounts.create_key(session, account_id=account.id)
    finally:
        await db.dispose()
    return Tenant(account.id, issued.key.id, issued.plain)


def email(to: str, key: str) -> dict[str, Any]:
    """A ``custom/message`` to one address, by email only."""
    return {
        "type": "custom",
        "subType": "message",
        "message": f"message {key}",
        "targets": {"emails": [to]},
        "channels": ["email"],
    }


@dataclass(repr=False)
class Log:
    """Every answer a client got, and what was wrong with any of them."""

    statuses: Counter[int] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    slowest: float = 0.0
    accepted: dict[str, str] = field(default_factory=dict)  # idempotency key -> notification id

    def __str__(self) -> str:
        return (
            f"statuses {dict(self.statuses)}, dropped {dict(self.dropped)}, "
            f"slowest {self.slowest:.2f} s, {len(self.wrong)} wrong: {self.wrong[:3]}"
        )

    def check_unavailable(self, answer: httpx.Response) -> None:
        """A 503 must say when to retry, in the contract's error body."""
        body = answer.json()
        error = body.get("error", {}) if isinstance(body, dict) else {}
        if not answer.headers.get("Retry-After", "").isdigit() or set(error) != ERROR_KEYS:
            self.wrong.append(f"503 without Retry-After or error body: {answer.text}")
        elif error["code"] != "database_unavailable":
            self.wrong.append(f"503 code {error['code']}")


async def send_until_accepted(
    http: httpx.AsyncClient,
    body: dict[str, Any],
    log: Log,
    *,
    key: str | None = None,
    within: float = 60.0,
    retry_cap: float = 2.0,
    in_flight_ok: bool = False,
) -> str:
    """POST ``body`` with one Idempotency-Key until it is accepted; the notification id.

    A 409 (the key's first request still runs) is wrong unless ``in_flight_ok``, and then
    only for 5 s: a claim must not outlive its request.
    """
    key = key or uuid.uuid4().hex
    first = time.monotonic()
    deadline = first + within
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            answer = await http.post(
                "/v1/notifications", json=body, headers={"Idempotency-Key": key}
            )
        except httpx.TransportError as exc:
            log.dropped[type(exc).__name__] += 1
            await asyncio.sleep(0.2)
            continue
        finally:
            log.slowest = max(log.slowest, time.monotonic() - started)
        log.statuses[answer.status_code] += 1
        if answer.status_code == 202:
            notification_id: str = answer.json()["id"]
            if log.accepted.setdefault(key, notification_id) != notification_id:
                log.wrong.append(f"key {key} answered two ids")
            return notification_id
        if answer.status_code == 503:
            log.check_unavailable(answer)
            await asyncio.sleep(min(float(answer.headers.get("Retry-After", 1)), retry_cap))
            continue
        if answer.status_code == 409 and in_flight_ok and time.monotonic() < first + 5:
            await asyncio.sleep(0.1)
            continue
        log.wrong.append(f"{answer.status_code}: {answer.text[:300]}")
        await asyncio.sleep(0.2)
    raise AssertionError(f"key {key} was not accepted within {within} s: {log}")
