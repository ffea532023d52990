"""The admin console in a real browser (Debian's Chromium, driven by Playwright; the one the
pages' tests share) against a real ``herald serve`` sending through a real SMTP server
(aiosmtpd): one of each for the module.

``HERALD_SCREENSHOTS=1`` also writes the README's pictures into ``docs/images/``.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from playwright.async_api import Browser, Dialog, Page, expect

from herald.accounts import service as accounts
from herald.db import Database, new_id, utcnow
from herald.delivery.models import Delivery
from herald.migrate import upgrade
from herald.notifications.models import Notification
from tests.conftest import settings_for
from tests.support.processes import Herald, free_port, herald
from tests.web.conftest import screenshot as pages_screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
WAIT_MS = 15_000
expect.set_options(timeout=WAIT_MS)
_queue_ids = itertools.count(1)


@dataclass
class Mailbox:
    """An SMTP server's handler: keeps each message and answers with a queue id of its own."""

    received: list[tuple[list[str], bytes]] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    unknown: str = "nobody@example.com"

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        """Refuse the one address that has no mailbox, as a real server does."""
        if address == self.unknown:
            return "550 5.1.1 <nobody@example.com>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        """Accept the message; the reply is what Herald keeps as the delivery's receipt."""
        reply = f"250 2.0.0 Ok: queued as CONSOLE{next(_queue_ids):04d}"
        self.received.append((list(envelope.rcpt_tos), envelope.original_content or b""))
        self.replies.append(reply)
        return reply


@dataclass
class Site:
    """The running Herald, its database (to make tenants) and the SMTP server's mailbox."""

    herald: Herald
    database: Database
    mailbox: Mailbox

    @property
    def url(self) -> str:
        """Herald's base URL."""
        return self.herald.url

    async def tenant(
        self, name: str, *scopes: str, parent: uuid.UUID | None = None
    ) -> tuple[uuid.UUID, str]:
        """A new account (a child of ``parent``) and a key with these scopes (all when none)."""
        async with self.database.sessions() as session, session.begin():
            account = await accounts.create_account(session, name=name, parent_id=parent)
            issued = await accounts.create_key(
                session, account_id=account.id, scopes=list(scopes) or None
            )
        return account.id, issued.plain

    def api(self, key: str) -> httpx.AsyncClient:
        """A client of the API with ``key``, as the tenant's own server is."""
        headers = {"Authorization": f"Bearer {key}"}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=15)


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, str]]:
    """A real SMTP server (aiosmtpd) and its URL."""
    handler = Mailbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@pytest.fixture(scope="module")
async def site(
    tmp_path_factory: pytest.TempPathFactory, mailbox: tuple[Mailbox, str]
) -> AsyncIterator[Site]:
    """``herald serve`` with SQLite, sending email through the module's SMTP server."""
    folder = tmp_path_factory.mktemp("console")
    database_url = f"sqlite+aiosqlite:///{folder / 'herald.db'}"
    await upgrade(settings_for(database_url))
    env = {
        "HERALD_DATABASE_URL": database_url,
        "HERALD_SMTP_URL": mailbox[1],
        "HERALD_EMAIL_FROM": "Acme Support <support@acme.example>",
        "HERALD_LOG_LEVEL": "WARNING",
        "HERALD_ALLOW_PRIVATE_URLS": "true",
    }
    database = Database(settings_for(database_url))
    try:
        with herald(["serve"], env, folder / "herald.log") as serve:
            await serve.up()
            yield Site(serve, database, mailbox[0])
    finally:
        await database.dispose()


@pytest.fixture
async def page(browser: Browser, site: Site) -> AsyncIterator[Page]:
    """A fresh profile of the pages' shared Chromium (tests/web/conftest.py) on this module's
    Herald; a script error on any page fails the test."""
    context = await browser.new_context(
        base_url=site.url, viewport={"width": 1280, "height": 860}, locale="en-GB"
    )
    context.set_default_timeout(WAIT_MS)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    await context.close()
    assert not errors, errors


async def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    """Write ``docs/images/console-<name>.png`` when ``HERALD_SCREENSHOTS`` is set."""
    await pages_screenshot(page, f"console-{name}", full_page=full_page)


async def sign_in(page: Page, key: str, *, start: str = "/console") -> None:
    """Open a console page, get sent to the sign-in form, sign in and come back."""
    await page.goto(start)
    await expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(re.escape(start) + "$"))


