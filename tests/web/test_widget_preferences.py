"""The preferences view of ``<herald-inbox>`` in Chromium against ``herald serve``: a user turns
a category's email off with the keyboard, and the server's next send of that category keeps
the in-app item while its email is ``skipped`` (``preference``)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.web.conftest import Site, screenshot, unique
from tests.web.test_widget import BADGE, PANEL, item, open_demo

pytestmark = pytest.mark.e2e
SETTINGS = '[part~="settings"]'
VIEW = '[part~="preferences"]'


async def template(site: Site, category: str, **fields: Any) -> str:
    """A template of ``category`` with an email and an in-app part; its id."""
    template_id = unique(category)
    body = {
        "id": template_id,
        "category": category,
        "channels": {
            "email": {"subject": "Weekly offers", "text": "This week's offers."},
            "in_app": {"message": "This week's offers are in"},
        },
        **fields,
    }
    answer = await site.http.post("/v1/templates", json=body)
    assert answer.status_code == 201, answer.text
    return template_id


async def send_template(site: Site, user: str, template_id: str) -> dict[str, Any]:
    """A templated notification to one user on in-app and email, as the server shows it."""
    body = {
        "type": "custom",
        "subType": "message",
        "message": "This week's offers are in",
        "template": template_id,
        "targets": {"users": [user]},
        "channels": ["in_app", "email"],
    }
    answer = await site.http.post("/v1/notifications", json=body)
    assert answer.status_code == 202, answer.text
    shown = await site.http.get(f"/v1/notifications/{answer.json()['id']}")
    found: dict[str, Any] = shown.json()
    return found


async def open_preferences(page: Page) -> None:
    """Open the panel, then its preferences view, and wait for the switches."""
    await page.locator('[part~="bell"]').click()
    await expect(page.locator(PANEL)).to_be_visible()
    await page.locator(SETTINGS).click()
    await expect(page.locator(VIEW)).to_be_visible()
    await expect(page.locator(f'{VIEW} [role="switch"]').first).to_be_visible()


async def test_email_turned_off_for_a_category_skips_it_and_keeps_the_inbox_item(
    site: Site, page: Page
) -> None:
    offers = await template(site, "offers")
    await template(site, "security", mandatory=True)
    user, token = await site.user(timezone="Europe/London")
    await open_demo(page, site, token, categories="offers security custom")
    await open_preferences(page)
    view = page.locator(VIEW)
    await expect(page.locator(f"{PANEL} h2").first).to_have_text("Preferences")
    await expect(view.locator('[part~="timezone"]')).to_have_text(
        "Times in your time zone: Europe/London"
    )
    await expect(view.locator("tbody tr")).to_have_count(3)
    locked = page.get_by_role("switch", name="Security: Email")
    await expect(locked).to_be_disabled()
    await expect(locked).to_have_attribute("aria-checked", "true")
    await expect(view.locator('tr[data-category="security"]')).to_contain_text("Always sent")

    switch = page.get_by_role("switch", name="Offers: Email")
    await expect(switch).to_have_attribute("aria-checked", "true")
    await switch.focus()
    await page.keyboard.press("Space")  # a switch is a button: the keyboard toggles it
    await expect(switch).to_have_attribute("aria-checked", "false")
    await expect(switch).to_be_focused()
    await page.get_by_role("switch", name="Hold email, SMS and push").click()
    await page.get_by_role("button", name="Save").click()
    await expect(view.get_by_role("status")).to_have_text("Preferences saved.")
    await page.mouse.move(0, 700)
    await view.evaluate("view => view.scrollTo(0, 0)")
    await screenshot(page, "widget-preferences")

    stored = (await site.http.get(f"/v1/users/{user}/preferences")).json()
    assert stored["categories"] == {"offers": {"email": False}}
    assert stored["channels"] == {}
    assert stored["quiet_hours"] == {"start": "22:00", "end": "07:00"}

    sent = await send_template(site, user, offers)
    [email] = [d for d in sent["deliveries"] if d["channel"] == "email"]
    assert (email["status"], email["reason"]) == ("skipped", "preference")
    await page.get_by_role("button", name="Back to notifications").click()
    await expect(page.locator(SETTINGS)).to_be_focused()
    [inbox_item] = await site.items(user)
    assert inbox_item["notification_id"] == sent["id"]
    await expect(item(page, inbox_item["id"])).to_contain_text("This week's offers are in")
    await expect(page.locator(BADGE)).to_have_text("1")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_quiet_hours_and_a_refused_save_are_shown_beside_the_form(
    site: Site, page: Page
) -> None:
    doomed = await template(site, "flash_sale")
    _user, token = await site.user()
    await open_demo(page, site, token, locale="de", categories="flash_sale")
    await page.locator('[part~="bell"]').click()
    await page.locator(SETTINGS).click()
    quiet = page.get_by_role("switch", name="E-Mail, SMS und Push zurückhalten")
    await quiet.click()
    await expect(quiet).to_have_attribute("aria-checked", "true")
    start = page.get_by_label("Von")
    await start.fill("")
    await page.get_by_role("button", name="Speichern").click()
    await expect(page.locator('[part~="pref-error"]')).to_have_text(
        "Geben Sie eine Anfangs- und eine Endzeit an."
    )
    await expect(start).to_have_attribute("aria-invalid", "true")
    await start.fill("21:30")
    await expect(page.locator('[part~="timezone"]')).to_have_text("Zeiten in Ihrer Zeitzone: UTC")

    # The category goes away on the server while the view is open: Herald refuses the save.
    assert (await site.http.delete(f"/v1/templates/{doomed}")).status_code == 204
    await page.get_by_role("switch", name="Flash sale: SMS").click()
    await page.get_by_role("button", name="Speichern").click()
    error = page.locator('[part~="pref-error"]')
    await expect(error).to_contain_text("Ihre Einstellungen konnten nicht gespeichert werden.")
    await expect(error).to_contain_text("/categories/flash_sale")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_the_inbox_turned_off_for_a_category_withholds_its_items(
    site: Site, page: Page
) -> None:
    offers = await template(site, "offers")
    user, token = await site.user()
    await open_demo(page, site, token, categories="offers")
    await open_preferences(page)
    view = page.locator(VIEW)
    await expect(view.locator(".pref-channels")).to_contain_text("This inbox")

    switch = page.get_by_role("switch", name="Offers: Inbox")
    await expect(switch).to_have_attribute("aria-checked", "true")
    await switch.click()
    await expect(switch).to_have_attribute("aria-checked", "false")
    await page.get_by_role("button", name="Save").click()
    await expect(view.get_by_role("status")).to_have_text("Preferences saved.")
    stored = (await site.http.get(f"/v1/users/{user}/preferences")).json()
    assert stored["categories"] == {"offers": {"in_app": False}}

    sent = await send_template(site, user, offers)
    by_channel = {d["channel"]: d for d in sent["deliveries"]}
    assert (by_channel["in_app"]["status"], by_channel["in_app"]["reason"]) == (
        "skipped",
        "preference",
    )
    assert by_channel["email"]["status"] != "skipped"
    assert await site.items(user) == []
    await page.get_by_role("button", name="Back to notifications").click()
    await expect(page.locator(BADGE)).to_be_hidden()
    assert page.errors == []  # type: ignore[attr-defined]
