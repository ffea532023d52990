"""Request and response bodies of templates (API.md "Templates").

Every part of every channel is optional in a request: an override or a locale variant
states only what differs, and ``null`` removes a part (or a whole channel) it inherits.
"""

from __future__ import annotations

import codecs
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from herald.directory.contact import EXTERNAL_ID_PATTERN, Email, Locale
from herald.rules.schemas import CATEGORY, DIGEST, FREQUENCY_CAP, MANDATORY, Digest, FrequencyCap

TYPE_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
SUB_TYPE_PATTERN = r"^[A-Za-z0-9._:@-]{1,255}$"
CHANNELS = ("email", "sms", "push", "in_app", "letter")
Channel = Literal["email", "sms", "push", "in_app", "letter"]
TemplateId = Annotated[str, Field(pattern=EXTERNAL_ID_PATTERN, max_length=255)]
Source = Annotated[str, Field(max_length=256 << 10)]
Line = Annotated[str, Field(min_length=1, max_length=998)]  # one header line (RFC 5322)


def _known_charset(value: str) -> str:
    try:
        return codecs.lookup(value).name
    except LookupError as exc:
        raise ValueError(f"{value!r} is not a character set Herald knows") from exc


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Recipients(Strict):
    """Who an email goes to: the notification's own recipient, fixed addresses, or admins."""

    type: Literal["original", "specified", "admins"] = "original"
    email_addresses: list[Email] = Field(default_factory=list, max_length=100)


class EmailParts(Strict):
    subject: Line | None = None
    html: Source | None = None
    text: Source | None = None
    from_: Line | None = Field(default=None, alias="from")
    reply_to: Line | None = None
    to: Recipients | None = None
    cc: Recipients | None = None
    bcc: Recipients | None = None


class SmsParts(Strict):
    body: Source | None = None
    sender: Annotated[str, Field(min_length=1, max_length=20)] | None = None


class PushParts(Strict):
    title: Annotated[str, Field(max_length=1000)] | None = None
    body: Source | None = None


class InAppParts(Strict):
    message: Source | None = None
    message_formatted: Source | None = None


Postage = Literal["first", "second", "economy", "europe", "rest-of-world"]


class LetterParts(Strict):
    """A letter: its own ``html``, or Notify's parts (``body`` in Notify's formatting, a
    ``subject`` heading and a ``contact_block``) laid out by Herald."""

    html: Source | None = None
    subject: Annotated[str, Field(max_length=1000)] | None = None
    body: Source | None = None
    contact_block: Annotated[str, Field(max_length=2000)] | None = None
    postage: Postage | None = None


class ChannelParts(Strict):
    """The parts of a template per channel."""

    email: EmailParts | None = None
    sms: SmsParts | None = None
    push: PushParts | None = None
    in_app: InAppParts | None = None
    letter: LetterParts | None = None


class LocaleVariant(Strict):
    channels: ChannelParts = Field(default_factory=ChannelParts)


class TemplateIn(Strict):
    """A template as written by ``PUT`` (and ``POST``, which may also choose the id)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "friendly_name": "Incoming call",
                    "type": "telephony",
                    "subType": "incomingCall",
                    "channels": {
                        "email": {
                            "subject": "Call from {{ payload.callerId }}",
                            "text": "{{ payload.callerId }} called {{ payload.destinationId }}.",
                        },
                        "sms": {"body": "Call from {{ payload.callerId }}"},
                    },
                }
            ]
        }
    )

    id: TemplateId | None = None
    friendly_name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    category: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        default=None, description=CATEGORY
    )
    enabled: StrictBool | None = None
    type: Annotated[str, Field(pattern=TYPE_PATTERN)] | None = None
    subType: Annotated[str, Field(pattern=SUB_TYPE_PATTERN)] | None = None
    channels: ChannelParts | None = None
    locales: dict[Locale, LocaleVariant | None] | None = Field(default=None, max_length=100)
    template_charset: Annotated[str, AfterValidator(_known_charset)] | None = None
    mandatory: StrictBool | None = Field(default=None, description=MANDATORY)
    frequency_cap: FrequencyCap | None = Field(default=None, description=FREQUENCY_CAP)
    digest: Digest | None = Field(default=None, description=DIGEST)

    def given(self) -> dict[str, Any]:
        """The fields the request set (``null`` included), as stored: ``from`` by its name."""
        return self.model_dump(exclude_unset=True, by_alias=True, exclude={"id"})


class Macro(BaseModel):
    description: str
    friendly_name: str
    i18n_label: str


class TemplateOut(BaseModel):
    """A template as the account sees it, with where it comes from."""

    model_config = ConfigDict(populate_by_name=True)
    id: str
    friendly_name: str | None
    category: str | None = Field(description=CATEGORY)
    enabled: bool
    type: str | None
    subType: str | None
    channels: dict[str, dict[str, Any]]
    macros: dict[str, Macro]
    locales: dict[str, dict[str, Any]]
    template_charset: str
    version: int
    account_overridden: bool
    overridden_by: str | None = Field(
        description="The account whose template this is; null for the system default"
    )
    templates: dict[str, dict[str, int]] = Field(
        description='The email bodies to fetch with Accept, e.g. {"text/html": {"length": 600}}'
    )
    created_at: datetime
    updated_at: datetime
    mandatory: bool = Field(default=False, description=MANDATORY)
    frequency_cap: dict[str, Any] | None = Field(default=None, description=FREQUENCY_CAP)
    digest: dict[str, Any] | None = Field(default=None, description=DIGEST)


class VersionOut(BaseModel):
    """One saved state of a template."""

    id: str
    version: int
    overridden_by: str | None
    created_by: str
    created_at: datetime
    template: dict[str, Any]


class PreviewTemplate(Strict):
    channels: ChannelParts = Field(default_factory=ChannelParts)


class PreviewIn(Strict):
    """``POST /v1/templates/{id}/preview``: values to render with, and unsaved parts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payload": {"callerId": "07123 456789", "destinationId": "01234 567890"},
                    "user": {"name": "Ada Dev"},
                }
            ]
        }
    )

    personalisation: dict[str, Any] = Field(default_factory=dict)
    payload: dict[str, Any] = Field(default_factory=dict)
    user: dict[str, Any] | None = None
    message: str | None = None
    locale: Locale | None = None
    channels: list[Channel] | None = None
    template: PreviewTemplate | None = None


class PreviewOut(BaseModel):
    id: str
    version: int
    locale: str | None
    channels: dict[str, dict[str, Any]]
