"""Seed 003's ``POST /notifications`` body, checked by the seed's rules and translated into
Herald's envelope.

``notificationType`` names the channels (``Screen`` is the inbox, ``Text`` SMS), one or
several comma-separated as the seed writes them; the ``require*`` flags add theirs. Screen
notifications reach every user of the account in-app; email, text and letter go only to the
address the request gives. ``targetId``/``targetType`` become what the notification is
``about``, ``user`` who sent it. A ``serviceKey`` that is a GOV.UK Notify key sends the
external channels through that Notify service with ``templateId`` as its template.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from herald.channels.govuk_notify import is_notify_key
from herald.directory.contact import normalize_email, normalize_phone
from herald.errors import ErrorDetail, ValidationFailed, json_pointer
from herald.events.schemas import About, Address, Envelope, ProviderChoice, Targets

CHANNELS = {"screen": "in_app", "email": "email", "text": "sms", "sms": "sms", "letter": "letter"}
NAMES = {"in_app": "Screen", "email": "Email", "sms": "Text", "letter": "Letter"}
FLAGS = (
    ("requireEmailNotification", "email"),
    ("requireSmsNotification", "sms"),
    ("requireLetter", "letter"),
)
ADDRESS_LINES = tuple(f"addressLine{n}" for n in range(1, 8))
MIN_LINES = 3
EXAMPLE: dict[str, Any] = {
    "targetId": "7e6041e2-01b6-4c41-9ccd-5b0932616b50",
    "targetType": "MissedServiceChargePayments",
    "notificationType": "Screen,Email",
    "user": "test.user@hackney.gov.uk",
    "message": "3 missed service charge payments have exceeded the tolerance period",
    "templateId": "missed-payments",
    "email": "test@example.com",
    "personalisationParams": {"firstName": "Joe", "lastName": "Bloggs"},
    "requireAction": "true",
}


def _flag(value: Any) -> Any:
    # The seed writes "requireAction": "true" beside "requireLetter": false.
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


Flag = Annotated[bool, BeforeValidator(_flag)]
Text = Annotated[str, Field(min_length=1, max_length=255)]


class HackneyIn(BaseModel):
    """The seed's request body, field for field."""

    model_config = ConfigDict(
        extra="forbid", hide_input_in_errors=True, json_schema_extra={"examples": [EXAMPLE]}
    )
    targetId: Text | None = None
    targetType: Text | None = None
    notificationType: str = Field(min_length=1, max_length=100)
    user: str | None = Field(default=None, max_length=320)
    message: str | None = Field(default=None, min_length=1, max_length=512)
    serviceKey: str | None = Field(default=None, max_length=255)
    templateId: str | None = Field(default=None, max_length=255)
    mobileNumber: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)
    personalisationParams: dict[str, Any] = Field(default_factory=dict)
    requireAction: Flag = False
    requireEmailNotification: Flag = False
    requireSmsNotification: Flag = False
    requireLetter: Flag = False


def parse(body: Any) -> HackneyIn:
    """The body as the seed's fields; 422 with a JSON Pointer per problem."""
    try:
        return HackneyIn.model_validate(body)
    except ValidationError as exc:
        details = [ErrorDetail(json_pointer(list(e["loc"])), e["msg"]) for e in exc.errors()]
        raise ValidationFailed("The request is invalid", details=details) from exc


def channels_of(form: HackneyIn) -> list[str]:
    """The channels ``notificationType`` and the ``require*`` flags name, in that order."""
    named = [name.strip().lower() for name in form.notificationType.split(",") if name.strip()]
    unknown = [name for name in named if name not in CHANNELS]
    if unknown or not named:
        raise ValidationFailed.at(
            "/notificationType",
            "notificationType is one or several of Screen, Email, Text, Letter",
        )
    chosen = [CHANNELS[name] for name in named]
    chosen += [channel for flag, channel in FLAGS if getattr(form, flag)]
    return list(dict.fromkeys(chosen))


