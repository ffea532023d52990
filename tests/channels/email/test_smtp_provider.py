"""The SMTP provider against real aiosmtpd servers: headers, parts, receipts, refusals, pooling."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator, Callable
from email.message import EmailMessage as MimeMessage
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from pydantic import ValidationError

from herald.channels.base import (
    EmailMessage,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from herald.channels.email.smtp import SmtpProvider, SmtpSettings, parse_smtp_url
from tests.channels.conftest import ACCEPTED, PASSWORD, USERNAME, Certificate, Server

DELIVERY_ID = "0190b2b4-7c1e-7a3e-9d2f-5b8a1c0d4e6f"

Providers = Callable[..., SmtpProvider]


def message(**overrides: Any) -> EmailMessage:
    fields: dict[str, Any] = {
        "delivery_id": DELIVERY_ID,
        "recipient": "ann@example.org",
        "from_": "Herald <noreply@herald.example>",
        "reply_to": ("support@herald.example",),
        "cc": ("Carl <carl@example.org>",),
        "bcc": ("audit@example.org",),
        "subject": "Your code: 1234 — café",
        "text": "Your code is 1234.\n",
        "html": "<p>Your code is <b>1234</b>.</p>\n",
        "headers": {"X-Campaign": "signup"},
    }
    return EmailMessage(**(fields | overrides))


def parse(content: bytes) -> MimeMessage:
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(parsed, MimeMessage)
    return parsed


@pytest.fixture
async def providers() -> AsyncIterator[Providers]:
    """Build SMTP providers for a server; closed after the test."""
    made: list[SmtpProvider] = []

    def make(server: Server, *, url: str | None = None, **settings: Any) -> SmtpProvider:
        config = {"url": url or f"smtp://{server.host}:{server.port}", "timeout": 5} | settings
        provider = SmtpProvider.from_config(config)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


async def test_delivers_with_headers_both_parts_and_receipt(
    smtp_server: Callable[..., Server], providers: Providers
) -> None:
    server = smtp_server()
    result = await providers(server).send(message())

    assert result.receipt == ACCEPTED
    assert result.provider_message_id == "4BqZ1x"
    assert result.provider_response["refused"] == {}
    assert not result.possible_duplicate
    [received] = server.sink.received
    assert received.mail_from == "noreply@herald.example"
    assert received.rcpt_tos == ["ann@example.org", "carl@example.org", "audit@example.org"]
    mime = parse(received.content)
    assert mime["Message-ID"] == f"<{DELIVERY_ID}@herald.example>"
    assert mime["X-Herald-Delivery-Id"] == DELIVERY_ID
    assert mime["Bcc"] is None
    assert b"audit@example.org" not in received.content
    assert (mime["To"], mime["Cc"]) == ("ann@example.org", "Carl <carl@example.org>")
    assert mime["Reply-To"] == "support@herald.example"
    assert mime["Subject"] == "Your code: 1234 — café"
    assert mime["X-Campaign"] == "signup"
    assert parsedate_to_datetime(mime["Date"]).tzinfo is not None
    assert mime.get_content_type() == "multipart/alternative"
    plain, html = (mime.get_body(preferencelist=(kind,)) for kind in ("plain", "html"))
    assert plain is not None
    assert plain.get_content() == "Your code is 1234.\r\n"
    assert html is not None
    assert html.get_content() == "<p>Your code is <b>1234</b>.</p>\r\n"


async def test_text_only_message_is_plain(
    smtp_server: Callable[..., Server], providers: Providers
) -> None:
    server = smtp_server()
    await providers(server).send(message(html=None, cc=(), bcc=()))

    mime = parse(server.sink.received[0].content)
    assert mime.get_content_type() == "text/plain"
    assert server.sink.received[0].rcpt_tos == ["ann@example.org"]


@pytest.mark.parametrize(
    ("reply", "error", "temporary"),
    [
        ("451 4.3.0 Mailbox temporarily unavailable", RetryableDeliveryError, True),
        ("452 4.2.2 Mailbox full", RetryableDeliveryError, True),
        ("421 4.3.2 Service shutting down", RetryableDeliveryError, False),
        ("550 5.1.1 No such user", PermanentDeliveryError, None),
        ("554 5.7.1 Message rejected as spam", PermanentDeliveryError, None),
    ],
)
async def test_refusal_at_end_of_data(
    smtp_server: Callable[..., Server],
    providers: Providers,
    reply: str,
    error: type[Exception],
    temporary: bool | None,
) -> None:
    server = smtp_server(reply=reply)
    with pytest.raises(error) as raised:
        await providers(server).send(message())

    assert str(raised.value) == reply
    assert getattr(raised.value, "temporary", None) is temporary
    assert not getattr(raised.value, "possible_duplicate", False)
    assert raised.value.provider_response["code"] == int(reply[:3])  # type: ignore[attr-defined]


async def test_connection_lost_after_data_is_a_possible_duplicate(
    smtp_server: Callable[..., Server], providers: Providers
) -> None:
    server = smtp_server(reply=None)
    with pytest.raises(RetryableDeliveryError) as raised:
        await providers(server).send(message())

    assert raised.value.possible_duplicate
    assert not raised.value.temporary
    assert len(server.sink.received) == 1


async def test_no_reply_to_end_of_data_in_time_is_a_possible_duplicate(
    smtp_server: Callable[..., Server], providers: Providers
) -> None:
    server = smtp_server()
    server.sink.delay = 1.0
    with pytest.raises(RetryableDeliveryError) as raised:
        await providers(server, timeout=0.3).send(message())

    assert raised.value.possible_duplicate


async def test_unreachable_server_is_a_technical_failure(providers: Providers) -> None:
    nowhere = Server("127.0.0.1", 1, None, None)  # type: ignore[arg-type]
    with pytest.raises(RetryableDeliveryError) as raised:
        await providers(nowhere).send(message())

    assert not raised.value.temporary
    assert not raised.value.possible_duplicate


async def test_every_to_refused_sends_nothing(
    smtp_server: Callable[..., Server], providers: Providers
) -> None:
    server = smtp_server()
    server.sink.refuse = {"ann@example.org": "550 5.1.1 No such user"}
    with pytest.raises(PermanentDeliveryError) as raised:
        await providers(server).send(message())

    assert raised.value.provider_response == {
        "refused": {"ann@example.org": "550 5.1.1 No such user"}
    }
    assert server.sink.received == []


async def test_a_temporarily_refused_to_is_retried(
    smtp_server: Callable[..., Server], providers: Providers
) -> None:
    server = smtp_server()
    server.sink.refuse = {"ann@example.org": "450 4.2.1 Try again later"}
    with pytest.raises(RetryableDeliveryError) as raised:
        await providers(server).send(message())

    assert raised.value.temporary
    assert server.sink.received == []


async def test_refused_copies_are_reported_when_the_to_is_accepted(
    smtp_server: Callable[..., Server], providers: Providers
) -> None:
    server = smtp_server()
    server.sink.refuse = {"carl@example.org": "550 5.1.1 No such user"}
    result = await providers(server).send(message())

    assert result.provider_response["refused"] == {"carl@example.org": "550 5.1.1 No such user"}
    assert server.sink.received[0].rcpt_tos == ["ann@example.org", "audit@example.org"]


async def test_sessions_are_pooled_and_reused(
    smtp_server: Callable[..., Server], providers: Providers
) -> None:
    server = smtp_server()
    provider = providers(server, pool_size=2)
    for _ in range(3):
        await provider.send(message())
    assert len(server.sink.peers) == 1

    await asyncio.gather(*(provider.send(message()) for _ in range(8)))
    assert len(server.sink.received) == 11
    assert len(server.sink.peers) <= 2


async def test_a_session_survives_a_refusal(
    smtp_server: Callable[..., Server], providers: Providers
) -> None:
    server = smtp_server(reply="550 5.7.1 Rejected")
    provider = providers(server)
    with pytest.raises(PermanentDeliveryError):
        await provider.send(message())
    server.sink.reply = ACCEPTED
    await provider.send(message())

    assert len(server.sink.peers) == 1


async def test_a_dead_pooled_session_is_replaced(
    smtp_server: Callable[..., Server], providers: Providers
) -> None:
    server = smtp_server()
    server.sink.hang_up_after_reply = True
    provider = providers(server)
    await provider.send(message())
    await asyncio.sleep(0.3)  # the server hangs up the idle session meanwhile

    result = await provider.send(message())
    assert result.receipt == ACCEPTED
    assert len(server.sink.peers) == 2


async def test_starttls_and_auth(
    smtp_server: Callable[..., Server],
    providers: Providers,
    certificate: Certificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert_file))
    server = smtp_server(tls=certificate.server_context, auth=True)
    url = f"smtp://{USERNAME}:{PASSWORD.replace(' ', '%20')}@127.0.0.1:{server.port}?starttls=true"
    result = await providers(server, url=url).send(message())

    assert result.receipt == ACCEPTED


async def test_smtps(
    smtp_server: Callable[..., Server],
    providers: Providers,
    certificate: Certificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert_file))
    server = smtp_server(implicit_tls=certificate.server_context)
    result = await providers(server, url=f"smtps://127.0.0.1:{server.port}").send(message())

    assert result.receipt == ACCEPTED


async def test_wrong_password_is_a_technical_failure(
    smtp_server: Callable[..., Server],
    providers: Providers,
    certificate: Certificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert_file))
    server = smtp_server(tls=certificate.server_context, auth=True)
    url = f"smtp://{USERNAME}:wrong@127.0.0.1:{server.port}?starttls=true"
    with pytest.raises(RetryableDeliveryError) as raised:
        await providers(server, url=url).send(message())

    assert not raised.value.temporary
    assert raised.value.provider_response["code"] == 535
    assert "wrong" not in str(raised.value)


async def test_untrusted_certificate_is_refused(
    smtp_server: Callable[..., Server], providers: Providers, certificate: Certificate
) -> None:
    server = smtp_server(tls=certificate.server_context)
    url = f"smtp://127.0.0.1:{server.port}?starttls=true"
    with pytest.raises(RetryableDeliveryError):
        await providers(server, url=url).send(message())

    assert server.sink.received == []


async def test_template_may_not_override_herald_headers(
    smtp_server: Callable[..., Server], providers: Providers
) -> None:
    server = smtp_server()
    with pytest.raises(PermanentDeliveryError, match="Message-ID"):
        await providers(server).send(message(headers={"Message-ID": "<x@y>"}))


async def test_header_injection_is_refused(
    smtp_server: Callable[..., Server], providers: Providers
) -> None:
    server = smtp_server()
    with pytest.raises(PermanentDeliveryError):
        await providers(server).send(message(subject="Hi\r\nBcc: victim@example.org"))
    assert server.sink.received == []


@pytest.mark.parametrize(
    ("url", "host", "port", "use_tls", "start_tls"),
    [
        ("smtp://mail.example.org", "mail.example.org", 25, False, None),
        ("smtp://mail.example.org:587?starttls=true", "mail.example.org", 587, False, True),
        ("smtp://mail.example.org:2525?starttls=false", "mail.example.org", 2525, False, False),
        ("smtps://mail.example.org", "mail.example.org", 465, True, False),
    ],
)
def test_url_options(url: str, host: str, port: int, use_tls: bool, start_tls: bool | None) -> None:
    endpoint = parse_smtp_url(url)
    assert (endpoint.host, endpoint.port, endpoint.use_tls, endpoint.start_tls) == (
        host,
        port,
        use_tls,
        start_tls,
    )


def test_url_credentials_are_decoded_and_not_shown() -> None:
    endpoint = parse_smtp_url("smtp://me%40example.org:p%40ss%2Fword@mail.example.org")
    assert (endpoint.username, endpoint.password) == ("me@example.org", "p@ss/word")
    assert "p@ss" not in repr(endpoint)


@pytest.mark.parametrize(
    "url",
    [
        "http://u:hunter2@mail.example.org",
        "smtp://u:hunter2@",
        "smtp://u:hunter2@mail.example.org:99999",
        "smtp://u:hunter2@mail.example.org?tls=yes",
        "smtp://u:hunter2@mail.example.org?starttls=maybe",
        "smtps://u:hunter2@mail.example.org?starttls=true",
    ],
)
def test_bad_urls_are_refused_without_showing_the_password(url: str) -> None:
    with pytest.raises(ValidationError) as raised:
        SmtpSettings.model_validate({"url": url})
    assert "hunter2" not in str(raised.value)


def test_settings_never_show_the_url() -> None:
    settings = SmtpSettings.model_validate({"url": "smtp://u:hunter2@mail.example.org"})
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in settings.model_dump_json()
