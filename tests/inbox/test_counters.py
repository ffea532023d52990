"""The unread and unseen counters (migration 0014) agree with the items after every kind of
change: sends (concurrent ones too), chains and claims, read, read-all, seen, delete, cancel
(withdraw), and rows deleted by the database (the retention purge, cascades)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import delete, func, select

from herald.db import Database
from herald.directory.models import User
from herald.inbox.models import InboxItem, UserInboxSeq
from herald.notifications.models import Notification
from tests.conftest import Tenant
from tests.notifications.helpers import add_users, call_event, inbox, user_headers

USERS = ("c1", "c2", "c3")


def message(text: str, users: list[str]) -> dict[str, Any]:
    return {"type": "custom", "subType": "message", "message": text, "targets": {"users": users}}


async def _truth(db: Database, tenant: Tenant) -> dict[str, tuple[int, int, int, int]]:
    """external id → (unread counter, counted unread, unseen counter, counted unseen)."""
    found: dict[str, tuple[int, int, int, int]] = {}
    async with db.sessions() as session:
        users = (
            await session.execute(
                select(User.id, User.external_id).where(User.account_id == tenant.account_id)
            )
        ).all()
        for user_id, external_id in users:
            kept = (
                await session.execute(
                    select(UserInboxSeq.unread, UserInboxSeq.unseen).where(
                        UserInboxSeq.user_id == user_id
                    )
                )
            ).first()
            visible = [InboxItem.user_id == user_id, InboxItem.withdrawn_at.is_(None)]
            unread = await session.scalar(
                select(func.count()).where(*visible, InboxItem.read_at.is_(None))
            )
            unseen = await session.scalar(
                select(func.count()).where(*visible, InboxItem.seen_at.is_(None))
            )
            counters = (kept[0], kept[1]) if kept is not None else (0, 0)
            found[external_id] = (counters[0], int(unread or 0), counters[1], int(unseen or 0))
    return found


async def _assert_no_drift(db: Database, tenant: Tenant) -> None:
    for user, (unread, counted_unread, unseen, counted_unseen) in (
        await _truth(db, tenant)
    ).items():
        assert (unread, unseen) == (counted_unread, counted_unseen), user


async def test_counters_follow_every_change(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await add_users(client, tenant, *USERS)
    headers = tenant.headers
    sends = [
        client.post("/v1/notifications", json=message(f"m{n}", list(USERS)), headers=headers)
        for n in range(12)
    ]
    assert {a.status_code for a in await asyncio.gather(*sends)} == {202}
    await _assert_no_drift(db, tenant)
    assert (await _truth(db, tenant))["c1"][:1] == (12,)

    me = await user_headers(client, tenant, "c1")
    items = (await inbox(client, me))["data"]  # listing marks them seen
    await client.put(f"/notifications/{items[0]['id']}/read", headers=me)
    assert (await client.delete(f"/v1/me/notifications/{items[1]['id']}", headers=me)).status_code
    await _assert_no_drift(db, tenant)
    assert (await client.get("/v1/me/notifications/count", headers=me)).json() == {
        "unread": 10,
        "unseen": 0,
    }

    # Reads, sends and read-all at once: the badge must land where the items are.
    two = await user_headers(client, tenant, "c2")
    racing = [
        *(
            client.post("/v1/notifications", json=message(f"r{n}", ["c2"]), headers=headers)
            for n in range(6)
        ),
        client.put("/notifications/read", headers=two),
        client.get("/v1/me/notifications", headers=two),
    ]
    await asyncio.gather(*racing)
    await _assert_no_drift(db, tenant)

    # A cancelled notification withdraws its items.
    sent = await client.post("/v1/notifications", json=message("gone", ["c3"]), headers=headers)
    cancelled = await client.delete(f"/v1/notifications/{sent.json()['id']}", headers=headers)
    assert cancelled.status_code == 204
    await _assert_no_drift(db, tenant)


async def test_counters_follow_chains_claims_and_deletes_by_the_database(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await add_users(client, tenant, "h1", "h2", "h3")
    call = f"call-{uuid.uuid4()}"
    ringing = call_event("incomingCall", {"users": ["h1", "h2", "h3"]}, id=call, huntGroup=True)
    assert (await client.post("/v1/notifications", json=ringing, headers=tenant.headers)).is_success
    answered = call_event(
        "answeredCall", {"users": ["h2"]}, id=call, huntGroup=True, answeredById="h2"
    )
    claim = await client.post("/v1/notifications", json=answered, headers=tenant.headers)
    assert claim.status_code == 202, claim.text
    truth = await _truth(db, tenant)
    await _assert_no_drift(db, tenant)
    assert truth["h1"][0] == 0 and truth["h2"][0] == 1  # the claim withdrew the others' items

    extra = await client.post(
        "/v1/notifications", json=message("x", ["h1", "h2"]), headers=tenant.headers
    )
    async with db.sessions() as session, session.begin():  # what the retention purge does
        await session.execute(
            delete(InboxItem).where(InboxItem.notification_id == uuid.UUID(extra.json()["id"]))
        )
    await _assert_no_drift(db, tenant)
    async with db.sessions() as session, session.begin():  # a cascade from the notification
        await session.execute(
            delete(Notification).where(Notification.id == uuid.UUID(claim.json()["id"]))
        )
    await _assert_no_drift(db, tenant)
