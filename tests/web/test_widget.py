"""``<herald-inbox>`` in Chromium against ``herald serve``: what a widget user sees and does."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from tests.web.conftest import WAIT_MS, Site, screenshot

pytestmark = pytest.mark.e2e
expect.set_options(timeout=WAIT_MS)
REALTIME = re.compile(r".*/v1/realtime.*")
BADGE = '[part~="badge"]'
BELL = '[part~="bell"]'
PANEL = '[part~="panel"]'
ITEMS = '[part~="item"]'


async def open_demo(page: Page, site: Site, token: str, **query: str) -> None:
    """The demo page for this token, with the widget's live connection up."""
    await page.goto(site.demo(token, **query))
    await wait_online(page)


async def wait_online(page: Page) -> None:
    """Until the widget says its live events flow (the socket answered its first frame)."""
    await page.wait_for_function(
        "() => document.querySelector('herald-inbox')?.connection === 'online'", timeout=WAIT_MS
    )


async def open_panel(page: Page) -> None:
    """Click the bell and wait for the list to have loaded."""
    await page.locator(BELL).click()
    await expect(page.locator(PANEL)).to_be_visible()
    await page.wait_for_function(
        "() => document.querySelector('herald-inbox').loaded === true", timeout=WAIT_MS
    )


def item(page: Page, item_id: str) -> Any:
    """The list entry of one inbox item."""
    return page.locator(f'{ITEMS}[data-id="{item_id}"]')


async def test_badge_counts_the_unread_items(site: Site, page: Page) -> None:
    user, token = await site.user()
    for text in ("Estimate 4411 needs approval", "Direct Debit failed", "Report ready"):
        await site.send(user, text)
    first = (await site.items(user))[-1]["id"]
    (await site.http.put(f"/v1/users/{user}/notifications/{first}/read")).raise_for_status()

    await open_demo(page, site, token)

    await expect(page.locator(BADGE)).to_have_text("2")
    await expect(page.locator(BELL)).to_have_attribute("aria-label", "Notifications, 2 unread")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_an_item_sent_on_the_server_arrives_live(site: Site, page: Page) -> None:
    user, token = await site.user()
    await open_demo(page, site, token)
    await open_panel(page)
    await expect(page.locator(".empty")).to_have_text("No notifications")
    listed: list[str] = []
    page.on("request", lambda r: listed.append(r.url) if "/v1/me/notifications?" in r.url else 0)

    await site.send(user, "Incoming call from 07123 456789")
    [sent] = await site.items(user)

    entry = item(page, sent["id"])
    await expect(entry).to_contain_text("Incoming call from 07123 456789")
    await expect(page.locator(BADGE)).to_have_text("1")
    assert listed == []  # over the WebSocket, not by reading the list again


async def test_the_badge_after_reconnecting_counts_what_happened_offline(
    site: Site, context: BrowserContext, page: Page
) -> None:
    user, token = await site.user()
    offline = False
    sockets: list[tuple[WebSocketRoute, WebSocketRoute]] = []
    sent_by_page: list[dict[str, Any]] = []
    seqs: list[int] = []

    def route(ws: WebSocketRoute) -> None:
        if offline:
            ws.close()  # the network is down: the connection fails at once
            return
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            sent_by_page.append(json.loads(message))
            server.send(message)

        def from_server(message: str | bytes) -> None:
            frame = json.loads(message)
            if "seq" in frame:
                seqs.append(frame["seq"])
            ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)
        sockets.append((ws, server))

    await page.route_web_socket(REALTIME, route)
    await open_demo(page, site, token)
    await site.send(user, "Before the drop")
    await expect(page.locator(BADGE)).to_have_text("1")
    seen_before_drop = max(seqs)

    offline = True
    await context.set_offline(True)  # REST cannot reach Herald either: only resume can help
    page_side, server_side = sockets[-1]
    await server_side.close()
    await page_side.close()
    await page.wait_for_function(
        "() => document.querySelector('herald-inbox').connection === 'offline'"
    )
    await site.send(user, "Sent while offline")
    await site.send(user, "Also sent while offline")
    assert await site.unread(user) == 3
    await expect(page.locator(BADGE)).to_have_text("1")

    offline = False
    await context.set_offline(False)

    await expect(page.locator(BADGE)).to_have_text("3")
    resumes = [frame for frame in sent_by_page if frame.get("op") == "resume"]
    assert resumes == [{"op": "resume", "after": seen_before_drop}]
    replayed = [seq for seq in seqs if seq > seen_before_drop]
    assert replayed == sorted(set(replayed))  # each missed event once, in order
    await open_panel(page)
    await expect(page.locator(ITEMS)).to_have_count(3)


