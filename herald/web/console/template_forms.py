"""The template editor's form: which parts it edits, and how a posted form becomes the body of a
``PUT``/``POST`` (``TemplateIn``) or of a preview (``PreviewIn``), so that the console writes and
previews through the same models and services as ``/v1/templates``.

A field left empty removes that part (``null`` in the API); parts the editor does not show
(recipients, locale variants) are kept as the template has them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from herald.templates.limits import TemplateError
from herald.templates.schemas import PreviewIn, TemplateIn
from herald.templates.variables import variables_of
from herald.web.console.forms import json_object, model, raw, text

SPECIAL_VALUES = ("payload", "user", "message")


@dataclass(frozen=True)
class Part:
    """One editable part of a channel."""

    name: str
    label: str
    kind: str  # "line", "text" or "html"


PARTS: dict[str, tuple[Part, ...]] = {
    "email": (
        Part("subject", "Subject", "line"),
        Part("from", "From", "line"),
        Part("reply_to", "Reply-To", "line"),
        Part("html", "HTML body", "html"),
        Part("text", "Plain text body", "text"),
    ),
    "sms": (Part("body", "Message", "text"), Part("sender", "Sender name or number", "line")),
    "push": (Part("title", "Title", "line"), Part("body", "Body", "text")),
    "in_app": (
        Part("message", "Message", "text"),
        Part("message_formatted", "Formatted message (HTML)", "html"),
    ),
    "letter": (Part("html", "Letter (HTML)", "html"),),
}
CHANNEL_LABELS = {
    "email": "Email",
    "sms": "SMS",
    "push": "Push",
    "in_app": "In-app",
    "letter": "Letter",
}
TEMPLATE_FIELDS = frozenset(
    field.alias or name for name, field in TemplateIn.model_fields.items()
) - {"id"}


def field_name(channel: str, part: str) -> str:
    """The form field of a part: ``email.subject``."""
    return f"{channel}.{part}"


def edited_channels(form: FormData) -> dict[str, dict[str, str | None]]:
    """The parts the form holds, by channel; an empty field is ``None`` (remove the part)."""
    edited: dict[str, dict[str, str | None]] = {}
    for channel, parts in PARTS.items():
        for part in parts:
            value = raw(form, field_name(channel, part.name))
            if value is None:
                continue
            if part.kind == "line":
                value = value.strip()
            edited.setdefault(channel, {})[part.name] = value or None
    return edited


def template_body(current: Mapping[str, Any], form: FormData) -> TemplateIn:
    """What saving the form writes: the template as it is, with the form's parts and names."""
    body = {name: value for name, value in current.items() if name in TEMPLATE_FIELDS}
    channels: dict[str, dict[str, Any]] = {
        name: dict(parts) for name, parts in (current.get("channels") or {}).items()
    }
    for channel, parts in edited_channels(form).items():
        channels.setdefault(channel, {}).update(parts)
    body["channels"] = channels
    body["friendly_name"] = text(form, "friendly_name")
    body["category"] = text(form, "category")
    body["enabled"] = form.get("enabled") is not None
    return model(TemplateIn, body)


def new_template_body(form: FormData) -> TemplateIn:
    """A new template from the form: its id, names, type and parts."""
    body: dict[str, Any] = {
        name: text(form, name) for name in ("id", "friendly_name", "category", "type", "subType")
    }
    body = {name: value for name, value in body.items() if value is not None}
    channels = {
        channel: {name: value for name, value in parts.items() if value is not None}
        for channel, parts in edited_channels(form).items()
    }
    body["channels"] = {channel: parts for channel, parts in channels.items() if parts}
    return model(TemplateIn, body)


def preview_request(form: FormData) -> PreviewIn:
    """The preview of the form as typed: its parts unsaved, rendered with the sample values."""
    values = json_object(form, "sample", default={})
    request: dict[str, Any] = {
        "personalisation": {k: v for k, v in values.items() if k not in SPECIAL_VALUES},
        "payload": values.get("payload") or {},
        "user": values.get("user"),
        "message": values.get("message"),
        "locale": text(form, "locale"),
        "template": {"channels": edited_channels(form)},
    }
    return model(PreviewIn, request, prefix="/sample")


def sample_values(body: Mapping[str, Any], macros: Mapping[str, Any]) -> str:
    """Sample values for the variables the template's parts use, named after each variable's
    friendly name (``{"first_name": "First Name", "user": {"email": "Email"}}``)."""
    sources = [
        value
        for parts in (body.get("channels") or {}).values()
        for name, value in parts.items()
        if isinstance(value, str) and name not in {"sender", "to", "cc", "bcc"}
    ]
    used: set[str] = set()
    for source in sources:
        try:
            used |= variables_of(source)
        except TemplateError:
            continue  # a part that does not parse has no variables to offer
    values: dict[str, Any] = {}
    for name in sorted(used):
        if name.split(".")[0] == "account":
            continue  # the account's own fields are always there
        entry = macros.get(name)
        friendly = getattr(entry, "friendly_name", None) or name.rsplit(".", 1)[-1]
        _place(values, name.split("."), friendly)
    return json.dumps(values, indent=2, ensure_ascii=False)


def _place(values: dict[str, Any], path: list[str], value: str) -> None:
    node = values
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node.setdefault(path[-1], value)
