"""Console fixtures: a browser-less client of the in-process app with its own cookie jar,
signed in with a key, and the CSRF token its pages carry."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


@dataclass
class Console:
    """A signed-in console visitor: its HTTP client (cookies kept) and CSRF token."""

    http: httpx.AsyncClient
    csrf: str

    async def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        """Post a form with this session's CSRF token."""
        return await self.http.post(path, data={"csrf": self.csrf, **(data or {})})


def csrf_of(page: str) -> str:
    """The CSRF token a page's forms carry."""
    found = CSRF.search(page)
    assert found, page[:2000]
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, api_key: str) -> httpx.Response:
    """Sign in through the form, as a browser does."""
    form = await http.get("/console/sign-in")
    return await http.post(
        "/console/sign-in",
        data={"csrf": csrf_of(form.text), "api_key": api_key, "next": "/console"},
    )


OpenConsole = Callable[[str], Awaitable[Console]]


@pytest.fixture
async def open_console(app: FastAPI) -> AsyncIterator[OpenConsole]:
    """Open signed-in consoles (each its own browser, as it were), closed after the test."""
    clients: list[httpx.AsyncClient] = []

    async def open_one(api_key: str) -> Console:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://herald.test"
        )
        clients.append(http)
        signed = await sign_in(http, api_key)
        assert signed.status_code == 303, signed.text
        home = await http.get("/console")
        assert home.status_code == 200, home.text
        return Console(http, csrf_of(home.text))

    yield open_one
    for http in clients:
        await http.aclose()
