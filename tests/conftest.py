"""Shared fixtures: a real database per backend (SQLite file, PostgreSQL), migrated once.

Every storage test runs on both backends (the ``backend`` fixture is parametrised). Tests are
isolated by tenant: each test makes its own accounts, which is also what Herald promises.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from herald.accounts import service as accounts
from herald.app import create_app
from herald.config import Settings
from herald.db import Database
from herald.migrate import upgrade
from tests.parking import park_unfinished
from tests.support.postgres import throwaway_database


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A freshly migrated database: a SQLite file, or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "herald.db"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade(settings_for(url))
        yield url
        return
    async with throwaway_database() as url:
        yield url


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """Settings for a test process: no environment, quiet logs, loopback URLs allowed."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "log_json": False,
        "log_level": "INFO",
        "allow_private_urls": True,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    """The settings of the shared test application."""
    return settings_for(database_url)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The application with its lifespan running."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the application in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
        yield http


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    """Direct database access for setting up and checking state."""
    database = Database(settings)
    yield database
    await database.dispose()


@dataclass
class Tenant:
    """An account with a key holding every scope, as ``herald accounts create`` makes it."""

    account_id: uuid.UUID
    key_id: uuid.UUID
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        """Authorization headers for this tenant's key."""
        return {"Authorization": f"Bearer {self.api_key}"}


MakeTenant = Callable[..., Awaitable[Tenant]]


@pytest.fixture
def make_tenant(db: Database) -> MakeTenant:
    """Make a fresh tenant (optionally a child of another)."""

    async def make(name: str = "tenant", parent: Tenant | None = None) -> Tenant:
        async with db.sessions() as session, session.begin():
            account = await accounts.create_account(
                session, name=name, parent_id=parent.account_id if parent else None
            )
            issued = await accounts.create_key(session, account_id=account.id)
        return Tenant(account.id, issued.key.id, issued.plain)

    return make


@pytest.fixture
async def tenant(make_tenant: MakeTenant) -> Tenant:
    """A fresh tenant for this test."""
    return await make_tenant("acme")


async def make_key(db: Database, tenant: Tenant, *scopes: str, test: bool = False) -> str:
    """A key of the tenant's account with only these scopes."""
    async with db.sessions() as session, session.begin():
        issued = await accounts.create_key(
            session, account_id=tenant.account_id, scopes=list(scopes), test=test
        )
    return issued.plain


def bearer(token: str) -> dict[str, str]:
    """Authorization headers for a token or key."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def parked(db: Database) -> None:
    """This test's worker sends only this test's jobs (``tests.parking``): modules that run
    a worker use it with ``pytestmark = pytest.mark.usefixtures("parked")``."""
    await park_unfinished(db)
