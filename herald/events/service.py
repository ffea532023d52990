"""The catalogue of one account (built-in types plus its own) and payload validation."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any, cast

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.errors import Conflict, ErrorDetail, ValidationFailed, json_pointer
from herald.events.builtin import BUILTIN, TypeDef
from herald.events.models import NotificationType
from herald.events.schemas import Envelope, TypeIn
from herald.http.bounds import oversized_integers

TOO_BIG = "An integer in a schema must fit in 64 bits"


def _from_row(row: NotificationType) -> TypeDef:
    return TypeDef(
        row.type,
        row.sub_type,
        row.payload_schema,
        realtime=row.realtime,
        channels=tuple(row.channels),
        macros=dict(row.macros),
        rules=dict(row.rules or {}),
    )


async def get_type(
    session: AsyncSession, *, account_id: uuid.UUID, type_: str, sub_type: str
) -> TypeDef:
    """The definition of ``type``/``subType`` for this account, or 422 naming what is unknown."""
    builtin = BUILTIN.get((type_, sub_type))
    if builtin is not None:
        return builtin
    rows = list(
        await session.scalars(
            select(NotificationType).where(
                NotificationType.account_id == account_id, NotificationType.type == type_
            )
        )
    )
    for row in rows:
        if row.sub_type == sub_type:
            return _from_row(row)
    known = rows or any(t == type_ for t, _ in BUILTIN)
    if known:
        raise ValidationFailed.at("/subType", f"Unknown subType {sub_type} of type {type_}")
    raise ValidationFailed.at("/type", f"Unknown notification type {type_}")


async def list_types(session: AsyncSession, *, account_id: uuid.UUID) -> list[TypeDef]:
    """Built-in types, then the account's own, by name."""
    rows = await session.scalars(
        select(NotificationType)
        .where(NotificationType.account_id == account_id)
        .order_by(NotificationType.type, NotificationType.sub_type)
    )
    return [*BUILTIN.values(), *(_from_row(r) for r in rows)]


def _check_digest_key(body: TypeIn) -> None:
    """A digest gathers events by a payload field: 422 when the schema lists its fields and
    the key is none of them."""
    properties = body.schema_.get("properties")
    if body.digest and isinstance(properties, dict) and body.digest.key not in properties:
        raise ValidationFailed.at("/digest/key", f"The payload has no field {body.digest.key}")


def check_schema(schema: dict[str, Any]) -> None:
    """Refuse a schema that is not valid JSON Schema Draft 2020-12 (422 under ``/schema``),
    or that holds an integer past 64 bits: stored, it would fail every later send of its type."""
    too_big = [
        ErrorDetail(json_pointer(["schema", *p]), TOO_BIG) for p in oversized_integers(schema)
    ]
    if too_big:
        raise ValidationFailed("The schema holds integers past 64 bits", details=too_big)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        path = json_pointer(["schema", *exc.path])
        raise ValidationFailed.at(path, f"Not a valid JSON Schema: {exc.message}") from exc


async def put_type(
    session: AsyncSession, *, account_id: uuid.UUID, type_: str, sub_type: str, body: TypeIn
) -> TypeDef:
    """Register or replace an account's own type; built-in names cannot be redefined."""
    if (type_, sub_type) in BUILTIN:
        raise Conflict(f"{type_}/{sub_type} is built in and cannot be redefined")
    check_schema(body.schema_)
    _check_digest_key(body)
    row = await session.scalar(
        select(NotificationType).where(
            NotificationType.account_id == account_id,
            NotificationType.type == type_,
            NotificationType.sub_type == sub_type,
        )
    )
    if row is None:
        row = NotificationType(account_id=account_id, type=type_, sub_type=sub_type)
        session.add(row)
    row.payload_schema = body.schema_
    row.realtime = body.realtime
    row.channels = list(body.channels)
    row.macros = dict(body.macros)
    row.rules = body.rules()
    await session.flush()
    return _from_row(row)


@lru_cache(maxsize=512)
def _validator(schema_json: bytes) -> Draft202012Validator:
    # Compiling a schema costs more than validating with it; schemas repeat across requests.
    return Draft202012Validator(orjson.loads(schema_json))


def _details(error: ValidationError) -> list[ErrorDetail]:
    base = ["payload", *error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        # One error per missing property; point at the property itself, not its parent.
        required: list[str] = list(cast(list[str], error.validator_value))
        missing = [p for p in required if p not in error.instance]
        named = [p for p in missing if repr(p) in error.message] or missing
        return [ErrorDetail(json_pointer([*base, p]), error.message) for p in named[:1]]
    return [ErrorDetail(json_pointer(base), error.message)]


def validate(definition: TypeDef, envelope: Envelope) -> None:
    """Check the payload against its type's schema (and the text a type needs): every error."""
    validator = _validator(orjson.dumps(definition.schema, option=orjson.OPT_SORT_KEYS))
    details = [d for e in validator.iter_errors(envelope.payload) for d in _details(e)]
    if definition.needs_message and envelope.message is None:
        details.append(ErrorDetail("/message", "A message of 1 to 512 characters is required"))
    if details:
        unique = list(dict.fromkeys(details))
        raise ValidationFailed("The notification is invalid", details=unique)
