"""How seed 002's routes describe themselves in ``/openapi.json``: their error envelope for
every 4xx, and request bodies the routes read themselves (any ``Content-Type``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from herald.compat.kazoo.errors import error_body, error_status
from herald.compat.kazoo.schemas import ErrorEnvelope
from herald.http.openapi import ErrorEnvelope as Documented
from herald.http.openapi import dialect_route

ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorEnvelope,
        "description": "Any error, in seed 002's error envelope; `error` repeats the status "
        "(401 no or bad X-Auth-Token, 403 not allowed, 404 unknown or another tenant's, "
        "406 unknown Accept, 400 invalid data)",
    }
}
KazooRoute = dialect_route(
    Documented(
        ErrorEnvelope,
        lambda error: error_body(error, error_status(error.status_code), "{AUTH_TOKEN}"),
        status_of=error_status,
    )
)
"""The route class of seed 002's routers: every error they answer documented in its envelope."""
TEMPLATE_BODIES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The template as JSON, or its body with Accept (or ?accept=) "
        "text/html or text/plain",
        "content": {"text/html": {"schema": {"type": "string"}}, "text/plain": {}},
    }
}


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    """A JSON Schema with its local ``$ref``s replaced by what they name."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(definitions[ref.removeprefix("#/$defs/")], definitions)
        return {k: _inline(v, definitions) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


# The seed's own request examples (its `to.type` "users", which its table does not list, is
# written "specified" here so that the example is one Herald accepts).
TEMPLATE_EXAMPLE = {
    "id": "voicemail_to_email",
    "to": {"type": "specified", "email_addresses": ["user@account.com"]},
    "from": "reseller@resellerdomain.com",
    "subject": "Hello {{user.first_name}}, you recieved a new voicemail!",
    "enabled": True,
    "template_charset": "utf-8",
}
PREVIEW_EXAMPLE = {
    "to": {"email_addresses": ["me@iptelecom.com"]},
    "from": "hostedbpx@iptelecom.ie",
    "subject": "Testing NOTIFICATION",
    "html": "SSUyNTIwJTI1dTI2NjElMjUyMFVuaWNvZGUlMjUyMQ==",
    "plain": "You just recieved an email! It was sent to {{user.email}}",
}
CUSTOMER_UPDATE_EXAMPLE = {"recipient_id": "33ca3929ed585e0e423eb39e4ffe1452"}
API_AUTH_EXAMPLE = {"api_key": "hk_live_..."}


def data_body(
    model: type[BaseModel], example: dict[str, Any], *, uploads: bool = False
) -> dict[str, Any]:
    """``openapi_extra`` for a ``{"data": model}`` body (and raw template uploads), with an
    example of the data."""
    schema = model.model_json_schema(by_alias=True)
    data = _inline(schema, schema.get("$defs", {}))
    content: dict[str, Any] = {
        "application/json": {
            "schema": {"type": "object", "required": ["data"], "properties": {"data": data}},
            "example": {"data": example},
        }
    }
    if uploads:
        content["text/html"] = {
            "schema": {"type": "string", "description": "The HTML body"},
            "example": "<p>Hello {{user.first_name}}, you have a new voicemail.</p>",
        }
        content["text/plain"] = {
            "schema": {"type": "string", "description": "The text body"},
            "example": "Hello {{user.first_name}}, you have a new voicemail.",
        }
    return {"requestBody": {"required": True, "content": content}}
