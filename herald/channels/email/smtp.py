"""Email over SMTP with aiosmtplib, through a small pool of open sessions.

How the server's answers map to delivery outcomes:

- 4xx → temporary (retried), except 421 "service not available", which is the
  server's own trouble → technical (retried, and failover may try another provider);
- 5xx → permanent;
- anything going wrong while opening a session (connect, greeting, TLS, AUTH) or
  before the data is sent → technical;
- the connection lost, or no reply, once the data is on its way → technical and
  ``possible_duplicate``: the server may have taken the message before it went quiet.

Some recipients refused, others accepted: if at least one ``To`` address is accepted
the message is sent to everyone accepted, and the refusals are kept in
``provider_response["refused"]`` (retrying would send the accepted copies again).
If every ``To`` address is refused, nothing is sent: temporary if any of them got a
4xx, otherwise permanent.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from aiosmtplib import (
    SMTPException,
    SMTPRecipientRefused,
    SMTPResponse,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from herald.channels.base import (
    DeliveryError,
    DeliveryResult,
    EmailMessage,
    PermanentDeliveryError,
    Provider,
    RetryableDeliveryError,
)
from herald.channels.circuit import CircuitBreaker
from herald.channels.email.mime import Envelope, envelope_of, mime_bytes

_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_QUEUE_ID = re.compile(r"queued as ([\w.-]+)", re.IGNORECASE)
_SERVICE_NOT_AVAILABLE = 421


@dataclass(frozen=True)
class SmtpEndpoint:
    """Where and how to connect, parsed from the settings' URL."""

    host: str
    port: int
    use_tls: bool
    start_tls: bool | None
    """True: require STARTTLS; False: never; None: upgrade when the server offers it."""
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_smtp_url(url: str) -> SmtpEndpoint:
    """Parse ``smtp://user:pass@host:port?starttls=true`` or ``smtps://...``.

    Error messages never quote the URL, which holds the password.
    """
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS:
        raise ValueError("the SMTP URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("the SMTP URL names no host")
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError("the SMTP URL's port is not a number from 0 to 65535") from None
    return SmtpEndpoint(
        host=parts.hostname,
        port=port,
        use_tls=parts.scheme == "smtps",
        start_tls=_starttls_option(parts.query, smtps=parts.scheme == "smtps"),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _starttls_option(query: str, *, smtps: bool) -> bool | None:
    """The ``starttls`` query option; any other option is refused rather than ignored."""
    options = parse_qs(query, keep_blank_values=True)
    if set(options) - {"starttls"}:
        raise ValueError("the SMTP URL accepts only the query option starttls")
    if smtps:
        if "starttls" in options:
            raise ValueError("starttls applies to smtp://; smtps:// is TLS from the start")
        return False
    values = options.get("starttls", [])
    if not values:
        return None
    flag = values[-1].lower()
    if flag not in {"true", "false", "1", "0"}:
        raise ValueError("starttls must be true or false")
    return flag in {"true", "1"}


class SmtpSettings(BaseModel):
    """SMTP settings. To trust a private CA, point ``SSL_CERT_FILE`` at its certificate."""

    # The URL holds the password: keep it out of validation errors too.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: SecretStr = Field(description="smtp://user:pass@host:port?starttls=true, or smtps://")
    timeout: float = Field(default=30.0, gt=0, le=600, description="seconds per SMTP command")
    pool_size: int = Field(default=4, ge=1, le=64, description="open sessions at most")

    @field_validator("url")
    @classmethod
    def _valid_url(cls, url: SecretStr) -> SecretStr:
        parse_smtp_url(url.get_secret_value())
        return url


class SmtpPool:
    """At most ``size`` SMTP sessions, each serving one transaction at a time.

    An idle session the server has closed is dropped at checkout and replaced.
    """

    def __init__(self, connect: Callable[[], Awaitable[aiosmtplib.SMTP]], size: int) -> None:
        self._connect = connect
        self._slots = asyncio.Semaphore(size)
        self._idle: list[aiosmtplib.SMTP] = []

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """A connected client for one transaction; returned to the pool afterwards."""
        async with self._slots:
            client = await self._checkout()
            try:
                yield client
            except DeliveryError:
                # The server refused and the envelope was reset: the session is still good.
                self._put_back(client)
                raise
            except BaseException:
                # Anything else leaves the session in an unknown state: never reuse it.
                client.close()
                raise
            self._put_back(client)

    async def aclose(self) -> None:
        """Say QUIT to every idle session."""
        idle, self._idle = self._idle, []
        for client in idle:
            with contextlib.suppress(SMTPException, OSError):
                await client.quit()

    async def _checkout(self) -> aiosmtplib.SMTP:
        # Newest first: the session used last is the least likely to have timed out.
        while self._idle:
            client = self._idle.pop()
            if client.is_connected:
                return client
            client.close()
        return await self._connect()

    def _put_back(self, client: aiosmtplib.SMTP) -> None:
        if client.is_connected:
            self._idle.append(client)


class SmtpProvider(Provider[EmailMessage, SmtpSettings]):
    """Sends email to an SMTP server (a relay, or a provider's SMTP endpoint)."""

    channel: ClassVar[str] = "email"
    name: ClassVar[str] = "smtp"
    Settings: ClassVar[type[BaseModel]] = SmtpSettings

    def __init__(self, settings: SmtpSettings, *, circuit: CircuitBreaker | None = None) -> None:
        super().__init__(settings, circuit=circuit)
        self._endpoint = parse_smtp_url(settings.url.get_secret_value())
        self._pool = SmtpPool(self._open_session, settings.pool_size)

    async def _send(self, message: EmailMessage) -> DeliveryResult:
        raw = mime_bytes(message)
        envelope = envelope_of(message)
        async with self._pool.session() as client:
            refused = await _open_envelope(client, envelope)
            reply = await _send_data(client, raw)
        return DeliveryResult(
            provider_message_id=_queue_id(reply),
            receipt=_text(reply),
            provider_response={
                "code": reply.code,
                "message": reply.message,
                "refused": {address: _text(answer) for address, answer in refused.items()},
            },
        )

    async def aclose(self) -> None:
        """Close the pooled sessions."""
        await self._pool.aclose()

    async def _open_session(self) -> aiosmtplib.SMTP:
        """Connect, greet, upgrade to TLS and log in, as the URL says."""
        endpoint = self._endpoint
        client = aiosmtplib.SMTP(
            hostname=endpoint.host,
            port=endpoint.port,
            username=endpoint.username,
            password=endpoint.password,
            use_tls=endpoint.use_tls,
            start_tls=endpoint.start_tls,
            timeout=self.settings.timeout,
        )
        try:
            await client.connect()
        except SMTPException as exc:
            client.close()
            raise RetryableDeliveryError(
                f"could not open an SMTP session: {_describe(exc)}",
                provider_response=_response_of(exc),
            ) from exc
        return client


async def _open_envelope(client: aiosmtplib.SMTP, envelope: Envelope) -> dict[str, SMTPResponse]:
    """MAIL FROM and RCPT TO; returns the refused recipients if some ``To`` was accepted."""
    try:
        await client.mail(envelope.sender)
        refused: dict[str, SMTPResponse] = {}
        for address in envelope.recipients:
            try:
                await client.rcpt(address)
            except SMTPRecipientRefused as exc:
                refused[address] = SMTPResponse(exc.code, exc.message)
    except SMTPResponseException as exc:
        await _reset(client)
        raise _refusal(exc.code, exc.message) from exc
    if all(address in refused for address in envelope.primary):
        await _reset(client)
        raise _refused_everyone({a: refused[a] for a in envelope.primary})
    return refused


async def _send_data(client: aiosmtplib.SMTP, raw: bytes) -> SMTPResponse:
    """DATA, the message and its final ".": the server's reply is the receipt."""
    try:
        return await client.data(raw)
    except SMTPResponseException as exc:
        await _reset(client)
        raise _refusal(exc.code, exc.message) from exc
    except (SMTPServerDisconnected, SMTPTimeoutError) as exc:
        # aiosmtplib sends DATA and the message in one call, so a loss before the 354
        # can't be told from one after the final "."; assume the server may have it.
        raise RetryableDeliveryError(
            f"no reply to the end of data ({type(exc).__name__}); the message may have been"
            " delivered",
            possible_duplicate=True,
        ) from exc


async def _reset(client: aiosmtplib.SMTP) -> None:
    """RSET after a refusal so the session can serve the next message; close it if it can't."""
    try:
        await client.rset()
    except (SMTPException, OSError):
        client.close()


def _refusal(code: int, message: str) -> DeliveryError:
    """The delivery error for a server's refusal (see the module docstring)."""
    reply = f"{code} {message}"
    response = {"code": code, "message": message}
    if code == _SERVICE_NOT_AVAILABLE or not 400 <= code < 600:
        return RetryableDeliveryError(reply, provider_response=response)
    if code < 500:
        return RetryableDeliveryError(reply, temporary=True, provider_response=response)
    return PermanentDeliveryError(reply, provider_response=response)


def _refused_everyone(refused: dict[str, SMTPResponse]) -> DeliveryError:
    """Every ``To`` refused: temporary if any refusal was, otherwise permanent."""
    summary = "; ".join(f"{address}: {_text(answer)}" for address, answer in refused.items())
    response = {"refused": {address: _text(answer) for address, answer in refused.items()}}
    if any(400 <= answer.code < 500 for answer in refused.values()):
        return RetryableDeliveryError(summary, temporary=True, provider_response=response)
    return PermanentDeliveryError(summary, provider_response=response)


def _describe(exc: SMTPException) -> str:
    if isinstance(exc, SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return f"{type(exc).__name__}: {exc.message}"


def _response_of(exc: SMTPException) -> dict[str, Any]:
    if isinstance(exc, SMTPResponseException):
        return {"code": exc.code, "message": exc.message}
    return {}


def _text(reply: SMTPResponse) -> str:
    return f"{reply.code} {reply.message}"


def _queue_id(reply: SMTPResponse) -> str | None:
    """The server's queue id when its reply names one ("250 2.0.0 Ok: queued as 4Bq2")."""
    found = _QUEUE_ID.search(reply.message)
    return found.group(1) if found else None
