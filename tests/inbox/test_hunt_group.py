"""Correlated telephony events: one item per recipient per call, withdrawn for the hunt group."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import select

from herald.db import Database
from herald.inbox.models import InboxEvent, InboxItem, InboxItemHistory
from tests.conftest import Tenant
from tests.notifications.helpers import add_team, add_users, call_event, inbox, user_headers

GROUP = ["ADV", "TST", "JMS"]


async def _events(db: Database, user_id: uuid.UUID) -> list[tuple[int, str]]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(InboxEvent.seq, InboxEvent.event)
            .where(InboxEvent.user_id == user_id)
            .order_by(InboxEvent.seq)
        )
        return [(seq, event) for seq, event in rows]


async def test_hunt_group_answered_leaves_one_item_for_the_answerer(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await add_users(client, tenant, *GROUP)
    await add_team(client, tenant, "hunt", GROUP)
    ringing = await client.post(
        "/notifications",
        json=call_event("incomingCall", {"teams": ["hunt"]}, huntGroup=True),
        headers=tenant.headers,
    )
    assert ringing.json()["recipients"] == 3
    heads = {ext: await user_headers(client, tenant, ext) for ext in GROUP}
    for ext in GROUP:
        assert [i["subType"] for i in (await inbox(client, heads[ext]))["data"]] == ["incomingCall"]
    answered = await client.post(
        "/notifications",
        json=call_event(
            "answeredCall", {"negotiatorId": ["TST"]}, huntGroup=True, answeredById="TST"
        ),
        headers=tenant.headers,
    )
    assert answered.status_code == 202 and answered.json()["recipients"] == 3
    ended = await client.post(
        "/notifications",
        json=call_event("endedCall", {"negotiatorId": ["TST"]}, answeredById="TST"),
        headers=tenant.headers,
    )
    assert ended.json()["recipients"] == 3
    kept = await inbox(client, heads["TST"])
    assert kept["pagination"]["total"] == 1
    item = kept["data"][0]
    assert item["subType"] == "endedCall" and item["data"]["answeredById"] == "TST"
    assert item["notification_id"] == ended.json()["id"]
    for other in ("ADV", "JMS"):
        listed = await inbox(client, heads[other])
        assert listed["data"] == [] and listed["pagination"]["total"] == 0
        assert (await client.get("/v1/me/notifications/count", headers=heads[other])).json() == {
            "unread": 0,
            "unseen": 0,
        }
    async with db.sessions() as session:
        item_id = uuid.UUID(item["id"])
        history = await session.scalars(
            select(InboxItemHistory.sub_type)
            .where(InboxItemHistory.item_id == item_id)
            .order_by(InboxItemHistory.created_at)
        )
        assert list(history) == ["incomingCall", "answeredCall", "endedCall"]
        owners = {
            u: i
            for i, u in (
                await session.execute(
                    select(InboxItem.id, InboxItem.user_id).where(
                        InboxItem.correlation_id == "ax2uyio8p",
                        InboxItem.account_id == tenant.account_id,
                    )
                )
            ).all()
        }
    answerer = next(u for u, i in owners.items() if i == item_id)
    other = next(u for u in owners if u != answerer)
    answerer_events = [e for _, e in await _events(db, answerer)]
    # created, its count, the count after the listing marked it seen, then two updates.
    assert answerer_events == [
        "notification.created",
        "count",
        "count",
        "notification.updated",
        "count",
        "notification.updated",
        "count",
    ]
    other_events = await _events(db, other)
    assert [s for s, _ in other_events] == list(range(1, len(other_events) + 1))
    assert [e for _, e in other_events] == [
        "notification.created",
        "count",
        "count",
        "notification.withdrawn",
        "count",
    ]


async def test_missed_calls_are_counted_but_not_pushed(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await add_users(client, tenant, "ADV")
    sent = await client.post(
        "/notifications",
        json=call_event("missedCall", {"negotiatorId": ["ADV"]}, id="missed-1"),
        headers=tenant.headers,
    )
    assert sent.status_code == 202
    headers = await user_headers(client, tenant, "ADV")
    assert (await client.get("/v1/me/notifications/count", headers=headers)).json() == {
        "unread": 1,
        "unseen": 1,
    }
    async with db.sessions() as session:
        item = await session.scalar(
            select(InboxItem).where(
                InboxItem.correlation_id == "missed-1", InboxItem.account_id == tenant.account_id
            )
        )
        assert item is not None
    assert [e for _, e in await _events(db, item.user_id)] == ["count"]
    listed = await inbox(client, headers)
    assert listed["data"][0]["subType"] == "missedCall" and listed["data"][0]["seen"] is False
    assert (await client.get("/v1/me/notifications/count", headers=headers)).json() == {
        "unread": 1,
        "unseen": 0,
    }


async def test_concurrent_sends_number_events_without_gaps(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await add_users(client, tenant, "a", "b")
    body = {
        "type": "custom",
        "subType": "message",
        "message": "m",
        "targets": {"users": ["a", "b"]},
    }
    sends = [client.post("/v1/notifications", json=body, headers=tenant.headers) for _ in range(8)]
    assert {r.status_code for r in await asyncio.gather(*sends)} == {202}
    async with db.sessions() as session:
        users = list(
            await session.scalars(
                select(InboxItem.user_id)
                .where(InboxItem.account_id == tenant.account_id)
                .distinct()
            )
        )
    assert len(users) == 2
    for user in users:
        assert [s for s, _ in await _events(db, user)] == list(range(1, 17))
