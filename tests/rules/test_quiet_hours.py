"""Quiet hours in the recipient's timezone, DST-correct: the window's end is found on the local
calendar (the pure function, with the moment given), and a real ``herald serve`` holds email
inside the window as ``created`` with ``due_at`` at its end; ``urgent`` sends at once. Time is
injected through ``scheduledAt`` (the moment the delivery is due), never slept."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from herald.rules.quiet import window_end
from tests.rules.conftest import Rig, send, setup_tenant

LONDON = ZoneInfo("Europe/London")
NIGHT = (time(22, 0), time(7, 0))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "ends"),
    [
        # The night the clocks go forward (28 March 2027, 01:00 GMT → 02:00 BST): 07:00 BST.
        ("2027-03-27T23:30:00", "2027-03-28T06:00:00"),
        ("2027-03-28T00:30:00", "2027-03-28T06:00:00"),
        # The night they go back (31 October 2027, 02:00 BST → 01:00 GMT): 07:00 GMT.
        ("2027-10-30T21:30:00", "2027-10-31T07:00:00"),
        ("2027-10-31T01:30:00", "2027-10-31T07:00:00"),  # 01:30 GMT, the second 01:30
        # An ordinary winter night, and a summer one (BST all along).
        ("2027-01-10T23:00:00", "2027-01-11T07:00:00"),
        ("2027-07-10T21:00:00", "2027-07-11T06:00:00"),
    ],
)
def test_the_window_ends_at_the_local_morning_across_dst(moment: str, ends: str) -> None:
    assert window_end(at(moment), LONDON, *NIGHT) == at(ends)


@pytest.mark.parametrize(
    "moment", ["2027-03-28T06:00:00", "2027-10-31T12:00:00", "2027-10-30T20:59:00"]
)
def test_outside_the_window_nothing_waits(moment: str) -> None:
    assert window_end(at(moment), LONDON, *NIGHT) is None


def test_a_daytime_window_and_an_empty_one() -> None:
    lunch = (time(12, 0), time(13, 30))
    assert window_end(at("2027-01-10T12:15:00"), LONDON, *lunch) == at("2027-01-10T13:30:00")
    assert window_end(at("2027-01-10T13:30:00"), LONDON, *lunch) is None
    assert window_end(at("2027-01-10T12:15:00"), LONDON, time(9, 0), time(9, 0)) is None


async def test_email_in_quiet_hours_waits_until_they_end_and_urgent_goes_at_once(
    rig: Rig,
) -> None:
    users = {
        "joe": {"first_name": "Joe", "email": "joe@quiet.test", "timezone": "Europe/London"},
        "kim": {"first_name": "Kim", "email": "kim@quiet.test", "timezone": "Asia/Tokyo"},
    }
    tenant = await setup_tenant(rig, "quiet", users)
    async with rig.herald.client(tenant.api_key) as http:
        window = {"quiet_hours": {"start": "22:00", "end": "07:00"}}
        assert (await http.put("/v1/preferences", json=window)).status_code == 200
    cases = [
        # (scheduledAt, urgent, who, the due_at expected)
        ("2027-03-27T23:30:00Z", False, "joe", "2027-03-28T06:00:00Z"),  # spring forward
        ("2027-10-30T22:30:00Z", False, "joe", "2027-10-31T07:00:00Z"),  # fall back
        ("2027-03-27T23:30:00Z", True, "joe", "2027-03-27T23:30:00Z"),  # urgent
        ("2027-03-27T23:30:00Z", False, "kim", "2027-03-27T23:30:00Z"),  # 08:30 in Tokyo
    ]
    async with rig.herald.client(tenant.api_key) as http:
        for scheduled, urgent, who, due in cases:
            sent = await send(
                rig, tenant, targets={"users": [who]}, scheduledAt=scheduled, urgent=urgent
            )
            listed = (await http.get("/v1/deliveries", params={"notification_id": sent})).json()
            [delivery] = listed["data"]
            assert (delivery["status"], delivery["due_at"]) == ("created", due), (scheduled, who)
            assert delivery["reason"] is None
            inbox = await http.get(f"/v1/users/{who}/notifications")
            assert sent in [item["notification_id"] for item in inbox.json()["data"]]
