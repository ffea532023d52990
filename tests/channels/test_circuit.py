"""The circuit breaker: closed, open after failures, one probe when half-open."""

from __future__ import annotations

import pytest

from herald.channels.circuit import CircuitBreaker, CircuitState


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def state_of(circuit: CircuitBreaker) -> CircuitState:
    """The state, read through a call so the type checker doesn't pin it between reads."""
    return circuit.state


def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, cool_down=10, clock=clock)


def test_opens_after_consecutive_failures_only() -> None:
    circuit = breaker(Clock())
    circuit.record_failure()
    circuit.record_failure()
    circuit.record_success()
    circuit.record_failure()
    circuit.record_failure()
    assert state_of(circuit) is CircuitState.CLOSED
    assert circuit.allow()

    circuit.record_failure()
    assert state_of(circuit) is CircuitState.OPEN
    assert not circuit.allow()


def test_half_open_lets_one_probe_through_then_closes_on_success() -> None:
    clock = Clock()
    circuit = breaker(clock)
    for _ in range(3):
        circuit.record_failure()
    clock.now += 10
    assert state_of(circuit) is CircuitState.HALF_OPEN
    assert circuit.allow()
    assert not circuit.allow()

    circuit.record_success()
    assert state_of(circuit) is CircuitState.CLOSED
    assert circuit.allow()
    assert circuit.allow()


def test_a_failed_probe_opens_again_for_a_full_cool_down() -> None:
    clock = Clock()
    circuit = breaker(clock)
    for _ in range(3):
        circuit.record_failure()
    clock.now += 10
    assert circuit.allow()
    circuit.record_failure()

    assert state_of(circuit) is CircuitState.OPEN
    clock.now += 9.9
    assert not circuit.allow()
    clock.now += 0.1
    assert circuit.allow()


def test_a_probe_that_never_reports_does_not_block_forever() -> None:
    clock = Clock()
    circuit = breaker(clock)
    for _ in range(3):
        circuit.record_failure()
    clock.now += 10
    assert circuit.allow()
    clock.now += 5
    assert not circuit.allow()
    clock.now += 5
    assert circuit.allow()


@pytest.mark.parametrize(("threshold", "cool_down"), [(0, 1.0), (1, -1.0)])
def test_bad_parameters(threshold: int, cool_down: float) -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=threshold, cool_down=cool_down)