async def test_mark_one_read_then_all_read(site: Site, page: Page) -> None:
    user, token = await site.user()
    for text in ("First", "Second", "Third"):
        await site.send(user, text)
    newest = (await site.items(user))[0]["id"]
    await open_demo(page, site, token)
    await open_panel(page)
    await expect(page.locator(BADGE)).to_have_text("3")

    await item(page, newest).locator('[part~="mark-read"]').click()

    await expect(page.locator(BADGE)).to_have_text("2")
    await expect(item(page, newest)).not_to_have_class(re.compile(r"\bunread\b"))
    assert await site.unread(user) == 2

    await page.locator('[part~="mark-all-read"]').click()

    await expect(page.locator(BADGE)).to_be_hidden()
    await expect(page.locator(BADGE)).to_have_text("0")
    await expect(page.locator(f"{ITEMS}.unread")).to_have_count(0)
    assert await site.unread(user) == 0


async def test_a_confirmed_action_is_in_the_audit_trail(site: Site, page: Page) -> None:
    user, token = await site.user()
    await site.send(
        user,
        "Estimate 4411 for Flat 2, 10 High Street is waiting for your approval",
        requireAction=True,
        actions=[{"label": "Open estimate", "url": "https://crm.example/estimates/4411"}],
    )
    [sent] = await site.items(user)
    await open_demo(page, site, token)
    await open_panel(page)
    entry = item(page, sent["id"])
    await expect(entry.locator('[part~="action"]')).to_have_attribute(
        "href", "https://crm.example/estimates/4411"
    )

    await entry.locator('[part~="respond"]').click()
    dialog = page.locator('[part~="action-dialog"]')
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("Approve").check()
    await dialog.get_by_label("Note (optional)").fill("Checked against the quote")
    await screenshot(page, "widget-action-dialog")
    await dialog.get_by_role("button", name="Confirm").click()

    await expect(dialog).to_be_hidden()
    await expect(entry).to_contain_text("Answered: Approved")
    answer = await site.http.get(f"/v1/users/{user}/notifications/{sent['id']}/audit")
    trail = answer.json()["data"]
    assert [(e["actionType"], e["actionNote"], e["performedBy"]) for e in trail] == [
        ("Approved", "Checked against the quote", user)
    ]
    assert await site.unread(user) == 0  # answering it is reading it


async def test_a_popup_once_notifications_are_permitted(
    site: Site, context: BrowserContext, page: Page
) -> None:
    await context.grant_permissions(["notifications"], origin=site.url)
    await context.add_init_script(
        script="""
        window.popups = [];
        const Native = window.Notification;
        window.Notification = class extends Native {
          constructor(title, options) {
            window.popups.push({ title, body: options.body, tag: options.tag });
            super(title, options);
          }
        };
        """
    )
    user, token = await site.user()
    await open_demo(page, site, token)

    await site.send(user, "Call from 07123 456789 waiting")

    await page.wait_for_function("() => window.popups.length === 1")
    [popup] = await page.evaluate("window.popups")
    [sent] = await site.items(user)
    assert popup == {
        "title": "New notification",
        "body": "Call from 07123 456789 waiting",
        "tag": f"herald-{sent['id']}",
    }


