"""Seed 004's shapes: the message object and the employee object, from Herald's records.

Numbers are written as the seed writes them (country code, no ``+``), with a national
``*_formatted`` form (``71 99 12 34``). What Herald does not keep -- the company's contacts
(``from_contact``, ``to_contact``) and an employee's switchboard state (presence, do not
disturb, receptions) -- is null or left out (docs/compatibility.md).
"""

from __future__ import annotations

from typing import Any

import phonenumbers

from herald.directory.models import User
from herald.inbox.schemas import rfc3339
from herald.sms.origin import employee_endpoint
from herald.sms.records import SmsRecord
from herald.sms.senders import is_number


def seed_number(number: str | None) -> str | None:
    """A number as the seed writes it: the country code without ``+`` (``4571999999``)."""
    return number.removeprefix("+") if number else None


def formatted(number: str | None) -> str | None:
    """The national form of a valid number (``71 99 12 34``); None for anything else."""
    if not number:
        return None
    try:
        parsed = phonenumbers.parse("+" + number.removeprefix("+"), None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def employee_object(user: User) -> dict[str, Any]:
    """A user as the seed's Employee, with the fields Herald keeps."""
    return {
        "type": "Employee",
        "id": user.external_id,
        "endpoint": employee_endpoint(user.external_id),
        "name": user.display_name,
        "email": user.email,
        "number": seed_number(user.phone),
        "number_formatted": formatted(user.phone),
        "locale": user.locale,
        "admin": user.admin,
        "is_admin": user.admin,
        "company_id": str(user.account_id),
    }


def _from(record: SmsRecord) -> tuple[str | None, str | None]:
    """(from_number, from_name): a hidden or named sender shows its name, never a number."""
    sender, employee = record.sender, record.employee
    name = employee.display_name if employee is not None else None
    if sender is None:
        return None, name
    if record.hidden or not is_number(sender):
        return None, sender
    return sender, name


def message_object(record: SmsRecord) -> dict[str, Any]:
    """One SMS as the seed's message object."""
    from_number, from_name = _from(record)
    at = rfc3339(record.created_at)
    return {
        "id": str(record.id) if record.id else None,
        "from_contact": None,
        "to_contact": None,
        "from_name": from_name,
        "from_number": seed_number(from_number),
        "from_number_formatted": formatted(from_number),
        "from_number_hidden": record.hidden,
        "to_number": seed_number(record.to),
        "to_name": record.to_name,
        "to_number_formatted": formatted(record.to),
        "endpoint": record.endpoint,
        "employee": employee_object(record.employee) if record.employee else None,
        "direction": record.direction,
        "body": record.body,
        "sort_value": at,
        "created_at": at,
    }
