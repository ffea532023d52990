"""The base of providers that call URLs an account configured, over one SSRF-safe client."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, Field

from herald.channels.base import MessageT, Provider
from herald.channels.circuit import CircuitBreaker
from herald.http import ssrf


class HttpSettings(BaseModel):
    """Settings of an HTTP provider: at least how long one call may take."""

    timeout: float = Field(default=15.0, gt=0, le=300)


HttpSettingsT = TypeVar("HttpSettingsT", bound=HttpSettings)


class HttpProvider(Provider[MessageT, HttpSettingsT]):
    """Owns a pooled ``ssrf.safe_client``: every call re-checks the URL and never redirects."""

    def __init__(
        self,
        settings: HttpSettingsT,
        *,
        circuit: CircuitBreaker | None = None,
        allow_private: bool = False,
    ) -> None:
        """``allow_private`` is the operator's ``HERALD_ALLOW_PRIVATE_URLS``, never a tenant's."""
        super().__init__(settings, circuit=circuit)
        self._client = ssrf.safe_client(allow_private=allow_private, timeout=settings.timeout)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()
