"""The seeds' own examples, copied verbatim from ../shared/seeds/ into JSON files beside this
module (CI has no access to the shared folder)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


@cache
def seed000() -> dict[str, Any]:
    """Seed 000: the envelope example and the payload of each telephony subType."""
    data: dict[str, Any] = json.loads((HERE / "seed000_examples.json").read_text("utf-8"))
    return data


@cache
def seed001() -> dict[str, Any]:
    """Seed 001: the ``GET /notifications`` answer and each notification type's sample."""
    data: dict[str, Any] = json.loads((HERE / "seed001_samples.json").read_text("utf-8"))
    return data


def seed001_samples() -> list[dict[str, Any]]:
    """Each notification type's sample object (``id``, ``type``, ``data``, ``message``, ...)."""
    return [entry["sample"] for entry in seed001()["types"]]


def sub_type_of(sample: dict[str, Any]) -> str:
    """The Herald subType of a seed 001 sample: the event's type, else the type itself."""
    event = sample["data"].get("event")
    return str(event["type"]) if isinstance(event, dict) else str(sample["type"])


# What the seed's texts say that its ``data`` does not carry, per sample (by its heading).
PERSONALISATION: dict[str, dict[str, Any]] = {
    "note": {"contact_name": "Jane Doe", "note": "Hey John, please have a look!"},
    "inbox": {"contact_name": "Jane Does", "note": "Hey John, please have a look!"},
    "incoming_email": {"excerpt": "I want to buy your product"},
    "task_assigned": {"contact_name": "John Doe"},
    "notified_report": {"note": "Hey John, please have a look!"},
    "lead_assigned": {"contact_name": "John Doe"},
    "lead_accepted": {"accepted_by": "John Doe"},
    "case_owner": {"contact_name": "John Doe"},
    "new_level": {"level_name": "Beginner 2"},
    "activity_created": {"activity_names": ["Milestone 2", "Milestone"]},
}


def personalisation_for(sample: dict[str, Any]) -> dict[str, Any]:
    """The personalisation that makes Herald's default text the seed's text."""
    heading = sub_type_of(sample)
    return PERSONALISATION.get(heading, {})


# The seed's own slips, corrected where a test compares texts with the seed's: its note
# sample spells the sender "Killback" in message_formatted (Kilback in data and message)
# and names another contact there than in its message; its target_reached sample's
# message_formatted lacks the closing ">".
SEED_SLIPS = (
    ("Bernita Killback", "Bernita Kilback"),
    (
        "<strong>John Doe's</strong> case</p><br><p><em>Hey John",
        "<strong>Jane Doe's</strong> case</p><br><p><em>Hey John",
    ),
    ("Car sale</strong></p", "Car sale</strong></p>"),
)


def as_meant(text: str) -> str:
    """A seed text with its slips corrected."""
    for slip, meant in SEED_SLIPS:
        if slip in text and meant not in text:
            text = text.replace(slip, meant)
    return text
