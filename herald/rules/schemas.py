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

# What each rule does, for the OpenAPI descriptions of the types, templates and preferences
# that carry it (docs/rules.md says the same at length, with an example each).
MANDATORY = (
    "Sent whatever the recipients' preferences and frequency caps say (security notices, "
    "receipts), in-app item included; its emails carry no unsubscribe link"
)
FREQUENCY_CAP = (
    "At most `max` notifications of the category per recipient within `per` (`30s`, `15m`, "
    "`1h`, `2d`); over it, each external delivery is written `skipped` (reason "
    "`frequency_cap`) and the inbox still gets its item. A type's or template's cap wins over "
    "the account defaults'; mandatory and `requireAction` notifications are not capped"
)
DIGEST = (
    "Gather one recipient's events with the same value of the payload field `key` within "
    "`window` (at most `max`) into one delivery per external channel; later events are written "
    "`skipped` (reason `digested`), the inbox gets every item"
)
ESCALATION = (
    "Send each step's `channel` only if the recipient's in-app item was not read (`seen`, "
    "`actioned`: `unless`) within `after`; else that delivery ends `skipped` (reason "
    "`escalation_not_needed`). The envelope's steps win over the type's"
)
QUIET_HOURS_TEXT = (
    "A daily window in the user's timezone when email, SMS and push wait (written `created`, "
    "`due_at` the window's end); `urgent: true` sends at once. `null`: none"
)
CATEGORY = "The category recipients' preferences and frequency caps name; unset: the type's `type`"
REASON = (
    "Why a skipped delivery was not made: `preference` (the recipient, or an account default, "
    "turned the channel or category off; also an `in_app` delivery, written only then), "
    "`frequency_cap`, `digested` or `escalation_not_needed`; null otherwise"
)
DUE_AT = (
    "When a waiting delivery is due: the notification's `scheduledAt`, the end of the "
    "recipient's quiet hours, a digest's window end or an escalation's `after`"
)


CHANNELS_TEXT = (
    "Channel → on/off for every category (`in_app` off: no inbox item, an `in_app` delivery "
    "`skipped` instead); nothing said means on"
)
CATEGORIES_TEXT = (
    "Category → channel → on/off; wins over `channels` for that category. Mandatory types and "
    "templates and `requireAction` notifications ignore both"
)


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
    channels: dict[ChannelName, StrictBool] | None = Field(default=None, description=CHANNELS_TEXT)
    categories: dict[Category, dict[ChannelName, StrictBool]] | None = Field(
        default=None, max_length=500, description=CATEGORIES_TEXT
    )
    quiet_hours: QuietHours | None = Field(default=None, description=QUIET_HOURS_TEXT)
    frequency_cap: FrequencyCap | None = Field(
        default=None, description=f"Account defaults only (inherited). {FREQUENCY_CAP}"
    )

    def given(self) -> dict[str, Any]:
        """The fields the request set (``null`` included), as stored."""
        return self.model_dump(exclude_unset=True)


class PreferencesOut(BaseModel):
    """The preferences in effect: the account tree's defaults, then the user's own."""

    channels: dict[str, bool] = Field(description=CHANNELS_TEXT)
    categories: dict[str, dict[str, bool]] = Field(description=CATEGORIES_TEXT)
    quiet_hours: QuietHours | None = Field(description=QUIET_HOURS_TEXT)
    frequency_cap: FrequencyCap | None = Field(
        default=None, description=f"The account tree's defaults. {FREQUENCY_CAP}"
    )