def app_page(herald: str, token: str, *, extra: str = "") -> str:
    """A developer's page on another origin that embeds the widget in five lines."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Another app</title>
<script type="module" src="{herald}/widget/herald-inbox.js"></script></head>
<body><h1>Another app</h1><herald-inbox token="{token}" {extra}></herald-inbox></body></html>
"""


async def test_the_widget_on_a_page_of_another_origin(
    site: Site, page: Page, other_origin: tuple[str, Any]
) -> None:
    origin, folder = other_origin
    user, token = await site.user()
    await site.send(user, "Hello from Herald")
    (folder / "app.html").write_text(app_page(site.url, token))

    await page.goto(f"{origin}/app.html")
    await wait_online(page)
    await expect(page.locator(BADGE)).to_have_text("1")
    await open_panel(page)
    await site.send(user, "And one more, live")
    await expect(page.locator(ITEMS)).to_have_count(2)
    newest = (await site.items(user))[0]["id"]
    await item(page, newest).locator('[part~="mark-read"]').click()  # a CORS preflight: PUT

    await expect(page.locator(BADGE)).to_have_text("1")
    assert await site.unread(user) == 1
    assert page.errors == []  # type: ignore[attr-defined]


async def test_sse_carries_the_events_when_websockets_are_blocked(
    site: Site, page: Page, other_origin: tuple[str, Any]
) -> None:
    origin, folder = other_origin
    user, token = await site.user()
    (folder / "blocked.html").write_text(app_page(site.url, token))
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/v1/stream" in r.url else 0)
    await page.route_web_socket(REALTIME, lambda ws: ws.close())  # a proxy that drops upgrades

    await page.goto(f"{origin}/blocked.html")
    await wait_online(page)
    await open_panel(page)
    await site.send(user, "Delivered over Server-Sent Events")

    await expect(page.locator(ITEMS)).to_contain_text("Delivered over Server-Sent Events")
    await expect(page.locator(BADGE)).to_have_text("1")
    assert len(streams) == 1


async def test_keyboard_only(site: Site, page: Page) -> None:
    user, token = await site.user()
    for text in ("One", "Two"):
        await site.send(user, text)
    items = await site.items(user)
    await open_demo(page, site, token)
    focused = "document.querySelector('herald-inbox').shadowRoot.activeElement"

    await page.locator(BELL).focus()
    await page.keyboard.press("Enter")
    await page.wait_for_function(f"() => {focused}?.dataset?.id === '{items[0]['id']}'")
    await page.keyboard.press("ArrowDown")
    await page.wait_for_function(f"() => {focused}?.dataset?.id === '{items[1]['id']}'")
    await page.keyboard.press("Escape")

    await expect(page.locator(PANEL)).to_be_hidden()
    assert await page.evaluate(f"{focused}.getAttribute('part')") == "bell"
    await expect(page.locator(BELL)).to_have_attribute("aria-expanded", "false")


async def test_unread_filter_and_load_more(site: Site, page: Page) -> None:
    user, token = await site.user()
    for n in range(5):
        await site.send(user, f"Message {n}")
    oldest = (await site.items(user))[-1]["id"]
    (await site.http.put(f"/v1/users/{user}/notifications/{oldest}/read")).raise_for_status()
    await open_demo(page, site, token)
    await page.evaluate("document.querySelector('herald-inbox').setAttribute('per-page', '2')")
    await wait_online(page)
    await open_panel(page)
    more = page.locator('[part~="load-more"]')

    await expect(page.locator(ITEMS)).to_have_count(2)
    await more.click()
    await expect(page.locator(ITEMS)).to_have_count(4)
    await more.click()
    await expect(page.locator(ITEMS)).to_have_count(5)
    await expect(more).to_be_hidden()

    await page.get_by_role("button", name="Unread", exact=True).click()
    await expect(page.locator(ITEMS)).to_have_count(2)
    await more.click()
    await expect(page.locator(ITEMS)).to_have_count(4)
    await expect(page.locator(f'{ITEMS}[data-id="{oldest}"]')).to_have_count(0)


