"""Quiet hours: when a moment falls in a recipient's nightly window, the moment it ends.

The window is wall-clock time in the recipient's timezone, so its end is found on the local
calendar and only then turned into UTC: across a DST change the night is an hour shorter or
longer in UTC, and ``07:00`` stays ``07:00`` where the recipient lives.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def clock(text: str) -> time:
    """``HH:MM`` as a time of day."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@lru_cache(maxsize=1024)
def zone(name: str | None) -> ZoneInfo:
    """The user's timezone; UTC when unset or not an IANA name."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def window_end(moment: datetime, tz: ZoneInfo, start: time, end: time) -> datetime | None:
    """When the quiet window holding ``moment`` ends (UTC), or None when ``moment`` is outside
    it. A window may span midnight (``22:00`` to ``07:00``); equal ends mean no window."""
    if start == end:
        return None
    local = moment.astimezone(tz)
    now = local.time().replace(tzinfo=None)
    if start < end:
        inside, day = start <= now < end, local.date()
    else:
        inside = now >= start or now < end
        day = local.date() + timedelta(days=1) if now >= start else local.date()
    if not inside:
        return None
    # On the local calendar first: the offset is that of the morning the window ends.
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC)
