"""Notify's request validation: its JSON Schemas (``app/v2/*/..._schemas.py``, Draft 4) and
its messages, ``"<field> <problem>"`` (``app/schema_validation``): e.g. ``phone_number is a
required property``, ``template_id is not a valid UUID``, ``email_address Not a valid email
address``, ``personalisation address_line_1 is a required property``.

Phone numbers are read as Notify reads them: national numbers are UK numbers, and a UK
number must be a mobile (``07...``); others need their country code.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from herald.compat.notify import errors
from herald.directory.contact import normalize_email, normalize_phone

UUID_FIELD = {"type": "string", "format": "uuid", "validationMessage": "is not a valid UUID"}
PERSONALISATION = {"type": "object"}
REFERENCE = {"type": "string"}
TEMPLATE_TYPES = ["sms", "email", "letter"]
_PHONE_JUNK = re.compile(r"[\s().\-+]")
_UK_MOBILE = re.compile(r"7\d{9}")


class InvalidPhone(ValueError):
    """A phone number Notify would refuse, with Notify's reason."""


class InvalidEmail(ValueError):
    """An email address Notify would refuse."""


def phone_number(value: str) -> str:
    """The number in E.164, read as Notify does: ``07700 900123``, ``+44 7700 900123`` and
    ``447700900123`` are the same UK mobile; other countries need ``+`` and their code."""
    digits = _PHONE_JUNK.sub("", value)
    if not digits.isdigit():
        raise InvalidPhone("Must not contain letters or symbols")
    international = value.strip().startswith("+") or digits.startswith("00")
    national = digits.removeprefix("00").removeprefix("44") if not international else None
    if national is None and digits.removeprefix("00").startswith("44"):
        national = digits.removeprefix("00")[2:]
    if national is not None:
        return _uk_mobile(national.removeprefix("0"))
    try:
        return normalize_phone("+" + digits.removeprefix("00"))
    except ValueError as exc:
        raise InvalidPhone("Not a valid international number") from exc


def _uk_mobile(number: str) -> str:
    if len(number) < 10:
        raise InvalidPhone("Not enough digits")
    if len(number) > 10:
        raise InvalidPhone("Too many digits")
    if not _UK_MOBILE.fullmatch(number):
        raise InvalidPhone("Not a UK mobile number")
    try:
        return normalize_phone("+44" + number)
    except ValueError as exc:
        raise InvalidPhone("Not a UK mobile number") from exc


def email_address(value: str) -> str:
    """The address, checked and normalised as everywhere in Herald."""
    try:
        return normalize_email(value)
    except ValueError as exc:
        raise InvalidEmail("Not a valid email address") from exc


FORMATS = FormatChecker()


@FORMATS.checks("uuid", raises=ValueError)
def _is_uuid(instance: object) -> bool:
    if isinstance(instance, str):
        uuid.UUID(instance)
    return True


@FORMATS.checks("phone_number", raises=InvalidPhone)
def _is_phone(instance: object) -> bool:
    if isinstance(instance, str):
        phone_number(instance)
    return True


@FORMATS.checks("email_address", raises=InvalidEmail)
def _is_email(instance: object) -> bool:
    if isinstance(instance, str):
        email_address(instance)
    return True


def _message(error: ValidationError) -> str:
    """Notify's wording: the top-level field, then the problem, quotes removed."""
    path = [str(p) for p in error.path]
    field = path[0] if path else ""
    custom = error.schema.get("validationMessage") if isinstance(error.schema, dict) else None
    if custom and field:
        return f"{field} {custom}"
    problem = str(error.cause) if error.cause else error.message
    problem = problem.replace("'", "")
    return f"{field} {problem}" if field else problem


def validate(instance: Any, schema: Mapping[str, Any]) -> dict[str, Any]:
    """The instance when it fits the schema; else Notify's 400 naming every problem."""
    validator = Draft4Validator(schema, format_checker=FORMATS)
    problems = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.path])
    if problems:
        raise errors.validation([_message(p) for p in problems])
    if not isinstance(instance, dict):
        raise errors.bad_request("Invalid JSON supplied in POST data")
    return instance


def _post(required: list[str], **properties: Any) -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": properties,
        "required": required,
    }


SMS = _post(
    ["phone_number", "template_id"],
    phone_number={"type": "string", "format": "phone_number"},
    template_id=UUID_FIELD,
    personalisation=PERSONALISATION,
    reference=REFERENCE,
    sms_sender_id=UUID_FIELD,
)
EMAIL = _post(
    ["email_address", "template_id"],
    email_address={"type": "string", "format": "email_address"},
    template_id=UUID_FIELD,
    personalisation=PERSONALISATION,
    reference=REFERENCE,
    email_reply_to_id=UUID_FIELD,
    one_click_unsubscribe_url={"type": "string", "format": "uri"},
    sanitise_content_for={"type": "array", "items": {"type": "string"}},
)
LETTER = _post(
    ["template_id", "personalisation"],
    template_id=UUID_FIELD,
    personalisation={
        "type": "object",
        "properties": {
            "address_line_1": {"type": "string"},
            "address_line_2": {"type": "string"},
        },
        "required": ["address_line_1", "address_line_2"],
    },
    reference=REFERENCE,
)
POSTAGE = {
    "type": "string",
    "enum": ["first", "second", "economy"],
    "validationMessage": "invalid. It must be either first, second or economy.",
}
PRECOMPILED = _post(
    ["reference", "content"],
    reference=REFERENCE,
    content={"type": "string"},
    postage=POSTAGE,
)
PREVIEW = _post([], personalisation=PERSONALISATION)
STATUSES = [
    "created", "sending", "sent", "delivered", "pending", "failed", "technical-failure",
    "temporary-failure", "permanent-failure", "pending-virus-check", "validation-failed",
    "virus-scan-failed", "returned-letter", "cancelled", "accepted", "received",
]  # fmt: skip
LIST_NOTIFICATIONS = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {
        "reference": {"type": "string"},
        "status": {"type": "array", "items": {"enum": STATUSES}},
        "template_type": {"type": "array", "items": {"enum": TEMPLATE_TYPES}},
        "older_than": UUID_FIELD,
        "include_jobs": {"enum": ["true", "True"]},
    },
    "additionalProperties": False,
}
LIST_RECEIVED = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {"older_than": UUID_FIELD},
    "additionalProperties": False,
}
LIST_TEMPLATES = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {"type": {"enum": TEMPLATE_TYPES}},
    "additionalProperties": False,
}


@FORMATS.checks("uri", raises=ValueError)
def _is_web_url(instance: object) -> bool:
    if isinstance(instance, str):
        parts = urlsplit(instance)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("is not a valid URL")
    return True
