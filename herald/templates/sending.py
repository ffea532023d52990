"""What the sending side uses: a cheap check at accept time, and rendering per recipient.

A notification names a template; at accept time ``check_personalisation`` tells whether
its personalisation has every field the template reads (400 naming each missing one) and
which version will be used. Deliveries then render with ``load_for_sending`` once and
``SendingTemplate.render`` per recipient (or ``render_for_recipient`` for one).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account, ancestors_in
from herald.db import shared_reads
from herald.errors import ErrorDetail, MissingPersonalisation, NotFound, ValidationFailed
from herald.templates.catalogue import declared_macros, optional_fields
from herald.templates.compose import Rendered, account_fields, context, render_channels
from herald.templates.inheritance import localised, merge_channels
from herald.templates.models import Template
from herald.templates.service import get_template

__all__ = [
    "RenderedTemplate",
    "SendingTemplate",
    "TemplateRef",
    "check_personalisation",
    "check_template",
    "load_for_sending",
    "pinned_template",
    "ref_for_type",
    "render_for_recipient",
    "sending_template",
]


@dataclass(frozen=True)
class TemplateRef:
    """Which template version a notification or delivery used: the row and its version."""

    template_id: str
    row_id: uuid.UUID
    version: int
    owner_account_id: uuid.UUID | None


@dataclass(frozen=True)
class RenderedTemplate:
    """A template rendered for one recipient: the parts of each wanted channel it has.

    A disabled template renders nothing (``enabled`` is False, ``channels`` empty): the
    account has switched these messages off.
    """

    ref: TemplateRef
    locale: str | None
    enabled: bool
    channels: Rendered

    @property
    def template_id(self) -> str:
        """The template's id."""
        return self.ref.template_id

    @property
    def version(self) -> int:
        """The version rendered."""
        return self.ref.version


@dataclass(frozen=True)
class SendingTemplate:
    """A template loaded once for a notification, rendered per recipient without the database."""

    ref: TemplateRef
    body: dict[str, Any]
    account: dict[str, str]
    variant: Hashable = None
    """Set when the sources are no longer exactly the stored version's (``with_parts``)."""

    def with_parts(self, channels: Mapping[str, Any], *, variant: Hashable) -> SendingTemplate:
        """This template with ``channels`` parts over its own, in every locale: the parts a
        notification brings itself (a broadcast's inline document). ``variant`` tells the
        compiled sources apart from the stored version's (the notification's id)."""
        body = dict(self.body)
        body["channels"] = merge_channels(body.get("channels") or {}, channels)
        body["locales"] = {
            tag: {"channels": merge_channels(locale.get("channels") or {}, channels)}
            for tag, locale in (body.get("locales") or {}).items()
        }
        return replace(self, body=body, variant=variant)

    @property
    def enabled(self) -> bool:
        """Whether messages from this template are to be sent at all."""
        return bool(self.body.get("enabled", True))

    def render(
        self,
        *,
        locale: str | None,
        personalisation: Mapping[str, Any],
        payload: Mapping[str, Any],
        user: Mapping[str, Any] | None,
        channels: set[str],
        message: str | None = None,
        sanitise: Iterable[str] = (),
    ) -> RenderedTemplate:
        """Render the wanted channels for one recipient (MissingPersonalisation names every
        missing field). ``locale`` is the recipient's; the account's default is the fallback;
        ``sanitise`` names the personalisation keys that are untrusted text."""
        parts, used = localised(
            self.body, locale=locale, default_locale=self.account["default_locale"]
        )
        if not self.enabled:
            return RenderedTemplate(self.ref, used, False, {})
        ctx = context(
            personalisation=personalisation,
            payload=payload,
            user=user,
            account=self.account,
            message=message,
            optional=optional_fields(declared_macros(self.body)),
            sanitise=sanitise,
        )
        key = (self.ref.row_id, self.ref.version, self.variant, used or "")
        rendered = render_channels(parts, ctx, wanted=channels, cache_key=key)
        return RenderedTemplate(self.ref, used, True, rendered)


async def load_for_sending(
    session: AsyncSession, *, account: Account, template_id: str
) -> SendingTemplate:
    """The template ``account`` gets for ``template_id``; unknown is a 422 at ``/template``."""
    try:
        resolved = await get_template(session, account=account, template_id=template_id)
    except NotFound as exc:
        raise ValidationFailed.at("/template", f"No template {template_id}") from exc
    return sending_template(resolved.row, account)


_PATHS: dict[uuid.UUID, str] = {}
PATHS_KEPT = 10_000


async def _path_of(session: AsyncSession, account_id: uuid.UUID) -> str | None:
    """The account's materialised path (``paths_of``)."""
    return (await paths_of(session, [account_id])).get(account_id)


