"""Group commit (herald.notifications.grouping) on both databases: members that fail among good
ones fail alone with their own answer, one idempotency key twice in a group is one
notification, and each group is one commit. (The daily cap under concurrency, through two
grouping applications at once: tests/throttling/test_daily_cap.py.)"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select, update

from herald.accounts import cache
from herald.accounts.models import Account
from herald.app import create_app
from herald.db import Database
from herald.delivery.models import Delivery
from herald.directory.models import User
from herald.inbox.models import InboxEvent, InboxItem, UserInboxSeq
from herald.notifications.models import Notification
from herald.throttling.models import DailyUsage
from tests.conftest import Tenant, settings_for
from tests.notifications.helpers import add_users, call_event, inbox, user_headers

GROUP = 4  # every test sends one group of exactly this many accepts at once


@pytest.fixture(autouse=True)
def _credentials_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Warmed credentials stay trusted for the whole test: with the cache's 1 s a slow box
    renews a key inside the measured block, a commit of its own beside the group's."""
    monkeypatch.setattr(cache, "TTL", 600.0)


@pytest.fixture(scope="module")
async def grouping_app(database_url: str) -> AsyncIterator[FastAPI]:
    """An application whose groups commit only when full (or after 30 s): the accepts sent
    together in a test are one group, whatever the order they arrive in."""
    settings = settings_for(database_url, group_commit_window_ms=30_000, group_commit_size=GROUP)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
