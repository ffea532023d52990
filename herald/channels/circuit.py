"""A circuit breaker per provider, so failover stops knocking on a provider that is down.

closed ──(threshold consecutive failures)──▶ open ──(cool-down)──▶ half-open
  ▲                                                                  │ one probe
  └───────────────────────── success ◀──────────────────────────────┘ failure ─▶ open
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class CircuitState(StrEnum):
    """Whether calls go through (closed), are refused (open), or one probe may try."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """Counts consecutive failures of one provider and refuses calls while it cools down."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cool_down: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or cool_down < 0:
            raise ValueError("need failure_threshold >= 1 and cool_down >= 0")
        self.failure_threshold = failure_threshold
        self.cool_down = cool_down
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_started: float | None = None

    @property
    def state(self) -> CircuitState:
        """The state now: an open circuit whose cool-down has passed reads half-open."""
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._clock() - self._opened_at < self.cool_down:
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    def allow(self) -> bool:
        """Whether a call may go through now; in half-open, one probe per cool-down."""
        state = self.state
        if state is not CircuitState.HALF_OPEN:
            return state is CircuitState.CLOSED
        now = self._clock()
        # A probe that never reported (cancelled, hung) must not block the circuit forever.
        if self._probe_started is not None and now - self._probe_started < self.cool_down:
            return False
        self._probe_started = now
        return True

    def record_success(self) -> None:
        """The provider answered: close the circuit."""
        self._failures = 0
        self._opened_at = None
        self._probe_started = None

    def record_failure(self) -> None:
        """The provider failed: open after enough failures, or again at once when not closed."""
        self._failures += 1
        if self._opened_at is not None or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
            self._probe_started = None
