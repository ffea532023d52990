"""Seed 002's request ``data`` as its table of parameters lists it, and the answers' shapes
(for the OpenAPI document; routes build the answers in ``documents``).

Request models ignore keys they do not know: clients send back what they read (``macros``,
``templates``, ``account_overridden``), which the seed says no request can set.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from herald.directory.contact import EXTERNAL_ID_PATTERN, Email
from herald.templates.schemas import Source

T = TypeVar("T")
Text = Annotated[str, Field(min_length=1, max_length=255)]
Line = Annotated[str, Field(min_length=1, max_length=998)]
Subject = Annotated[str, Field(min_length=1, max_length=200)]
TemplateId = Annotated[str, Field(pattern=EXTERNAL_ID_PATTERN, max_length=255)]


class Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Addresses(Loose):
    """``to``/``cc``/``bcc``: whom the email goes to. Without a type, listed addresses are
    ``specified`` ones; ``""`` with no addresses is none."""

    type: Literal["original", "specified", "admins", ""] | None = None
    email_addresses: list[Email] = Field(default_factory=list, max_length=100)


class Headers(Loose):
    """The email's headers, all optional (a preview or a customer update)."""

    from_: Line | None = Field(default=None, alias="from")
    subject: Subject | None = None
    reply_to: Line | None = None
    to: Addresses | None = None
    cc: Addresses | None = None
    bcc: Addresses | None = None


class NotificationData(Headers):
    """A notification document written by ``PUT`` or ``POST``: ``from``, ``subject`` and
    ``to`` are required, as the seed's table says."""

    id: TemplateId | None = None
    from_: Line = Field(alias="from")
    subject: Subject
    to: Addresses
    enabled: bool | None = None
    friendly_name: Text | None = None
    category: Text | None = None
    template_charset: Text | None = None


class NewNotificationData(NotificationData):
    """``PUT``: a new document names the template it is (a system default's id, for an
    account)."""

    id: TemplateId


class Bodies(Headers):
    """Headers and the two bodies: ``html`` base64-encoded, ``plain`` as it is."""

    html: str | None = None
    plain: Source | None = None
    databag: dict[str, Any] | None = Field(
        default=None,
        validation_alias=AliasChoices("databag", "DataBag", "data_bag"),
        description="Values the templates read as databag.* (Kazoo's DataBag)",
    )


class PreviewData(Bodies):
    """``POST .../notifications/{id}/preview``: unsaved headers and bodies to render."""


class CustomerUpdateData(Bodies):
    """``POST .../notifications/customer_update/message``: to whom, and optionally the
    message itself (the template ``id``, ``customer_update`` by default, fills the rest)."""

    id: TemplateId | None = None
    recipient_id: Annotated[str, Field(max_length=64)] | None = None
    user_type: Annotated[str, Field(pattern=EXTERNAL_ID_PATTERN, max_length=255)] = Field(
        default="admins_only",
        description='"all_users", "admins_only" (the default) or one user\'s id',
    )


class ApiAuthData(Loose):
    """``PUT /api_auth``: the account's API key."""

    api_key: Annotated[str, Field(min_length=1, max_length=512)]


class Envelope(BaseModel, Generic[T]):
    """Every successful answer."""

    auth_token: str = Field(description="The X-Auth-Token of the request (api_auth: the new one)")
    data: T
    request_id: str
    revision: str = Field(description='The document\'s revision, or "automatic"')
    status: Literal["success"]


class ErrorEnvelope(BaseModel):
    """Every error, whatever its status."""

    auth_token: str
    data: dict[str, Any] = Field(
        description='{"field": {"rule": {"message"}}}, or {"code", "message"}'
    )
    error: str = Field(description='The HTTP status, as a string ("404")')
    message: str
    request_id: str
    status: Literal["error"]


class Macro(BaseModel):
    description: str
    friendly_name: str
    i18n_label: str


class AddressesOut(BaseModel):
    type: str
    email_addresses: list[str]


class NotificationDoc(BaseModel):
    """A notification template as the seed shows it."""

    model_config = ConfigDict(populate_by_name=True)
    id: str
    enabled: bool
    friendly_name: str | None = None
    category: str | None = None
    from_: str | None = Field(default=None, alias="from")
    subject: str | None = None
    reply_to: str | None = None
    to: AddressesOut | None = None
    cc: AddressesOut | None = None
    bcc: AddressesOut | None = None
    template_charset: str
    macros: dict[str, Macro]
    templates: dict[str, dict[str, int]] = Field(
        description='The bodies to fetch with Accept: {"text/html": {"length": 600}}'
    )
    account_overridden: Literal[True] | None = Field(
        default=None, description="Present (true) only on an account's own templates"
    )


class Emails(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: list[str]
    cc: list[str]
    bcc: list[str]
    reply_to: str | None


class SmtpLogDoc(BaseModel):
    """One email as it was sent: what the SMTP log shows."""

    id: str
    account_id: str
    account_db: str
    template_id: str | None
    template_account_id: str | None = Field(
        description="The account whose template was rendered; null for a system default"
    )
    created: str
    status: str
    subject: str | None = None
    emails: Emails | None = None
    rendered_templates: dict[str, str] | None = Field(
        default=None, description="In the item only; absent once retention purged it"
    )
    receipt: str | None = Field(default=None, description="The SMTP server's reply to the data")
    error: str | None = None


class PreviewOut(BaseModel):
    """A rendered, unsent email."""

    model_config = ConfigDict(populate_by_name=True)
    subject: str
    from_: str | None = Field(alias="from")
    reply_to: str | None
    to: AddressesOut | None
    cc: AddressesOut | None
    bcc: AddressesOut | None
    rendered_templates: dict[str, str | None]


class CustomerUpdateOut(BaseModel):
    accounts: int
    recipients: int
    ids: list[str]


class ApiAuthOut(BaseModel):
    account_id: str
    account_name: str
    apps: list[str]
    is_reseller: bool
    language: str
    reseller_id: str | None = None
