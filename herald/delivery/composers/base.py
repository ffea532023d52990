"""What every per-channel composer shares: the delivery it composes for (``Target``), the
keys its loader may need (``Keys``), and how a channel plugs in (``ChannelSupport``).

The composers import this module and ``herald.delivery.compose`` imports the composers,
never the reverse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.channels.base import OutboundMessage
from herald.config import Settings
from herald.delivery.models import Delivery
from herald.directory.models import User
from herald.notifications.models import Notification


@dataclass(frozen=True)
class Target:
    """Everything composing one delivery needs, loaded once."""

    delivery: Delivery
    notification: Notification
    account: Account
    user: User | None
    settings: Settings
    secret: str
    """The deployment's secret (it signs the unsubscribe links of emails)."""


@dataclass(frozen=True)
class Keys:
    """What loading a message's secrets may need: settings and the deployment's sealing key."""

    settings: Settings
    sealing_key: str


Composer = Callable[[AsyncSession, Target, Mapping[str, Any]], Awaitable[dict[str, Any]]]
"""(session, target, the template's rendered parts) → the log's ``rendered`` document."""
MessageBuilder = Callable[[Delivery, Mapping[str, Any], Mapping[str, Any]], OutboundMessage]
"""(delivery, its stored ``rendered``, what ``load`` gave) → the provider's message."""
Loader = Callable[[AsyncSession, Delivery, Keys], Awaitable[dict[str, Any]]]
"""(session, delivery, keys) → what the message needs but the log must not show (a
webhook endpoint's secret, a letter's PDF); read at each attempt, never stored."""
Router = Callable[[Mapping[str, Any]], frozenset[str]]
"""(stored ``rendered``) → the names of the providers that can send it (push platforms)."""


async def _nothing(_session: AsyncSession, _delivery: Delivery, _keys: Keys) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ChannelSupport:
    """How one channel composes a delivery and rebuilds its message for each attempt.

    ``sources`` are the template channels whose parts it sends, the first present
    winning (default: its own); ``route``, when set, narrows the providers to those
    able to send one delivery.
    """

    compose: Composer
    message: MessageBuilder
    load: Loader = _nothing
    sources: tuple[str, ...] = ()
    route: Router | None = None
    templated: bool = True
    """False for a channel that sends the notification itself (webhooks): no template."""
