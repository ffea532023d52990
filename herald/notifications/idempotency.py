"""``Idempotency-Key``: the first request claims the key, later ones replay its stored answer.

A claim lasts exactly as long as the request's own transaction, and the answer is stored in
that transaction, atomically with the work. So a request that fails in any way (an error, a
503 while the database is down, a dropped connection, a killed process) leaves nothing behind,
and a retry with the same key is served at once: there is no claim to wait out.

On PostgreSQL the claim is a transaction-scoped advisory lock on the key: a concurrent
request with the same key cannot take it and gets 409 while the first still runs; the server
releases it when the transaction ends, however it ends (even when its connection is cut).
SQLite has one writer: a second request waits for the first to commit, then replays.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from herald.db import utcnow
from herald.errors import Conflict, ValidationFailed
from herald.notifications.models import IdempotencyKey

KEEP = timedelta(hours=24)
KEYS = cast(Table, IdempotencyKey.__table__)
HEADER_POINTER = "/header/Idempotency-Key"


@dataclass(frozen=True)
class Answer:
    """A status and the exact bytes of a JSON body."""

    status_code: int
    body: bytes


def fingerprint(canonical: str) -> str:
    """A digest of the request, to tell a replay from a different body under the same key."""
    return hashlib.sha256(canonical.encode()).hexdigest()


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_id(account_id: uuid.UUID, key: str) -> int:
    """The advisory lock of one account's key: 64 bits of a digest (a collision between two
    keys in flight at the same moment would only make one of them wait its turn, as a 409)."""
    digest = hashlib.blake2b(account_id.bytes + key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def claim(
    session: AsyncSession, *, account_id: uuid.UUID, key: str, digest: str
) -> Answer | None:
    """Take the key for this request's transaction, or return the answer stored for it.

    422 ``idempotency_key_mismatch`` when the key was used with another body; 409 (PostgreSQL)
    while another request holding it still runs. An expired key is taken over.
    """
    if _is_postgres(session):
        # Its own statement, before the read: a read in the same statement would see the
        # snapshot taken before the lock, and miss an answer committed while it waited.
        locked = await session.scalar(
            select(func.pg_try_advisory_xact_lock(lock_id(account_id, key)))
        )
        if not locked:
            raise Conflict("A request with this Idempotency-Key is still in flight")
    row = (
        await session.execute(
            select(
                IdempotencyKey.fingerprint, IdempotencyKey.status_code, IdempotencyKey.body
            ).where(
                IdempotencyKey.account_id == account_id,
                IdempotencyKey.key == key,
                IdempotencyKey.expires_at > utcnow(),
            )
        )
    ).first()
    if row is None:
        return None
    if row.fingerprint != digest:
        raise ValidationFailed.at(
            HEADER_POINTER,
            "This Idempotency-Key was used with a different request",
            code="idempotency_key_mismatch",
        )
    if row.status_code is None or row.body is None:
        return None  # an unanswered claim an older Herald committed: take it over
    return Answer(row.status_code, row.body.encode())


ANSWER_COLUMNS = ("fingerprint", "status_code", "body", "locked_until", "expires_at", "created_at")


@cache
def _complete_statement(dialect: str) -> Any:
    """The answer's upsert (an expired row of the same key is replaced), built once per
    dialect: its values are parameters, so one statement serves one answer or many."""
    insert_: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert_(KEYS)
    return statement.on_conflict_do_update(
        index_elements=[KEYS.c.account_id, KEYS.c.key],
        set_={name: statement.excluded[name] for name in ANSWER_COLUMNS},
    )


@dataclass(frozen=True)
class Completed:
    """An answer to store under one account's key."""

    account_id: uuid.UUID
    key: str
    digest: str
    answer: Answer


async def complete_all(session: AsyncSession, answers: Sequence[Completed]) -> None:
    """Store the answers to replay, in the same transaction as the work they answer: one
    statement for all of them."""
    if not answers:
        return
    now = utcnow()
    rows = [
        {
            "account_id": one.account_id,
            "key": one.key,
            "fingerprint": one.digest,
            "status_code": one.answer.status_code,
            "body": one.answer.body.decode(),
            "locked_until": now,
            "expires_at": now + KEEP,
            "created_at": now,
        }
        for one in answers
    ]
    await session.execute(_complete_statement(session.get_bind().dialect.name), rows)


async def complete(
    session: AsyncSession, *, account_id: uuid.UUID, key: str, digest: str, answer: Answer
) -> None:
    """Store the answer to replay, in the same transaction as the work it answers."""
    await complete_all(session, [Completed(account_id, key, digest, answer)])


async def run_once(
    work: Callable[[], Awaitable[Answer]],
    *,
    session: AsyncSession,
    account_id: uuid.UUID,
    key: str | None,
    digest: str,
) -> Answer:
    """Run ``work`` under an idempotency key (or plainly without one). Edge helper for routes."""
    if key is None:
        return await work()
    stored = await claim(session, account_id=account_id, key=key, digest=digest)
    if stored is not None:
        return stored
    answer = await work()
    await complete(session, account_id=account_id, key=key, digest=digest, answer=answer)
    return answer