async def delivered(api: httpx.AsyncClient, notification_id: str) -> dict[str, Any]:
    """The notification once every delivery ended."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = (await api.get(f"/v1/notifications/{notification_id}")).json()
        if found["deliveries"] and all(d["status"] != "sending" and d["status"] != "created"
                                       for d in found["deliveries"]):  # fmt: skip
            return dict(found)
        await asyncio.sleep(0.2)
    raise AssertionError(f"not delivered in time: {found}")


async def test_sign_in_keeps_only_an_http_only_strict_cookie_and_sign_out_ends_it(
    page: Page, site: Site
) -> None:
    _account, key = await site.tenant("Sign-in Ltd")
    await sign_in(page, key, start="/console/notifications")
    await expect(page.locator(".who .account")).to_have_text("Sign-in Ltd")
    cookies = await page.context.cookies()
    session = next(c for c in cookies if c["name"] == "herald_console")
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/console"
    assert all(key not in c["value"] for c in cookies)
    stored = await page.evaluate(
        "() => [document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)]"
    )
    assert all(key not in value and "herald_console" not in value for value in stored), stored

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("status")).to_have_text("You are signed out.")
    old_cookie = {"herald_console": session["value"]}
    async with httpx.AsyncClient(base_url=site.url, cookies=old_cookie) as http:
        again = await http.get("/console/notifications")
    assert again.status_code == 303 and again.headers["location"].startswith("/console/sign-in")
    await page.goto("/console/notifications")
    await expect(page).to_have_url(re.compile(r"/console/sign-in\?next=/console/notifications"))


async def test_the_template_editor_previews_every_channel_while_typing_and_saves(
    page: Page, site: Site
) -> None:
    _account, key = await site.tenant("Templates Ltd")
    template = {
        "id": "welcome",
        "friendly_name": "Welcome",
        "channels": {
            "email": {
                "subject": "Welcome, {{ first_name }}",
                "html": "<h1>Hello {{ first_name }}</h1><p>Your account at {{ account.name }}"
                " is ready.</p>",
                "text": "Hello {{ first_name }}, your account is ready.",
            },
            "sms": {"body": "Hi {{ first_name }}, welcome aboard."},
            "push": {"title": "Welcome", "body": "Tap to start, {{ first_name }}."},
        },
    }
    async with site.api(key) as api:
        assert (await api.post("/v1/templates", json=template)).status_code == 201
        await sign_in(page, key, start="/console/templates")
        await expect(page.get_by_role("row", name=re.compile("welcome"))).to_contain_text(
            "This account's own"
        )
        await page.get_by_role("link", name="welcome").click()

        preview = page.locator("#preview")
        await expect(preview.locator("[data-preview=email-subject]")).to_have_text(
            "Welcome, First Name"
        )
        await expect(preview.locator("[data-preview=sms-segments]")).to_have_text("1")
        await expect(preview.locator("[data-preview=sms-encoding]")).to_have_text("GSM-7")

        await page.get_by_label("Subject").fill("Your new account, {{ first_name }}")
        await expect(preview.locator("[data-preview=email-subject]")).to_have_text(
            "Your new account, First Name"
        )
        sms = page.locator("textarea[name='sms.body']")
        await sms.fill("x" * 161)
        await expect(preview.locator("[data-preview=sms-segments]")).to_have_text("2")
        await sms.fill("Hi {{ first_name }}, welcome aboard.")
        await expect(preview.locator("[data-preview=sms-segments]")).to_have_text("1")
        await page.get_by_label("Sample values").fill('{"first_name": "Ada"}')
        frame = preview.frame_locator("iframe[title='Email preview (HTML)']")
        await expect(frame.locator("h1")).to_have_text("Hello Ada")
        await expect(preview.locator("[data-preview=push-body]")).to_have_text("Tap to start, Ada.")
        await sms.click()
        await sms.press("Control+End")
        await sms.press_sequentially(" Dziękujemy!", delay=5)
        await expect(preview.locator("[data-preview=sms-encoding]")).to_have_text("UCS-2")
        await expect(preview.locator("[data-preview=sms-body]")).to_have_text(
            "Hi Ada, welcome aboard. Dziękujemy!"
        )
        await expect(page.locator("#preview-status")).to_have_text("Preview up to date.")
        await page.evaluate("window.scrollTo(0, 0)")
        await screenshot(page, "template-editor")

        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status").first).to_have_text("Saved: a new version.")
        saved = (await api.get("/v1/templates/welcome")).json()
    assert saved["version"] == 2
    assert saved["channels"]["email"]["subject"] == "Your new account, {{ first_name }}"
    assert saved["channels"]["sms"]["body"] == "Hi {{ first_name }}, welcome aboard. Dziękujemy!"
    assert saved["channels"]["push"] == template["channels"]["push"]  # type: ignore[index]


async def test_a_delivery_shows_the_email_as_sent_and_the_smtp_servers_receipt(
    page: Page, site: Site
) -> None:
    _account, key = await site.tenant("Deliveries Ltd")
    async with site.api(key) as api:
        await api.put("/v1/users/ada", json={"name": "Ada Lovelace", "email": "ada@example.com"})
        body = {
            "type": "custom",
            "subType": "message",
            "message": "Your invoice INV-2043 is ready.",
            "targets": {"users": ["ada"]},
            "channels": ["email", "in_app"],
        }
        sent = await api.post("/v1/notifications", json=body)
        assert sent.status_code == 202, sent.text
        for others in (  # a list of several, as a day's work looks (one bounces)
            {"message": "Reset your password", "targets": {"emails": [site.mailbox.unknown]}},
            {
                "message": "Your report is ready",
                "targets": {"users": ["ada"]},
                "channels": ["in_app"],
            },
        ):
            assert (await api.post("/v1/notifications", json={**body, **others})).status_code == 202
        notification = await delivered(api, sent.json()["id"])
        email = next(d for d in notification["deliveries"] if d["channel"] == "email")
        logged = (await api.get(f"/v1/deliveries/{email['id']}")).json()
    assert logged["status"] == "delivered", logged
    receipt = logged["receipt"]
    assert receipt in site.mailbox.replies, (receipt, site.mailbox.replies)

    await sign_in(page, key, start="/console/notifications")
    rows = page.get_by_role("row", name="custom/message")
    await expect(rows).to_have_count(3)
    row = rows.last  # newest first: the first one sent is the last row
    await expect(row).to_contain_text("email, in_app")
    await expect(row.get_by_role("cell", name="delivered")).to_be_visible()
    await screenshot(page, "notifications")
    await row.get_by_role("link").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("custom/message")
    await page.get_by_role("link", name=re.compile("Delivery")).first.click()

    await expect(page.locator(".receipt")).to_have_text(receipt)
    facts = page.locator("main dl.facts").last
    await expect(facts).to_contain_text("ada@example.com")
    await expect(facts).to_contain_text("Acme Support <support@acme.example>")
    frame = page.frame_locator("iframe[title='The email as sent (HTML)']")
    await expect(frame.locator("body")).to_contain_text("Your invoice INV-2043 is ready.")
    await expect(page.get_by_role("cell", name="delivered")).to_be_visible()
    await screenshot(page, "delivery", full_page=True)

    await page.get_by_role("link", name="SMTP log").click()
    await expect(page.get_by_role("row", name=re.compile("ada@example.com"))).to_contain_text(
        receipt
    )


async def test_a_key_made_in_the_console_works_once_and_is_refused_after_revocation(
    page: Page, site: Site
) -> None:
    _account, key = await site.tenant("Keys Ltd")
    await sign_in(page, key, start="/console/keys")
    await page.get_by_label("Name").fill("reporting")
    await page.get_by_role("checkbox", name="notifications.read").check()
    await page.get_by_role("button", name="Create key").click()
    made = (await page.locator("#new-key").text_content() or "").strip()
    assert made.startswith("hk_live_")
    await page.reload()  # shown once: the page is not kept, and the list shows a prefix only
    await page.goto("/console/keys")
    await expect(page.locator("main")).not_to_contain_text(made)

    async with httpx.AsyncClient(base_url=site.url, timeout=15) as http:
        auth = {"Authorization": f"Bearer {made}"}
        assert (await http.get("/v1/notifications", headers=auth)).status_code == 200
        assert (await http.get("/v1/templates", headers=auth)).status_code == 403

        page.once("dialog", lambda dialog: asyncio.ensure_future(_accept(dialog)))
        row = page.locator("tr", has_text=made[:12])
        await row.get_by_role("button", name=f"Revoke {made[:12]}").click()
        await expect(page.get_by_role("status")).to_have_text("Key revoked.")
        await expect(row).to_contain_text("revoked")
        refused = await http.get("/v1/notifications", headers=auth)
    assert refused.status_code == 401, refused.text


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


async def test_a_reseller_approves_its_childs_sender_name(page: Page, site: Site) -> None:
    parent, parent_key = await site.tenant("Reseller Ltd")
    child, child_key = await site.tenant("Bakery", parent=parent)
    async with site.api(child_key) as child_api:
        registered = await child_api.put("/v1/senders/Crumbs")
        assert registered.json()["status"] == "pending"

        await sign_in(page, parent_key, start="/console/senders")
        row = page.get_by_role("row", name=re.compile("Crumbs"))
        await expect(row).to_contain_text("Bakery")
        await expect(row).to_contain_text("pending")
        await screenshot(page, "senders")
        await row.get_by_role("button", name="Approve Crumbs for Bakery").click()
        await expect(page.get_by_role("status")).to_have_text("Sender name approved.")
        await expect(page.get_by_role("row", name=re.compile("Crumbs"))).to_contain_text("approved")
        listed = (await child_api.get("/v1/senders")).json()["data"]
    assert [(s["name"], s["status"]) for s in listed] == [("Crumbs", "approved")]

    await page.goto("/console/accounts")
    await expect(page.get_by_role("link", name="Bakery")).to_be_visible()
    await page.goto(f"/console/accounts/{child}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Bakery")


async def test_a_key_without_templates_write_previews_but_cannot_save(
    page: Page, site: Site
) -> None:
    _account, key = await site.tenant("Readers Ltd", "templates.read")
    await sign_in(page, key, start="/console/templates/custom-message")
    nav = page.get_by_role("navigation", name="Console sections")
    await expect(nav.get_by_role("link")).to_have_text(["Templates", "Accounts"])
    save = page.get_by_role("button", name="Save")
    await expect(save).to_be_disabled()
    await page.locator("textarea[name='in_app.message']").fill("Changed {{ message }}")
    await expect(page.locator("[data-preview=in-app-message]")).to_have_text("Changed Message")

    await save.evaluate("button => { button.disabled = false }")  # what a hand-made post does
    await save.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    await expect(page.get_by_role("alert")).to_contain_text(
        "This credential lacks the scope templates.write"
    )
    await page.goto("/console/keys")
    await expect(page.get_by_role("alert")).to_contain_text("lacks the scope admin")
    async with site.api(key) as api:
        template = (await api.get("/v1/templates/custom-message")).json()
    assert template["account_overridden"] is False


async def test_a_form_posted_without_its_csrf_token_is_refused_with_403(
    page: Page, site: Site
) -> None:
    _account, key = await site.tenant("Forms Ltd")
    await sign_in(page, key, start="/console/users")
    await page.get_by_text("Add or replace a user").click()
    form = page.locator("form[action='/console/users']")
    await form.locator("input[name=csrf]").evaluate("input => input.remove()")
    await form.get_by_label("Id").fill("mallory")
    await form.get_by_role("button", name="Save user").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    await expect(page.get_by_role("alert")).to_contain_text("CSRF token is missing or wrong")
    async with site.api(key) as api:
        assert (await api.get("/v1/users/mallory")).status_code == 404

    await page.goto("/console/users")  # still signed in; with its token the same form works
    await page.get_by_text("Add or replace a user").click()
    await form.get_by_label("Id").fill("mallory")
    await form.get_by_role("button", name="Save user").click()
    await expect(page.get_by_role("status")).to_have_text("User saved.")


async def test_stats_chart_sent_and_failed_per_channel_per_day(page: Page, site: Site) -> None:
    account, key = await site.tenant("Stats Ltd")
    today = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    plan = {  # days ago -> (channel, sent, failed)
        0: [("email", 42, 3), ("sms", 17, 1)],
        1: [("email", 51, 0), ("sms", 12, 4)],
        2: [("email", 38, 6)],
        5: [("email", 60, 2), ("sms", 20, 0)],
        9: [("sms", 8, 2)],
    }
    await _historic_deliveries(site.database, account, today, plan)
    await sign_in(page, key, start="/console/stats")
    email = page.get_by_role("region", name=re.compile("^email"))
    await expect(email.get_by_role("heading")).to_have_text("email 191 sent · 11 failed")
    await expect(email.locator("rect.sent")).to_have_count(4)
    await expect(email.locator("rect.failed")).to_have_count(3)
    sms = page.get_by_role("region", name=re.compile("^sms"))
    await expect(sms.get_by_role("heading")).to_have_text("sms 57 sent · 7 failed")
    await expect(sms.locator("rect.failed")).to_have_count(3)
    first_sms = sms.locator("rect.sent").first
    await expect(first_sms.locator("title")).to_have_text(
        f"{today - timedelta(days=9):%d %b}: 8 sent"
    )
    await screenshot(page, "stats", full_page=True)


async def _historic_deliveries(
    database: Database,
    account: uuid.UUID,
    noon: Any,
    plan: dict[int, list[tuple[str, int, int]]],
) -> None:
    """Ended deliveries of past days, as the worker would have left them."""
    async with database.sessions() as session, session.begin():
        notification = Notification(
            account_id=account,
            type="custom",
            sub_type="message",
            products=[],
            targets={"emails": ["past@example.com"]},
            channels=["email", "sms"],
            payload={},
            actions=[],
            status="delivered",
        )
        session.add(notification)
        await session.flush()
        for days_ago, rows in plan.items():
            ended = noon - timedelta(days=days_ago)
            for channel, sent, failed in rows:
                for status, count in (("delivered", sent), ("permanent-failure", failed)):
                    session.add_all(
                        Delivery(
                            id=new_id(),
                            account_id=account,
                            notification_id=notification.id,
                            channel=channel,
                            recipient={"email": "past@example.com"},
                            status=status,
                            attempts=1,
                            completed_at=ended,
                            created_at=ended,
                        )
                        for _ in range(count)
                    )


async def test_an_account_default_set_in_the_console_reaches_a_child_and_its_users(
    page: Page, site: Site
) -> None:
    parent, parent_key = await site.tenant("Northwind Group")
    _child, child_key = await site.tenant("Northwind Lettings", parent=parent)
    async with site.api(child_key) as api:
        user = {"name": "Lena Berg", "email": "lena@northwind.example", "timezone": "Europe/Oslo"}
        assert (await api.put("/v1/users/lena", json=user)).status_code == 201
        for template_id, category, mandatory in (
            ("offers", "offers", False),
            ("security-notice", "security", True),
        ):
            template = {
                "id": template_id,
                "category": category,
                "mandatory": mandatory,
                "channels": {
                    "email": {"subject": "This week", "text": "This week's offers."},
                    "in_app": {"message": "This week's offers are in"},
                },
            }
            assert (await api.post("/v1/templates", json=template)).status_code == 201

    # The parent turns email off for everything below it.
    await sign_in(page, parent_key, start="/console/preferences")
    await page.locator('select[name="channel.email"]').select_option("off")
    await page.get_by_role("button", name="Save defaults").click()
    await expect(page.get_by_role("status")).to_have_text("Preferences defaults saved.")
    await expect(page.locator('tr[data-channel="email"] .effective')).to_contain_text("off")
    await page.get_by_role("button", name="Sign out").click()

    # The child inherits it, and overrides push for its offers and sets quiet hours.
    await sign_in(page, child_key, start="/console/preferences")
    email = page.locator('select[name="channel.email"]')
    await expect(email.locator("option:checked")).to_have_text("Inherit: off (Northwind Group)")
    await expect(page.locator('tr[data-channel="email"] .effective')).to_contain_text(
        "off Northwind Group"
    )
    await page.locator('select[name="category.offers.push"]').select_option("off")
    await page.locator('select[name="quiet"]').select_option("set")
    await page.get_by_role("button", name="Save defaults").click()
    await expect(page.get_by_role("status")).to_have_text("Preferences defaults saved.")
    offers = page.locator('tr[data-category="offers"]')
    await expect(offers.locator('select[name="category.offers.push"]')).to_have_class("override")
    await expect(offers.locator(".effective")).to_contain_text("Email off")
    await expect(page.locator('tr[data-category="security"]')).to_contain_text("mandatory")
    await page.mouse.move(0, 0)
    await screenshot(page, "preferences")

    async with site.api(child_key) as api:
        body = {
            "type": "custom",
            "subType": "message",
            "message": "This week's offers are in",
            "template": "offers",
            "targets": {"users": ["lena"]},
            "channels": ["email", "in_app"],
        }
        sent = await api.post("/v1/notifications", json=body)
        assert sent.status_code == 202, sent.text
        notification = await delivered(api, sent.json()["id"])
        inbox = (await api.get("/v1/users/lena/notifications")).json()["data"]
    [email_delivery] = [d for d in notification["deliveries"] if d["channel"] == "email"]
    assert (email_delivery["status"], email_delivery["reason"]) == ("skipped", "preference")
    assert [item["notification_id"] for item in inbox] == [sent.json()["id"]]
    assert all("lena@northwind.example" not in to for to, _ in site.mailbox.received)

    await page.goto(f"/console/notifications/{sent.json()['id']}")
    heading = page.get_by_role("heading", name=re.compile("email to lena"))
    await expect(heading).to_contain_text("skipped")
    await expect(heading).to_contain_text("preference")

    await page.goto("/console/users")
    await page.get_by_role("link", name="Preferences of lena").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Preferences of lena")
    await expect(page.locator('tr[data-channel="email"]')).to_contain_text("off")
    await expect(page.locator('tr[data-channel="email"]')).to_contain_text("Northwind Group")
    await expect(page.locator('tr[data-category="offers"]')).to_contain_text("this account")
    await expect(page.locator("main")).to_contain_text("Europe/Oslo")
    await expect(page.locator("main")).to_contain_text("22:00\u201307:00")
