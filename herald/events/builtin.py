"""The built-in notification types: telephony (seed 000), custom messages and seed 001's
catalogue (``catalogue/crm.json``: each type's payload schema, the template that writes its
text, and the personalisation that text reads)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXTERNAL_ID = {"type": "string", "pattern": "^[A-Za-z0-9._:@-]{1,255}$"}


@dataclass(frozen=True)
class TypeDef:
    """What Herald knows of one ``type``/``subType``: its payload schema and how it is shown.

    ``claim_field`` names a payload field holding the user who took the event over (the
    answerer of a hunt-group call): the chain's item is then withdrawn for everyone else.
    ``needs_message`` types carry their text in the envelope's top-level ``message``.
    ``template`` writes the in-app text when the sender gives none (else the ``message``
    macro does); ``personalisation`` names, with a description, what that text reads
    beside the payload.
    """

    type: str
    sub_type: str
    schema: dict[str, Any]
    realtime: bool = True
    channels: tuple[str, ...] = ("in_app",)
    macros: dict[str, str] = field(default_factory=dict)
    builtin: bool = False
    claim_field: str | None = None
    needs_message: bool = False
    template: str | None = None
    personalisation: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    rules: dict[str, Any] = field(default_factory=dict)
    """Delivery rules of the type: ``mandatory``, ``frequency_cap`` (``herald.rules``)."""


def _call_schema(*, answered: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "id": {"type": "string", "minLength": 1, "maxLength": 255},
        "created": {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$",
        },
        "callerId": {"type": "string", "minLength": 1, "maxLength": 64},
        "destinationId": {"type": "string", "minLength": 1, "maxLength": 64},
        "huntGroup": {"type": "boolean"},
    }
    if answered:
        properties["answeredById"] = EXTERNAL_ID
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": ["callerId", "destinationId"],
    }


def _telephony(sub_type: str, text: str, **options: Any) -> TypeDef:
    answered = sub_type in ("answeredCall", "endedCall")
    return TypeDef(
        "telephony",
        sub_type,
        _call_schema(answered=answered),
        macros={"message": text},
        builtin=True,
        **options,
    )


def _notify(channel: str) -> TypeDef:
    """What a GOV.UK Notify-style send makes: one recipient on one channel, from a template."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}
    return TypeDef("notify", channel, schema, realtime=False, channels=(channel,), builtin=True)


SCHEMA = "https://json-schema.org/draft/2020-12/schema"
CATALOGUE = Path(__file__).parent / "catalogue"


def template_id(type_: str, sub_type: str) -> str:
    """The default template of a seed 001 type: ``crm-note``, ``crm-gamification-new-level``."""
    name = type_ if sub_type == type_ else f"{type_}-{sub_type}"
    return "crm-" + name.replace("_", "-")


def _crm_schema(entry: dict[str, Any], objects: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name in entry["data"]:
        if name == "event":  # gamification and high fives: the event is the subType
            sub_type = {"type": "string", "const": entry["subType"]}
            properties[name] = {"type": "object", "properties": {"type": sub_type},
                                "required": ["type"]}  # fmt: skip
        else:
            properties[name] = objects[name]
    return {"$schema": SCHEMA, "type": "object", "properties": properties,
            "required": list(entry["data"])}  # fmt: skip


def _crm_types(path: Path = CATALOGUE / "crm.json") -> list[TypeDef]:
    """Seed 001's catalogue, from its data file."""
    catalogue: dict[str, Any] = json.loads(path.read_text("utf-8"))
    described: dict[str, str] = catalogue["personalisation"]
    return [
        TypeDef(
            entry["type"],
            entry["subType"],
            _crm_schema(entry, catalogue["objects"]),
            channels=("in_app", "push"),
            builtin=True,
            template=template_id(entry["type"], entry["subType"]),
            personalisation={name: described[name] for name in entry["personalisation"]},
            description=entry["description"],
        )
        for entry in catalogue["types"]
    ]


BUILTIN: dict[tuple[str, str], TypeDef] = {
    (t.type, t.sub_type): t
    for t in (
        _telephony("incomingCall", "Incoming call from {callerId}"),
        _telephony(
            "answeredCall",
            "Call from {callerId} answered[ by {answeredById}]",
            claim_field="answeredById",
        ),
        _telephony("endedCall", "Call from {callerId} ended"),
        # Seed 000: missed calls are not pushed in real time; products poll for them.
        _telephony("missedCall", "Missed call from {callerId}", realtime=False),
        TypeDef(
            "custom",
            "message",
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"},
            channels=("in_app", "push"),
            builtin=True,
            needs_message=True,
        ),
        *(_notify(channel) for channel in ("email", "sms", "letter")),
        *_crm_types(),
    )
}
