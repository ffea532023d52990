"""Failover by priority: skip open circuits, move on after retryable errors only."""

from __future__ import annotations

import pytest

from herald.channels.base import PermanentDeliveryError, RetryableDeliveryError
from herald.channels.circuit import CircuitBreaker, CircuitState
from herald.channels.failover import send_with_failover
from tests.channels.fakes import FakeProvider, delivered, raising, sample


def providers(count: int, *, threshold: int = 1) -> list[FakeProvider]:
    return [
        FakeProvider(circuit=CircuitBreaker(failure_threshold=threshold, cool_down=60))
        for _ in range(count)
    ]


async def test_the_first_healthy_provider_answers() -> None:
    first, second = providers(2)
    first.behaviours = [delivered]
    answer = await send_with_failover([first, second], sample())

    assert answer.provider is first
    assert answer.result.receipt == "ok"
    assert second.calls == 0


async def test_fails_over_on_a_technical_error_and_opens_the_circuit() -> None:
    first, second = providers(2)
    first.behaviours = [raising(RetryableDeliveryError("connection refused"))]
    second.behaviours = [delivered, delivered]
    answer = await send_with_failover([first, second], sample())

    assert answer.provider is second
    assert first.circuit.state is CircuitState.OPEN
    again = await send_with_failover([first, second], sample())
    assert again.provider is second
    assert first.calls == 1


async def test_a_temporary_error_fails_over_but_leaves_the_circuit_closed() -> None:
    first, second = providers(2)
    first.behaviours = [raising(RetryableDeliveryError("451 try later", temporary=True))]
    second.behaviours = [delivered]
    answer = await send_with_failover([first, second], sample())

    assert answer.provider is second
    assert first.circuit.state is CircuitState.CLOSED


async def test_never_fails_over_on_a_permanent_error() -> None:
    first, second = providers(2)
    first.behaviours = [raising(PermanentDeliveryError("550 no such user"))]
    with pytest.raises(PermanentDeliveryError):
        await send_with_failover([first, second], sample())

    assert second.calls == 0
    assert first.circuit.state is CircuitState.CLOSED


async def test_a_possible_duplicate_stops_failover() -> None:
    first, second = providers(2)
    first.behaviours = [raising(RetryableDeliveryError("lost", possible_duplicate=True))]
    with pytest.raises(RetryableDeliveryError) as caught:
        await send_with_failover([first, second], sample())

    assert caught.value.possible_duplicate
    assert second.calls == 0


async def test_when_every_provider_fails_the_last_error_is_raised() -> None:
    first, second = providers(2)
    first.behaviours = [raising(RetryableDeliveryError("first down"))]
    second.behaviours = [raising(RetryableDeliveryError("451 later", temporary=True))]
    with pytest.raises(RetryableDeliveryError) as caught:
        await send_with_failover([first, second], sample())

    assert str(caught.value) == "451 later"
    assert caught.value.provider == "fake"


async def test_every_circuit_open_is_a_technical_error() -> None:
    [only] = providers(1)
    only.circuit.record_failure()
    with pytest.raises(RetryableDeliveryError) as caught:
        await send_with_failover([only], sample())

    assert not caught.value.temporary
    assert only.calls == 0
