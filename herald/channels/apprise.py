"""Chat services through Apprise: Slack, Teams, Telegram, Discord, and any other Apprise URL.

An account configures one or more Apprise URLs (they embed tokens, so they are
secrets); each message is sent to every one, with the title and body from the
notification's push or in-app parts. Apprise's ``notify`` is blocking, so it runs in a
thread, one Apprise instance per URL so that each URL's result is known.

Apprise reports only success or failure, never why, so a failure cannot be told apart
as the recipient's or permanent: a URL that fails is technical, and retried. If at least
one URL succeeds the message is delivered and the failed URLs (by position) are kept in
``provider_response["failed"]``: retrying would post again to those that succeeded.

URLs of the generic webhook schemes (``json``, ``xml``, ``form``) name any host, so
their host is checked against internal addresses as the webhook channel's are; the
other services post to their own fixed APIs.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from herald.channels.base import (
    DeliveryResult,
    OutboundMessage,
    PermanentDeliveryError,
    Provider,
    RetryableDeliveryError,
)
from herald.channels.circuit import CircuitBreaker
from herald.http import ssrf

# Apprise's e-mail plugin imports the standard library's imghdr, deprecated since Python
# 3.11; importing it here first, quietly, keeps that warning (not ours) out of the logs
# and out of test runs that turn warnings into errors. Python 3.13 has no imghdr at all.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
    import imghdr  # noqa: F401

import apprise  # after the quiet imghdr import above

GENERIC_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})


@dataclass(frozen=True, kw_only=True)
class ChatMessage(OutboundMessage):
    """A message for an account's chat services; ``recipient`` names the account for the log."""

    channel: ClassVar[str] = "chat"
    title: str
    body: str


class AppriseSettings(BaseModel):
    """The Apprise URLs to post to, each a secret (``slack://T.../B.../X...``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    urls: list[SecretStr] = Field(min_length=1, max_length=20)

    @field_validator("urls")
    @classmethod
    def _known_services(cls, urls: list[SecretStr]) -> list[SecretStr]:
        for position, url in enumerate(urls):
            # The position, never the URL: it holds the service's token.
            if not apprise.Apprise().add(url.get_secret_value()):
                raise ValueError(f"URL {position} is not one Apprise knows")
        return urls


class AppriseProvider(Provider[ChatMessage, AppriseSettings]):
    """Posts each message to every Apprise URL of the account."""

    channel: ClassVar[str] = "chat"
    name: ClassVar[str] = "apprise"
    Settings: ClassVar[type[BaseModel]] = AppriseSettings

    def __init__(
        self,
        settings: AppriseSettings,
        *,
        circuit: CircuitBreaker | None = None,
        allow_private: bool = False,
    ) -> None:
        """``allow_private`` is the operator's ``HERALD_ALLOW_PRIVATE_URLS``, never a tenant's."""
        super().__init__(settings, circuit=circuit)
        self._allow_private = allow_private
        self._targets = [_target(url.get_secret_value()) for url in settings.urls]

    async def _send(self, message: ChatMessage) -> DeliveryResult:
        await self._check_hosts()
        results = await asyncio.gather(
            *(
                asyncio.to_thread(target.notify, body=message.body, title=message.title)
                for target in self._targets
            )
        )
        failed = [position for position, result in enumerate(results) if not bool(result)]
        response: dict[str, Any] = {"targets": len(results), "failed": failed}
        if len(failed) == len(results):
            raise RetryableDeliveryError(
                "Apprise could not notify any URL (it gives no reason)", provider_response=response
            )
        return DeliveryResult(
            receipt=f"notified {len(results) - len(failed)} of {len(results)}",
            provider_response=response,
        )

    async def _check_hosts(self) -> None:
        for position, url in enumerate(self.settings.urls):
            parts = urlsplit(url.get_secret_value())
            if parts.scheme.lower() not in GENERIC_SCHEMES:
                continue
            web_scheme = "https" if parts.scheme.lower().endswith("s") else "http"
            try:
                await ssrf.check_url(
                    f"{web_scheme}://{parts.netloc.rpartition('@')[2]}/",
                    allow_private=self._allow_private,
                )
            except ssrf.UnresolvableUrl as exc:
                raise RetryableDeliveryError(f"URL {position}: {exc.message}") from exc
            except ssrf.UnsafeUrl as exc:
                raise PermanentDeliveryError(f"URL {position}: {exc.message}") from exc


def _target(url: str) -> Any:
    target = apprise.Apprise()
    target.add(url)
    return target
