"""Durations as the rules write them: a whole number and a unit (``30s``, ``15m``, ``1h``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^([1-9][0-9]{0,5})([smhd])$")


def parse_duration(text: str) -> timedelta:
    """The timedelta ``text`` names; ValueError for anything else (``10``, ``1.5h``, ``-1m``)."""
    found = _PATTERN.match(text)
    if found is None:
        raise ValueError("a duration is a whole number and a unit s, m, h or d (e.g. 15m)")
    return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)])


def _checked(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[str, AfterValidator(_checked)]
"""A field holding a duration, kept as written and checked when read."""
