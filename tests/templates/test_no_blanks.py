"""No blanks: every built-in text -- each type's ``message`` macro and every part of every
shipped template -- rendered with each optional payload field absent (and no optional
personalisation, a recipient with no profile) reads as a sentence: no dangling word, no
empty slot."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from herald.events.builtin import BUILTIN, TypeDef
from herald.notifications.content import fill
from herald.templates.compose import context, render_channels
from herald.templates.system import load_defaults
from tests.compat.seeds import seed000, seed001_samples, sub_type_of

ACCOUNT = {"id": "a1", "name": "Acme", "default_locale": "en"}
SMALL_WORDS = r"by|from|to|on|in|for|of|at|with|called|your|the|a|an|and"
DANGLING = re.compile(rf"\b({SMALL_WORDS})\s*([.,;:!?]|$)", re.IGNORECASE)
EMPTY_ELEMENT = re.compile(r"<(p|strong|em|span|b|i|a|li)\b[^>]*>\s*</\1>")
EMPTY_SLOT = re.compile(r"  |\s[,.;:!?]|(^|\s)'s\b|\bNone\b|\{\{|\{%|\[\s*\]|\(\s*\)")
TAG = re.compile(r"<[^>]+>")


def full_payloads() -> dict[tuple[str, str], dict[str, Any]]:
    """A complete payload of every built-in type, from the seeds' own examples."""
    payloads = {("telephony", sub): p for sub, p in seed000()["payloads"].items()}
    for sample in seed001_samples():
        payloads[(sample["type"], sub_type_of(sample))] = sample["data"]
    payloads[("custom", "message")] = {}
    # What a GOV.UK Notify send makes carries no payload: its template reads personalisation.
    payloads.update({("notify", channel): {} for channel in ("email", "sms", "letter")})
    return payloads


def optional_paths(
    schema: dict[str, Any], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Every optional property of a schema, at any depth below required objects."""
    required = set(schema.get("required", []))
    for name, sub in (schema.get("properties") or {}).items():
        path = (*prefix, name)
        if name not in required:
            yield path
        elif sub.get("type") == "object":
            yield from optional_paths(sub, path)


def without(payload: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The payload less one (nested) field."""
    trimmed = copy.deepcopy(payload)
    where = trimmed
    for name in path[:-1]:
        where = where[name]
    where.pop(path[-1], None)
    return trimmed


def variants(definition: TypeDef) -> list[tuple[str, dict[str, Any]]]:
    """The full payload and each payload with one optional field removed."""
    full = full_payloads()[(definition.type, definition.sub_type)]
    cases = [("full", full)]
    cases += [("-" + ".".join(p), without(full, p)) for p in optional_paths(definition.schema)]
    return cases


def blanks(text: str, *, html: bool) -> list[str]:
    """What in a rendered text looks like a hole."""
    problems = []
    if html:
        problems += [f"empty <{m.group(1)}>" for m in EMPTY_ELEMENT.finditer(text)]
        lines = [" ".join(TAG.sub(" ", line).split()) for line in text.splitlines()]
    else:
        lines = text.splitlines()
    for line in lines:
        if line != line.strip():
            problems.append(f"stray space in {line!r}")
        problems += [f"{m.group(0)!r} in {line!r}" for m in EMPTY_SLOT.finditer(line.strip())]
        problems += [f"dangling {m.group(1)!r} in {line!r}" for m in DANGLING.finditer(line)]
    return problems


def test_every_builtin_type_has_a_full_example() -> None:
    assert set(full_payloads()) == set(BUILTIN)


# A GOV.UK Notify send's text is always the template its sender names (/v2 requires one).
WITH_OWN_TEXT = [t for t in BUILTIN.values() if t.type != "notify"]


@pytest.mark.parametrize("definition", WITH_OWN_TEXT, ids=lambda t: f"{t.type}/{t.sub_type}")
def test_type_macros_leave_no_blanks(definition: TypeDef) -> None:
    macro = definition.macros.get("message")
    if macro is None:
        assert definition.template or definition.needs_message, "a type needs some text"
        return
    for name, payload in variants(definition):
        text = fill(macro, payload)
        assert text and not blanks(text, html=False), (name, text, blanks(text, html=False))


def test_an_answered_call_without_its_answerer() -> None:
    # What the macro read before it had an optional segment: the check sees it.
    assert blanks("Call from 07123 456789 answered by ", html=False)
    assert blanks("<p>A case on <strong></strong> was assigned to you</p>", html=True)
    definition = BUILTIN[("telephony", "answeredCall")]
    payload = {"callerId": "07123 456789", "destinationId": "01234 567890"}
    assert fill(definition.macros["message"], payload) == "Call from 07123 456789 answered"
    payload["answeredById"] = "TST"
    assert fill(definition.macros["message"], payload) == "Call from 07123 456789 answered by TST"


def _html(channel: str, part: str) -> bool:
    return (channel, part) in {
        ("email", "html"),
        ("in_app", "message_formatted"),
        ("letter", "html"),
    }


@cache
def defaults() -> dict[str, dict[str, Any]]:
    return load_defaults()


# Seed 002's system defaults (customer_update, voicemail_to_email) serve no type: their macros
# are their own, and those marked "not always present" render empty by design.
TYPED = sorted(tid for tid, body in defaults().items() if "type" in body)


@pytest.mark.parametrize("template_id", TYPED)
def test_shipped_templates_leave_no_blanks(template_id: str) -> None:
    body = defaults()[template_id]
    definition = BUILTIN[(body["type"], body["subType"])]
    message = "Hello from Acme" if definition.needs_message else None
    wanted = set(body["channels"]) - {"letter"}  # a letter's HTML is checked as email's is
    for name, payload in variants(definition):
        ctx = context(
            personalisation={}, payload=payload, user={}, account=ACCOUNT, message=message
        )
        key = ("no-blanks", template_id)  # compiled once, rendered for each variant
        rendered = render_channels(body["channels"], ctx, wanted=wanted, cache_key=key)
        for channel, parts in rendered.items():
            for part, text in parts.items():
                if not isinstance(text, str) or part in ("to", "cc", "bcc", "from", "reply_to"):
                    continue
                found = blanks(text, html=_html(channel, part))
                assert not found, (template_id, name, channel, part, text, found)
