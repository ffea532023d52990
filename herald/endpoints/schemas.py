"""Request and answer bodies of the webhook endpoints' routes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from herald.endpoints.models import WebhookEndpoint
from herald.inbox.schemas import rfc3339

NAME_PATTERN = r"^[A-Za-z0-9._:@-]{1,64}$"
TypePattern = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:@*/-]{1,321}$")]


class EndpointIn(BaseModel):
    """``PUT /v1/endpoints/{name}``: where to POST, and which types (``telephony/*``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"url": "https://example.com/herald/events", "types": ["telephony/*"]}]
        },
        extra="forbid",
    )
    url: str = Field(min_length=1, max_length=2048)
    types: list[TypePattern] = Field(default_factory=lambda: ["*"], min_length=1, max_length=100)


def endpoint_document(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    """An endpoint as the API shows it; the secret only when it was just made."""
    document: dict[str, Any] = {
        "name": endpoint.name,
        "url": endpoint.url,
        "types": endpoint.types,
        "disabled_at": rfc3339(endpoint.disabled_at) if endpoint.disabled_at else None,
        "created_at": rfc3339(endpoint.created_at),
    }
    if secret is not None:
        document["secret"] = secret
    return document