async def test_strings_follow_the_users_language(site: Site, browser: Browser) -> None:
    user, token = await site.user()
    await site.send(user, "Galwad gan 07123 456789")
    german = await browser.new_context(locale="de-DE")
    try:
        page = await german.new_page()
        await open_demo(page, site, token)
        await expect(page.locator(BELL)).to_have_attribute(
            "aria-label", "Benachrichtigungen, 1 ungelesen"
        )
        await page.goto(site.demo(token, locale="cy"))  # the attribute wins over the browser
        await wait_online(page)
        await expect(page.locator(BELL)).to_have_attribute(
            "aria-label", "Hysbysiadau, 1 heb ei ddarllen"
        )
        await open_panel(page)
        await expect(page.locator('[part~="mark-all-read"]')).to_have_text(
            "Marcio'r cyfan wedi'u darllen"
        )
    finally:
        await german.close()


async def test_a_refused_token_is_reported(site: Site, page: Page) -> None:
    await page.goto(site.demo("not-a-token"))
    await page.wait_for_function(
        "() => document.querySelector('herald-inbox').connection === 'expired'"
    )
    await page.locator(BELL).click()
    await expect(page.locator('[part~="status"]')).to_have_text(
        "Your session has expired. Reload the page to sign in again."
    )


async def test_the_main_views_light_dark_and_welsh(site: Site, browser: Browser) -> None:
    """The README's pictures (``HERALD_SCREENSHOTS=1``): the open panel in three looks."""
    user, token = await site.user()
    await site.send(user, "Actuals for March were approved by Sam Patel")
    first = (await site.items(user))[0]["id"]
    (await site.http.put(f"/v1/users/{user}/notifications/{first}/read")).raise_for_status()
    await site.send(
        user,
        "Your weekly arrears report is ready",
        actions=[{"label": "Download report", "url": "https://crm.example/reports/51"}],
    )
    await site.send(user, "Direct Debit failed for account 0042 (Mrs J Smith)")
    await site.send(
        user,
        "Estimate 4411 for Flat 2, 10 High Street is waiting for your approval",
        requireAction=True,
        actions=[{"label": "Open estimate", "url": "https://crm.example/estimates/4411"}],
    )
    # bypass_csp: the dark theme is a <style> the test adds to the demo page.
    context = await browser.new_context(
        viewport={"width": 1100, "height": 640}, locale="en-GB", bypass_csp=True
    )
    try:
        page = await context.new_page()
        for name, query, style, respond in (
            ("widget-panel", {}, None, "Respond…"),
            ("widget-panel-cy", {"locale": "cy"}, None, "Ymateb…"),
            ("widget-panel-dark", {}, DARK_THEME, "Respond…"),
        ):
            await open_demo(page, site, token, **query)
            if style:
                await page.add_style_tag(content=style)
            await open_panel(page)
            await expect(page.locator(ITEMS)).to_have_count(4)
            await expect(page.locator('[part~="respond"]')).to_have_text(respond)
            await page.mouse.move(0, 600)  # no hover highlight in the picture
            await screenshot(page, name)
        background = (
            "getComputedStyle(document.querySelector('herald-inbox').shadowRoot"
            ".querySelector('[part~=panel]')).backgroundColor"
        )
        assert await page.evaluate(background) == "rgb(22, 27, 34)"  # the custom property
    finally:
        await context.close()


DARK_THEME = """
herald-inbox {
  --herald-color-background: #161b22; --herald-color-text: #e6edf3;
  --herald-color-muted: #9198a1; --herald-color-border: #30363d;
  --herald-color-hover: #21262d; --herald-color-unread: #1f2a3a;
  --herald-color-accent: #4493f8; --herald-color-accent-text: #0d1117;
}
"""
