"""The pages in a real browser against a real ``herald serve``: one of each for the package.

Chromium is Debian's (``scripts/system-deps.sh dev`` installs it), driven by Playwright's Python
package; Playwright's own browser download is never used. ``HERALD_SCREENSHOTS=1`` makes the
tests write the pictures the README shows into ``docs/images/``.
"""

from __future__ import annotations

import itertools
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from herald.accounts import service as accounts
from herald.db import Database
from tests.conftest import settings_for
from tests.support.processes import Herald, start_herald

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
WAIT_MS = 10_000
_names = itertools.count()


def unique(prefix: str) -> str:
    """An external id no other test uses."""
    return f"{prefix}{next(_names)}-{uuid.uuid4().hex[:6]}"


async def screenshot(page: Page, name: str, **options: Any) -> None:
    """Write ``docs/images/<name>.png`` when ``HERALD_SCREENSHOTS`` is set (the README's)."""
    if os.environ.get("HERALD_SCREENSHOTS"):
        IMAGES.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=IMAGES / f"{name}.png", **options)


@dataclass
class Site:
    """The running Herald, a tenant's server key, and the calls a developer's server makes."""

    herald: Herald
    http: httpx.AsyncClient

    @property
    def url(self) -> str:
        """Herald's base URL."""
        return self.herald.url

    async def user(self, prefix: str = "user", **fields: Any) -> tuple[str, str]:
        """A new user and a user token for it (as the developer's server mints one)."""
        external_id = unique(prefix)
        body = {"name": "Ann Example", "email": f"{external_id}@example.com", **fields}
        (await self.http.put(f"/v1/users/{external_id}", json=body)).raise_for_status()
        answer = await self.http.post(f"/v1/users/{external_id}/tokens")
        answer.raise_for_status()
        return external_id, answer.json()["token"]

    async def send(self, user: str, message: str, **envelope: Any) -> str:
        """An in-app notification to one user; its id."""
        body = {
            "type": "custom",
            "subType": "message",
            "message": message,
            "targets": {"users": [user]},
            "channels": ["in_app"],
            **envelope,
        }
        answer = await self.http.post("/v1/notifications", json=body)
        assert answer.status_code == 202, answer.text
        notification_id: str = answer.json()["id"]
        return notification_id

    async def items(self, user: str) -> list[dict[str, Any]]:
        """The user's inbox as the server sees it, newest first."""
        answer = await self.http.get(f"/v1/users/{user}/notifications", params={"per_page": 100})
        answer.raise_for_status()
        data: list[dict[str, Any]] = answer.json()["data"]
        return data

    async def unread(self, user: str) -> int:
        """The user's unread count as the server sees it."""
        answer = await self.http.get(f"/v1/users/{user}/notifications/count")
        answer.raise_for_status()
        count: int = answer.json()["unread"]
        return count

    def demo(self, token: str, **query: str) -> str:
        """The demo page's URL for a token."""
        return str(httpx.URL(f"{self.url}/widget/demo", params={"token": token, **query}))


@pytest.fixture(scope="package")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    """``herald serve`` on a free port with SQLite, and a tenant with an all-scopes key."""
    folder = tmp_path_factory.mktemp("web")
    database_url = f"sqlite+aiosqlite:///{folder / 'herald.db'}"
    env = {
        "HERALD_DATABASE_URL": database_url,
        "HERALD_LOG_LEVEL": "WARNING",
    }
    herald = start_herald(["serve"], env, folder / "herald.log")
    try:
        await herald.up()
        database = Database(settings_for(database_url))
        async with database.sessions() as session, session.begin():
            account = await accounts.create_account(session, name="web")
            issued = await accounts.create_key(session, account_id=account.id)
        await database.dispose()
        headers = {"Authorization": f"Bearer {issued.plain}"}
        async with httpx.AsyncClient(base_url=herald.url, headers=headers, timeout=10) as http:
            yield Site(herald, http)
    finally:
        herald.stop()


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, shared by the package's tests."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile for one test (its own permissions, storage and routes)."""
    fresh = await browser.new_context(viewport={"width": 1100, "height": 720}, locale="en-GB")
    fresh.set_default_timeout(WAIT_MS)
    yield fresh
    await fresh.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    """A page whose script errors fail the test."""
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.errors = errors  # type: ignore[attr-defined]
    return opened


class QuietHandler(SimpleHTTPRequestHandler):
    """Static files without a log line per request."""

    def log_message(self, format: str, *args: Any) -> None:
        """Say nothing."""


@pytest.fixture(scope="package")
def other_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A second local web server (another origin: another port) and the folder it serves."""
    folder = tmp_path_factory.mktemp("app")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
