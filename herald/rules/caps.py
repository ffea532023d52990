"""Frequency caps: count each recipient's recent notifications of a category, exactly.

A cap is a read (how many did the recipient have within ``per``) followed by a write (this
notification's deliveries). Two accepts at once would both read the count before either wrote,
and both pass a cap of one. So the read happens under a lock that the accepting transaction
holds until it commits:

- PostgreSQL: transaction-scoped advisory locks (``pg_advisory_xact_lock``), taken only when a
  cap applies, so accepts without caps pay nothing. A capped notification to a few recipients
  locks each (recipient, category) exclusively, under a shared lock of the (account, category);
  one to more than ``FEW`` recipients locks the (account, category) exclusively instead, so a
  fan-out holds a handful of locks, never one per recipient (PostgreSQL's lock table has room
  for ~64 a connection). Each kind is taken in sorted order, the account's first, so two
  accepts never wait on each other in a cycle. Several accepts in one transaction (a group
  commit) share its locks: the later ones read the earlier ones' rows in the same transaction.
  Two groups whose members lock in opposite orders can still deadlock; PostgreSQL refuses one
  statement and the group commit runs that group again.
- SQLite: every transaction begins ``BEGIN IMMEDIATE`` (``herald.sqlite_driver``), so the
  accept holds the single write lock from its first statement to its commit: nothing else can
  write between this read and this write.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, distinct, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Integer

from herald.delivery.models import Delivery
from herald.delivery.status import DeliveryStatus

CHUNK = 5000
FEW = 32
"""Recipients of one account and category above which a notification locks the category."""
RECIPIENT_LOCKS, CATEGORY_LOCKS = 0x48524301, 0x48524302
"""The first key of each kind of advisory lock (its own key space: no other lock collides)."""

Row = dict[str, Any]


def _key(*parts: object) -> int:
    """A stable signed 32-bit key for ``parts`` (the same in every process)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


RECIPIENTS = text(
    # The keys come sorted; ``unnest`` yields them in the array's order, so they are locked so.
    "SELECT pg_advisory_xact_lock(:kind, k) FROM unnest(:keys) AS k"
).bindparams(bindparam("keys", type_=ARRAY(Integer)))
CATEGORY = {
    True: text("SELECT pg_advisory_xact_lock(:kind, :key)"),
    False: text("SELECT pg_advisory_xact_lock_shared(:kind, :key)"),
}


def locks(groups: Mapping[str, Iterable[Row]]) -> tuple[dict[int, bool], list[int]]:
    """For capped rows (category → rows): each (account, category) key with whether it is
    locked exclusively (more than ``FEW`` recipients) or shared, and the sorted (recipient,
    category) keys of the shared ones' recipients."""
    category_keys: dict[int, bool] = {}
    recipients: set[int] = set()
    for category, rows in groups.items():
        users: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        for row in rows:
            users[row["account_id"]].add(row["user_id"])
        for account, members in users.items():
            key, many = _key(account, category), len(members) > FEW
            category_keys[key] = category_keys.get(key, False) or many
            if not many:
                recipients.update(_key(user, category) for user in members)
    return category_keys, sorted(recipients)


async def lock(session: AsyncSession, groups: Mapping[str, Iterable[Row]]) -> None:
    """Hold, until the transaction ends, the locks that make the caps of these rows (category →
    capped rows) exact; nothing on SQLite, whose transactions hold its write lock already."""
    if not groups or session.get_bind().dialect.name != "postgresql":
        return
    category_keys, recipients = locks(groups)
    # The (account, category) keys first, one at a time in key order whatever their mode (a
    # handful: a notification has one category per account), then the recipients' at once.
    for key in sorted(category_keys):
        await session.execute(CATEGORY[category_keys[key]], {"kind": CATEGORY_LOCKS, "key": key})
    if recipients:
        await session.execute(RECIPIENTS, {"kind": RECIPIENT_LOCKS, "keys": recipients})


async def recent(
    session: AsyncSession, rows: list[Row], category: str, since: datetime
) -> dict[uuid.UUID, int]:
    """How many notifications of ``category`` each row's recipient had since ``since`` (one
    on two channels counts once; skipped ones do not count)."""
    users = list({row["user_id"] for row in rows})
    counts: dict[uuid.UUID, int] = {}
    for start in range(0, len(users), CHUNK):
        found = await session.execute(
            select(Delivery.user_id, func.count(distinct(Delivery.notification_id)))
            .where(
                Delivery.user_id.in_(users[start : start + CHUNK]),
                Delivery.category == category,
                Delivery.created_at >= since,
                Delivery.status != DeliveryStatus.SKIPPED.value,
            )
            .group_by(Delivery.user_id)
        )
        counts.update({uid: int(n) for uid, n in found if uid is not None})
    return counts
