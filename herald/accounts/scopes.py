"""The scopes a key or token may carry, and the rule that decides whether one grants another."""

from __future__ import annotations

import re
from collections.abc import Iterable

BASE_SCOPES: tuple[str, ...] = (
    "notifications.write",
    "notifications.read",
    "users.write",
    "users.read",
    "negotiators.read",
    "templates.write",
    "templates.read",
    "accounts.write",
    "inbox.read",
    "inbox.write",
    "deliveries.read",
    "admin",
)
TYPE_SCOPE = re.compile(r"^notifications\.[A-Za-z0-9_-]+\.write$")


def is_valid(scope: str) -> bool:
    """Whether a scope name is one Herald knows (including ``notifications.<type>.write``)."""
    return scope in BASE_SCOPES or bool(TYPE_SCOPE.match(scope))


def grants(granted: Iterable[str], required: str) -> bool:
    """Whether a set of scopes allows ``required``; ``notifications.write`` covers every type."""
    held = set(granted)
    if required in held:
        return True
    return bool(TYPE_SCOPE.match(required)) and "notifications.write" in held


def type_scope(notification_type: str) -> str:
    """The scope that allows sending one notification type."""
    return f"notifications.{notification_type}.write"
