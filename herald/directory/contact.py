"""Normalising the ways to reach a person: E.164 phone numbers, checked email addresses, ids."""

from __future__ import annotations

import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, StringConstraints

EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9._:@-]{1,255}$"
LOCALE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


# Ofcom keeps 07700 900000-900999 for drama: never a real phone, so examples and simulators
# use them (GOV.UK Notify's test numbers are there), though libphonenumber calls them invalid.
FICTIONAL_NUMBERS = re.compile(r"\+447700900\d{3}")


def normalize_phone(value: str, *, region: str | None = None) -> str:
    """A phone number with its country code, with or without ``+``, as E.164 (``+4571999999``);
    given a ``region`` (``GB``), a national number (``020 7946 0000``) is read there."""
    text = value.strip()
    if region is not None and text.startswith("0") and not text.startswith("00"):
        return _valid(value, text, region)
    if not text.startswith("+"):
        text = "+" + text.lstrip("0")
    return _valid(value, text, None)


def _valid(value: str, text: str, region: str | None) -> str:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{value!r} is not a phone number with a country code") from exc
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(number) and not FICTIONAL_NUMBERS.fullmatch(formatted):
        raise ValueError(f"{value!r} is not a valid phone number")
    return formatted


def check_region(value: str) -> str:
    """An ISO 3166 alpha-2 region phone numbers know (``GB``), upper-cased."""
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not a region code such as GB")
    return region


def normalize_email(value: str) -> str:
    """A syntactically valid address, domain lower-cased; deliverability is not checked here."""
    try:
        # test_environment admits the reserved .test domain, where the simulator addresses live.
        checked = validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return str(checked.normalized)


def check_timezone(value: str) -> str:
    """An IANA time zone name such as ``Europe/London``."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA time zone") from exc
    if value not in available_timezones() and value != "UTC":
        raise ValueError(f"{value!r} is not an IANA time zone")
    return value


def check_locale(value: str) -> str:
    """A BCP 47-like language tag (``en``, ``cy``, ``en-GB``), normalised to a hyphen."""
    if not LOCALE.match(value):
        raise ValueError(f"{value!r} is not a language tag such as en or en-GB")
    return value.replace("_", "-")


def _number_as_text(value: Any) -> Any:
    # Seed 001 sends user ids as numbers (``users: [1, 54]``); they mean the decimal string.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


ExternalId = Annotated[
    str,
    BeforeValidator(_number_as_text),
    StringConstraints(pattern=EXTERNAL_ID_PATTERN, min_length=1, max_length=255),
]
Phone = Annotated[str, AfterValidator(normalize_phone)]
Email = Annotated[str, AfterValidator(normalize_email)]
Timezone = Annotated[str, AfterValidator(check_timezone)]
Locale = Annotated[str, AfterValidator(check_locale)]
Region = Annotated[str, AfterValidator(check_region)]
