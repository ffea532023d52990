"""The recorder: answers that land together share one transaction; a failed one fails them all."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

from herald.channels.outcome import Outcome
from herald.delivery.answer import Answer
from herald.delivery.gate import Gate
from herald.delivery.queue import Claimed
from herald.delivery.recorder import Recorder
from herald.delivery.status import DeliveryStatus


class FakeGate:
    """Counts transactions; ``fail`` makes the next commits raise."""

    def __init__(self) -> None:
        self.transactions = 0
        self.fail = False

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        self.transactions += 1
        yield object()
        if self.fail:
            raise RuntimeError("the commit failed")


def job() -> Claimed:
    return Claimed(uuid.uuid4(), 1, lease_was_lost=False, previous=DeliveryStatus.CREATED)


ANSWER = Answer(Outcome.DELIVERED, provider="smtp")


async def test_answers_landing_within_the_linger_share_one_transaction() -> None:
    gate, written = FakeGate(), []

    async def write(_session: Any, batch: list[tuple[Claimed, Answer]]) -> None:
        written.append([claimed.id for claimed, _ in batch])

    recorder = Recorder(cast(Gate, gate), write, linger=0.05)
    jobs = [job() for _ in range(5)]

    async def staggered(i: int) -> None:
        await asyncio.sleep(0.005 * i)
        await recorder.record(jobs[i], ANSWER)

    await asyncio.gather(*(staggered(i) for i in range(5)))
    await recorder.aclose()

    assert gate.transactions == 1
    assert written == [[j.id for j in jobs]]


async def test_a_full_batch_is_written_without_waiting() -> None:
    gate, written = FakeGate(), []

    async def write(_session: Any, batch: list[tuple[Claimed, Answer]]) -> None:
        written.append(len(batch))

    recorder = Recorder(cast(Gate, gate), write, batch=3, linger=30)
    await asyncio.wait_for(asyncio.gather(*(recorder.record(job(), ANSWER) for _ in range(3))), 5)
    await recorder.aclose()

    assert written == [3]


async def test_a_failed_commit_fails_every_answer_of_its_batch() -> None:
    gate = FakeGate()
    gate.fail = True

    async def write(_session: Any, _batch: list[tuple[Claimed, Answer]]) -> None:
        return None

    recorder = Recorder(cast(Gate, gate), write, linger=0.05)
    results = await asyncio.gather(
        *(recorder.record(job(), ANSWER) for _ in range(3)), return_exceptions=True
    )
    await recorder.aclose()

    assert gate.transactions == 1
    assert all(isinstance(r, RuntimeError) for r in results)
