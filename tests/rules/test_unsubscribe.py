"""One-click unsubscribe against a real ``herald serve`` and SMTP server: the RFC 8058 headers
of a sent email, the confirmation page of a GET (no change), the POST turning that category's
email off, forged and expired links (a clear page, no change), and no link on mandatory mail."""

from __future__ import annotations

import re
from datetime import timedelta

from herald.accounts.secrets import load_signing_key
from herald.db import utcnow
from herald.rules.unsubscribe import Unsubscribe, make_token, read_token
from tests.conftest import settings_for
from tests.rules.conftest import Rig, eventually, send, setup_tenant

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


async def _secret(rig: Rig) -> str:
    async with rig.herald.db.sessions() as session:
        return await load_signing_key(session, settings_for("sqlite://"))


async def test_the_email_carries_rfc8058_headers_and_the_post_turns_the_category_off(
    rig: Rig,
) -> None:
    tenant = await setup_tenant(rig, "unsub", {"gus": {"first_name": "Gus", "email": "gus@u.test"}})
    first = await send(rig, tenant, targets={"users": ["gus"]})

    async def arrived() -> bool:
        return bool(rig.emails_to("gus@u.test"))

    await eventually(arrived, what="the first email")
    [email] = rig.emails_to("gus@u.test")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    found = re.fullmatch(r"<(https?://[^>]+/unsubscribe/([^>]+))>", email["List-Unsubscribe"])
    assert found is not None, email["List-Unsubscribe"]
    token = found.group(2)
    named = read_token(await _secret(rig), token)
    [delivery] = await rig.deliveries(first)
    assert (named.account_id, named.user_id, named.category) == (
        tenant.account_id,
        delivery.user_id,
        "marketing",
    )
    async with rig.herald.client() as browser:
        page = await browser.get(f"/unsubscribe/{token}")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "Stop receiving <strong>marketing</strong> emails?" in page.text
    async with rig.herald.client(tenant.api_key) as http:
        unchanged = (await http.get("/v1/users/gus/preferences")).json()
        assert unchanged["categories"] == {}  # a GET (a link scanner) changes nothing
    async with rig.herald.client() as mail_client:
        done = await mail_client.post(f"/unsubscribe/{token}", data=ONE_CLICK)
    assert done.status_code == 200 and "no longer receive" in done.text
    async with rig.herald.client(tenant.api_key) as http:
        after = (await http.get("/v1/users/gus/preferences")).json()
    assert after["categories"] == {"marketing": {"email": False}}
    second = await send(rig, tenant, targets={"users": ["gus"]})
    assert [(d.status, d.reason) for d in await rig.deliveries(second)] == [
        ("skipped", "preference")
    ]


async def test_forged_and_expired_links_show_a_clear_page_and_change_nothing(rig: Rig) -> None:
    tenant = await setup_tenant(rig, "forged", {"hal": {"email": "hal@u.test"}})
    secret = await _secret(rig)
    async with rig.herald.db.sessions() as session:
        from herald.directory.service import get_user

        user = await get_user(session, account_id=tenant.account_id, external_id="hal")
    wanted = Unsubscribe(tenant.account_id, user.id, "marketing")
    expired = make_token(secret, wanted, now=utcnow() - timedelta(days=91))
    genuine = make_token(secret, wanted)
    payload, _, signature = genuine.partition(".")
    forged = make_token("not the secret", wanted)
    tampered = f"{payload}x.{signature}"
    async with rig.herald.client() as browser:
        for token, says in (
            (expired, "has expired"),
            (forged, "is not valid"),
            (tampered, "is not valid"),
            ("garbage", "is not valid"),
        ):
            for method in ("GET", "POST"):
                page = await browser.request(method, f"/unsubscribe/{token}", data=ONE_CLICK)
                assert page.status_code == 400, (token, method, page.text)
                assert says in page.text and "Nothing was changed" in page.text
    async with rig.herald.client(tenant.api_key) as http:
        assert (await http.get("/v1/users/hal/preferences")).json()["categories"] == {}


async def test_mandatory_mail_and_raw_addresses_carry_no_unsubscribe_link(rig: Rig) -> None:
    tenant = await setup_tenant(rig, "nolink", {"ivy": {"email": "ivy@u.test"}})
    async with rig.herald.client(tenant.api_key) as http:
        notice = {
            "id": "receipt",
            "category": "billing",
            "mandatory": True,
            "channels": {"email": {"subject": "Receipt", "text": "Paid."}},
        }
        assert (await http.post("/v1/templates", json=notice)).status_code == 201
        news = {
            "id": "news",
            "category": "news",
            "channels": {"email": notice["channels"]["email"]},
        }
        assert (await http.post("/v1/templates", json=news)).status_code == 201
    await send(rig, tenant, targets={"users": ["ivy"]}, template="receipt")
    raw = {"emails": ["raw@u.test"]}  # not mandatory, but nobody's preferences to change
    await send(rig, tenant, targets=raw, template="news", channels=["email"])

    async def both() -> bool:
        return bool(rig.emails_to("ivy@u.test")) and bool(rig.emails_to("raw@u.test"))

    await eventually(both, what="the mandatory and the raw-address emails")
    for email in (*rig.emails_to("ivy@u.test"), *rig.emails_to("raw@u.test")):
        assert email["List-Unsubscribe"] is None and email["List-Unsubscribe-Post"] is None
