"""Request and response bodies of users, teams and devices."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from herald.directory.contact import Email, ExternalId, Locale, Phone, Timezone


class UserIn(BaseModel):
    """The whole of a user (PUT replaces what was there)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Ada Dev",
                    "email": "ada@example.com",
                    "phone": "447400123456",
                    "locale": "en",
                    "timezone": "Europe/London",
                }
            ]
        },
        extra="forbid",
    )
    name: str | None = Field(default=None, max_length=255)
    first_name: str | None = Field(default=None, max_length=255)
    last_name: str | None = Field(default=None, max_length=255)
    email: Email | None = None
    phone: Phone | None = None
    locale: Locale | None = None
    timezone: Timezone | None = None
    admin: StrictBool = False
    data: dict[str, Any] = Field(default_factory=dict)


class UserOut(BaseModel):
    external_id: str
    name: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    locale: str | None
    timezone: str | None
    admin: bool
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class TeamIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Sales", "members": ["ADV", "TST"]}]},
        extra="forbid",
    )
    name: str | None = Field(default=None, max_length=255)
    members: list[ExternalId] = Field(default_factory=list, max_length=100_000)


class TeamOut(BaseModel):
    key: str
    name: str | None
    members: list[str]


DeviceType = Literal["iOS", "Android", "web"]


class DeviceIn(BaseModel):
    """A device registration; a web push device needs its subscription."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"type": "iOS"}]}, extra="forbid")
    type: DeviceType = "iOS"
    subscription: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _web_needs_subscription(self) -> DeviceIn:
        if self.type == "web":
            keys = (self.subscription or {}).get("keys")
            if not (self.subscription or {}).get("endpoint") or not isinstance(keys, dict):
                raise ValueError("a web device needs subscription {endpoint, keys: {p256dh, auth}}")
        return self


class DeviceOut(BaseModel):
    token: str
    type: DeviceType
    created_at: datetime
