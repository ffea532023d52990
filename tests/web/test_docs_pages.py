"""``/docs`` and ``/redoc`` render every operation with the network to anything but Herald cut."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, Route, expect

from tests.web.conftest import Site

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


@pytest.mark.xfail(
    strict=True,
    reason="Known regression (2026-12-03, open in issue 15): with the merged spec of 133 "
    "operations the vendored Swagger UI 5.35.0 lists only the first 8 operations, with no "
    "error in the page or in ui.errSelectors; each branch's spec alone renders all. "
    "strict: this test fails again once Swagger renders them, so the mark is removed then.",
)
async def test_swagger_ui_renders_the_operations_offline(site: Site, page: Page) -> None:
    tried = await offline_but_herald(page, site)

    await page.goto(f"{site.url}/docs")

    operations = page.locator(".opblock-summary-path")
    await expect(operations.filter(has_text="/v1/notifications").first).to_be_visible()
    assert await operations.count() > 50
    await expect(page.locator(".info .title")).to_contain_text("Herald")
    assert tried == []
    assert page.errors == []  # type: ignore[attr-defined]


async def test_redoc_renders_the_operations_offline(site: Site, page: Page) -> None:
    tried = await offline_but_herald(page, site)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else 0)

    await page.goto(f"{site.url}/redoc")

    await expect(page.get_by_role("heading", name="Herald (0.1.0)")).to_be_visible()
    await expect(page.locator("[data-section-id^='operation/']").first).to_be_attached()
    assert await page.locator("[data-section-id^='operation/']").count() > 50
    assert tried == []
    # Redoc's footer links its logo from cdn.redoc.ly; the page's policy keeps it from loading.
    assert all("cdn.redoc.ly" in message for message in blocked)
