"""Reading posted forms into the models the services take: empty fields are absent, and a
model's validation errors become a 422 whose details point at the form's fields, as the
API's point into its JSON body."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from herald.directory.contact import EXTERNAL_ID_PATTERN
from herald.errors import ErrorDetail, HeraldError, ValidationFailed, json_pointer

M = TypeVar("M", bound=BaseModel)
ID = re.compile(EXTERNAL_ID_PATTERN)
T = TypeVar("T")


def text(form: FormData, name: str) -> str | None:
    """A text field, stripped; empty or absent is None."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def raw(form: FormData, name: str) -> str | None:
    """A text area as typed (line ends normalised to ``\\n``); absent is None, empty is ``""``."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    return value.replace("\r\n", "\n")


def identifier(form: FormData, name: str, *, label: str) -> str:
    """An id chosen by the tenant (user id, team key): 1-255 of ``[A-Za-z0-9._:@-]``, or a 422."""
    value = text(form, name)
    if value is None or not ID.fullmatch(value):
        raise ValidationFailed.at(f"/{name}", f"{label}: 1-255 letters, digits or . _ : @ -")
    return value


def number(form: FormData, name: str) -> int | str | None:
    """A whole-number field as an int; anything else as typed, for the model to refuse."""
    value = text(form, name)
    return int(value) if value is not None and value.isdigit() else value


def checked(form: FormData, name: str) -> bool:
    """Whether a checkbox was ticked."""
    return form.get(name) is not None


def words(value: str | None) -> list[str]:
    """Items separated by commas, spaces or lines (members of a team, event names)."""
    return [w for w in (value or "").replace(",", " ").split() if w]


def json_object(form: FormData, name: str, *, default: dict[str, Any]) -> dict[str, Any]:
    """A field holding a JSON object (a provider's settings, preview values), or a 422."""
    value = text(form, name)
    if value is None:
        return default
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise ValidationFailed.at(f"/{name}", f"is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ValidationFailed.at(f"/{name}", "must be a JSON object")
    return parsed


def model(cls: type[M], data: dict[str, Any], *, prefix: str = "") -> M:
    """``cls`` validated from ``data``; its errors as a 422 with JSON Pointers."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        details = [
            ErrorDetail(prefix + json_pointer(list(e["loc"])), str(e["msg"])) for e in exc.errors()
        ]
        raise ValidationFailed("The form is invalid", details=details) from exc


async def attempt(session: AsyncSession, work: Callable[[], Awaitable[T]]) -> T | HeraldError:
    """Run a service call in a savepoint: its result, or its error with nothing it wrote kept,
    so that the page can show the form again with the problem and what was typed."""
    try:
        async with session.begin_nested():
            return await work()
    except HeraldError as error:
        return error


def problems(error: HeraldError | None) -> dict[str, str]:
    """An error's details by JSON Pointer, to show each beside its field."""
    if error is None:
        return {}
    return {d.path: d.message for d in error.details}
