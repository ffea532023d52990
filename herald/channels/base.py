"""The provider contract: what a provider receives, what it returns, and what it may raise.

A provider writes only ``_send()``; the base class's ``send()`` owns timing, logs,
metrics and error translation, so every provider reports the same way and nothing a
provider raises (or a secret inside it) leaks past ``send()``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

from pydantic import BaseModel

from herald.channels.circuit import CircuitBreaker
from herald.logs import get_logger
from herald.metrics import DELIVERIES, DELIVERY_LATENCY

_log = get_logger(__name__)


@dataclass(frozen=True)
class TemplateUse:
    """The template a message was rendered from and the personalisation it was given, for a
    provider that sends a template of its own instead (GOV.UK Notify)."""

    template_id: str | None
    personalisation: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class OutboundMessage:
    """A rendered message for one delivery. Each channel subclasses it and sets ``channel``.

    ``template`` is given only to providers that declare ``uses_templates``.
    """

    channel: ClassVar[str]
    delivery_id: str
    recipient: str
    correlation_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    template: TemplateUse | None = None


@dataclass(frozen=True, kw_only=True)
class EmailMessage(OutboundMessage):
    """A rendered email. ``to`` defaults to the delivery's recipient; Bcc is envelope-only."""

    channel: ClassVar[str] = "email"
    from_: str
    subject: str
    text: str
    html: str | None = None
    reply_to: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.to:
            # Frozen dataclass: the documented way to set a derived field in __post_init__.
            object.__setattr__(self, "to", (self.recipient,))


@dataclass(frozen=True, kw_only=True)
class DeliveryResult:
    """A provider's acceptance of a message: its id for it and its answer, kept in the log."""

    provider_message_id: str | None = None
    receipt: str = ""
    provider_response: Mapping[str, Any] = field(default_factory=dict)
    possible_duplicate: bool = False
    awaits_receipt: bool = False
    """The provider will report what became of the message later (an SMS delivery receipt)."""


class DeliveryError(Exception):
    """A provider's refusal or failure; ``provider`` is filled in by ``Provider.send()``."""

    def __init__(self, message: str, *, provider_response: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.provider_response: Mapping[str, Any] = provider_response or {}
        self.provider: str | None = None


class RetryableDeliveryError(DeliveryError):
    """Worth another attempt. ``temporary`` means the recipient's side (mailbox full, 4xx);
    otherwise it is technical (Herald or the provider: refused connection, timeout)."""

    def __init__(
        self,
        message: str,
        *,
        temporary: bool = False,
        retry_after: float | None = None,
        possible_duplicate: bool = False,
        provider_response: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, provider_response=provider_response)
        self.temporary = temporary
        self.retry_after = retry_after
        self.possible_duplicate = possible_duplicate


class PermanentDeliveryError(DeliveryError):
    """No attempt will ever succeed (unknown mailbox, invalid number, rejected content)."""


MessageT = TypeVar("MessageT", bound=OutboundMessage)
SettingsT = TypeVar("SettingsT", bound=BaseModel)


class Provider(ABC, Generic[MessageT, SettingsT]):
    """One configured way to send one channel's messages, declared as data.

    Subclasses set ``channel``, ``name`` and ``Settings`` (a pydantic model whose secrets
    are ``SecretStr``) and implement ``_send``; they register under the
    ``herald.providers`` entry point as ``"<channel>.<name>"``.
    """

    channel: ClassVar[str]
    name: ClassVar[str]
    Settings: ClassVar[type[BaseModel]]
    uses_templates: ClassVar[bool] = False
    """The provider sends its own template for Herald's, so its messages carry ``template``."""

    def __init__(self, settings: SettingsT, *, circuit: CircuitBreaker | None = None) -> None:
        self.settings = settings
        self.circuit = circuit or CircuitBreaker()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """Validate raw settings (from the environment or ``/v1/providers``) and build one."""
        return cls(cast(SettingsT, cls.Settings.model_validate(config)))

    async def send(self, message: MessageT) -> DeliveryResult:
        """Send one message; returns its result or raises a Retryable/PermanentDeliveryError."""
        started = time.perf_counter()
        try:
            result = await self._send(message)
        except DeliveryError as exc:
            self._finish(message, started, exc)
            raise
        except (TimeoutError, OSError) as exc:
            error = RetryableDeliveryError(f"{type(exc).__name__}: {exc}")
            self._finish(message, started, error)
            raise error from exc
        except Exception as exc:
            # An unexpected bug in a provider: retry (it may be transient) but never show
            # its text, which may hold anything, to the delivery log or the tenant.
            error = RetryableDeliveryError(f"unexpected error in provider ({type(exc).__name__})")
            self._finish(message, started, error, exc_info=exc)
            raise error from exc
        self._finish(message, started, None, result=result)
        return result

    async def aclose(self) -> None:
        """Release connections and other resources; the provider is not used afterwards."""

    @abstractmethod
    async def _send(self, message: MessageT) -> DeliveryResult:
        """Deliver ``message`` to the provider; raise a DeliveryError for any refusal."""

    def _finish(
        self,
        message: MessageT,
        started: float,
        error: DeliveryError | None,
        *,
        result: DeliveryResult | None = None,
        exc_info: BaseException | None = None,
    ) -> None:
        """Record one send's duration, outcome metric and log line."""
        elapsed = time.perf_counter() - started
        outcome = outcome_label(error)
        DELIVERY_LATENCY.labels(self.channel, self.name).observe(elapsed)
        DELIVERIES.labels(self.channel, self.name, outcome).inc()
        fields: dict[str, Any] = {
            "channel": self.channel,
            "provider": self.name,
            "delivery_id": message.delivery_id,
            "correlation_id": message.correlation_id,
            "outcome": outcome,
            "duration_ms": round(elapsed * 1000, 1),
        }
        if error is None:
            assert result is not None
            _log.info("provider.sent", provider_message_id=result.provider_message_id, **fields)
            return
        error.provider = self.name
        # A bug in the provider is an error; a refusal or an outage is the provider's answer.
        log = _log.error if exc_info is not None else _log.warning
        log("provider.failed", error=error.message, exc_info=exc_info, **fields)


def outcome_label(error: DeliveryError | None) -> str:
    """The outcome of a send as the metrics and the delivery state machine name it."""
    if error is None:
        return "delivered"
    if isinstance(error, RetryableDeliveryError):
        return "temporary" if error.temporary else "technical"
    return "permanent"
