"""Helpers of the template API tests: a reseller with two child accounts, and short calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import MakeTenant, Tenant

CALL = {"callerId": "07123 456789", "destinationId": "01234 567890"}


@dataclass
class Tree:
    """A reseller (root) and two of its customer accounts, siblings of each other."""

    reseller: Tenant
    child: Tenant
    sibling: Tenant


async def make_tree(make_tenant: MakeTenant) -> Tree:
    """A fresh reseller with two children."""
    reseller = await make_tenant("reseller")
    child = await make_tenant("child", parent=reseller)
    sibling = await make_tenant("sibling", parent=reseller)
    return Tree(reseller, child, sibling)


async def get_json(client: httpx.AsyncClient, tenant: Tenant, path: str) -> Any:
    """GET a path as the tenant, asserting 200, and return the JSON body."""
    response = await client.get(path, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def listed(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    """The tenant's template list by id (every page)."""
    body = await get_json(client, tenant, "/v1/templates?per_page=100")
    return {t["id"]: t for t in body["data"]}


def email_template(subject: str, html: str = "<p>Hi {{ first_name }}</p>") -> dict[str, Any]:
    """A small email-only template body."""
    return {
        "friendly_name": "Welcome",
        "category": "onboarding",
        "channels": {"email": {"subject": subject, "html": html}},
    }
