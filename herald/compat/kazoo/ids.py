"""Ids as Kazoo writes them: 32 lower-case hex digits (a UUID without its dashes).

Herald's UUIDs are answered in that form and accepted in either; an id that is no UUID
names nothing, so it is a 404 like any other unknown id.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from herald.directory.contact import EXTERNAL_ID_PATTERN
from herald.errors import NotFound

_TEMPLATE_ID = re.compile(EXTERNAL_ID_PATTERN)


def kazoo_id(value: uuid.UUID) -> str:
    """A UUID as Kazoo spells ids."""
    return value.hex


def parse_id(text: str, *, what: str) -> uuid.UUID:
    """A path's id (hex or dashed UUID), or 404 naming what was looked for."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(f"No such {what} {text[:64]}") from None


def valid_template_id(text: str) -> str:
    """A path's template id; one no template can have is a 404."""
    if len(text) > 255 or not _TEMPLATE_ID.match(text):
        raise NotFound(f"No template {text[:64]}")
    return text


def account_db(account_id: uuid.UUID, when: datetime) -> str:
    """The name Kazoo gives an account's database of one month (its SMTP log's ``account_db``)."""
    raw = account_id.hex
    return f"account%2F{raw[:2]}%2F{raw[2:4]}%2F{raw[4:]}-{when:%Y%m}"
