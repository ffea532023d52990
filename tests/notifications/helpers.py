"""Helpers shared by the sending and inbox tests: users, teams, user tokens, seed payloads."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant, bearer

CALL = {
    "id": "ax2uyio8p",
    "created": "2023-11-01T10:28:00",
    "callerId": "07123 456789",
    "destinationId": "01234 567890",
    "huntGroup": False,
}


def call_event(sub_type: str, targets: dict[str, Any], **payload: Any) -> dict[str, Any]:
    """A seed 000 envelope for a telephony event."""
    return {
        "type": "telephony",
        "subType": sub_type,
        "products": ["AgencyCloud"],
        "targets": targets,
        "payload": {**CALL, **payload},
    }


async def add_users(client: httpx.AsyncClient, tenant: Tenant, *external_ids: str) -> None:
    """Create users (empty profiles)."""
    for external_id in external_ids:
        made = await client.put(f"/v1/users/{external_id}", json={}, headers=tenant.headers)
        assert made.status_code in (200, 201)


async def add_team(client: httpx.AsyncClient, tenant: Tenant, key: str, members: list[str]) -> None:
    """Create a team of existing users."""
    made = await client.put(f"/v1/teams/{key}", json={"members": members}, headers=tenant.headers)
    assert made.status_code == 200


async def user_headers(
    client: httpx.AsyncClient, tenant: Tenant, external_id: str
) -> dict[str, str]:
    """Authorization headers of a user token."""
    made = await client.post(f"/v1/users/{external_id}/tokens", headers=tenant.headers)
    assert made.status_code in (200, 201)
    return bearer(made.json()["token"])


async def inbox(
    client: httpx.AsyncClient, headers: dict[str, str], query: str = ""
) -> dict[str, Any]:
    """A user's inbox list."""
    listed = await client.get(f"/v1/me/notifications{query}", headers=headers)
    assert listed.status_code == 200, listed.text
    body: dict[str, Any] = listed.json()
    return body
