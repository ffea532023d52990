"""The status state machine, by example and by property (random, duplicated, reordered outcomes)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.channels.base import PermanentDeliveryError, RetryableDeliveryError
from herald.channels.outcome import Outcome
from herald.delivery.status import ALLOWED, TERMINAL, DeliveryStatus, claim, outcome_of, transition

LATER = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)

# An event is a claim by a worker (None) or an attempt's outcome with or without a retry time.
Event = tuple[Outcome, datetime | None] | None

events = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(Outcome), st.one_of(st.none(), st.just(LATER))),
)


def apply(status: DeliveryStatus, event: Event) -> tuple[DeliveryStatus, bool]:
    decision = claim(status) if event is None else transition(status, event[0], retry_at=event[1])
    return decision.status, decision.ignored


@pytest.mark.parametrize(
    ("current", "outcome", "retry_at", "status"),
    [
        (DeliveryStatus.SENDING, Outcome.DELIVERED, None, DeliveryStatus.DELIVERED),
        (DeliveryStatus.SENDING, Outcome.TEMPORARY, LATER, DeliveryStatus.SENDING),
        (DeliveryStatus.SENDING, Outcome.TEMPORARY, None, DeliveryStatus.TEMPORARY_FAILURE),
        (DeliveryStatus.SENDING, Outcome.TECHNICAL, LATER, DeliveryStatus.SENDING),
        (DeliveryStatus.SENDING, Outcome.TECHNICAL, None, DeliveryStatus.TECHNICAL_FAILURE),
        (DeliveryStatus.SENDING, Outcome.PERMANENT, LATER, DeliveryStatus.PERMANENT_FAILURE),
        (DeliveryStatus.CREATED, Outcome.CANCELLED, None, DeliveryStatus.CANCELLED),
        (DeliveryStatus.CREATED, Outcome.DELIVERED, None, DeliveryStatus.DELIVERED),
    ],
)
def test_transitions(
    current: DeliveryStatus,
    outcome: Outcome,
    retry_at: datetime | None,
    status: DeliveryStatus,
) -> None:
    decision = transition(current, outcome, retry_at=retry_at)
    assert decision.status is status
    assert not decision.ignored
    assert decision.terminal is (status in TERMINAL)
    assert decision.retry_at == (retry_at if status is DeliveryStatus.SENDING else None)


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
@pytest.mark.parametrize("outcome", list(Outcome))
def test_a_terminal_status_ignores_late_outcomes(
    terminal: DeliveryStatus, outcome: Outcome
) -> None:
    decision = transition(terminal, outcome, retry_at=LATER)
    assert (decision.status, decision.ignored, decision.retry_at) == (terminal, True, None)
    assert claim(terminal).ignored


def test_statuses_are_the_api_names() -> None:
    assert {s.value for s in DeliveryStatus} == {
        "created",
        "sending",
        "delivered",
        "temporary-failure",
        "permanent-failure",
        "technical-failure",
        "cancelled",
        "skipped",  # API.md "Preferences and delivery rules"
    }
    assert set(ALLOWED) == set(DeliveryStatus)


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, Outcome.DELIVERED),
        (RetryableDeliveryError("full", temporary=True), Outcome.TEMPORARY),
        (RetryableDeliveryError("refused"), Outcome.TECHNICAL),
        (PermanentDeliveryError("no such user"), Outcome.PERMANENT),
    ],
)
def test_outcome_of_a_send(
    error: RetryableDeliveryError | PermanentDeliveryError | None, outcome: Outcome
) -> None:
    assert outcome_of(error) is outcome


@given(st.lists(events, max_size=30))
def test_only_allowed_edges_and_terminal_never_changes(history: list[Event]) -> None:
    status = DeliveryStatus.CREATED
    for event in history:
        new, ignored = apply(status, event)
        if status in TERMINAL:
            assert (new, ignored) == (status, True)
        else:
            assert new in ALLOWED[status]
            assert not ignored
        status = new


@given(st.lists(events, min_size=1, max_size=15).flatmap(lambda h: st.permutations(h + h)))
def test_duplicated_and_reordered_outcomes_settle_on_the_first_terminal(
    history: list[Event],
) -> None:
    status, first_terminal = DeliveryStatus.CREATED, None
    for event in history:
        status, _ = apply(status, event)
        if first_terminal is None and status in TERMINAL:
            first_terminal = status
        assert first_terminal is None or status is first_terminal


@given(
    st.sampled_from([DeliveryStatus.CREATED, DeliveryStatus.SENDING]),
    st.sampled_from(Outcome),
    st.one_of(st.none(), st.just(LATER)),
)
def test_a_retry_is_scheduled_only_for_a_retryable_outcome(
    current: DeliveryStatus, outcome: Outcome, retry_at: datetime | None
) -> None:
    decision = transition(current, outcome, retry_at=retry_at)
    if decision.retry_at is not None:
        # A retry, or (sent) the wait for a delivery receipt.
        assert outcome in {Outcome.TEMPORARY, Outcome.TECHNICAL, Outcome.SENT}
        assert decision.status is DeliveryStatus.SENDING
        assert not decision.terminal
    else:
        assert decision.terminal
