"""Group commit: accepts that arrive together are written in one transaction.

Each process has one committer. A request hands it its work and waits; the committer takes
the requests pending (up to ``group_commit_size``, gathering for at most
``group_commit_window_ms`` after the first) and writes them in one transaction, commits once
and only then answers each: a 202 still means committed. The ``/v1`` sends are written
together first, one statement per table (``herald.notifications.batch``, decision 0014); the
rest run after them, each in a savepoint. A member that fails (a rule only the database
checks, an idempotency conflict, the daily cap, a bug) gets its own answer; the others commit:
a batch the database refuses is rolled back and every member runs again in its savepoint. A
failure of the transaction itself (the database gone, the commit refused) fails every member,
with the error a lone request would get.

While a group is being written the next requests gather, so under load the groups grow by
themselves and at rest a request waits at most the window. One transaction at a time per
process also means the rows every accept touches (the recipient's event sequence, the
account's daily count) are locked by one transaction of this process at a time, not by a queue
of them waiting on each other (docs/decisions/0013-group-commit.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from herald import db_faults
from herald.db import Database, run_after_commit
from herald.errors import ServiceUnavailable
from herald.notifications import batch
from herald.notifications.idempotency import Answer

log = structlog.get_logger()

Work = Callable[[AsyncSession], Awaitable[Answer]]
"""One member's work, given the group's session (inside the member's savepoint)."""

HOOKS = "after_commit"  # herald.db.on_commit's list in session.info
ATTEMPTS = 3  # runs of a group that a deadlock chose as its victim


@dataclass
class _Member:
    work: Work
    send: batch.Send | None = None
    answer: asyncio.Future[Answer] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommitter:
    """Gathers accepts and writes each group in one transaction (one per process)."""

    def __init__(self, db: Database, *, window: float, size: int, batched: bool = True) -> None:
        self._db = db
        self._batch = batched
        self._window = window
        self._size = size
        self._pending: list[_Member] = []
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run(self, work: Work, send: batch.Send | None = None) -> Answer:
        """Run ``work`` in the next group; its answer once that group has committed.

        With ``send`` (a ``/v1`` send) the member may be written in the group's batch
        instead (``herald.notifications.batch``); ``work`` is what it runs alone.
        """
        member = _Member(work, send)
        self._pending.append(member)
        if len(self._pending) >= self._size:
            self._full.set()
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
        return await asyncio.shield(member.answer)

    async def _drain(self) -> None:
        try:
            while self._pending:
                if len(self._pending) < self._size and self._window > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._full.wait(), self._window)
                group, self._pending = self._pending[: self._size], self._pending[self._size :]
                self._full.clear()
                await self._commit(group)
        finally:
            self._task = None

    async def _commit(self, group: list[_Member]) -> None:
        """Write the group, again from the start if a deadlock chose one of its members.

        Two processes' groups can lock the same recipients' rows in opposite orders (each
        member locks its own in order, but the members follow each other), and PostgreSQL
        then refuses one statement as the deadlock's victim. Only rolling back the victim's
        whole transaction releases what its earlier members locked, so the group runs again,
        behind the other one; a member still refused on the last attempt fails alone.

        The first try writes the batchable members together; when that batch fails (a
        constraint only the database checks, a deadlock, a bug) the transaction is rolled
        back and every member runs alone, each in its savepoint, for its own answer.
        """
        batched = self._batch and any(member.send is not None for member in group)
        attempt = 1
        while True:
            outcome = await self._attempt(group, last=attempt == ATTEMPTS, batched=batched)
            if outcome is _Outcome.DONE:
                return
            if outcome is _Outcome.UNBATCH:
                batched = False
                log.info("group_commit.unbatched", members=len(group))
                continue
            attempt += 1
            log.info("group_commit.retried", members=len(group), attempt=attempt)

    async def _attempt(self, group: list[_Member], *, last: bool, batched: bool) -> _Outcome:
        """One try at the group (its batch first when ``batched``)."""
        answers: dict[int, Answer | BaseException] = {}
        async with self._db.sessions() as session:
            try:
                async with session.begin():
                    alone = list(range(len(group)))
                    if batched:
                        written = await _write_batch(session, group)
                        if written is None:
                            raise _Unbatch
                        answers.update(written.answers)
                        alone = written.alone
                    for n in alone:
                        answer = await _run_member(session, group[n])
                        if not last and _deadlocked(answer):
                            raise _RunAgain
                        answers[n] = answer
            except _RunAgain:
                session.info.pop(HOOKS, None)
                return _Outcome.AGAIN
            except _Unbatch:
                session.info.pop(HOOKS, None)
                return _Outcome.UNBATCH
            except BaseException as exc:  # the transaction failed: every member with it
                session.info.pop(HOOKS, None)
                for n, member in enumerate(group):
                    own = answers.get(n)
                    _settle(member, own if isinstance(own, BaseException) else exc)
                if not isinstance(exc, Exception):
                    raise
                return _Outcome.DONE
            try:
                await run_after_commit(session)
            except Exception:  # committed: the answers stand; a missed publication is logged
                log.exception("group_commit.after_commit_failed", members=len(group))
        for n, member in enumerate(group):
            _settle(member, answers[n])
        return _Outcome.DONE


class _Outcome(enum.Enum):
    DONE = "done"
    AGAIN = "again"  # a deadlock's victim: the whole group again
    UNBATCH = "unbatch"  # the batch failed: the members one at a time


class _Unbatch(Exception):
    """The batch failed: roll the group back and run its members one at a time."""


async def _write_batch(session: AsyncSession, group: list[_Member]) -> batch.Written | None:
    """The batch's answers and the members left to run alone; None when the batch failed
    (the transaction must then be rolled back). The database being gone fails the group."""
    try:
        return await batch.write(session, [member.send for member in group])
    except ServiceUnavailable:
        raise
    except Exception:
        log.info("group_commit.batch_failed", members=len(group), exc_info=True)
        return None


class _RunAgain(Exception):
    """A member was a deadlock's victim: roll the group back and run it again."""


def _deadlocked(answer: Answer | BaseException) -> bool:
    return isinstance(answer, BaseException) and db_faults.retryable(answer)


async def _run_member(session: AsyncSession, member: _Member) -> Answer | BaseException:
    """The member's answer, or the error it fails alone with (its savepoint rolled back)."""
    hooks: list[object] = session.info.setdefault(HOOKS, [])
    kept = len(hooks)
    try:
        async with session.begin_nested():
            return await member.work(session)
    except ServiceUnavailable:
        raise  # the database is gone: the transaction is too
    except Exception as exc:
        del hooks[kept:]  # what it would have published after commit never happened
        return exc


def _settle(member: _Member, answer: Answer | BaseException) -> None:
    if member.answer.done():
        return
    if isinstance(answer, BaseException):
        member.answer.set_exception(answer)
    else:
        member.answer.set_result(answer)


def committer(runtime_extras: dict[str, object], db: Database) -> GroupCommitter:
    """The process's committer, made on first use (in the running event loop)."""
    found = runtime_extras.get("group_committer")
    if isinstance(found, GroupCommitter):
        return found
    settings = db.settings
    made = GroupCommitter(
        db,
        window=settings.group_commit_window_ms / 1000,
        size=settings.group_commit_size,
        batched=settings.group_commit_batch,
    )
    runtime_extras["group_committer"] = made
    return made
