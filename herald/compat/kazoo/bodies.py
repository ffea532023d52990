"""Reading seed 002's request bodies: the ``{"data": ...}`` envelope, raw template uploads,
base64 bodies, and validation errors pointing at the fields the client wrote.

Kazoo reads a JSON body whatever its ``Content-Type`` says (the seed's own curl examples
send JSON as ``text/plain`` and as curl's default form type); only a template's route takes
``text/html`` and ``text/plain`` as the template itself.
"""

from __future__ import annotations

import base64
import binascii
import codecs
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from herald.errors import BadRequest, ErrorDetail, InvalidJson, ValidationFailed, json_pointer

M = TypeVar("M", bound=BaseModel)
UPLOADS = ("text/html", "text/plain")
# Pydantic's error types by the names of the JSON Schema rules Kazoo reports.
RULES = {
    "missing": "required",
    "literal_error": "enum",
    "enum": "enum",
    "string_too_short": "minLength",
    "string_too_long": "maxLength",
    "too_short": "minItems",
    "too_long": "maxItems",
    "string_pattern_mismatch": "pattern",
    "value_error": "format",
}


@dataclass(frozen=True)
class Upload:
    """A template body sent raw: its media type and text."""

    media_type: str
    text: str


def media_type(request: Request) -> tuple[str, str]:
    """The request's media type (lower case) and charset (default utf-8)."""
    header = request.headers.get("content-type", "")
    media, *params = (piece.strip() for piece in header.split(";"))
    charset = "utf-8"
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    return media.lower(), charset


async def upload_or_data(request: Request) -> Upload | dict[str, Any]:
    """A raw ``text/html`` or ``text/plain`` template, or the ``data`` of a JSON body."""
    media, charset = media_type(request)
    if media not in UPLOADS:
        return await json_data(request)
    raw = await request.body()
    try:
        return Upload(media, codecs.decode(raw, charset))
    except (LookupError, UnicodeDecodeError) as exc:
        raise BadRequest(
            f"The body is not {charset} text",
            details=[ErrorDetail("/body", f"not {charset} text", rule="format")],
        ) from exc


async def json_data(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The ``data`` object of a ``{"data": {...}}`` body (400 without one). ``optional``
    admits an empty body or ``{}`` as no data at all (the seed's customer update sends ``{}``)."""
    raw = await request.body()
    if optional and not raw.strip():
        return {}
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson("The request body is not valid JSON") from exc
    if optional and document == {}:
        return {}
    if not isinstance(document, dict) or "data" not in document:
        raise BadRequest(
            'The body must be {"data": {...}}',
            details=[ErrorDetail("/data", "Field is required but missing", rule="required")],
        )
    data = document["data"]
    if not isinstance(data, dict):
        raise BadRequest(
            "data must be an object",
            details=[ErrorDetail("/data", "must be an object", rule="type")],
        )
    return data


def validated(model: type[M], data: dict[str, Any], *, prefix: str = "/data") -> M:
    """``data`` as ``model``, or one 400 naming every field that is wrong and by which rule."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [
            ErrorDetail(
                prefix + json_pointer(list(e["loc"])), e["msg"], RULES.get(e["type"], e["type"])
            )
            for e in exc.errors()
        ]
        raise ValidationFailed("The request's data is invalid", details=details) from exc


def base64_text(value: str | None, *, field: str) -> str | None:
    """A base64 body (seed 002's ``html``) as text; 400 at ``field`` when it is not base64 of
    UTF-8. Line breaks in the encoding are allowed."""
    if value is None:
        return None
    try:
        return base64.b64decode("".join(value.split()), validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(
            f"{field} is not base64-encoded UTF-8",
            details=[ErrorDetail(f"/data/{field}", "not base64-encoded UTF-8", rule="format")],
        ) from exc
