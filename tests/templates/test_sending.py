"""The sending side's entry points: the accept-time check and rendering per recipient."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.db import Database
from herald.errors import MissingPersonalisation, ValidationFailed
from herald.templates.sending import check_personalisation, load_for_sending, render_for_recipient
from tests.conftest import Tenant
from tests.templates.template_helpers import CALL

ANN = {"first_name": "Ann", "last_name": "Jones", "email": "ann@example.com", "phone": None}


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    async with db.sessions() as session, session.begin():
        yield session


async def account_of(session: AsyncSession, tenant: Tenant) -> Account:
    account = await session.get(Account, tenant.account_id)
    assert account is not None
    return account


async def test_render_for_recipient(session: AsyncSession, tenant: Tenant) -> None:
    rendered = await render_for_recipient(
        session,
        account=await account_of(session, tenant),
        template_id="missed-call",
        locale=None,
        personalisation={},
        payload=CALL,
        user=ANN,
        channels={"email", "in_app", "webhook"},
    )
    assert (rendered.template_id, rendered.version, rendered.enabled) == ("missed-call", 1, True)
    assert rendered.ref.owner_account_id is None  # the system default
    assert set(rendered.channels) == {"email", "in_app"}
    assert rendered.channels["email"]["subject"] == "Missed call from 07123 456789"
    assert rendered.channels["email"]["to"] is None
    assert rendered.channels["in_app"]["message"] == "Missed call from 07123 456789"


async def test_recipient_locale_and_account_default(session: AsyncSession, tenant: Tenant) -> None:
    account = await account_of(session, tenant)
    common: dict[str, Any] = {"template_id": "missed-call", "personalisation": {}, "payload": CALL}
    welsh = await render_for_recipient(
        session, account=account, locale="cy-GB", user=ANN, channels={"sms"}, **common
    )
    assert welsh.locale == "cy" and welsh.channels["sms"]["body"].startswith("Galwad")
    account.default_locale = "cy"
    fallback = await render_for_recipient(
        session, account=account, locale="de", user=ANN, channels={"sms"}, **common
    )
    assert fallback.locale == "cy"


async def test_missing_recipient_field_fails_the_render(
    session: AsyncSession, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    body = {"id": "greet", "channels": {"sms": {"body": "Hi {{ user.first_name }} {{ code }}"}}}
    await client.post("/v1/templates", json=body, headers=tenant.headers)
    with pytest.raises(MissingPersonalisation) as caught:
        await render_for_recipient(
            session,
            account=await account_of(session, tenant),
            template_id="greet",
            locale=None,
            personalisation={},
            payload={},
            user={"first_name": None},
            channels={"sms"},
        )
    paths = [d.path for d in caught.value.details]
    assert paths == ["/personalisation/user/first_name", "/personalisation/code"]


async def test_check_personalisation_names_request_fields_only(
    session: AsyncSession, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    body = {
        "id": "otp",
        "channels": {"sms": {"body": "{{ user.name }}: {{ code }} {{ payload.ref }} {{ expiry }}"}},
    }
    await client.post("/v1/templates", json=body, headers=tenant.headers)
    account = await account_of(session, tenant)
    with pytest.raises(MissingPersonalisation) as caught:
        await check_personalisation(
            session,
            account=account,
            template_id="otp",
            locale=None,
            personalisation={"expiry": "5 minutes"},
            payload={},
            channels={"sms"},
        )
    assert [d.path for d in caught.value.details] == ["/personalisation/code", "/payload/ref"]
    ref = await check_personalisation(
        session,
        account=account,
        template_id="otp",
        locale=None,
        personalisation={"expiry": "5", "code": "1234"},
        payload={"ref": "r"},
        channels={"sms"},
    )
    assert (ref.template_id, ref.version, ref.owner_account_id) == ("otp", 1, tenant.account_id)


async def test_unknown_template_is_422_at_template(session: AsyncSession, tenant: Tenant) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await load_for_sending(
            session, account=await account_of(session, tenant), template_id="nope"
        )
    assert caught.value.details[0].path == "/template"


async def test_disabled_template_renders_nothing(
    session: AsyncSession, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    await client.put("/v1/templates/ended-call", json={"enabled": False}, headers=tenant.headers)
    template = await load_for_sending(
        session, account=await account_of(session, tenant), template_id="ended-call"
    )
    rendered = template.render(
        locale=None, personalisation={}, payload=CALL, user=None, channels={"email"}
    )
    assert (rendered.enabled, rendered.channels) == (False, {})
    assert rendered.ref.owner_account_id == tenant.account_id  # the override, at its version 1
    assert rendered.version == 1


async def test_a_new_version_renders_its_own_content(
    db: Database, tenant: Tenant, client: httpx.AsyncClient
) -> None:
    # Compiled parts are cached by (row, version): a change must never render the old text.
    for text in ("first {{ n }}", "second {{ n }}"):
        await client.put(
            "/v1/templates/custom-message",
            json={"channels": {"push": {"body": text}}},
            headers=tenant.headers,
        )
        async with db.sessions() as session:
            rendered = await render_for_recipient(
                session,
                account=await account_of(session, tenant),
                template_id="custom-message",
                locale=None,
                personalisation={"n": 1},
                payload={},
                user=None,
                channels={"push"},
                message="m",
            )
        assert rendered.channels["push"]["body"] == text.replace("{{ n }}", "1")


async def test_macros_not_always_present_render_empty_and_others_stay_required(
    session: AsyncSession, tenant: Tenant
) -> None:
    template = await load_for_sending(
        session, account=await account_of(session, tenant), template_id="voicemail_to_email"
    )
    values = {"call_id": "c1", "caller_id": {"name": "Ann", "number": "0123"}}
    common: dict[str, Any] = {"locale": None, "payload": {}, "channels": {"email"}}
    rendered = template.render(
        personalisation={**values, "voicemail": {"vmbox_name": "Main"}},
        user={"email": "x@example.com"},
        **common,
    )
    # user.first_name and voicemail.length are "not always present": they render empty.
    assert rendered.channels["email"]["text"].startswith("Hello,\n")
    assert "long" not in rendered.channels["email"]["text"]
    # voicemail.vmbox_name is not: its absence is still the 400 naming it.
    with pytest.raises(MissingPersonalisation) as caught:
        template.render(personalisation=values, user={"email": "x@example.com"}, **common)
    assert [d.path for d in caught.value.details] == ["/personalisation/voicemail/vmbox_name"]
    assert values == {"call_id": "c1", "caller_id": {"name": "Ann", "number": "0123"}}
