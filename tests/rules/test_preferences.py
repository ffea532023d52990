"""Preferences against a real ``herald serve`` and SMTP server: an opt-out skips the email and
keeps the in-app item, an account default is inherited by a child and overridden by a user,
mandatory and requireAction ignore opt-outs, bad names are 422 with their JSON Pointer."""

from __future__ import annotations

import httpx

from tests.rules.conftest import Rig, finished, send, setup_tenant


async def _token(rig: Rig, api_key: str, user: str) -> str:
    async with rig.herald.client(api_key) as http:
        answer = await http.post(f"/v1/users/{user}/tokens")
    token: str = answer.json()["token"]
    return token


async def test_an_opt_out_skips_the_email_and_keeps_the_inbox_item(rig: Rig) -> None:
    users = {
        "ann": {"first_name": "Ann", "email": "ann@pref.test"},
        "bob": {"first_name": "Bob", "email": "bob@pref.test"},
    }
    tenant = await setup_tenant(rig, "optout", users)
    token = await _token(rig, tenant.api_key, "ann")
    async with rig.herald.client(token) as me:
        answer = await me.put(
            "/v1/me/preferences", json={"categories": {"marketing": {"email": False}}}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["categories"] == {"marketing": {"email": False}}
        assert (await me.get("/v1/me/preferences")).json()["categories"]["marketing"] == {
            "email": False
        }
    sent = await send(rig, tenant, targets={"users": ["ann", "bob"]})

    by_user = {d.recipient["user"]: d for d in await finished(rig, sent)}
    assert (by_user["ann"].status, by_user["ann"].reason) == ("skipped", "preference")
    assert by_user["bob"].status == "delivered" and by_user["bob"].reason is None
    assert rig.emails_to("ann@pref.test") == [] and len(rig.emails_to("bob@pref.test")) == 1
    async with rig.herald.client(token) as me:
        inbox = (await me.get("/v1/me/notifications")).json()["data"]
    assert [item["notification_id"] for item in inbox] == [sent]
    async with rig.herald.client(tenant.api_key) as http:
        shown = (await http.get(f"/v1/notifications/{sent}")).json()
        metrics = (await http.get("/metrics")).text
    assert {(d["recipient"]["user"], d["status"], d["reason"]) for d in shown["deliveries"]} == {
        ("ann", "skipped", "preference"),
        ("bob", "delivered", None),
    }
    assert shown["status"] == "delivered"  # skipped counts as done on purpose
    assert 'herald_deliveries_skipped_total{reason="preference"}' in metrics


async def test_an_account_default_is_inherited_by_a_child_and_a_user_overrides_it(
    rig: Rig,
) -> None:
    parent = await rig.herald.tenant("reseller")
    async with rig.herald.client(parent.api_key) as http:
        answer = await http.put("/v1/preferences", json={"channels": {"email": False}})
        assert answer.status_code == 200, answer.text
    users = {
        "cat": {"first_name": "Cat", "email": "cat@child.test"},
        "dan": {"first_name": "Dan", "email": "dan@child.test"},
    }
    child = await setup_tenant(rig, "child", users, parent=parent)
    async with rig.herald.client(child.api_key) as http:
        inherited = (await http.get("/v1/preferences")).json()
        assert inherited["channels"] == {"email": False}
        answer = await http.put(
            "/v1/users/dan/preferences", json={"categories": {"marketing": {"email": True}}}
        )
        assert answer.status_code == 200, answer.text
        assert (await http.get("/v1/users/cat/preferences")).json()["channels"] == {"email": False}
    sent = await send(rig, child, targets={"users": ["cat", "dan"]})

    by_user = {d.recipient["user"]: d for d in await finished(rig, sent)}
    assert (by_user["cat"].status, by_user["cat"].reason) == ("skipped", "preference")
    assert by_user["dan"].status == "delivered" and len(rig.emails_to("dan@child.test")) == 1


async def test_mandatory_templates_and_require_action_ignore_opt_outs(rig: Rig) -> None:
    users = {"eve": {"first_name": "Eve", "email": "eve@mandatory.test"}}
    tenant = await setup_tenant(rig, "mandatory", users)
    async with rig.herald.client(tenant.api_key) as http:
        answer = await http.put("/v1/users/eve/preferences", json={"channels": {"email": False}})
        assert answer.status_code == 200, answer.text
        notice = {
            "id": "security",
            "category": "security",
            "mandatory": True,
            "channels": {"email": {"subject": "Sign-in", "text": "A new sign-in."}},
        }
        assert (await http.post("/v1/templates", json=notice)).status_code == 201
        assert (await http.get("/v1/templates/security")).json()["mandatory"] is True
    mandatory = await send(rig, tenant, targets={"users": ["eve"]}, template="security")
    confirm = await send(rig, tenant, targets={"users": ["eve"]}, requireAction=True)
    plain = await send(rig, tenant, targets={"users": ["eve"]})

    assert [d.status for d in await finished(rig, mandatory)] == ["delivered"]
    assert [d.status for d in await finished(rig, confirm)] == ["delivered"]
    assert len(rig.emails_to("eve@mandatory.test")) == 2
    assert [(d.status, d.reason) for d in await rig.deliveries(plain)] == [
        ("skipped", "preference")
    ]


async def test_unknown_names_and_bad_quiet_hours_are_422_with_their_pointer(rig: Rig) -> None:
    tenant = await setup_tenant(rig, "badnames", {"fay": {"email": "fay@bad.test"}})
    bad = [
        ({"channels": {"pigeon": False}}, "/channels/pigeon"),
        ({"categories": {"nosuch": {"email": False}}}, "/categories/nosuch"),
        ({"categories": {"marketing": {"fax": False}}}, "/categories/marketing/fax"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "/quiet_hours/start"),
        ({"frequency_cap": {"max": 5, "per": "an hour"}}, "/frequency_cap/per"),
    ]
    async with rig.herald.client(tenant.api_key) as http:
        for body, pointer in bad:
            answer = await http.put("/v1/users/fay/preferences", json=body)
            assert answer.status_code == 422, (body, answer.text)
            paths = [d["path"] for d in answer.json()["error"]["details"]]
            assert pointer in paths, (pointer, paths)
        assert (await http.get("/v1/users/fay/preferences")).json() == {
            "channels": {},
            "categories": {},
            "quiet_hours": None,
            "frequency_cap": None,
        }
        unknown = await http.get("/v1/users/nobody/preferences")
        assert unknown.status_code == 404
    async with httpx.AsyncClient(base_url=rig.herald.url) as anonymous:
        assert (await anonymous.get("/v1/me/preferences")).status_code == 401


def _skipped_count(metrics: str, reason: str) -> float:
    """The value of ``herald_deliveries_skipped_total{reason}`` in a ``/metrics`` answer."""
    line = f'herald_deliveries_skipped_total{{reason="{reason}"}} '
    found = [row for row in metrics.splitlines() if row.startswith(line)]
    return float(found[0].removeprefix(line)) if found else 0.0


async def test_an_in_app_opt_out_withholds_the_inbox_item_but_not_a_mandatory_one(
    rig: Rig,
) -> None:
    users = {
        "gil": {"first_name": "Gil", "email": "gil@inbox.test"},
        "hal": {"first_name": "Hal", "email": "hal@inbox.test"},
    }
    tenant = await setup_tenant(rig, "inbox optout", users)
    token = await _token(rig, tenant.api_key, "gil")
    async with rig.herald.client(tenant.api_key) as http:
        notice = {
            "id": "security",
            "category": "marketing",  # the opted-out category, made mandatory by the template
            "mandatory": True,
            "channels": {"in_app": {"message": "A new sign-in."}},
        }
        assert (await http.post("/v1/templates", json=notice)).status_code == 201
        before = _skipped_count((await http.get("/metrics")).text, "preference")
    async with rig.herald.client(token) as me:
        off = {"categories": {"marketing": {"in_app": False}}}
        assert (await me.put("/v1/me/preferences", json=off)).status_code == 200
    plain = await send(rig, tenant, targets={"users": ["gil", "hal"]})
    in_app_only = await send(rig, tenant, targets={"users": ["gil"]}, channels=["in_app"])
    mandatory = await send(
        rig, tenant, targets={"users": ["gil"]}, template="security", channels=["in_app"]
    )
    confirm = await send(rig, tenant, targets={"users": ["gil"]}, requireAction=True)

    by_channel = {(d.recipient["user"], d.channel): d for d in await finished(rig, plain)}
    assert set(by_channel) == {("gil", "in_app"), ("gil", "email"), ("hal", "email")}
    withheld = by_channel["gil", "in_app"]
    assert (withheld.status, withheld.reason, withheld.category) == (
        "skipped", "preference", "marketing",
    )  # fmt: skip
    assert by_channel["gil", "email"].status == "delivered"  # only the inbox was turned off
    assert [(d.channel, d.status) for d in await rig.deliveries(in_app_only)] == [
        ("in_app", "skipped")
    ]
    for kept in (mandatory, confirm):
        assert "in_app" not in {d.channel for d in await rig.deliveries(kept)}
    async with rig.herald.client(token) as me:
        count = (await me.get("/v1/me/notifications/count")).json()  # before a list sees them
        inbox = (await me.get("/v1/me/notifications")).json()["data"]
    assert sorted(item["notification_id"] for item in inbox) == sorted([mandatory, confirm])
    assert count == {"unread": 2, "unseen": 2}
    async with rig.herald.client(tenant.api_key) as http:
        hal = (await http.get("/v1/users/hal/notifications/count")).json()
        shown = (await http.get(f"/v1/notifications/{in_app_only}")).json()
        after = _skipped_count((await http.get("/metrics")).text, "preference")
    assert hal == {"unread": 1, "unseen": 1}
    assert shown["status"] == "delivered" and shown["recipients"] == 1
    assert after - before == 2  # the two withheld items, counted like any skipped delivery
