"""SMS gateway fixtures: a parent account (which sets limits and approves sender names) and
its child, the sending tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from herald.db import Database
from herald.sms.models import SmsCharge
from tests.conftest import MakeTenant, Tenant


@dataclass
class Family:
    """A parent account and its child (the tenant that sends)."""

    parent: Tenant
    child: Tenant


@pytest.fixture
async def family(make_tenant: MakeTenant) -> Family:
    parent = await make_tenant("reseller")
    child = await make_tenant("shop", parent=parent)
    return Family(parent, child)


async def set_allowance(client: httpx.AsyncClient, family: Family, segments: int | None) -> None:
    """The parent sets the child's monthly SMS allowance."""
    answer = await client.patch(
        f"/v1/accounts/{family.child.account_id}",
        json={"limits": {"sms_allowance": segments}},
        headers=family.parent.headers,
    )
    assert answer.status_code == 200, answer.text


async def approve(client: httpx.AsyncClient, family: Family, name: str) -> dict[str, Any]:
    """Register the child's sender name and have the parent approve it."""
    await client.put(f"/v1/senders/{name}", headers=family.child.headers)
    path = f"/v1/accounts/{family.child.account_id}/senders/{name}/approve"
    answer = await client.post(path, headers=family.parent.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def text(
    client: httpx.AsyncClient, tenant: Tenant, *numbers: str, body: str = "Hello", **message: Any
) -> httpx.Response:
    """``POST /v1/messages`` to ``numbers``."""
    payload = {"message": {"body": body, **message}, "to_numbers": list(numbers)}
    return await client.post("/v1/messages", json=payload, headers=tenant.headers)


async def charges(db: Database, account_id: uuid.UUID) -> dict[uuid.UUID, tuple[int, str]]:
    """The account's allowance charges: delivery id → (segments, state)."""
    async with db.sessions() as session:
        rows = await session.execute(
            select(SmsCharge.delivery_id, SmsCharge.segments, SmsCharge.state).where(
                SmsCharge.account_id == account_id
            )
        )
        return {delivery_id: (segments, state) for delivery_id, segments, state in rows}
