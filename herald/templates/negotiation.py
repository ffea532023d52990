"""Content negotiation of ``GET /v1/templates/{id}``: JSON, or an email body's source.

The ``Accept`` header is read as RFC 9110 says (media ranges, ``q`` weights, the most
specific range deciding a type's weight); ``?accept=`` names one type outright, for
clients that cannot set headers. Anything that leaves no offered type acceptable is 406.
"""

from __future__ import annotations

from dataclasses import dataclass

from herald.errors import NotAcceptable

JSON = "application/json"
HTML = "text/html"
TEXT = "text/plain"
# In order of preference when weights tie: JSON for ``*/*``, then HTML for ``text/*``.
OFFERED = (JSON, HTML, TEXT)


@dataclass(frozen=True)
class MediaRange:
    """One entry of an Accept header."""

    type: str
    subtype: str
    q: float

    def specificity(self, media_type: str) -> int:
        """How precisely this range names ``media_type``: 2 exactly, 1 by type, 0 ``*/*``,
        -1 not at all."""
        main, sub = media_type.split("/")
        if (self.type, self.subtype) == (main, sub):
            return 2
        if self.type == main and self.subtype == "*":
            return 1
        return 0 if (self.type, self.subtype) == ("*", "*") else -1


def parse_accept(header: str) -> list[MediaRange]:
    """The media ranges of an Accept header; malformed entries are skipped."""
    ranges: list[MediaRange] = []
    for entry in header.split(","):
        media, *params = (piece.strip() for piece in entry.split(";"))
        main, slash, sub = media.lower().partition("/")
        if not slash or not main or not sub:
            continue
        ranges.append(MediaRange(main, sub, _quality(params)))
    return ranges


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def weight(media_type: str, ranges: list[MediaRange]) -> float:
    """The weight the most specific matching range gives ``media_type`` (0 if none)."""
    matching = [(r.specificity(media_type), r.q) for r in ranges if r.specificity(media_type) >= 0]
    return max(matching)[1] if matching else 0.0


def negotiate(accept: str | None, override: str | None = None) -> str:
    """The media type to answer with, or NotAcceptable (406)."""
    if override is not None:
        media = override.split(";")[0].strip().lower()
        if media not in OFFERED:
            raise NotAcceptable(f"Cannot answer as {override!r}; use one of {', '.join(OFFERED)}")
        return media
    if not accept or not accept.strip():
        return JSON
    ranges = parse_accept(accept)
    weights = {media: weight(media, ranges) for media in OFFERED}
    best = max(OFFERED, key=lambda media: weights[media])  # max keeps the first of equals
    if weights[best] <= 0:
        raise NotAcceptable(f"Cannot answer as {accept!r}; use one of {', '.join(OFFERED)}")
    return best
