"""Bodies of the preferences routes and of the rules types and templates carry."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from herald.rules.durations import Duration

ChannelName = Literal["in_app", "email", "sms", "push", "webhook", "letter", "chat"]
Clock = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["22:00"])]
Category = Annotated[str, Field(min_length=1, max_length=255)]


class QuietHours(BaseModel):
    """A daily window, in the user's timezone, when email, SMS and push wait (may span
    midnight: ``22:00`` to ``07:00``)."""

    model_config = ConfigDict(extra="forbid")
    start: Clock
    end: Clock


class FrequencyCap(BaseModel):
    """At most ``max`` deliveries per recipient and category within ``per``."""

    model_config = ConfigDict(extra="forbid")
    max: int = Field(ge=1, le=1_000_000)
    per: Duration


class Digest(BaseModel):
    """Gather one recipient's events with the same ``key`` (a payload field) within ``window``
    into one delivery per external channel, of at most ``max`` events."""

    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=255)
    window: Duration
    max: int = Field(default=50, ge=2, le=1000)


class EscalationStep(BaseModel):
    """Send ``channel`` only if the in-app item was not read / seen / actioned within ``after``."""

    model_config = ConfigDict(extra="forbid")
    channel: Literal["email", "sms", "push", "webhook", "letter", "chat"]
    after: Duration
    unless: Literal["read", "seen", "actioned"] = "read"


Escalation = Annotated[list[EscalationStep], Field(min_length=1, max_length=10)]


class PreferencesIn(BaseModel):
    """``PUT`` of a preferences document: the fields given replace the stored ones."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channels": {"sms": False},
                    "categories": {"marketing": {"email": False}},
                    "quiet_hours": {"start": "22:00", "end": "07:00"},
                }
            ]
        },
    )
    channels: dict[ChannelName, StrictBool] | None = None
    categories: dict[Category, dict[ChannelName, StrictBool]] | None = Field(
        default=None, max_length=500
    )
    quiet_hours: QuietHours | None = None
    frequency_cap: FrequencyCap | None = Field(
        default=None, description="Account defaults only: a cap every category shares"
    )

    def given(self) -> dict[str, Any]:
        """The fields the request set (``null`` included), as stored."""
        return self.model_dump(exclude_unset=True)


class PreferencesOut(BaseModel):
    """The preferences in effect: the account tree's defaults, then the user's own."""

    channels: dict[str, bool]
    categories: dict[str, dict[str, bool]]
    quiet_hours: QuietHours | None
    frequency_cap: FrequencyCap | None = None
