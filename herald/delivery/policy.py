"""The one retry policy: how long to wait before the next attempt, and when to give up.

Every channel retries through this policy; a provider only says whether an error is
retryable (and may hint a ``retry_after``), never how or when to retry.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Jitter(StrEnum):
    """How the back-off is randomised so that failed deliveries don't retry in lockstep."""

    FULL = "full"
    """Uniform between zero and the exponential ceiling (AWS "full jitter")."""
    DECORRELATED = "decorrelated"
    """Uniform between the base delay and three times the previous ceiling, capped."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with jitter, bounded by a number of attempts and a maximum age."""

    max_attempts: int = 20
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=2)
    max_age: timedelta = timedelta(hours=72)
    jitter: Jitter = Jitter.FULL
    receipt_wait: timedelta = timedelta(hours=72)
    """How long a message sent to a provider that reports receipts waits for its receipt."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not timedelta(0) < self.base_delay <= self.max_delay:
            raise ValueError("need 0 < base_delay <= max_delay")
        if self.max_age <= timedelta(0):
            raise ValueError("max_age must be positive")

    def ceiling(self, attempts: int) -> timedelta:
        """The largest back-off after ``attempts`` attempts: base * 2^(attempts-1), capped."""
        # Work in float seconds: a timedelta of base * 2^60 would overflow before the cap.
        exponent = min(max(attempts - 1, 0), 1000)
        seconds = self.base_delay.total_seconds() * 2.0**exponent
        return timedelta(seconds=min(seconds, self.max_delay.total_seconds()))

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """A jittered back-off after ``attempts`` attempts, within the policy's bounds."""
        if self.jitter is Jitter.FULL:
            high = self.ceiling(attempts)
            low = timedelta(0)
        else:
            high = min(self.max_delay, 3 * self.ceiling(attempts - 1))
            low = self.base_delay
        span = (high - low).total_seconds()
        return low + timedelta(seconds=rng.uniform(0, span))

    def next_attempt_at(
        self,
        *,
        attempts: int,
        first_attempt_at: datetime,
        now: datetime,
        rng: random.Random | None = None,
        retry_after: float | None = None,
    ) -> datetime | None:
        """When to try again after ``attempts`` attempts, or None when it is time to give up.

        ``retry_after`` (seconds) is a provider's hint, such as an HTTP ``Retry-After``;
        the wait is never shorter than it. No attempt is scheduled after
        ``first_attempt_at + max_age``: a wait that would cross it is cut to that deadline.
        """
        deadline = first_attempt_at + self.max_age
        if attempts >= self.max_attempts or now >= deadline:
            return None
        wait = self.delay(attempts, rng or random.Random())
        if retry_after is not None:
            # Bounded by max_age: the result is cut to the deadline anyway, and an absurd
            # hint must not overflow timedelta.
            hint = min(retry_after, self.max_age.total_seconds())
            wait = max(wait, timedelta(seconds=hint))
        return min(now + wait, deadline)


DEFAULT_POLICY = RetryPolicy()
"""The policy every delivery and status callback retries on."""
