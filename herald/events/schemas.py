"""The envelope of a notification (API.md "Sending") and the bodies of notification types."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from herald.directory.contact import Email, ExternalId, Phone
from herald.http.times import Rfc3339
from herald.rules.schemas import (
    DIGEST,
    ESCALATION,
    FREQUENCY_CAP,
    MANDATORY,
    Digest,
    Escalation,
    FrequencyCap,
)

TYPE_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
SUB_TYPE_PATTERN = r"^[A-Za-z0-9._:@-]{1,255}$"
Channel = Literal["in_app", "email", "sms", "push", "webhook", "letter", "chat"]
Line = Annotated[str, Field(min_length=1, max_length=255)]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("an action link must be an http or https URL")
    return value


FEWEST_ADDRESS_LINES = "fewest_address_lines"
"""Validation context key: how many lines besides the postcode an address needs (3 unless a
dialect says otherwise: GOV.UK Notify's clients send as few as 2, three lines in all)."""


class Address(BaseModel):
    """A postal address: at least three lines and a postcode (seed 003)."""

    model_config = ConfigDict(extra="forbid")
    lines: list[Line] = Field(min_length=2, max_length=7)
    postcode: str = Field(min_length=1, max_length=16)

    @field_validator("lines")
    @classmethod
    def _enough_lines(cls, lines: list[str], info: ValidationInfo) -> list[str]:
        fewest = int((info.context or {}).get(FEWEST_ADDRESS_LINES, 3))
        if len(lines) < fewest:
            raise ValueError(f"an address needs at least {fewest} lines besides the postcode")
        return lines


class Targets(BaseModel):
    """Who receives a notification; ``negotiatorId`` (seed 000) is an alias of ``users``."""

    model_config = ConfigDict(extra="forbid")
    users: list[ExternalId] = Field(default_factory=list, max_length=100_000)
    negotiatorId: list[ExternalId] = Field(default_factory=list, max_length=100_000)
    teams: list[ExternalId] = Field(default_factory=list, max_length=1000)
    emails: list[Email] = Field(default_factory=list, max_length=10_000)
    phones: list[Phone] = Field(default_factory=list, max_length=10_000)
    addresses: list[Address] = Field(default_factory=list, max_length=1000)
    all: StrictBool = False
    admins: StrictBool = False

    @model_validator(mode="after")
    def _someone(self) -> Targets:
        if not (
            self.users or self.negotiatorId or self.teams or self.emails or self.phones
        ) and not (self.addresses or self.all or self.admins):
            raise ValueError("name at least one target")
        return self


class Action(BaseModel):
    """A follow-on action link shown with the item (seed 003: a link to the survey)."""

    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=100)
    url: Annotated[str, Field(max_length=2048), AfterValidator(_http_url)]


class About(BaseModel):
    """The business entity a notification is about (seed 003's ``targetId``/``targetType``)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=255)
    type: str | None = Field(default=None, min_length=1, max_length=255)


class ProviderChoice(BaseModel):
    """A provider this notification is sent through instead of the account's (a GOV.UK
    Notify service's key given with the request): checked by the provider, stored sealed,
    never answered back."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    name: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    settings: dict[str, Any] = Field(default_factory=dict)


class Envelope(BaseModel):
    """``POST /v1/notifications``: the envelope (type, targets, channels) and its payload."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "telephony",
                    "subType": "incomingCall",
                    "products": ["AgencyCloud"],
                    "targets": {"negotiatorId": ["ADV"]},
                    "payload": {
                        "id": "ax2uyio8p",
                        "created": "2023-11-01T10:28:00",
                        "callerId": "07123 456789",
                        "destinationId": "01234 567890",
                        "huntGroup": False,
                    },
                }
            ]
        },
        extra="forbid",
        populate_by_name=True,
    )
    type: str = Field(pattern=TYPE_PATTERN)
    subType: str = Field(pattern=SUB_TYPE_PATTERN)
    products: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=20
    )
    targets: Targets
    channels: list[Channel] | None = Field(default=None, min_length=1)
    userChannels: list[Channel] | None = Field(
        default=None,
        min_length=1,
        description="The channels that reach the targeted users (default: every channel); "
        "raw addresses are reached on their own channel",
    )
    template: str | None = Field(default=None, max_length=255)
    personalisation: dict[str, Any] = Field(default_factory=dict)
    payload: dict[str, Any] = Field(default_factory=dict)
    message: str | None = Field(default=None, min_length=1, max_length=512)
    messageFormatted: str | None = Field(
        default=None,
        max_length=10_000,
        validation_alias=AliasChoices("messageFormatted", "message_formatted"),
    )
    correlationId: str | None = Field(default=None, min_length=1, max_length=255)
    requireAction: StrictBool = False
    actions: list[Action] = Field(default_factory=list, max_length=10)
    scheduledAt: Rfc3339 | None = None
    about: About | None = None
    sentBy: str | None = Field(default=None, min_length=1, max_length=320)
    provider: ProviderChoice | None = None
    urgent: StrictBool = False
    """Sent at once, whatever the recipients' quiet hours (``herald.rules``)."""
    escalation: Escalation | None = Field(default=None, description=ESCALATION)
    """Later channels sent only if the in-app item was not read in time (``herald.rules``)."""

    @property
    def correlation(self) -> str | None:
        """The chain this event belongs to: ``correlationId``, else ``payload.id``."""
        if self.correlationId:
            return self.correlationId
        value = self.payload.get("id")
        return str(value) if isinstance(value, str | int) and str(value) else None


class TypeIn(BaseModel):
    """``PUT /v1/notification-types/{type}/{subType}``: an account's own type."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "schema": {
                        "type": "object",
                        "required": ["orderId"],
                        "properties": {"orderId": {"type": "string"}},
                    },
                    "realtime": True,
                    "channels": ["in_app", "email"],
                }
            ]
        },
        extra="forbid",
    )
    schema_: dict[str, Any] = Field(alias="schema")
    realtime: StrictBool = True
    channels: list[Channel] = Field(default=["in_app"], min_length=1)
    macros: dict[str, Annotated[str, Field(max_length=2000)]] = Field(default_factory=dict)
    mandatory: StrictBool = Field(default=False, description=MANDATORY)
    frequency_cap: FrequencyCap | None = Field(default=None, description=FREQUENCY_CAP)
    digest: Digest | None = Field(default=None, description=DIGEST)
    escalation: Escalation | None = Field(default=None, description=ESCALATION)

    def rules(self) -> dict[str, Any]:
        """The delivery rules given, as stored (``herald.rules``)."""
        rules = {"mandatory", "frequency_cap", "digest", "escalation"}
        return self.model_dump(include=rules, exclude_defaults=True)


class TypeOut(BaseModel):
    """One type of the catalogue."""

    model_config = ConfigDict(populate_by_name=True)
    type: str
    subType: str
    schema_: dict[str, Any] = Field(serialization_alias="schema")
    realtime: bool
    channels: list[str]
    macros: dict[str, str]
    builtin: bool
    description: str | None = None
    template: str | None = None
    """The template writing the type's text when the sender gives none."""
    personalisation: dict[str, str] = Field(default_factory=dict)
    """What that text reads beside the payload (all optional), with a description."""
    mandatory: bool = Field(default=False, description=MANDATORY)
    frequency_cap: dict[str, Any] | None = Field(default=None, description=FREQUENCY_CAP)
    digest: dict[str, Any] | None = Field(default=None, description=DIGEST)
    escalation: list[dict[str, Any]] | None = Field(default=None, description=ESCALATION)
