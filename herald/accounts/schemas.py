"""Request and response bodies of accounts, keys and tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from limits import parse
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from herald.accounts import scopes as scope_rules
from herald.directory.contact import EXTERNAL_ID_PATTERN, Locale, Region
from herald.events.schemas import Channel
from herald.http.bounds import INT32_MAX


class AccountCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Acme Lettings"}]}, extra="forbid"
    )
    name: str = Field(min_length=1, max_length=255)


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: str | None = Field(default=None, description="e.g. 3000/minute")
    daily: StrictInt | None = Field(default=None, ge=0, le=INT32_MAX)
    sms_allowance: StrictInt | None = Field(default=None, ge=0, le=INT32_MAX)

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse(value)
            except ValueError as exc:
                raise ValueError("use a rate such as 3000/minute or 10/second") from exc
        return value


class AccountPatch(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "limits": {"rate": "3000/minute", "daily": 250000, "sms_allowance": 1000},
                    "retention_days": 7,
                    "default_locale": "en",
                    "default_region": "GB",
                }
            ]
        },
        extra="forbid",
    )
    name: str | None = Field(default=None, min_length=1, max_length=255)
    limits: Limits | None = None
    retention_days: StrictInt | None = Field(default=None, ge=1, le=3650)
    default_locale: Locale | None = None
    default_region: Region | None = None


class AccountOut(BaseModel):
    id: uuid.UUID
    name: str
    parent_id: uuid.UUID | None
    limits: Limits
    retention_days: int
    default_locale: str
    default_region: str | None = Field(
        default=None, description="Where national phone numbers are read (ISO 3166 alpha-2)"
    )
    created_at: datetime


class KeyCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "telephony", "scopes": ["notifications.telephony.write"], "test": False}
            ]
        },
        extra="forbid",
    )
    name: str = Field(default="", max_length=255)
    scopes: list[str] | None = None
    test: StrictBool = False
    notify: StrictBool = Field(
        default=False, description="A GOV.UK Notify-format key, for the /v2 routes"
    )
    type: Literal["live", "team", "test"] | None = Field(
        default=None, description="A Notify-format key's type (default live)"
    )

    @model_validator(mode="after")
    def _notify_fields(self) -> KeyCreate:
        if self.type is not None and not self.notify:
            raise ValueError('type is for Notify-format keys: add "notify": true')
        if self.notify and self.test:
            raise ValueError('a Notify-format test key is "type": "test"')
        return self

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str] | None) -> list[str] | None:
        for scope in value or []:
            if not scope_rules.is_valid(scope):
                raise ValueError(f"unknown scope {scope!r}")
        return value


class KeyOut(BaseModel):
    key_id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    test: bool
    type: str | None = Field(default=None, description="live, team or test: a Notify key")
    created_at: datetime
    revoked_at: datetime | None


class NewKeyOut(BaseModel):
    key_id: uuid.UUID
    api_key: str
    scopes: list[str]
    test: bool
    type: str | None = Field(default=None, description="live, team or test: a Notify key")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str


class OAuthErrorOut(BaseModel):
    """An error of ``POST /oauth/token``, as RFC 6749 section 5.2 writes it."""

    error: str = Field(examples=["invalid_client"])
    error_description: str


class UserTokenOut(BaseModel):
    token: str
    expires_at: datetime


class BroadcastIn(BaseModel):
    """``POST /v1/accounts/{id}/broadcast`` (seed 002's customer update)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "template": "customer-update",
                    "user_type": "admins_only",
                    "personalisation": {"update": "We move offices on 1 March."},
                }
            ]
        },
        extra="forbid",
    )
    template: str = Field(pattern=EXTERNAL_ID_PATTERN, max_length=255)
    user_type: str = Field(
        default="admins_only",
        pattern=EXTERNAL_ID_PATTERN,
        max_length=255,
        description='"all_users", "admins_only" (the default) or one user\'s external id',
    )
    recipient_id: uuid.UUID | None = Field(
        default=None, description="Only this account (a descendant); else every descendant"
    )
    personalisation: dict[str, Any] = Field(default_factory=dict)
    channels: list[Channel] = Field(default=["email"], min_length=1)


class BroadcastOut(BaseModel):
    accounts: int
    recipients: int
    ids: list[uuid.UUID]
