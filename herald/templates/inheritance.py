"""Which template an account gets, and how an override or a locale variant fills in the rest.

Pure functions over rows already loaded. The owners an account may inherit from form a
chain, farthest first: the system (``None``), the root account, ..., the parent, the
account itself. The nearest owner holding a template id wins; siblings and children are
never in the chain, so their templates cannot be seen.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from herald.accounts.models import Account
from herald.templates.models import Template

Owner = uuid.UUID | None
Body = dict[str, Any]


def chain_of(account: Account) -> list[Owner]:
    """Owners ``account`` inherits from, farthest first: the system, ancestors, itself."""
    return [None, *account.ancestor_ids, account.id]


@dataclass(frozen=True)
class Resolved:
    """The template an account gets for an id, and the row it comes from."""

    row: Template
    viewer_id: uuid.UUID

    @property
    def account_overridden(self) -> bool:
        """Whether an account (this one or an ancestor) rather than the system provides it."""
        return self.row.account_id is not None

    @property
    def own(self) -> bool:
        """Whether the viewing account itself holds this template."""
        return self.row.account_id == self.viewer_id


def nearest(rows: Iterable[Template], chain: Sequence[Owner]) -> Template | None:
    """The row of the nearest owner in ``chain``; rows of other owners are ignored."""
    rank = {owner: i for i, owner in enumerate(chain)}
    ranked = [(rank[r.account_id], r) for r in rows if r.account_id in rank]
    return max(ranked, key=lambda pair: pair[0])[1] if ranked else None


def effective(rows: Iterable[Template], chain: Sequence[Owner]) -> dict[str, Template]:
    """For every template id in ``rows``, the row the last owner of ``chain`` gets."""
    by_id: dict[str, list[Template]] = {}
    for row in rows:
        by_id.setdefault(row.template_id, []).append(row)
    found = {tid: nearest(group, chain) for tid, group in by_id.items()}
    return {tid: row for tid, row in found.items() if row is not None}


def inherited(rows: Iterable[Template], chain: Sequence[Owner]) -> Template | None:
    """The row the account would get without its own: what its override overrides."""
    return nearest(rows, chain[:-1])


def merge_channels(base: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Channels of ``given`` over ``base``, part by part; ``None`` removes a part or channel."""
    merged: dict[str, Any] = {}
    for channel in dict.fromkeys([*base, *given]):
        if channel in given and given[channel] is None:
            continue
        parts = {**base.get(channel, {}), **given.get(channel, {})}
        parts = {name: value for name, value in parts.items() if value is not None}
        if parts:
            merged[channel] = parts
    return merged


def merge_template(base: Mapping[str, Any], given: Mapping[str, Any]) -> Body:
    """A template as saved: what ``given`` says, the rest as in ``base`` (what it overrides).

    Fields are replaced whole except channels (merged part by part) and locales (merged
    per locale, then part by part); ``None`` removes what it names.
    """
    body: Body = {**base, **given}
    body["channels"] = merge_channels(base.get("channels") or {}, given.get("channels") or {})
    locales: dict[str, Any] = {}
    base_locales, given_locales = base.get("locales") or {}, given.get("locales") or {}
    for locale in dict.fromkeys([*base_locales, *given_locales]):
        if locale in given_locales and given_locales[locale] is None:
            continue
        old = (base_locales.get(locale) or {}).get("channels") or {}
        new = (given_locales.get(locale) or {}).get("channels") or {}
        locales[locale] = {"channels": merge_channels(old, new)}
    body["locales"] = locales
    return {name: value for name, value in body.items() if value is not None}


def locale_candidates(locale: str | None, default_locale: str | None) -> list[str]:
    """Locales to try in order: the one asked for, its language, the account's default, its
    language (``cy-GB`` → ``cy``). Lower case, as stored locales are matched."""
    tried: list[str] = []
    for tag in (locale, default_locale):
        if tag:
            tag = tag.lower().replace("_", "-")
            tried += [tag, tag.split("-")[0]]
    return list(dict.fromkeys(tried))


def localised(
    body: Mapping[str, Any], *, locale: str | None, default_locale: str | None
) -> tuple[dict[str, Any], str | None]:
    """The channels for a locale (its variant over the base) and the locale used, if any."""
    variants = {tag.lower(): v for tag, v in (body.get("locales") or {}).items()}
    channels: dict[str, Any] = body.get("channels") or {}
    for tag in locale_candidates(locale, default_locale):
        if tag in variants:
            return merge_channels(channels, variants[tag].get("channels") or {}), tag
    return dict(channels), None
