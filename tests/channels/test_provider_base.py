"""Provider.send(): error translation, metrics, logs; the message types."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from herald.channels.base import (
    EmailMessage,
    PermanentDeliveryError,
    RetryableDeliveryError,
    outcome_label,
)
from tests.channels.fakes import FakeProvider, FakeSettings, delivered, raising, sample


def count(provider: str, outcome: str) -> float:
    labels = {"channel": "email", "provider": provider, "outcome": outcome}
    return REGISTRY.get_sample_value("herald_deliveries_total", labels) or 0.0


async def test_success_is_counted_timed_and_logged() -> None:
    provider = FakeProvider()
    provider.behaviours = [delivered]
    before = count("fake", "delivered")
    timed = REGISTRY.get_sample_value(
        "herald_provider_send_seconds_count", {"channel": "email", "provider": "fake"}
    )
    with capture_logs() as logs:
        result = await provider.send(sample())

    assert result.provider_message_id == "id-d-1"
    assert count("fake", "delivered") == before + 1
    assert (
        REGISTRY.get_sample_value(
            "herald_provider_send_seconds_count", {"channel": "email", "provider": "fake"}
        )
        == (timed or 0) + 1
    )
    assert logs[0]["event"] == "provider.sent"
    assert logs[0]["delivery_id"] == "d-1"


@pytest.mark.parametrize(
    ("raised", "outcome", "temporary"),
    [
        (RetryableDeliveryError("mailbox full", temporary=True), "temporary", True),
        (RetryableDeliveryError("503 from provider"), "technical", False),
        (ConnectionRefusedError(111, "Connection refused"), "technical", False),
        (TimeoutError(), "technical", False),
        (RuntimeError("password=hunter2 in a bug"), "technical", False),
        (KeyError("hunter2"), "technical", False),
    ],
)
async def test_errors_become_retryable(raised: Exception, outcome: str, temporary: bool) -> None:
    provider = FakeProvider()
    provider.behaviours = [raising(raised)]
    before = count("fake", outcome)
    with pytest.raises(RetryableDeliveryError) as caught:
        await provider.send(sample())

    assert caught.value.temporary is temporary
    assert caught.value.provider == "fake"
    assert "hunter2" not in str(caught.value)
    assert count("fake", outcome) == before + 1
    assert outcome_label(caught.value) == outcome


async def test_permanent_errors_pass_through() -> None:
    provider = FakeProvider()
    provider.behaviours = [
        raising(PermanentDeliveryError("invalid number", provider_response={"c": 1}))
    ]
    with capture_logs() as logs, pytest.raises(PermanentDeliveryError) as caught:
        await provider.send(sample())

    assert caught.value.provider_response == {"c": 1}
    assert logs[0]["event"] == "provider.failed"
    assert logs[0]["outcome"] == "permanent"


async def test_a_provider_bug_is_logged_as_an_error() -> None:
    provider = FakeProvider()
    provider.behaviours = [raising(ZeroDivisionError())]
    with capture_logs() as logs, pytest.raises(RetryableDeliveryError):
        await provider.send(sample())

    assert logs[0]["log_level"] == "error"
    assert isinstance(logs[0]["exc_info"], ZeroDivisionError)


async def test_cancellation_is_not_swallowed() -> None:
    import asyncio

    provider = FakeProvider()
    provider.behaviours = [raising(asyncio.CancelledError())]
    with pytest.raises(asyncio.CancelledError):
        await provider.send(sample())


def test_from_config_validates_settings() -> None:
    provider = FakeProvider.from_config({"token": "abc"})
    assert isinstance(provider.settings, FakeSettings)
    assert provider.settings.token.get_secret_value() == "abc"


def test_email_to_defaults_to_the_recipient() -> None:
    assert sample().to == ("ann@example.org",)
    assert EmailMessage.channel == "email"
    explicit = EmailMessage(
        delivery_id="d",
        recipient="ann@example.org",
        to=("Ann <ann@example.org>", "bob@example.org"),
        from_="x@example.org",
        subject="s",
        text="t",
    )
    assert explicit.to == ("Ann <ann@example.org>", "bob@example.org")
