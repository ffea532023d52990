"""In-app text from a notification's template: checked at accept, rendered once or per recipient.

A template's ``in_app`` part that reads no ``user.*`` field and has no locale variant is the
same for everyone: it is rendered once. Otherwise the fan-out asks for the text of the users
it writes to (``text_source``): they are loaded in bulk (a query per 5000) and rendered in
one batch off the event loop; when ``user.*`` is not read, once per locale. A recipient
whose profile lacks a field the text reads fails the whole request with the
``missing_personalisation`` 400, naming the field and the recipients: an inbox item is
created now, so there is no later delivery to fail on its own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.directory.models import User
from herald.errors import ErrorDetail, MissingPersonalisation, ValidationFailed
from herald.events.builtin import TypeDef
from herald.events.schemas import Envelope
from herald.inbox.fanout import ItemText, Texts, TextSource
from herald.templates.sending import SendingTemplate, check_personalisation, load_for_sending
from herald.templates.service import load_account
from herald.templates.variables import variables_of

CHUNK = 5000
IN_APP = "in_app"
# What templates see as ``user.*`` (the worker shows external channels the same fields).
USER_FIELDS = (
    "external_id", "name", "first_name", "last_name", "email", "phone", "locale", "timezone",
)  # fmt: skip
# How many recipients an error message names before it only counts them.
NAMED = 10


@dataclass(frozen=True)
class Recipient:
    """A user as a template sees it (``user.*``) and the locale its text is rendered in."""

    id: uuid.UUID
    external_id: str
    locale: str | None
    fields: Mapping[str, Any]


COLUMNS = (User.id, *(getattr(User, name) for name in USER_FIELDS))


def recipient_of(row: Row[Any] | Sequence[Any]) -> Recipient:
    """A recipient from a row of ``COLUMNS``."""
    fields: dict[str, Any] = dict(zip(USER_FIELDS, row[1:], strict=True))
    return Recipient(row[0], fields["external_id"], fields["locale"], fields)


async def load_recipients(session: AsyncSession, user_ids: Sequence[uuid.UUID]) -> list[Recipient]:
    """The users' template fields, a query per 5000 users."""
    found: list[Recipient] = []
    for start in range(0, len(user_ids), CHUNK):
        chunk = user_ids[start : start + CHUNK]
        rows = await session.execute(select(*COLUMNS).where(User.id.in_(chunk)))
        found.extend(recipient_of(row) for row in rows)
    return found


@dataclass(frozen=True)
class Shared:
    """What every recipient's text is rendered from, besides the recipient."""

    personalisation: Mapping[str, Any]
    payload: Mapping[str, Any]
    message: str | None


def _in_app_sources(body: Mapping[str, Any]) -> list[str]:
    """Every in-app part's source, base and locale variants."""
    parts = [(body.get("channels") or {}).get(IN_APP) or {}]
    for variant in (body.get("locales") or {}).values():
        parts.append((variant.get("channels") or {}).get(IN_APP) or {})
    return [source for part in parts for source in part.values() if isinstance(source, str)]


def _reads_user(sources: Iterable[str]) -> bool:
    names = {name for source in sources for name in variables_of(source)}
    return any(name == "user" or name.startswith("user.") for name in names)


def _has_in_app_variant(body: Mapping[str, Any]) -> bool:
    variants = (body.get("locales") or {}).values()
    return any(IN_APP in (variant.get("channels") or {}) for variant in variants)


@dataclass(frozen=True)
class InAppTemplate:
    """A notification's template, as far as its in-app text goes."""

    template: SendingTemplate
    personal: bool
    """The text reads ``user.*``: rendered for each recipient."""
    localised: bool
    """The text has locale variants: rendered in each recipient's locale."""

    @classmethod
    def of(cls, template: SendingTemplate) -> InAppTemplate | None:
        """Its in-app part, or None when the template has none (the text is then made as
        for a notification without a template)."""
        if IN_APP not in (template.body.get("channels") or {}):
            return None
        sources = _in_app_sources(template.body)
        return cls(template, _reads_user(sources), _has_in_app_variant(template.body))

    @property
    def needs_users(self) -> bool:
        """Whether rendering needs the recipients' profiles."""
        return self.personal or self.localised

    def common(self, shared: Shared) -> ItemText:
        """The text for everyone; (None, None) when each recipient gets its own."""
        if self.needs_users:
            return ItemText(None, None)
        return self._render(shared, None, None)

    def text_source(self, session: AsyncSession, shared: Shared) -> TextSource | None:
        """What the fan-out asks for per-recipient text; None when the text is common."""
        if not self.needs_users:
            return None

        async def texts(user_ids: list[uuid.UUID]) -> Texts:
            recipients = await load_recipients(session, user_ids)
            # Rendering is CPU-bound: one batch in a thread keeps the event loop serving.
            return await asyncio.to_thread(self.render_each, shared, recipients)

        return texts

    def render_each(self, shared: Shared, recipients: Sequence[Recipient]) -> Texts:
        """Each recipient's text; one 400 naming every missing field and who lacks it."""
        by_user: dict[uuid.UUID, ItemText] = {}
        by_locale: dict[str | None, ItemText] = {}
        missing: dict[str, tuple[ErrorDetail, list[str]]] = {}
        for recipient in recipients:
            try:
                by_user[recipient.id] = self._for(shared, recipient, by_locale)
            except MissingPersonalisation as exc:
                for detail in exc.details:
                    missing.setdefault(detail.path, (detail, []))[1].append(recipient.external_id)
        if missing:
            raise _missing_for_recipients(missing)
        return by_user

    def _for(
        self, shared: Shared, recipient: Recipient, by_locale: dict[str | None, ItemText]
    ) -> ItemText:
        if self.personal:
            return self._render(shared, recipient.locale, recipient.fields)
        if recipient.locale not in by_locale:
            by_locale[recipient.locale] = self._render(shared, recipient.locale, None)
        return by_locale[recipient.locale]

    def _render(
        self, shared: Shared, locale: str | None, user: Mapping[str, Any] | None
    ) -> ItemText:
        rendered = self.template.render(
            locale=locale,
            personalisation=shared.personalisation,
            payload=shared.payload,
            user=user,
            channels={IN_APP},
            message=shared.message,
        )
        parts = rendered.channels.get(IN_APP, {})
        return ItemText(parts.get("message"), parts.get("message_formatted"))


