"""How seed 002's routes describe themselves in ``/openapi.json``: their error envelope for
every 4xx, and request bodies the routes read themselves (any ``Content-Type``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from herald.compat.kazoo.schemas import ErrorEnvelope

ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorEnvelope,
        "description": "Any error, in seed 002's error envelope; `error` repeats the status "
        "(401 no or bad X-Auth-Token, 403 not allowed, 404 unknown or another tenant's, "
        "406 unknown Accept, 400 invalid data)",
    }
}
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


def data_body(model: type[BaseModel], *, uploads: bool = False) -> dict[str, Any]:
    """``openapi_extra`` for a ``{"data": model}`` body (and raw template uploads)."""
    schema = model.model_json_schema(by_alias=True)
    data = _inline(schema, schema.get("$defs", {}))
    content: dict[str, Any] = {
        "application/json": {
            "schema": {"type": "object", "required": ["data"], "properties": {"data": data}}
        }
    }
    if uploads:
        content["text/html"] = {"schema": {"type": "string", "description": "The HTML body"}}
        content["text/plain"] = {"schema": {"type": "string", "description": "The text body"}}
    return {"requestBody": {"required": True, "content": content}}
