"""Seed 004 (the Relatel SMS gateway) against a real ``herald serve``: the seed's request bodies
at ``POST /messages``, ``/employees/{id}/message`` and ``/employee_groups/{id}/message``, and
``GET /messages`` with its filters, answered field by field in the seed's shapes; the sender
rules (a reception's brand name, the company's own name, well-known brands), the authenticated
employee, the allowance, and bad input that writes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.compat.conftest import Seeded
from tests.conftest import Tenant

# The seed's message object and Employee object, as its schema lists them.
MESSAGE_FIELDS = {
    "id", "from_contact", "to_contact", "from_name", "from_number", "from_number_formatted",
    "from_number_hidden", "to_number", "to_name", "to_number_formatted", "endpoint", "employee",
    "direction", "body", "sort_value", "created_at",
}  # fmt: skip
EMPLOYEE_FIELDS = {
    "type", "id", "endpoint", "name", "email", "number", "number_formatted", "do_not_disturb",
    "do_not_disturb_label", "do_not_disturb_emoji", "do_not_disturb_ended_at", "dnd_timeout_at",
    "dnd_reception_action", "dnd_message", "live_presence", "live_presence_updated_at", "locale",
    "speed_dial", "has_switch", "cloak_reception", "cloak_tracking_reception",
    "cloak_tracking_enabled", "employee_group_ids", "country_code", "in_trial", "company_id",
    "features", "admin", "is_admin", "admin_abilities", "subscription_ids", "avatar", "visible",
    "mobile_product_title", "shadow_reception",
}  # fmt: skip
SEED_NUMBER = re.compile(r"^[1-9]\d{6,14}$")  # country code, no 00 or +
# The seed's examples: "a Danish number would be: 4571999999"; its orders use 4571991234.
EMPLOYEE_NUMBER, OTHER_NUMBER = "4571999999", "4571991234"
EXAMPLE_NUMBERS = ["4571000000", "4571000001"]  # the seed's to_numbers (not valid numbers)


def example(endpoint: str | None = None, hidden: bool = False, **body: Any) -> dict[str, Any]:
    """The seed's message body, its ``endpoint`` placeholder filled in (or left out)."""
    message: dict[str, Any] = {"body": "string", "from_number_hidden": hidden}
    if endpoint is not None:
        message["endpoint"] = endpoint
    return {"message": message, **body}


def check_message(obj: dict[str, Any], *, failed: bool = False) -> None:
    """A message object of the seed's shape (``error`` added when it failed)."""
    assert set(obj) == MESSAGE_FIELDS | ({"error"} if failed else set())
    assert (obj["id"] is None) is failed
    assert obj["direction"] in ("outgoing", "incoming")
    assert isinstance(obj["from_number_hidden"], bool)
    for field in ("from_number", "to_number"):
        assert obj[field] is None or "+" not in obj[field]
    if not failed:
        assert SEED_NUMBER.match(obj["to_number"])
    assert obj["sort_value"] == obj["created_at"]
    assert datetime.fromisoformat(obj["created_at"]).tzinfo is not None
    if obj["employee"] is not None:
        employee = obj["employee"]
        assert set(employee) <= EMPLOYEE_FIELDS
        assert employee["type"] == "Employee"
        assert employee["endpoint"] == f"Employee#{employee['id']}"


async def _company(seeded: Seeded) -> tuple[Tenant, Tenant, str]:
    """A reseller, its customer "Bakery" with employees 1 (mobile), 2 (mobile) and 3 (none)
    in employee group 1; employee 1's token."""
    reseller = await seeded.tenant("Reseller")
    bakery = await seeded.tenant("Bakery", parent=reseller)
    async with seeded.client(bakery.api_key) as http:
        people = {
            "1": {"name": "Jane Doe", "phone": EMPLOYEE_NUMBER, "email": "jane@bakery.dk"},
            "2": {"name": "John Doe", "phone": OTHER_NUMBER},
            "3": {"name": "Sam"},
        }
        for external_id, fields in people.items():
            assert (await http.put(f"/v1/users/{external_id}", json=fields)).status_code == 201
        assert (await http.put("/v1/teams/1", json={"members": ["1", "2", "3"]})).status_code == 200
        token: str = (await http.post("/v1/users/1/tokens")).json()["token"]
    return reseller, bakery, token


