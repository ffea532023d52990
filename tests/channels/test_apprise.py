"""The Apprise provider posting to json:// targets on local HTTP servers."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from herald.channels.apprise import AppriseProvider, AppriseSettings, ChatMessage
from herald.channels.base import PermanentDeliveryError, RetryableDeliveryError
from tests.channels.servers.http import Reply, serve


def chat() -> ChatMessage:
    return ChatMessage(delivery_id="d-1", recipient="acme", title="Missed call", body="Ann")


def provider(*urls: str, allow_private: bool = True) -> AppriseProvider:
    settings = AppriseSettings.model_validate({"urls": list(urls)})
    return AppriseProvider(settings, allow_private=allow_private)


def json_url(server_url: str, path: str = "/hook") -> str:
    return server_url.replace("http://", "json://") + path


async def test_a_json_target_on_loopback_receives_the_message() -> None:
    with serve() as server:
        result = await provider(json_url(server.url)).send(chat())

    [request] = server.requests
    assert request.path == "/hook"
    received = json.loads(request.body)
    assert (received["title"], received["message"], received["type"]) == (
        "Missed call",
        "Ann",
        "info",
    )
    assert result.provider_response == {"targets": 1, "failed": []}


async def test_a_failing_target_is_retryable() -> None:
    with (
        serve(Reply(500)) as server,
        pytest.raises(RetryableDeliveryError, match="no reason") as caught,
    ):
        await provider(json_url(server.url)).send(chat())
    assert not caught.value.temporary
    assert len(server.requests) == 1


async def test_one_target_failing_of_two_is_delivered_and_recorded() -> None:
    with serve() as good, serve(Reply(503)) as bad:
        result = await provider(json_url(good.url), json_url(bad.url)).send(chat())
    assert result.provider_response == {"targets": 2, "failed": [1]}
    assert len(good.requests) == len(bad.requests) == 1


async def test_an_unreachable_target_is_retryable() -> None:
    with serve() as server:
        url = json_url(server.url)
    with pytest.raises(RetryableDeliveryError):
        await provider(url).send(chat())


@pytest.mark.parametrize(
    ("host", "allow_private"),
    [("127.0.0.1", False), ("169.254.169.254", True), ("2130706433", False)],
)
async def test_generic_targets_on_internal_addresses_are_refused(
    host: str, allow_private: bool
) -> None:
    with serve() as server:
        url = f"json://{host}:{server.port}/hook"
        with pytest.raises(PermanentDeliveryError, match="URL 0"):
            await provider(url, allow_private=allow_private).send(chat())
    assert server.requests == []


def test_settings_refuse_unknown_urls_without_showing_them() -> None:
    with pytest.raises(ValidationError, match="URL 1 is not one Apprise knows") as caught:
        AppriseSettings.model_validate({"urls": ["json://127.0.0.1/", "nonsense://token-123"]})
    assert "token-123" not in str(caught.value)
    with pytest.raises(ValidationError):
        AppriseSettings.model_validate({"urls": []})


def test_settings_hide_the_tokens() -> None:
    settings = AppriseSettings.model_validate(
        {"urls": ["slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"]}
    )
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in repr(settings)
