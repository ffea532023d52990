"""The one reader of times a client sends: RFC 3339 with a time zone, read into UTC.

Every filter (``created_at_gt_or_eq``, ...) and every time in a body (``scheduledAt``) uses
it, so a naive or date-only value is the same 422 everywhere, at the field's own pointer,
instead of reaching a UTC column. Seed dialects that document naive times as UTC read them
would read them here too, so that the rule lives in one place; ``/v1`` refuses them (a
guessed zone is an event at the wrong hour).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BeforeValidator

# RFC 3339 section 5.6 date-time; "T" or a space between date and time (the note there), and
# an offset is required: "Z" or +hh:mm.
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(?P<zone>[Zz]|[+-]\d{2}:\d{2})?$"
)
EXAMPLE = "2026-11-22T10:28:00Z"


def parse_time(value: object) -> datetime:
    """``value`` as an aware UTC datetime, or ``ValueError`` saying what RFC 3339 wants.

    A value without an offset, a date alone, a number or an impossible date is refused.
    """
    if isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError(f"must be an RFC 3339 date-time string such as {EXAMPLE}")
    match = RFC3339.match(text.strip())
    if match is None:
        raise ValueError(f"must be an RFC 3339 date-time such as {EXAMPLE}")
    if match.group("zone") is None:
        raise ValueError(f"needs a time zone: Z or an offset such as +01:00 ({EXAMPLE})")
    try:
        parsed = datetime.fromisoformat(text.strip().replace("z", "Z").replace("t", "T"))
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"is not a real date-time ({exc})") from exc


# A body field or query parameter that must be an RFC 3339 time with a zone; the schema stays
# ``string``/``date-time`` and pydantic's own reading sees an aware datetime.
Rfc3339 = Annotated[datetime, BeforeValidator(parse_time)]
