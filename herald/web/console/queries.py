"""Query strings of the console's lists: a filter form leaves its empty fields in the URL, so an
empty value means "any"; dates (``<input type="date">``) bound whole UTC days; cursors are the
API's."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from herald.http.pagination import decode_cursor, encode_cursor

PAGE_SIZE = 25


def _blank(value: Any) -> Any:
    return None if value == "" else value


Blank = BeforeValidator(_blank)
Word = Annotated[str | None, Blank, Field(max_length=255)]
Day = Annotated[date | None, Blank]
Cursor = Annotated[str | None, Blank, Field(max_length=64)]


class ListQuery(BaseModel):
    """What every long list takes: where the page starts."""

    model_config = ConfigDict(extra="ignore")
    cursor: Cursor = None

    def before(self) -> Any:
        """The id the page starts below (the API's cursor), or None for the newest."""
        return decode_cursor(self.cursor) if self.cursor else None

    def present(self) -> dict[str, str]:
        """The filters given, to rebuild the form and the next page's link."""
        values = self.model_dump(exclude={"cursor"}, exclude_none=True)
        return {name: str(value) for name, value in values.items()}


def day_start(day: date | None) -> datetime | None:
    """The first instant of a UTC day."""
    return datetime.combine(day, time.min, UTC) if day else None


def day_end(day: date | None) -> datetime | None:
    """The last instant of a UTC day."""
    return (
        datetime.combine(day, time.min, UTC) + timedelta(days=1, microseconds=-1) if day else None
    )


def next_cursor(ids: list[Any], limit: int) -> str | None:
    """The cursor of the page after a full one."""
    return encode_cursor(ids[-1]) if ids and len(ids) == limit else None
