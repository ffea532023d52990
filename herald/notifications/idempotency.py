"""``Idempotency-Key``: the first request claims the key, later ones replay its stored answer.

The claim is its own short committed transaction on PostgreSQL, so that a concurrent request
with the same key sees it and gets 409 while the first still runs; the answer is stored in the
request's own transaction, atomically with the work. A claim whose request crashed expires
after ``CLAIM_TTL``. SQLite has one writer: a second request waits for the first to commit and
then replays, so there the claim simply shares the request's transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from herald.db import Database, utcnow
from herald.errors import Conflict, ValidationFailed
from herald.notifications.models import IdempotencyKey

KEEP = timedelta(hours=24)
CLAIM_TTL = timedelta(seconds=60)
HEADER_POINTER = "/header/Idempotency-Key"


@dataclass(frozen=True)
class Answer:
    """A status and the exact bytes of a JSON body."""

    status_code: int
    body: bytes


def fingerprint(canonical: str) -> str:
    """A digest of the request, to tell a replay from a different body under the same key."""
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(
    session: AsyncSession, *, account_id: uuid.UUID, key: str, digest: str
) -> Answer | None:
    """Take the key for this request, or return the answer stored for it.

    422 ``idempotency_key_mismatch`` when the key was used with another body; 409 while the
    request holding it still runs. Expired keys and abandoned claims are taken over.
    """
    now = utcnow()
    insert_ = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {"fingerprint": digest, "status_code": None, "body": None}
    times = {"locked_until": now + CLAIM_TTL, "expires_at": now + KEEP, "created_at": now}
    inserted = await session.execute(
        insert_(IdempotencyKey)
        .values(account_id=account_id, key=key, **values, **times)
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    )
    if inserted.first() is not None:
        return None
    row = await session.scalar(
        select(IdempotencyKey)
        .where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
        .with_for_update()
    )
    if row is None:  # retention deleted the expired key between the two statements
        return await claim(session, account_id=account_id, key=key, digest=digest)
    if row.expires_at > now:
        if row.fingerprint != digest:
            raise ValidationFailed.at(
                HEADER_POINTER,
                "This Idempotency-Key was used with a different request",
                code="idempotency_key_mismatch",
            )
        if row.status_code is not None and row.body is not None:
            return Answer(row.status_code, row.body.encode())
        if row.locked_until > now:
            raise Conflict("A request with this Idempotency-Key is still in flight")
    for name, value in {**values, **times}.items():
        setattr(row, name, value)
    await session.flush()
    return None


async def complete(
    session: AsyncSession, *, account_id: uuid.UUID, key: str, answer: Answer
) -> None:
    """Store the answer to replay (in the same transaction as the work it answers)."""
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
        .values(status_code=answer.status_code, body=answer.body.decode(), locked_until=utcnow())
    )


async def release(session: AsyncSession, *, account_id: uuid.UUID, key: str) -> None:
    """Drop an unanswered claim, so that the client may retry a request that failed."""
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.account_id == account_id,
            IdempotencyKey.key == key,
            IdempotencyKey.status_code.is_(None),
        )
    )


async def _claim_apart(
    db: Database, session: AsyncSession, account_id: uuid.UUID, key: str, digest: str
) -> Answer | None:
    if db.settings.is_sqlite:
        return await claim(session, account_id=account_id, key=key, digest=digest)
    async with db.sessions() as own, own.begin():
        return await claim(own, account_id=account_id, key=key, digest=digest)


async def _release_apart(db: Database, account_id: uuid.UUID, key: str) -> None:
    if db.settings.is_sqlite:
        return  # the claim shared the request's transaction, which rolls back
    async with db.sessions() as own, own.begin():
        await release(own, account_id=account_id, key=key)


async def run_once(
    work: Callable[[], Awaitable[Answer]],
    *,
    db: Database,
    session: AsyncSession,
    account_id: uuid.UUID,
    key: str | None,
    digest: str,
) -> Answer:
    """Run ``work`` under an idempotency key (or plainly without one). Edge helper for routes."""
    if key is None:
        return await work()
    stored = await _claim_apart(db, session, account_id, key, digest)
    if stored is not None:
        return stored
    try:
        answer = await work()
    except BaseException:
        await _release_apart(db, account_id, key)
        raise
    await complete(session, account_id=account_id, key=key, answer=answer)
    return answer
