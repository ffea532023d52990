"""The retry policy: back-off within its bounds, attempts and maximum age respected."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.delivery.policy import DEFAULT_POLICY, Jitter, RetryPolicy

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    max_attempts=12,
    base_delay=timedelta(seconds=10),
    max_delay=timedelta(minutes=30),
    max_age=timedelta(hours=72),
)

attempts = st.integers(min_value=1, max_value=11)
seeds = st.integers(min_value=0, max_value=2**32)


@given(attempts, seeds)
def test_full_jitter_stays_under_the_exponential_ceiling(n: int, seed: int) -> None:
    at = POLICY.next_attempt_at(
        attempts=n, first_attempt_at=START, now=START, rng=random.Random(seed)
    )
    assert at is not None
    ceiling = min(timedelta(seconds=10 * 2 ** (n - 1)), timedelta(minutes=30))
    assert START <= at <= START + ceiling


@given(attempts, seeds)
def test_decorrelated_jitter_stays_between_base_and_three_times_the_last_ceiling(
    n: int, seed: int
) -> None:
    policy = RetryPolicy(
        max_attempts=12,
        base_delay=timedelta(seconds=10),
        max_delay=timedelta(minutes=30),
        jitter=Jitter.DECORRELATED,
    )
    at = policy.next_attempt_at(
        attempts=n, first_attempt_at=START, now=START, rng=random.Random(seed)
    )
    assert at is not None
    previous_ceiling = timedelta(seconds=10 * 2 ** max(n - 2, 0))
    assert (
        START + timedelta(seconds=10)
        <= at
        <= START + min(3 * previous_ceiling, timedelta(minutes=30))
    )


@given(st.integers(min_value=1, max_value=10_000), seeds)
def test_never_waits_longer_than_max_delay(n: int, seed: int) -> None:
    policy = RetryPolicy(max_attempts=10_001)
    at = policy.next_attempt_at(
        attempts=n, first_attempt_at=START, now=START, rng=random.Random(seed)
    )
    assert at is not None
    assert at - START <= policy.max_delay


@given(
    st.integers(min_value=1, max_value=11), st.integers(min_value=0, max_value=72 * 3600 - 1), seeds
)
def test_never_schedules_past_the_maximum_age(n: int, elapsed: int, seed: int) -> None:
    now = START + timedelta(seconds=elapsed)
    at = POLICY.next_attempt_at(
        attempts=n, first_attempt_at=START, now=now, rng=random.Random(seed)
    )
    assert at is not None
    assert now <= at <= START + timedelta(hours=72)


def test_gives_up_after_max_attempts() -> None:
    assert POLICY.next_attempt_at(attempts=12, first_attempt_at=START, now=START) is None
    assert POLICY.next_attempt_at(attempts=11, first_attempt_at=START, now=START) is not None


def test_gives_up_at_the_maximum_age() -> None:
    deadline = START + timedelta(hours=72)
    assert POLICY.next_attempt_at(attempts=1, first_attempt_at=START, now=deadline) is None


def test_retry_after_is_a_minimum_wait() -> None:
    at = POLICY.next_attempt_at(attempts=1, first_attempt_at=START, now=START, retry_after=600)
    assert at is not None
    assert at >= START + timedelta(seconds=600)


def test_same_seed_same_schedule() -> None:
    def schedule(seed: int) -> list[datetime | None]:
        rng = random.Random(seed)
        return [
            POLICY.next_attempt_at(attempts=n, first_attempt_at=START, now=START, rng=rng)
            for n in range(1, 12)
        ]

    assert schedule(7) == schedule(7)


def test_default_policy_keeps_trying_for_72_hours() -> None:
    assert DEFAULT_POLICY.max_age == timedelta(hours=72)
    assert DEFAULT_POLICY.max_attempts > 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"base_delay": timedelta(0)},
        {"base_delay": timedelta(hours=3), "max_delay": timedelta(hours=2)},
        {"max_age": timedelta(0)},
    ],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"max_attempts|base_delay|max_age"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_an_absurd_retry_after_is_cut_to_the_deadline() -> None:
    at = POLICY.next_attempt_at(attempts=1, first_attempt_at=START, now=START, retry_after=1e30)
    assert at == START + timedelta(hours=72)