async def grouped(grouping_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=grouping_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://grouped.test") as http:
        yield http


@contextmanager
def commits(app: FastAPI) -> Iterator[list[int]]:
    """How many transactions the application's engine committed in the block."""
    counted: list[int] = []
    engine = app.state.runtime.db.engine.sync_engine

    def committed(_conn: Any) -> None:
        counted.append(1)

    event.listen(engine, "commit", committed)
    try:
        yield counted
    finally:
        event.remove(engine, "commit", committed)


async def one_group(
    app: FastAPI, requests: Iterable[Awaitable[httpx.Response]]
) -> list[httpx.Response]:
    """The answers to ``requests`` sent at once, checked to be one group: one transaction."""
    with commits(app) as committed:
        answers = await asyncio.gather(*requests)
    assert len(committed) == 1  # one group, one transaction
    return answers


def message(text: str, user: str) -> dict[str, Any]:
    """An in-app message to one user: one message against the daily cap."""
    return {
        "type": "custom",
        "subType": "message",
        "message": text,
        "targets": {"users": [user]},
        "channels": ["in_app"],
    }


async def _user_id(db: Database, tenant: Tenant, external_id: str) -> uuid.UUID:
    async with db.sessions() as session:
        found = await session.scalar(
            select(User.id).where(
                User.account_id == tenant.account_id, User.external_id == external_id
            )
        )
    assert found is not None
    return found


async def _warm(grouped: httpx.AsyncClient, *tenants: Tenant) -> None:
    """Authenticate each key once, so that no key read commits inside the measured block."""
    for tenant in tenants:
        assert (await grouped.get("/v1/notifications", headers=tenant.headers)).status_code == 200


async def test_failing_members_fail_alone_among_good_ones(
    grouped: httpx.AsyncClient, grouping_app: FastAPI, make_tenant: Any, db: Database
) -> None:
    capped, other = await make_tenant("capped"), await make_tenant("other")
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == capped.account_id).values(daily_limit=2)
        )
    await add_users(grouped, capped, "a")
    await add_users(grouped, other, "b")
    await _warm(grouped, capped, other)
    # Three one-message accepts against a cap of two: the last to be charged is refused by the
    # database after its notification, item and events were written. The fourth names a
    # claimer nobody knows: refused before it writes anything.
    unknown_claim = call_event("answeredCall", {"users": ["b"]}, answeredById="nobody")
    requests = [
        *(grouped.post("/v1/notifications", json=message(f"m{n}", "a"), headers=capped.headers)
          for n in range(3)),
        grouped.post("/v1/notifications", json=unknown_claim, headers=other.headers),
    ]  # fmt: skip
    answers = await one_group(grouping_app, requests)
    codes = Counter(a.status_code for a in answers)
    assert codes == {202: 2, 429: 1, 422: 1}, [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["error"]["code"] == "daily_limit_reached"
    invalid = next(a for a in answers if a.status_code == 422)
    assert invalid.json()["error"]["details"][0]["path"] == "/payload/answeredById"

    user = await _user_id(db, capped, "a")
    accepted = {uuid.UUID(a.json()["id"]) for a in answers if a.status_code == 202}
    async with db.sessions() as session:
        stored = set(
            await session.scalars(
                select(Notification.id).where(Notification.account_id == capped.account_id)
            )
        )
        items = await session.scalar(select(func.count()).where(InboxItem.user_id == user))
        events = await session.scalar(select(func.count()).where(InboxEvent.user_id == user))
        seq = (
            await session.execute(
                select(UserInboxSeq.seq, UserInboxSeq.unread).where(UserInboxSeq.user_id == user)
            )
        ).one()
        used = await session.scalar(
            select(DailyUsage.messages).where(DailyUsage.account_id == capped.account_id)
        )
        others = await session.scalar(
            select(func.count()).where(Notification.account_id == other.account_id)
        )
    assert stored == accepted  # the refused member's rows went with its savepoint
    assert (items, events, tuple(seq), used, others) == (2, 4, (4, 2), 2, 0)


async def test_one_key_twice_in_a_group_is_one_notification(
    grouped: httpx.AsyncClient, grouping_app: FastAPI, make_tenant: Any, db: Database
) -> None:
    tenant = await make_tenant("keys")
    await add_users(grouped, tenant, "k")
    await _warm(grouped, tenant)
    key = {**tenant.headers, "Idempotency-Key": f"key-{uuid.uuid4()}"}
    bodies = [message("same request", "k"), message("same request", "k"), message("other", "k")]
    requests = [
        *(grouped.post("/v1/notifications", json=body, headers=key) for body in bodies),
        grouped.post("/v1/notifications", json=message("no key", "k"), headers=tenant.headers),
    ]
    answers = await one_group(grouping_app, requests)
    keyed, plain = answers[:3], answers[3]
    assert plain.status_code == 202
    # Whichever keyed request came first was accepted; the same body replays its answer, the
    # other body is refused.
    ids = {a.json()["id"] for a in keyed if a.status_code == 202}
    assert len(ids) == 1, [a.text for a in keyed]
    for refused in (a for a in keyed if a.status_code != 202):
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "idempotency_key_mismatch"
    accepted = {b["message"] for b, a in zip(bodies, keyed, strict=True) if a.status_code == 202}
    assert len(accepted) == 1
    async with db.sessions() as session:
        stored = await session.execute(
            select(Notification.id, Notification.message).where(
                Notification.account_id == tenant.account_id
            )
        )
        by_message = {text: str(notification_id) for notification_id, text in stored}
    assert set(by_message) == {*accepted, "no key"}
    assert by_message[accepted.pop()] == ids.pop()


async def test_two_processes_groups_crossing_recipients_all_commit(
    grouped: httpx.AsyncClient, database_url: str, make_tenant: Any, db: Database
) -> None:
    """Two applications (two processes' committers) each send a group to the same two users in
    opposite orders: on PostgreSQL the groups can deadlock on the users' sequence rows, and
    the victim group runs again; every accept is answered 202 and stored once."""
    tenant = await make_tenant("crossing")
    await add_users(grouped, tenant, "x", "y")
    settings = settings_for(database_url, group_commit_window_ms=30_000, group_commit_size=2)
    other = create_app(settings)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://other.test") as http:
            await _warm(http, tenant)
            await _warm(grouped, tenant)
            # One group of four here (x, y, x, y), two groups of two there (y, x each).
            ours = [
                grouped.post(
                    "/v1/notifications", json=message(f"o{n}", "xy"[n % 2]), headers=tenant.headers
                )
                for n in range(GROUP)
            ]
            theirs = [
                http.post(
                    "/v1/notifications", json=message(f"t{n}", "yx"[n % 2]), headers=tenant.headers
                )
                for n in range(GROUP)
            ]
            rounds = [*ours, *theirs]
            answers = await asyncio.gather(*rounds)
    assert [a.status_code for a in answers] == [202] * len(answers), [a.text for a in answers]
    async with db.sessions() as session:
        stored = await session.scalar(
            select(func.count()).where(Notification.account_id == tenant.account_id)
        )
    assert stored == len(answers)


@pytest.fixture(scope="module")
async def lone(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An application without group commit: a transaction per request, the answers a lone
    accept gets."""
    app = create_app(settings_for(database_url, group_commit=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lone.test") as http:
            yield http


async def test_a_batch_writes_the_events_lone_accepts_write(
    grouped: httpx.AsyncClient,
    lone: httpx.AsyncClient,
    grouping_app: FastAPI,
    make_tenant: Any,
    db: Database,
) -> None:
    """A group's members to one user, written in one batch: the user's events and counters
    are those the same accepts write one at a time (numbered in turn, each count the
    numbers once its own item is in)."""
    tenant = await make_tenant("events")
    await add_users(grouped, tenant, "e", "f")
    await _warm(grouped, tenant)
    await _warm(lone, tenant)
    answers = await one_group(
        grouping_app,
        (
            grouped.post("/v1/notifications", json=message(f"b{n}", "e"), headers=tenant.headers)
            for n in range(GROUP)
        ),
    )
    for n in range(GROUP):
        alone = await lone.post(
            "/v1/notifications", json=message(f"b{n}", "f"), headers=tenant.headers
        )
        assert alone.status_code == 202
    assert [a.status_code for a in answers] == [202] * GROUP

    async def stream(external_id: str) -> list[tuple[int, str, dict[str, Any]]]:
        user = await _user_id(db, tenant, external_id)
        async with db.sessions() as session:
            rows = await session.execute(
                select(InboxEvent.seq, InboxEvent.event, InboxEvent.payload)
                .where(InboxEvent.user_id == user)
                .order_by(InboxEvent.seq)
            )
            counters = (
                await session.execute(
                    select(UserInboxSeq.seq, UserInboxSeq.unread, UserInboxSeq.unseen).where(
                        UserInboxSeq.user_id == user
                    )
                )
            ).one()
        assert tuple(counters) == (2 * GROUP, GROUP, GROUP)
        return [(seq, event, payload) for seq, event, payload in rows]

    batched, one_by_one = await stream("e"), await stream("f")
    assert [(s, e) for s, e, _ in batched] == [(s, e) for s, e, _ in one_by_one]
    counts = [p for _, e, p in batched if e == "count"]
    assert counts == [{"unread": n, "unseen": n, "reason": "message"} for n in range(1, GROUP + 1)]
    created = [p for _, e, p in batched if e == "notification.created"]
    # Each created event is its item's document, as the inbox serves it (a batch's members
    # may be written in any order: the documents are matched by message).
    listed = await inbox(grouped, await user_headers(grouped, tenant, "e"))
    served = {item["message"]: item for item in listed["data"]}
    assert {p["message"]: p for p in created} == served


def full_message(text: str, user: str) -> dict[str, Any]:
    """A message setting every column a send can set, in-app and by email to one user."""
    return {
        "type": "custom",
        "subType": "message",
        "products": ["AgencyCloud"],
        "message": text,
        "targets": {"users": [user]},
        "channels": ["in_app", "email"],
        "payload": {"answer": 42, "nested": {"text": text}},
        "personalisation": {"name": "Ann"},
        "requireAction": True,
        "actions": [{"label": "Open", "url": "https://example.com/open"}],
        "scheduledAt": "2030-01-02T03:04:05Z",
        "about": {"id": "estimate-1", "type": "estimate"},
        "sentBy": "officer@example.com",
    }


SAME_ANYWAY = {"id", "notification_id", "user_id", "recipient", "created_at", "updated_at"}
"""What differs between two sends of one message to two users anyway."""


async def _written(db: Database, tenant: Tenant, external_id: str) -> dict[str, Any]:
    """What the accepts to one user wrote, by message: each notification's row, its
    deliveries and its inbox item, less ``SAME_ANYWAY`` (the user's own id, address and
    external id: the notification's targets)."""
    user = await _user_id(db, tenant, external_id)

    def plain(row: Any) -> dict[str, Any]:
        return {k: v for k, v in row._mapping.items() if k not in SAME_ANYWAY}

    async with db.sessions() as session:
        items = (
            await session.execute(select(InboxItem.__table__).where(InboxItem.user_id == user))
        ).all()
        written: dict[str, Any] = {}
        for item in items:
            notification = (
                await session.execute(
                    select(Notification.__table__).where(Notification.id == item.notification_id)
                )
            ).one()
            deliveries = (
                await session.execute(
                    select(Delivery.__table__)
                    .where(Delivery.notification_id == notification.id)
                    .order_by(Delivery.channel)
                )
            ).all()
            assert notification.targets == {"users": [external_id]}
            assert [d.user_id for d in deliveries] == [user]
            row = plain(notification)
            del row["targets"]
            written[notification.message] = {
                "notification": row,
                "deliveries": [plain(d) for d in deliveries],
                "item": plain(item),
            }
    return written


async def test_a_batch_writes_the_rows_lone_accepts_write(
    grouped: httpx.AsyncClient,
    lone: httpx.AsyncClient,
    grouping_app: FastAPI,
    make_tenant: Any,
    db: Database,
) -> None:
    """A group's members written in one batch write, column for column, the notification,
    delivery and inbox item rows the same accepts write one at a time (the plain records and
    the statements the batch shares with a lone accept)."""
    tenant = await make_tenant("rows")
    for external_id in ("g", "h"):
        made = await grouped.put(
            f"/v1/users/{external_id}",
            json={"email": f"{external_id}@example.com"},
            headers=tenant.headers,
        )
        assert made.status_code in (200, 201)
    await _warm(grouped, tenant)
    await _warm(lone, tenant)
    answers = await one_group(
        grouping_app,
        (
            grouped.post(
                "/v1/notifications", json=full_message(f"r{n}", "g"), headers=tenant.headers
            )
            for n in range(GROUP)
        ),
    )
    assert [a.status_code for a in answers] == [202] * GROUP
    for n in range(GROUP):
        alone = await lone.post(
            "/v1/notifications", json=full_message(f"r{n}", "h"), headers=tenant.headers
        )
        assert alone.status_code == 202
    batched, one_by_one = await _written(db, tenant, "g"), await _written(db, tenant, "h")
    assert sorted(batched) == [f"r{n}" for n in range(GROUP)]
    assert batched == one_by_one
    first = batched["r0"]
    assert first["notification"]["about_id"] == "estimate-1"  # the envelope's columns are set
    assert first["notification"]["sent_by"] == "officer@example.com"
    assert [d["channel"] for d in first["deliveries"]] == ["email"]


async def test_a_member_the_database_refuses_fails_alone_in_a_batch(
    grouped: httpx.AsyncClient,
    lone: httpx.AsyncClient,
    grouping_app: FastAPI,
    make_tenant: Any,
    db: Database,
) -> None:
    """A text PostgreSQL cannot store (a NUL character) fails only when the batch writes it:
    the batch is rolled back, every member runs alone, and each gets the answer it gets as a
    lone request. (SQLite stores the text: there every member is accepted.)"""
    tenant = await make_tenant("refused")
    await add_users(grouped, tenant, "n")
    await _warm(grouped, tenant)
    await _warm(lone, tenant)
    bodies = [message(f"good {n}", "n") for n in range(GROUP - 1)] + [message("bad \0", "n")]
    expected = [
        (await lone.post("/v1/notifications", json=b, headers=tenant.headers)) for b in bodies
    ]
    answers = await one_group(
        grouping_app,
        (grouped.post("/v1/notifications", json=b, headers=tenant.headers) for b in bodies),
    )
    assert [a.status_code for a in answers] == [e.status_code for e in expected]
    assert [a.status_code for a in answers[:-1]] == [202] * (GROUP - 1)
    if answers[-1].status_code != 202:
        assert answers[-1].json()["error"]["code"] == expected[-1].json()["error"]["code"]
    accepted = {uuid.UUID(a.json()["id"]) for a in answers if a.status_code == 202}
    async with db.sessions() as session:
        stored = set(
            await session.scalars(select(Notification.id).where(Notification.id.in_(accepted)))
        )
    assert stored == accepted


async def test_a_key_answered_in_a_batch_replays_in_the_next(
    grouped: httpx.AsyncClient, make_tenant: Any, db: Database
) -> None:
    """Keys used once each in a group are written with the batch; the same requests in the
    next group replay the stored answers, byte for byte, and write nothing more."""
    tenant = await make_tenant("replays")
    await add_users(grouped, tenant, "r")
    await _warm(grouped, tenant)
    keys = [f"key-{uuid.uuid4()}" for _ in range(GROUP)]

    async def send_all() -> list[httpx.Response]:
        return await asyncio.gather(
            *(
                grouped.post(
                    "/v1/notifications", json=message(f"r{n}", "r"),
                    headers={**tenant.headers, "Idempotency-Key": key},
                )
                for n, key in enumerate(keys)
            )
        )  # fmt: skip

    first, again = await send_all(), await send_all()
    assert [a.status_code for a in first] == [202] * GROUP
    assert [a.content for a in again] == [a.content for a in first]
    async with db.sessions() as session:
        stored = await session.scalar(
            select(func.count()).where(Notification.account_id == tenant.account_id)
        )
    assert stored == GROUP


async def test_the_daily_cap_is_exact_across_concurrent_batches(
    grouped: httpx.AsyncClient, database_url: str, make_tenant: Any, db: Database
) -> None:
    """Two processes' batches straddle one account's cap at once: each reads the day's count
    before the other has committed, and the charge, checked again in the database, refuses
    the later batch, whose members then run alone. Exactly the cap is accepted."""
    cap = GROUP + 1
    tenant = await make_tenant("straddled")
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == tenant.account_id).values(daily_limit=cap)
        )
    users = [f"s{n}" for n in range(2 * GROUP)]
    await add_users(grouped, tenant, *users)
    settings = settings_for(database_url, group_commit_window_ms=30_000, group_commit_size=GROUP)
    other = create_app(settings)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://other.test") as http:
            await _warm(http, tenant)
            await _warm(grouped, tenant)
            answers = await asyncio.gather(
                *(
                    (grouped, http)[n % 2].post(
                        "/v1/notifications", json=message(f"c{n}", user), headers=tenant.headers
                    )
                    for n, user in enumerate(users)
                )
            )
    codes = Counter(a.status_code for a in answers)
    assert codes == {202: cap, 429: 2 * GROUP - cap}, [a.text for a in answers]
    async with db.sessions() as session:
        stored = await session.scalar(
            select(func.count()).where(Notification.account_id == tenant.account_id)
        )
        used = await session.scalar(
            select(DailyUsage.messages).where(DailyUsage.account_id == tenant.account_id)
        )
    assert (stored, used) == (cap, cap)


async def test_members_the_batch_does_not_take_run_alone_in_the_same_group(
    grouped: httpx.AsyncClient, grouping_app: FastAPI, make_tenant: Any, db: Database
) -> None:
    """A call ringing twice (one correlated chain: its item is updated, not inserted) and two
    plain messages in one group: the messages go in the batch, the chain's events run alone
    after it, in the same transaction; every user's events are numbered without a gap and
    the counters count the items."""
    tenant = await make_tenant("mixed")
    await add_users(grouped, tenant, "m1", "m2")
    await _warm(grouped, tenant)
    call = f"call-{uuid.uuid4()}"
    requests = [
        grouped.post(
            "/v1/notifications",
            json=call_event("incomingCall", {"users": ["m1"]}, id=call),
            headers=tenant.headers,
        ),
        grouped.post("/v1/notifications", json=message("to m2", "m2"), headers=tenant.headers),
        grouped.post(
            "/v1/notifications",
            json=call_event("incomingCall", {"users": ["m1", "m2"]}, id=call),
            headers=tenant.headers,
        ),
        grouped.post("/v1/notifications", json=message("to m1", "m1"), headers=tenant.headers),
    ]
    answers = await one_group(grouping_app, requests)
    assert [a.status_code for a in answers] == [202] * GROUP, [a.text for a in answers]
    for external_id, items in (("m1", 2), ("m2", 2)):  # the call's item and the message
        user = await _user_id(db, tenant, external_id)
        async with db.sessions() as session:
            held = await session.scalar(select(func.count()).where(InboxItem.user_id == user))
            seqs = list(
                await session.scalars(
                    select(InboxEvent.seq)
                    .where(InboxEvent.user_id == user)
                    .order_by(InboxEvent.seq)
                )
            )
            kept = (
                await session.execute(
                    select(UserInboxSeq.seq, UserInboxSeq.unread).where(
                        UserInboxSeq.user_id == user
                    )
                )
            ).one()
        assert held == items
        assert seqs == list(range(1, len(seqs) + 1))
        assert tuple(kept) == (len(seqs), items)


async def test_a_frequency_cap_counts_the_groups_earlier_members(
    grouped: httpx.AsyncClient, grouping_app: FastAPI, make_tenant: Any, db: Database
) -> None:
    """Under the account's frequency cap (two per hour) four emails to one user in one group
    are decided as four lone accepts would be: the members run alone, each seeing the
    deliveries the ones before it wrote, so two go and two are skipped."""
    tenant = await make_tenant("frequency")
    await add_users(grouped, tenant, "q")
    cap = {"frequency_cap": {"max": 2, "per": "1h"}}
    answer = await grouped.put("/v1/preferences", json=cap, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    await _warm(grouped, tenant)
    body = {**message("capped", "q"), "channels": ["in_app", "email"]}
    with commits(grouping_app) as committed:
        answers = await asyncio.gather(
            *(
                grouped.post("/v1/notifications", json={**body, "message": f"capped {n}"},
                             headers=tenant.headers)
                for n in range(GROUP)
            )
        )  # fmt: skip
    assert len(committed) == 1
    assert [a.status_code for a in answers] == [202] * GROUP
    ids = [uuid.UUID(a.json()["id"]) for a in answers]
    async with db.sessions() as session:
        reasons = list(
            await session.scalars(select(Delivery.reason).where(Delivery.notification_id.in_(ids)))
        )
    assert sorted(reasons, key=str) == sorted(
        [None, None, "frequency_cap", "frequency_cap"], key=str
    )
