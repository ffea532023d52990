"""Inheritance as pure functions over rows, locale fallback, and the shipped system defaults."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from herald.accounts.models import Account
from herald.db import Database
from herald.errors import ValidationFailed
from herald.events.builtin import BUILTIN
from herald.migrate import upgrade
from herald.templates import system_edits
from herald.templates.inheritance import (
    chain_of,
    effective,
    inherited,
    locale_candidates,
    localised,
    merge_channels,
    merge_template,
)
from herald.templates.models import Template, TemplateVersion
from herald.templates.schemas import TemplateIn
from herald.templates.system import load_default, load_defaults, sync_system_templates
from tests.conftest import settings_for

ROOT, CHILD, SIBLING = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def account(*ids: uuid.UUID) -> Account:
    return Account(id=ids[-1], name="x", path="/" + "/".join(map(str, ids)) + "/")


def row(owner: uuid.UUID | None, template_id: str = "t", subject: str = "") -> Template:
    return Template(account_id=owner, template_id=template_id, version=1, body={"s": subject})


def test_chain_runs_from_the_system_to_the_account() -> None:
    assert chain_of(account(ROOT, CHILD)) == [None, ROOT, CHILD]
    assert chain_of(account(ROOT)) == [None, ROOT]


def test_nearest_owner_wins_and_strangers_are_ignored() -> None:
    chain = chain_of(account(ROOT, CHILD))
    system, reseller, own, stranger = row(None), row(ROOT), row(CHILD), row(SIBLING, "t")
    assert effective([system, reseller, own, stranger], chain) == {"t": own}
    assert effective([reseller, system], chain) == {"t": reseller}
    assert effective([stranger, row(SIBLING, "only-theirs")], chain) == {}
    assert inherited([system, reseller, own], chain) is reseller
    assert inherited([own], chain) is None


def test_merge_fills_from_the_base_and_null_removes() -> None:
    base = {
        "friendly_name": "Base",
        "enabled": True,
        "channels": {"email": {"subject": "S", "html": "H", "text": "T"}, "sms": {"body": "B"}},
        "locales": {"cy": {"channels": {"sms": {"body": "C"}}}},
    }
    given = {
        "enabled": False,
        "channels": {"email": {"html": "Mine", "text": None}, "sms": None, "push": {"body": "P"}},
        "locales": {"fr": {"channels": {"push": {"body": "F"}}}},
    }
    assert merge_template(base, given) == {
        "friendly_name": "Base",
        "enabled": False,
        "channels": {"email": {"subject": "S", "html": "Mine"}, "push": {"body": "P"}},
        "locales": {
            "cy": {"channels": {"sms": {"body": "C"}}},
            "fr": {"channels": {"push": {"body": "F"}}},
        },
    }
    assert merge_template(base, {"locales": {"cy": None}})["locales"] == {}


def test_merge_channels_drops_emptied_channels() -> None:
    assert merge_channels({"sms": {"body": "B"}}, {"sms": {"body": None}}) == {}


@pytest.mark.parametrize(
    ("locale", "default", "expected"),
    [
        ("cy-GB", "en", ["cy-gb", "cy", "en"]),
        (None, "en-GB", ["en-gb", "en"]),
        ("cy", "cy", ["cy"]),
        (None, None, []),
    ],
)
def test_locale_candidates(locale: str | None, default: str | None, expected: list[str]) -> None:
    assert locale_candidates(locale, default) == expected


def test_localised_uses_the_variant_then_the_default_then_the_base() -> None:
    body = {
        "channels": {"sms": {"body": "Hello", "sender": "Acme"}},
        "locales": {"cy": {"channels": {"sms": {"body": "Helo"}}}},
    }
    assert localised(body, locale="cy-GB", default_locale="en") == (
        {"sms": {"body": "Helo", "sender": "Acme"}},
        "cy",
    )
    assert localised(body, locale="fr", default_locale="cy")[1] == "cy"
    assert localised(body, locale="fr", default_locale="en") == (body["channels"], None)


def test_every_shipped_default_loads_and_serves_a_builtin_type() -> None:
    defaults = load_defaults()
    crm = {t.template for t in BUILTIN.values() if t.template}
    assert len(crm) == 23
    assert set(defaults) >= {
        "incoming-call", "answered-call", "ended-call", "missed-call", "custom-message", *crm
    }  # fmt: skip
    typed = {tid: d for tid, d in defaults.items() if "type" in d}
    served = {(d["type"], d["subType"]) for d in typed.values()}
    assert {key for key, t in BUILTIN.items() if t.template} <= served
    assert ("telephony", "missedCall") in served and ("custom", "message") in served
    for body in typed.values():
        assert {"email", "push", "in_app"} <= set(body["channels"])
        assert body["enabled"] is True and body["template_charset"] == "utf-8"
    assert "<style>" in defaults["missed-call"]["channels"]["email"]["html"]  # from email.html


def test_a_broken_default_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "template.json").write_text('{"channels": {"sms": {"body": "{{ x"}}}')
    with pytest.raises(ValidationFailed) as caught:
        load_default(tmp_path)
    assert caught.value.details[0].path == "/channels/sms/body"


async def test_sync_versions_changed_defaults_and_withdraws_removed_ones(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}")
    await upgrade(settings)  # syncs the shipped defaults
    db = Database(settings)
    changed = load_defaults()
    changed["missed-call"]["friendly_name"] = "Missed!"
    del changed["ended-call"]
    try:
        for _ in range(2):  # the second sync finds nothing to do
            async with db.sessions() as session, session.begin():
                await sync_system_templates(session, defaults=changed)
        async with db.sessions() as session:
            rows = {r.template_id: r for r in await session.scalars(select(Template))}
            versions = list(
                await session.scalars(
                    select(TemplateVersion.version).where(
                        TemplateVersion.template_row_id == rows["missed-call"].id
                    )
                )
            )
    finally:
        await db.dispose()
    assert rows["missed-call"].version == 2 and sorted(versions) == [1, 2]
    assert rows["missed-call"].body["friendly_name"] == "Missed!"
    assert rows["ended-call"].deleted_at is not None
    assert rows["incoming-call"].version == 1


def test_seed_002s_defaults_declare_their_macros() -> None:
    defaults = load_defaults()
    voicemail, update = defaults["voicemail_to_email"], defaults["customer_update"]
    first = voicemail["macros"]["user.first_name"]
    assert first["friendly_name"] == "First Name" and "Not always present" in first["description"]
    assert "Not always present" not in update["macros"]["user.first_name"]["description"]
    assert voicemail["channels"]["email"]["html"] and update["channels"]["email"]["text"]


async def test_sync_leaves_a_default_an_operator_changed_alone(tmp_path: Path) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}")
    await upgrade(settings)
    db = Database(settings)
    edit = TemplateIn.model_validate({"friendly_name": "Ours"})
    try:
        async with db.sessions() as session, session.begin():
            await system_edits.update_system_template(
                session, template_id="missed-call", body=edit, actor="key:ops"
            )
            await system_edits.put_system_template(
                session, template_id="ops-made", body=edit, actor="key:ops"
            )
            await system_edits.delete_system_template(
                session, template_id="ended-call", actor="key:ops"
            )
        changed = load_defaults()
        changed["missed-call"]["friendly_name"] = "Shipped"
        async with db.sessions() as session, session.begin():
            await sync_system_templates(session, defaults=changed)
        async with db.sessions() as session:
            rows = {r.template_id: r for r in await session.scalars(select(Template))}
    finally:
        await db.dispose()
    # The operator's change, creation and removal all stand; the shipped file no longer rules.
    assert rows["missed-call"].body["friendly_name"] == "Ours"
    assert rows["ops-made"].deleted_at is None and rows["ops-made"].account_id is None
    assert rows["ended-call"].deleted_at is not None
    assert rows["missed-call"].customised_by == "key:ops"