def _address(params: dict[str, Any]) -> Address | None:
    """The letter's address: ``addressLine1..7``, the postcode ``postcode`` or the last line."""
    lines = [str(params[k]).strip() for k in ADDRESS_LINES if str(params.get(k) or "").strip()]
    postcode = str(params.get("postcode") or "").strip() or (lines.pop() if lines else "")
    if len(lines) < MIN_LINES or not postcode:
        return None
    return Address(lines=lines, postcode=postcode)


def _checked(
    value: str | None, pointer: str, needed: bool, what: str, normal: Any
) -> tuple[list[str], list[ErrorDetail]]:
    if not needed:
        return [], []
    if not value:
        return [], [ErrorDetail(pointer, f"{what} is required for this notificationType")]
    try:
        return [normal(value)], []
    except ValueError as exc:
        return [], [ErrorDetail(pointer, str(exc))]


def _targets(form: HackneyIn, channels: list[str], region: str | None) -> Targets:
    """Who it reaches: the account's users on screen, the given address on each channel."""
    emails, email_errors = _checked(
        form.email, "/email", "email" in channels, "email", normalize_email
    )
    phones, phone_errors = _checked(
        form.mobileNumber, "/mobileNumber", "sms" in channels, "mobileNumber",
        lambda number: normalize_phone(number, region=region),
    )  # fmt: skip
    details = [*email_errors, *phone_errors]
    addresses: list[Address] = []
    if "letter" in channels:
        address = _address(form.personalisationParams)
        if address is None:
            details.append(
                ErrorDetail(
                    "/personalisationParams/addressLine1",
                    "A letter needs at least 3 address lines (addressLine1..7) and a postcode "
                    "(postcode, or the last line)",
                )
            )
        else:
            addresses.append(address)
    if form.templateId is None and channels != ["in_app"]:
        details.append(ErrorDetail("/templateId", "templateId is required except for Screen"))
    if details:
        raise ValidationFailed("The request is invalid", details=details)
    return Targets(all="in_app" in channels, emails=emails, phones=phones, addresses=addresses)


def _provider(form: HackneyIn, notify_url: str) -> ProviderChoice | None:
    """A Notify key sends through that Notify service, ``templateId`` being its template."""
    if not form.serviceKey or not form.templateId or not is_notify_key(form.serviceKey):
        return None
    settings = {
        "api_key": form.serviceKey,
        "base_url": notify_url,
        "templates": {form.templateId: form.templateId},
    }
    return ProviderChoice(name="govuk_notify", settings=settings)


def envelope_of(form: HackneyIn, *, region: str | None, notify_url: str) -> Envelope:
    """The seed's body as Herald's envelope (a ``custom/message``)."""
    channels = channels_of(form)
    try:
        return _envelope(form, channels, region=region, notify_url=notify_url)
    except ValidationError as exc:  # an address line or postcode too long for a letter
        details = [
            ErrorDetail("/personalisationParams" + json_pointer(list(e["loc"])[-1:]), e["msg"])
            for e in exc.errors()
        ]
        raise ValidationFailed("The request is invalid", details=details) from exc


def _envelope(
    form: HackneyIn, channels: list[str], *, region: str | None, notify_url: str
) -> Envelope:
    about = About(id=form.targetId, type=form.targetType) if form.targetId else None
    external = [channel for channel in channels if channel != "in_app"]
    return Envelope(
        type="custom",
        subType="message",
        targets=_targets(form, channels, region),
        channels=channels,
        userChannels=["in_app"],
        template=form.templateId if external else None,
        personalisation=form.personalisationParams,
        message=form.message,
        requireAction=form.requireAction,
        about=about,
        sentBy=form.user or None,
        provider=_provider(form, notify_url) if external else None,
    )


POINTERS = (
    ("/personalisation", "/personalisationParams"),
    ("/template", "/templateId"),
    ("/provider/settings/api_key", "/serviceKey"),
    ("/provider", "/serviceKey"),
    ("/targets/emails/0", "/email"),
    ("/targets/phones/0", "/mobileNumber"),
)


def seed_pointer(path: str) -> str:
    """A pointer into Herald's envelope as a pointer into the seed's body."""
    for ours, theirs in POINTERS:
        if path == ours or path.startswith(ours + "/"):
            return theirs + path[len(ours) :]
    return path
