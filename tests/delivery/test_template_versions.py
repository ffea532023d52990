"""The worker renders the template version checked at accept, and a template change is seen
by the next accept in every process: two application instances on one database and a worker,
with no window in which a template just switched on still cancels a delivery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from herald.db import Database
from tests.conftest import Tenant, bearer, make_key, settings_for
from tests.delivery.conftest import deliveries_of, running_worker, wait_finished, worker_settings

pytestmark = pytest.mark.usefixtures("parked")

NEWS = {"id": "news", "channels": {"email": {"subject": "v1 {{ topic }}", "text": "t"}}}


@pytest.fixture
async def second(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another application on the same database, as another API process would be."""
    from herald.app import create_app

    app = create_app(settings_for(database_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://other.test") as http:
            yield http


def _email(**extra: Any) -> dict[str, Any]:
    return {"type": "custom", "subType": "message", "message": "hi",
            "targets": {"emails": ["a@example.com"]}, **extra}  # fmt: skip


async def _accept(
    http: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any], code: int = 202
) -> str:
    answer = await http.post("/v1/notifications", json=body, headers=headers)
    assert answer.status_code == code, answer.text
    return str(answer.json().get("id"))


async def _put(http: httpx.AsyncClient, tenant: Tenant, template_id: str, body: Any) -> None:
    answer = await http.put(f"/v1/templates/{template_id}", json=body, headers=tenant.headers)
    assert answer.status_code in (200, 201), answer.text


async def test_the_version_checked_at_accept_is_rendered_or_named_by_its_failure(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, database_url: str
) -> None:
    personal = {"id": "personal", "channels": {"email": {"subject": "Hi {{ user.first_name }}",
                                                         "text": "x"}}}  # fmt: skip
    for template in (NEWS, personal):
        made = await client.post("/v1/templates", json=template, headers=tenant.headers)
        assert made.status_code == 201, made.text
    user = await client.put(
        "/v1/users/ann", json={"email": "ann@example.com"}, headers=tenant.headers
    )
    assert user.status_code == 201, user.text
    key = bearer(await make_key(db, tenant, "notifications.write", test=True))
    sent = await _accept(client, key, _email(template="news", personalisation={"topic": "Q3"}))
    changed = {"channels": {"email": {"subject": "v2 {{ topic }}", "text": "t"}}}
    await _put(client, tenant, "news", changed)
    [waiting] = await deliveries_of(db, sent)
    shown = (await client.get(f"/v1/deliveries/{waiting.id}", headers=tenant.headers)).json()
    assert (shown["template_id"], shown["template_version"]) == ("news", 1)
    # ann has no first name: rendering fails, and says which template version failed.
    body = {"type": "custom", "subType": "message", "message": "hi", "channels": ["email"],
            "targets": {"users": ["ann"]}, "template": "personal"}  # fmt: skip
    failing = await _accept(client, key, body)
    async with running_worker(worker_settings(database_url)):
        [done] = await wait_finished(db, sent)
        [failed] = await wait_finished(db, failing)
    assert done.status == "delivered" and done.rendered is not None
    assert (done.rendered["subject"], done.template_version) == ("v1 Q3", 1)
    shown = (await client.get(f"/v1/deliveries/{failed.id}", headers=tenant.headers)).json()
    assert shown["status"] == "permanent-failure"
    assert "first_name" in str(shown["attempts"][0]["provider_response"])
    assert (shown["template_id"], shown["template_version"]) == ("personal", 1)


async def test_a_switched_on_template_is_used_by_the_next_accept_everywhere(
    client: httpx.AsyncClient,
    second: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    database_url: str,
) -> None:
    key = bearer(await make_key(db, tenant, "notifications.write", test=True))
    async with running_worker(worker_settings(database_url)):
        # The type's own template (no template named), switched off in one process...
        await _put(client, tenant, "custom-message", {"enabled": False})
        off = await _accept(second, key, _email())
        assert [d.status for d in await wait_finished(db, off)] == ["cancelled"]
        # ...and on again: the other process's very next accept is sent, and so is what the
        # worker, which has just rendered the switched-off version, takes next.
        await _put(client, tenant, "custom-message", {"enabled": True})
        on = await _accept(second, key, _email())
        [sent] = await wait_finished(db, on)
        assert (sent.status, sent.template_id) == ("delivered", "custom-message")
        # A named template: refused while off, sent at once when on.
        made = await client.post(
            "/v1/templates", json={**NEWS, "enabled": False}, headers=tenant.headers
        )
        assert made.status_code == 201, made.text
        named = _email(template="news", personalisation={"topic": "x"})
        await _accept(second, key, named, code=422)
        await _put(client, tenant, "news", {**NEWS, "enabled": True})
        [news] = await wait_finished(db, await _accept(second, key, named))
    assert (news.status, news.template_version) == ("delivered", 2)