async def paths_of(
    session: AsyncSession, account_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The accounts' materialised paths (those that exist), each read once per process: a
    path never changes once made. One statement for those not known yet, none when all are."""
    found = {a: _PATHS[a] for a in account_ids if a in _PATHS}
    unknown = [a for a in account_ids if a not in found]
    if unknown:
        rows = await session.execute(
            select(Account.id, Account.path).where(Account.id.in_(unknown))
        )
        for account_id, path in rows:
            if len(_PATHS) >= PATHS_KEPT:
                _PATHS.clear()
            _PATHS[account_id] = found[account_id] = path
    return found


def _candidates() -> Select[Any]:
    """The rows ``ref_for_type`` weighs, built once (its values are parameters)."""
    visible = (
        Template.deleted_at.is_(None),
        or_(
            Template.account_id.is_(None),
            Template.account_id.in_(bindparam("owners", expanding=True)),
        ),
    )
    kind = (Template.body["type"].as_string(), Template.body["subType"].as_string())
    typed = select(Template.template_id).where(
        *visible, kind[0] == bindparam("type"), kind[1] == bindparam("sub_type")
    )
    return select(
        Template.template_id, Template.id, Template.version, Template.account_id, *kind
    ).where(*visible, Template.template_id.in_(typed))


_CANDIDATES = _candidates()


async def ref_for_type(
    session: AsyncSession, *, account_id: uuid.UUID, type_: str, sub_type: str
) -> TemplateRef | None:
    """The template version a notification of this type that names no template is sent with:
    of the templates the account gets with this ``type``/``subType``, the first by id.

    One query on the accept path: the candidate rows' ids and versions (no bodies), with the
    account's path known. Rows are read for every id that has a row of this type anywhere in the
    chain, so that an override which changed the type is seen as what it is.
    """
    shared = shared_reads(session)
    key = ("ref_for_type", account_id, type_, sub_type)
    if shared is not None and key in shared:
        known: TemplateRef | None = shared[key]
        return known
    found = await _ref_for_type(session, account_id=account_id, type_=type_, sub_type=sub_type)
    if shared is not None:
        shared[key] = found
    return found


async def _ref_for_type(
    session: AsyncSession, *, account_id: uuid.UUID, type_: str, sub_type: str
) -> TemplateRef | None:
    path = await _path_of(session, account_id)
    if path is None:
        return None
    chain: list[uuid.UUID | None] = [None, *ancestors_in(path), account_id]
    owners = [owner for owner in chain if owner is not None]
    params = {"owners": owners, "type": type_, "sub_type": sub_type}
    found_rows = await session.execute(_CANDIDATES, params)
    rows: list[tuple[Any, ...]] = [tuple(row) for row in found_rows]
    rank = {owner: i for i, owner in enumerate(chain)}
    nearest: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        held = nearest.get(row[0])
        if held is None or rank[row[3]] > rank[held[3]]:
            nearest[row[0]] = row
    for template_id in sorted(nearest):
        found = nearest[template_id]
        if (found[4], found[5]) == (type_, sub_type):
            return TemplateRef(template_id, found[1], found[2], found[3])
    return None


def sending_template(row: Template, account: Account) -> SendingTemplate:
    """A template row's current version, to render for ``account``'s recipients."""
    return pinned_template(
        TemplateRef(row.template_id, row.id, row.version, row.account_id), row.body, account
    )


def pinned_template(ref: TemplateRef, body: Mapping[str, Any], account: Account) -> SendingTemplate:
    """One version of a template (``body`` as that version saved it), for ``account``."""
    fields = account_fields(str(account.id), account.name, account.default_locale)
    return SendingTemplate(ref, dict(body), fields)


async def render_for_recipient(
    session: AsyncSession,
    *,
    account: Account,
    template_id: str,
    locale: str | None,
    personalisation: Mapping[str, Any],
    payload: Mapping[str, Any],
    user: Mapping[str, Any] | None,
    channels: set[str],
    message: str | None = None,
) -> RenderedTemplate:
    """Load and render a template for one recipient, off the event loop (a render may take
    up to its time limit)."""
    template = await load_for_sending(session, account=account, template_id=template_id)
    return await asyncio.to_thread(
        template.render,
        locale=locale,
        personalisation=personalisation,
        payload=payload,
        user=user,
        channels=channels,
        message=message,
    )


async def check_personalisation(
    session: AsyncSession,
    *,
    account: Account,
    template_id: str,
    locale: str | None,
    personalisation: Mapping[str, Any],
    payload: Mapping[str, Any],
    channels: set[str],
    message: str | None = None,
) -> TemplateRef:
    """At accept time: 400 naming every personalisation (or payload) field the template reads
    but the request lacks. Recipient fields (``user.*``) are checked per delivery."""
    template = await load_for_sending(session, account=account, template_id=template_id)
    await check_template(
        template,
        locale=locale,
        personalisation=personalisation,
        payload=payload,
        channels=channels,
        message=message,
    )
    return template.ref


async def check_template(
    template: SendingTemplate,
    *,
    locale: str | None,
    personalisation: Mapping[str, Any],
    payload: Mapping[str, Any],
    channels: set[str],
    message: str | None = None,
) -> None:
    """``check_personalisation`` for a template already loaded (or given inline)."""
    try:
        await asyncio.to_thread(
            template.render,
            locale=locale,
            personalisation=personalisation,
            payload=payload,
            user=None,
            channels=channels,
            message=message,
        )
    except MissingPersonalisation as exc:
        details = [_request_pointer(d) for d in exc.details if not _is_recipient_field(d)]
        if details:
            names = ", ".join(d.path.lstrip("/").replace("/", ".") for d in details)
            raise MissingPersonalisation(f"Missing: {names}", details=details) from exc


def _is_recipient_field(detail: ErrorDetail) -> bool:
    return detail.path == "/personalisation/user" or detail.path.startswith(
        "/personalisation/user/"
    )


def _request_pointer(detail: ErrorDetail) -> ErrorDetail:
    """Point a missing ``payload.*`` field at the request's payload, not its personalisation."""
    prefix = "/personalisation/payload"
    if detail.path == prefix or detail.path.startswith(prefix + "/"):
        return ErrorDetail(detail.path.removeprefix("/personalisation"), detail.message)
    return detail
