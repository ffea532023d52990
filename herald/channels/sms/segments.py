"""SMS segment counting: GSM 03.38 (7-bit) when every character fits, UCS-2 otherwise.

Counting rules, as carriers bill them:

- GSM-7: the basic table costs one septet per character, the extension table
  (``^{}\\[~]|€`` and form feed) two (an escape plus the character). One message holds
  160 septets; a concatenated message holds 153 per segment (the user data header
  takes the rest).
- UCS-2: one UTF-16 code unit per character, two for a character outside the Basic
  Multilingual Plane (an emoji is a surrogate pair). 70 units in one message, 67 per
  concatenated segment.
- A segment boundary never splits an escape sequence or a surrogate pair: the whole
  character moves to the next segment, as real SMSCs do, so a long message can need
  one more segment than ``ceil(units / per_segment)``.
- Empty text is one segment of zero characters: an empty message is still a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The GSM 03.38 basic table, in code order, without 0x1B (the escape to the extension table).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table characters every handset supports (no national shift tables).
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM_SINGLE, GSM_PER_PART = 160, 153
UCS2_SINGLE, UCS2_PER_PART = 70, 67

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SegmentCount:
    """How an SMS body will be sent and billed.

    ``characters`` is in billing units: septets for GSM-7 (extension characters count
    two), UTF-16 code units for UCS-2 (characters outside the BMP count two).
    ``unicode_characters`` lists, once each and in order of first appearance, the
    characters that forced UCS-2 (empty for GSM-7).
    """

    encoding: Encoding
    characters: int
    segments: int
    unicode_characters: list[str]


def count_segments(text: str) -> SegmentCount:
    """Count the encoding, billing characters and segments of an SMS body."""
    unicode_characters = _non_gsm_characters(text)
    if unicode_characters:
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
        return SegmentCount(
            "UCS-2", sum(units), _segments(units, UCS2_SINGLE, UCS2_PER_PART), unicode_characters
        )
    septets = [2 if c in GSM_EXTENSION else 1 for c in text]
    return SegmentCount("GSM-7", sum(septets), _segments(septets, GSM_SINGLE, GSM_PER_PART), [])


def _non_gsm_characters(text: str) -> list[str]:
    """Characters outside both GSM tables, deduplicated, in order of first appearance."""
    seen = dict.fromkeys(c for c in text if c not in GSM_BASIC and c not in GSM_EXTENSION)
    return list(seen)


def _segments(units: list[int], single: int, per_part: int) -> int:
    """Segments needed, packing whole characters (never half an escape or surrogate pair)."""
    if sum(units) <= single:
        return 1
    parts, used = 1, 0
    for unit in units:
        if used + unit > per_part:
            parts, used = parts + 1, 0
        used += unit
    return parts
