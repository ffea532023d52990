"""Seed 001 (a CRM's notifications API) against a real ``herald serve``: the custom
notification, the user's list in the seed's shape, read marks, devices, the whole notification
catalogue (each sample validated and its text written as the seed writes it), and the push to
an Android device carrying the seed's notification object."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from tests.channels.push.test_fcm import EMAIL, KEY_PEM, Google
from tests.channels.servers.http import Server, serve
from tests.compat.conftest import Seeded, eventually
from tests.compat.seeds import as_meant, personalisation_for, seed001, seed001_samples, sub_type_of
from tests.conftest import Tenant

ITEM_FIELDS = {
    "id",
    "type",
    "data",
    "message",
    "message_formatted",
    "read",
    "read_at",
    "created_at",
}
PAGINATION_FIELDS = {"total", "page", "per_page", "urls", "unread"}
CUSTOM = {
    "message": "This is a custom notification",
    "notify": {"users": [1, 54, 23], "teams": [1, 5, 8]},
}


async def _crm(seeded: Seeded) -> tuple[Tenant, str]:
    """A tenant with the seed's users 1, 54, 23 and teams 1, 5, 8; user 1's token."""
    tenant = await seeded.tenant("crm")
    async with seeded.client(tenant.api_key) as http:
        for user in ("1", "54", "23", "4"):
            assert (
                await http.put(f"/v1/users/{user}", json={"first_name": f"U{user}"})
            ).status_code == 201
        for team, members in (("1", ["1", "54"]), ("5", ["23"]), ("8", ["4"])):
            assert (
                await http.put(f"/v1/teams/{team}", json={"members": members})
            ).status_code == 200
        token: str = (await http.post("/v1/users/1/tokens")).json()["token"]
    return tenant, token


def _shaped_like_the_seed(item: dict[str, Any]) -> None:
    assert set(item) >= ITEM_FIELDS
    assert isinstance(item["id"], str) and isinstance(item["type"], str)
    assert isinstance(item["data"], dict) and isinstance(item["message"], str)
    assert item["message_formatted"] is None or isinstance(item["message_formatted"], str)
    assert isinstance(item["read"], bool)
    assert (item["read_at"] is None) is (not item["read"])
    assert isinstance(item["created_at"], str)


async def test_a_custom_notification_reaches_users_and_teams(seeded: Seeded) -> None:
    tenant, token = await _crm(seeded)
    async with seeded.client(tenant.api_key) as http:
        answer = await http.post("/notifications", json=CUSTOM)
        assert answer.status_code == 202, answer.text
        assert answer.json()["queued"] is True
        assert answer.json()["recipients"] == 4  # users 1, 54, 23 and team 8's user 4
    async with seeded.client(token) as me:
        listed = (await me.get("/notifications")).json()
    assert set(listed) == {"data", "pagination"}
    assert set(listed["pagination"]) >= PAGINATION_FIELDS
    pagination = listed["pagination"]
    assert (pagination["total"], pagination["page"], pagination["per_page"]) == (1, 1, 15)
    assert pagination["urls"] == {"previous": None, "next": None} and pagination["unread"] == 1
    [item] = listed["data"]
    _shaped_like_the_seed(item)
    assert (item["type"], item["message"], item["read"]) == ("custom", CUSTOM["message"], False)


async def test_read_marks_one_and_all(seeded: Seeded) -> None:
    tenant, token = await _crm(seeded)
    async with seeded.client(tenant.api_key) as http:
        for text in ("one", "two"):
            body = {"message": text, "notify": {"users": [1]}}
            assert (await http.post("/notifications", json=body)).status_code == 202
    async with seeded.client(token) as me:
        first, _ = (await me.get("/notifications")).json()["data"]
        assert (await me.put(f"/notifications/{first['id']}/read")).status_code == 204
        unread = (await me.get("/notifications", params={"show": "unread"})).json()
        assert [i["message"] for i in unread["data"]] == ["one"]
        assert unread["pagination"]["unread"] == 1
        read = next(i for i in (await me.get("/notifications")).json()["data"] if i["read"])
        assert read["id"] == first["id"] and read["read_at"] is not None
        assert (await me.put("/notifications/read")).status_code == 204
        assert (await me.get("/notifications")).json()["pagination"]["unread"] == 0
        missing = await me.put("/notifications/01a23000-0000-7000-8000-000000000000/read")
        assert missing.status_code == 404
        assert (await me.put("/notifications/not-an-id/read")).status_code == 422


async def test_devices_register_and_unregister(seeded: Seeded) -> None:
    tenant, token = await _crm(seeded)
    async with seeded.client(token) as me:
        # The seed's own body ends with a comma, which JSON does not allow.
        literal = await me.post(
            "/notifications/devices/apns-token-1",
            content=b'{\n  "type": "iOS",\n}',
            headers={"Content-Type": "application/json"},
        )
        assert literal.status_code == 400 and literal.json()["error"]["code"] == "invalid_json"
        assert (
            await me.post("/notifications/devices/apns-token-1", json={"type": "iOS"})
        ).status_code == 204
        assert (await me.post("/notifications/devices/default-ios")).status_code == 204
        assert (
            await me.post("/notifications/devices/fcm-1", json={"type": "Android"})
        ).status_code == 204
        refused = await me.post("/notifications/devices/x", json={"type": "Windows"})
        assert (
            refused.status_code == 422 and refused.json()["error"]["details"][0]["path"] == "/type"
        )
    async with seeded.client(tenant.api_key) as http:
        devices = (await http.get("/v1/users/1/devices")).json()["data"]
        assert {(d["token"], d["type"]) for d in devices} == {
            ("apns-token-1", "iOS"), ("default-ios", "iOS"), ("fcm-1", "Android")
        }  # fmt: skip
        assert (await http.post("/notifications/devices/x")).status_code == 403  # a user's route
    async with seeded.client(token) as me:
        assert (await me.delete("/notifications/devices/apns-token-1")).status_code == 204
    async with seeded.client(tenant.api_key) as http:
        assert len((await http.get("/v1/users/1/devices")).json()["data"]) == 2


async def test_the_catalogue_validates_every_sample(seeded: Seeded) -> None:
    tenant, _ = await _crm(seeded)
    async with seeded.client(tenant.api_key) as http:
        listed = (await http.get("/v1/notification-types", params={"per_page": 100})).json()
    types = {(t["type"], t["subType"]): t for t in listed["data"]}
    for sample in seed001_samples():
        served = types[(sample["type"], sub_type_of(sample))]
        errors = list(Draft202012Validator(served["schema"]).iter_errors(sample["data"]))
        assert not errors, (sample["id"], [e.message for e in errors])
        assert set(personalisation_for(sample)) <= set(served["personalisation"])
        assert served["template"] and served["builtin"] is True


async def _send_sample(
    http: httpx.AsyncClient, sample: dict[str, Any], **extra: Any
) -> httpx.Response:
    body = {
        "type": sample["type"],
        "subType": sub_type_of(sample),
        "targets": {"users": ["1"]},
        "payload": sample["data"],
        "personalisation": personalisation_for(sample),
        **extra,
    }
    return await http.post("/notifications", json=body)


async def test_each_type_writes_the_seeds_text(seeded: Seeded) -> None:
    tenant, token = await _crm(seeded)
    samples = seed001_samples()
    async with seeded.client(tenant.api_key) as http:
        for sample in samples:
            answer = await _send_sample(http, sample)
            assert answer.status_code == 202, (sample["id"], answer.text)
    async with seeded.client(token) as me:
        items = (await me.get("/notifications", params={"per_page": 100})).json()["data"]
    assert len(items) == len(samples)
    for item, sample in zip(reversed(items), samples, strict=True):
        _shaped_like_the_seed(item)
        assert (item["type"], item["data"]) == (sample["type"], sample["data"])
        assert item["message"] == as_meant(sample["message"]), sample["id"]
        assert item["message_formatted"] == as_meant(sample["message_formatted"]), sample["id"]


async def test_the_list_answer_of_the_seed_is_written_alike(seeded: Seeded) -> None:
    # GET /notifications in the seed: two notes and two inbox items, with their texts.
    tenant, token = await _crm(seeded)
    people = {"Jane Doe's": "Jane Doe", "John Doe's": "John Doe", "Jane Does's": "Jane Does"}
    expected = list(reversed(seed001()["list_answer"]["data"]))
    async with seeded.client(tenant.api_key) as http:
        for entry in expected:
            message = entry["message"]
            contact = next(name for key, name in people.items() if key in message)
            note = message.split(" <br> ")[1]
            personalisation = {"contact_name": contact, "note": note}
            body = {"type": entry["type"], "subType": entry["type"], "targets": {"users": ["1"]},
                    "payload": entry["data"], "personalisation": personalisation}  # fmt: skip
            assert (await http.post("/notifications", json=body)).status_code == 202
    async with seeded.client(token) as me:
        items = (await me.get("/notifications")).json()["data"]
    assert [(i["type"], i["data"], i["message"]) for i in items] == [
        (e["type"], e["data"], e["message"]) for e in reversed(expected)
    ]
    assert [i["message_formatted"] for i in items] == [
        as_meant(e["message_formatted"]) for e in reversed(expected)
    ]


async def test_without_personalisation_the_text_says_less_and_a_sender_may_write_it(
    seeded: Seeded,
) -> None:
    tenant, token = await _crm(seeded)
    note = seed001_samples()[0]
    async with seeded.client(tenant.api_key) as http:
        plain = {
            "type": "note",
            "subType": "note",
            "targets": {"users": ["1"]},
            "payload": note["data"],
        }
        assert (await http.post("/notifications", json=plain)).status_code == 202
        own = {
            **plain,
            "message": "Look at case 6",
            "message_formatted": '<p onclick="x()">Look<script>x()</script></p>',
        }
        assert (await http.post("/notifications", json=own)).status_code == 202
    async with seeded.client(token) as me:
        written, default = (await me.get("/notifications")).json()["data"]
    assert default["message"] == "Bernita Kilback mentioned you in a note on case 6"
    assert default["message_formatted"] == (
        "<p><strong>Bernita Kilback</strong> mentioned you in a <strong>note</strong> on "
        "<strong>case 6</strong></p>"
    )
    assert (written["message"], written["message_formatted"]) == ("Look at case 6", "<p>Look</p>")


async def test_bad_catalogue_events_are_refused_and_nothing_is_written(seeded: Seeded) -> None:
    tenant, token = await _crm(seeded)
    note, *_ = seed001_samples()
    level = next(s for s in seed001_samples() if s["type"] == "gamification")
    async with seeded.client(tenant.api_key) as http:
        no_case = {**note, "data": {"user": note["data"]["user"]}}
        wrong_event = {**level, "data": {**level["data"], "event": {"type": "badge_achieved"}}}
        cases = [
            (await _send_sample(http, no_case), "/payload/case"),
            (await _send_sample(http, wrong_event, subType="new_level"), "/payload/event/type"),
            (await _send_sample(http, note, subType="mention"), "/subType"),
            (
                await http.post(
                    "/notifications", json={"message": "x" * 513, "notify": {"users": [1]}}
                ),
                "/message",
            ),
            (await http.post("/notifications", json={"message": "hi", "notify": {}}), "/notify"),
            (
                await http.post(
                    "/notifications", json={"message": "hi", "notify": {"users": [99]}}
                ),
                None,
            ),
        ]
        for answer, path in cases:
            assert answer.status_code == 422, answer.text
            if path is not None:
                assert path in {d["path"] for d in answer.json()["error"]["details"]}, answer.text
        assert (await http.get("/notifications")).status_code == 403  # the list is a user's
    async with seeded.client(token) as me:
        assert (await me.get("/notifications")).json()["pagination"]["total"] == 0
        assert (await me.get("/notifications", params={"show": "some"})).status_code == 422


@pytest.fixture
def fcm() -> Iterator[tuple[Google, Server]]:
    """A local FCM: its token endpoint and its send endpoint."""
    google = Google()
    with serve(google.token) as token_server, serve(google.send) as api:
        google.token_uri = f"{token_server.url}/token"
        yield google, api


async def test_the_push_to_android_is_the_seeds_notification_object(
    seeded: Seeded, fcm: tuple[Google, Server]
) -> None:
    google, api = fcm
    tenant, token = await _crm(seeded)
    account = {"type": "service_account", "project_id": "demo-project", "client_email": EMAIL,
               "private_key": KEY_PEM}  # fmt: skip
    settings = {"service_account": json.dumps(account), "token_uri": google.token_uri,
                "api_base_url": api.url}  # fmt: skip
    async with seeded.client(tenant.api_key) as http:
        put = await http.put("/v1/providers/push/fcm", json={"settings": settings})
        assert put.status_code == 200, put.text
    async with seeded.client(token) as me:
        assert (
            await me.post("/notifications/devices/droid-1", json={"type": "Android"})
        ).status_code == 204
    sample = next(s for s in seed001_samples() if s["type"] == "task_assigned")
    async with seeded.client(tenant.api_key) as http:
        assert (await _send_sample(http, sample)).status_code == 202

    async def pushed() -> bool:
        return bool(api.requests)

    await eventually(pushed, what="the push to reach the local FCM")
    message = json.loads(api.requests[0].body)["message"]
    async with seeded.client(token) as me:
        [item] = (await me.get("/notifications")).json()["data"]
    data = message["data"]
    assert message["token"] == "droid-1"
    assert set(data) >= ITEM_FIELDS and all(isinstance(v, str) for v in data.values())
    assert data["id"] == item["id"] and data["type"] == "task_assigned"
    assert json.loads(data["data"]) == sample["data"]
    assert data["message"] == sample["message"]
    assert data["message_formatted"] == sample["message_formatted"]
    assert (json.loads(data["read"]), json.loads(data["read_at"])) == (False, None)
    assert data["created_at"] == item["created_at"]
    assert message["notification"] == {"title": "Task assigned", "body": sample["message"]}