async def _reception(http: httpx.AsyncClient, name: str) -> dict[str, Any]:
    answer = await http.put(f"/v1/senders/{name}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _listed(http: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    answer = await http.get("/messages", params=params)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"messages"}
    messages: list[dict[str, Any]] = answer.json()["messages"]
    for message in messages:
        check_message(message)
    return messages


async def test_the_seeds_example_to_numbers(seeded: Seeded) -> None:
    _, bakery, token = await _company(seeded)
    async with seeded.client(bakery.api_key) as http:
        reception = f"Reception#{(await _reception(http, 'Bakery'))['id']}"
    async with seeded.client(token) as me:
        # As written: neither example number is a valid number, so nothing can be sent.
        literal = await me.post("/messages", json=example(reception, to_numbers=EXAMPLE_NUMBERS))
        assert literal.status_code == 422
        assert [d["path"] for d in literal.json()["error"]["details"]] == ["/to_numbers"] * 2
        numbers = [OTHER_NUMBER, EXAMPLE_NUMBERS[0]]
        answer = await me.post("/messages", json=example(reception, to_numbers=numbers))
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert set(body) == {"sent", "failed_numbers"} and body["sent"] == 1
        [failed] = body["failed_numbers"]
        check_message(failed, failed=True)
        assert (failed["to_number"], failed["to_number_formatted"]) == ("4571000000", None)
        assert "not a valid phone number" in failed["error"]
        assert (failed["endpoint"], failed["body"], failed["direction"]) == (
            reception,
            "string",
            "outgoing",
        )
        [sent] = await _listed(me)
    # Not hidden: the authenticated employee's number is the sender.
    assert (sent["to_number"], sent["to_number_formatted"]) == (OTHER_NUMBER, "71 99 12 34")
    assert (sent["from_number"], sent["from_number_formatted"]) == (EMPLOYEE_NUMBER, "71 99 99 99")
    assert (sent["from_name"], sent["from_number_hidden"]) == ("Jane Doe", False)
    assert (sent["endpoint"], sent["body"], sent["direction"]) == (reception, "string", "outgoing")
    assert (sent["from_contact"], sent["to_contact"], sent["to_name"]) == (None, None, None)
    assert sent["employee"] == {
        "type": "Employee", "id": "1", "endpoint": "Employee#1", "name": "Jane Doe",
        "email": "jane@bakery.dk", "number": EMPLOYEE_NUMBER, "number_formatted": "71 99 99 99",
        "locale": None, "admin": False, "is_admin": False, "company_id": str(bakery.account_id),
    }  # fmt: skip


async def test_a_reception_shows_its_approved_short_brand_name(seeded: Seeded) -> None:
    reseller, bakery, token = await _company(seeded)
    async with seeded.client(bakery.api_key) as http:
        own = await _reception(http, "Bakery")  # the company's own name: fast-tracked
        cakes = await _reception(http, "Cakes")
        bank = await _reception(http, "Danske Bank")  # a well-known brand: auto-rejected
    assert [(r["name"], r["status"]) for r in (own, cakes, bank)] == [
        ("Bakery", "approved"), ("Cakes", "pending"), ("Danske Bank", "rejected")
    ]  # fmt: skip
    async with seeded.client(token) as me:
        hidden = await me.post(
            "/messages", json=example(f"Reception#{own['id']}", True, to_numbers=[OTHER_NUMBER])
        )
        assert hidden.status_code == 202, hidden.text
        [sent] = await _listed(me)
        assert (sent["from_name"], sent["from_number"], sent["from_number_formatted"]) == (
            "Bakery",
            None,
            None,
        )
        assert sent["from_number_hidden"] is True
        for sender in (cakes, bank):
            refused = await me.post(
                "/messages",
                json=example(f"Reception#{sender['id']}", True, to_numbers=[OTHER_NUMBER]),
            )
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"]["code"] == "sender_not_approved"
    async with seeded.client(reseller.api_key) as parent:
        base = f"/v1/accounts/{bakery.account_id}/senders"
        assert (await parent.post(f"{base}/Cakes/approve")).json()["status"] == "approved"
        brand = await parent.post(f"{base}/Danske Bank/approve")
        assert brand.status_code == 409 and brand.json()["error"]["code"] == "brand_name_rejected"
    async with seeded.client(token) as me:
        cakes_send = example(f"Reception#{cakes['id']}", True, to_numbers=[OTHER_NUMBER])
        assert (await me.post("/messages", json=cakes_send)).status_code == 202
        bank_send = example(f"Reception#{bank['id']}", True, to_numbers=[OTHER_NUMBER])
        assert (await me.post("/messages", json=bank_send)).status_code == 400
        assert len(await _listed(me)) == 2


async def test_an_employee_and_an_employee_group(seeded: Seeded) -> None:
    _, bakery, token = await _company(seeded)
    async with seeded.client(token) as me:
        one = await me.post("/employees/2/message", json=example())
        assert one.status_code == 202 and one.json() == {"sent": 1, "failed_numbers": []}
        group = await me.post("/employee_groups/1/message", json=example("Employee#1"))
        assert group.status_code == 202, group.text
        assert group.json()["sent"] == 2  # "how many group members were reached"
        [failed] = group.json()["failed_numbers"]
        check_message(failed, failed=True)
        assert (failed["to_number"], failed["to_name"]) == (None, "Sam")
        assert failed["error"] == "user 3 has no phone number"
        listed = await _listed(me)
    assert [(m["to_number"], m["to_name"], m["endpoint"]) for m in listed] == [
        (OTHER_NUMBER, "John Doe", "Employee#1"),
        (EMPLOYEE_NUMBER, "Jane Doe", "Employee#1"),
        (OTHER_NUMBER, "John Doe", "Employee#1"),
    ]
    async with seeded.client(bakery.api_key) as http:
        # A server key names the employee it sends for: that user's number is the sender.
        server = await http.post("/employees/1/message", json=example("Employee#2"))
        assert server.status_code == 202
        [latest, *_] = await _listed(http)
        assert (latest["from_number"], latest["to_number"], latest["endpoint"]) == (
            OTHER_NUMBER, EMPLOYEE_NUMBER, "Employee#2",
        )  # fmt: skip
        assert latest["employee"]["id"] == "2"
        assert (await http.post("/employee_groups/9/message", json=example())).status_code == 404
        assert (await http.post("/employees/99/message", json=example())).status_code == 404


async def test_the_list_filters(seeded: Seeded) -> None:
    _, bakery, token = await _company(seeded)
    async with seeded.client(bakery.api_key) as http:
        reception = f"Reception#{(await _reception(http, 'Bakery'))['id']}"
        before = datetime.now(UTC) - timedelta(seconds=1)
        assert (
            await http.post("/messages", json=example(reception, to_numbers=[OTHER_NUMBER]))
        ).status_code == 202
    async with seeded.client(token) as me:
        assert (
            await me.post("/messages", json=example(to_numbers=[OTHER_NUMBER]))
        ).status_code == 202
    after = datetime.now(UTC) + timedelta(seconds=1)
    async with seeded.client(bakery.api_key) as http:
        everything = await _listed(http)
        assert [m["endpoint"] for m in everything] == ["Employee#1", reception]
        assert [m["endpoint"] for m in await _listed(http, endpoint=reception)] == [reception]
        assert len(await _listed(http, endpoint="Employee#1")) == 1
        assert await _listed(http, endpoint="Employee#2") == []
        assert len(await _listed(http, created_at_gt_or_eq=before.isoformat())) == 2
        assert await _listed(http, created_at_gt_or_eq=after.isoformat()) == []
        assert await _listed(http, created_at_lt_or_eq=before.isoformat()) == []
        naive = after.replace(tzinfo=None).isoformat()  # read as UTC
        assert len(await _listed(http, created_at_lt_or_eq=naive)) == 2
        first, second = everything
        assert [m["id"] for m in await _listed(http, per_page=1, page=2)] == [second["id"]]
        assert first["employee"]["id"] == "1" and second["employee"] is None
    async with seeded.client(token) as me:
        # The authenticated employee lists the messages sent by or for them.
        assert [m["endpoint"] for m in await _listed(me)] == ["Employee#1"]


async def test_an_exhausted_allowance_is_the_seeds_overuse_full(seeded: Seeded) -> None:
    reseller, bakery, token = await _company(seeded)
    async with seeded.client(reseller.api_key) as parent:
        limits = {"limits": {"sms_allowance": 1}}
        assert (
            await parent.patch(f"/v1/accounts/{bakery.account_id}", json=limits)
        ).status_code == 200
    async with seeded.client(token) as me:
        over = await me.post("/messages", json=example(to_numbers=[OTHER_NUMBER, EMPLOYEE_NUMBER]))
        assert over.status_code == 429
        assert over.json()["error"]["code"] == "rate_limit_reached.overuse_full"
        assert 0 < int(over.headers["Retry-After"]) <= 31 * 24 * 3600
        assert await _listed(me) == []
        assert (
            await me.post("/messages", json=example(to_numbers=[OTHER_NUMBER]))
        ).status_code == 202


async def test_an_oauth_access_token_works_as_the_seed_authenticates(seeded: Seeded) -> None:
    _, bakery, _ = await _company(seeded)
    form = {
        "grant_type": "client_credentials",
        "client_id": str(bakery.key_id),
        "client_secret": bakery.api_key,
        "scope": "notifications.write deliveries.read",
    }
    async with seeded.client() as anonymous:
        issued = await anonymous.post("/oauth/token", data=form)
        assert issued.status_code == 200, issued.text
        token = issued.json()["access_token"]
    async with seeded.client(token) as app:
        assert (
            await app.post("/messages", json=example(to_numbers=[OTHER_NUMBER]))
        ).status_code == 202
        assert len(await _listed(app)) == 1


async def test_bad_input_is_refused_and_nothing_is_written(seeded: Seeded) -> None:
    _, bakery, token = await _company(seeded)
    async with seeded.client(token) as me:
        cases: list[tuple[Any, int, str | None]] = [
            ({"to_numbers": [OTHER_NUMBER]}, 422, "/message"),
            (example(to_numbers=[]), 422, "/to_numbers"),
            (example(), 422, "/to_numbers"),
            (example("Reception#1", to_numbers=[OTHER_NUMBER]), 422, "/message/endpoint"),
            (example("Employee#2", to_numbers=[OTHER_NUMBER]), 403, None),
            (example("Employee#1", True, to_numbers=[OTHER_NUMBER]), 400, None),
            (example(to_numbers=[OTHER_NUMBER], extra=True), 422, "/extra"),
            ({"message": {"body": ""}, "to_numbers": [OTHER_NUMBER]}, 422, "/message/body"),
        ]
        for body, status, path in cases:
            answer = await me.post("/messages", json=body)
            assert answer.status_code == status, (body, answer.text)
            if path is not None:
                assert path in {d["path"] for d in answer.json()["error"]["details"]}, answer.text
        too_deep = {"page": 101}  # 10,000 messages deep at 100 a page
        for params in (
            {"created_at_gt_or_eq": "yesterday"},
            {"per_page": 0},
            {"page": 0},
            too_deep,
        ):
            refused = await me.get("/messages", params=params)
            assert refused.status_code == 422, params
            assert refused.json()["error"]["details"][0]["path"].startswith("/query/")
        broken = await me.post(
            "/messages", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert broken.status_code == 400
        assert await _listed(me) == []
    async with seeded.client(bakery.api_key) as http:
        unknown = await http.post(
            "/messages", json=example("Employee#nobody", to_numbers=[OTHER_NUMBER])
        )
        assert unknown.status_code == 422
        no_phone = await http.post("/employees/3/message", json=example())
        assert no_phone.status_code == 422
        assert no_phone.json()["error"]["details"] == [
            {"path": "", "message": "user 3 has no phone number"}
        ]
    reader = await seeded.key(bakery.account_id, "users.read")
    async with seeded.client(reader) as http:
        assert (
            await http.post("/messages", json=example(to_numbers=[OTHER_NUMBER]))
        ).status_code == 403
        assert (await http.get("/messages")).status_code == 403
    async with seeded.client() as anonymous:
        assert (await anonymous.get("/messages")).status_code == 401
    other = await seeded.tenant("Other")
    async with seeded.client(other.api_key) as http:
        assert (await http.post("/employee_groups/1/message", json=example())).status_code == 404
        assert await _listed(http) == []