def _channel_sources(body: Mapping[str, Any], channels: set[str]) -> list[str]:
    """The sources of the wanted channels' parts, base and locale variants."""
    variants = [body, *(body.get("locales") or {}).values()]
    return [
        source
        for variant in variants
        for channel, parts in (variant.get("channels") or {}).items()
        if channel in channels
        for source in parts.values()
        if isinstance(source, str)
    ]


def check_recipients(
    targets: Sequence[tuple[SendingTemplate, Sequence[Recipient]]],
    shared: Shared,
    channels: set[str],
) -> None:
    """Render each template's ``channels`` for each of its recipients: one 400 naming every
    field a recipient lacks (and who), so that no delivery fails on it after the 202.

    A template whose parts read no ``user.*`` field and have no locale variant is the same
    for everyone and was checked with the request; it is skipped. CPU-bound: run it off
    the event loop.
    """
    missing: dict[str, tuple[ErrorDetail, list[str]]] = {}
    for template, recipients in targets:
        if not _reads_user(_channel_sources(template.body, channels)) and not (
            template.body.get("locales")
        ):
            continue
        for recipient in recipients:
            try:
                template.render(
                    locale=recipient.locale,
                    personalisation=shared.personalisation,
                    payload=shared.payload,
                    user=recipient.fields,
                    channels=channels,
                    message=shared.message,
                )
            except MissingPersonalisation as exc:
                for detail in exc.details:
                    missing.setdefault(detail.path, (detail, []))[1].append(recipient.external_id)
    if missing:
        raise _missing_for_recipients(missing)


def _missing_for_recipients(
    missing: Mapping[str, tuple[ErrorDetail, list[str]]],
) -> MissingPersonalisation:
    details = []
    for detail, users in missing.values():
        named = ", ".join(users[:NAMED])
        more = f" and {len(users) - NAMED} more" if len(users) > NAMED else ""
        details.append(ErrorDetail(detail.path, f"{detail.message}; missing for {named}{more}"))
    fields = ", ".join(d.path.removeprefix("/personalisation/").replace("/", ".") for d in details)
    message = f"Recipients lack fields the template reads: {fields}"
    return MissingPersonalisation(message, details=details)


def template_for(definition: TypeDef, envelope: Envelope) -> str | None:
    """The template writing a notification: the one it names, else its type's default when
    the sender gave no text of its own (seed 001's catalogue), else none."""
    if envelope.template is not None:
        return envelope.template
    if envelope.message is None and envelope.messageFormatted is None:
        return definition.template
    return None


async def named_template(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    template_id: str | None,
    envelope: Envelope,
    channels: Sequence[str],
) -> SendingTemplate | None:
    """The notification's template (``template_for``), checked; None when it has none.

    422 at ``/template`` when the account sees no such template or has switched it off,
    400 ``missing_personalisation`` naming every field the request lacks.
    """
    if template_id is None:
        return None
    account = await load_account(session, account_id=account_id)
    await check_personalisation(
        session,
        account=account,
        template_id=template_id,
        locale=None,
        personalisation=envelope.personalisation,
        payload=envelope.payload,
        channels=set(channels),
        message=envelope.message,
    )
    template = await load_for_sending(session, account=account, template_id=template_id)
    if not template.enabled:
        raise disabled(template_id)
    return template


def disabled(template_id: str) -> ValidationFailed:
    """The 422 for a template its account has switched off."""
    return ValidationFailed.at(
        "/template", f"Template {template_id} is disabled", code="template_disabled"
    )
