"""``/docs`` and ``/redoc`` render every operation with the network to anything but Herald cut."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, Route, expect

from tests.web.conftest import Site, screenshot

pytestmark = pytest.mark.e2e


async def offline_but_herald(page: Page, site: Site) -> list[str]:
    """Abort every request that is not for Herald; the list of those that were tried."""
    tried: list[str] = []

    async def only_herald(route: Route) -> None:
        if route.request.url.startswith(site.url + "/"):
            await route.continue_()
        else:
            tried.append(route.request.url)
            await route.abort("internetdisconnected")

    await page.route("**/*", only_herald)
    return tried


async def rendered_operations(page: Page) -> set[tuple[str, str]]:
    """Every (method, path) Swagger UI lists, scrolling the page to the end.

    Swagger UI 5.33+ renders a long list (150 tags + operations or more) only as it scrolls
    into view, so the operations are collected a screen at a time.
    """
    seen: set[tuple[str, str]] = set()
    last_y = -1
    while True:
        for method, path in await page.locator(".opblock-summary").evaluate_all(
            """blocks => blocks.map(b => [
                 b.querySelector('.opblock-summary-method').textContent.toLowerCase(),
                 b.querySelector('.opblock-summary-path').dataset.path])"""
        ):
            seen.add((method, path))
        y = await page.evaluate("window.scrollBy(0, window.innerHeight / 2); window.scrollY")
        if y == last_y:
            return seen
        last_y = y
        await page.wait_for_timeout(50)


async def test_swagger_ui_renders_every_operation_offline(site: Site, page: Page) -> None:
    tried = await offline_but_herald(page, site)
    document = (await site.http.get("/openapi.json")).json()
    documented = {
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "put", "post", "delete", "patch", "head", "options"}
    }

    await page.goto(f"{site.url}/docs")

    operations = page.locator(".opblock-summary-path")
    await expect(operations.first).to_be_visible(timeout=30_000)
    await expect(page.locator(".info .title")).to_contain_text("Herald")
    await screenshot(page, "docs-swagger")
    assert await rendered_operations(page) == documented
    assert tried == []
    assert page.errors == []  # type: ignore[attr-defined]


async def test_swagger_ui_deep_link_opens_the_operation(site: Site, page: Page) -> None:
    await offline_but_herald(page, site)

    await page.goto(f"{site.url}/docs#/notifications/send_v1_notifications_post")

    opened = page.locator(".opblock.is-open .opblock-summary-path")
    await expect(opened).to_have_attribute("data-path", "/v1/notifications", timeout=30_000)
    await expect(page.locator(".opblock.is-open .opblock-body")).to_be_visible()


async def test_swagger_ui_filters_by_tag(site: Site, page: Page) -> None:
    await offline_but_herald(page, site)

    await page.goto(f"{site.url}/docs")
    await page.locator(".operation-filter-input").fill("webhook endpoints")

    tags = page.locator(".opblock-tag-section h3")
    await expect(tags.first).to_contain_text("webhook endpoints", timeout=30_000)
    assert all("webhook endpoints" in t.lower() for t in await tags.all_inner_texts())


async def test_redoc_renders_the_operations_offline(site: Site, page: Page) -> None:
    tried = await offline_but_herald(page, site)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else 0)

    await page.goto(f"{site.url}/redoc")

    heading = page.get_by_role("heading", name="Herald (0.1.0)")
    await expect(heading).to_be_visible(timeout=30_000)
    await expect(page.locator("[data-section-id^='operation/']").first).to_be_attached()
    assert await page.locator("[data-section-id^='operation/']").count() > 50
    assert tried == []
    # Redoc's footer links its logo from cdn.redoc.ly; the page's policy keeps it from loading.
    assert all("cdn.redoc.ly" in message for message in blocked)
