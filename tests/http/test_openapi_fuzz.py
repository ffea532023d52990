"""No 500 for any input: schemathesis over every operation of ``/openapi.json``.

A real ``herald api`` on each backend answers the same generated requests, valid and invalid,
for every operation (user routes with a user token, the rest with a server key), then
stateful runs that follow the links schemathesis infers between operations. Every answer
must be below 500, and every error in the contract's shape (RFC 6749's at
``/oauth/token``). Generation is derandomised, so a run is the same run every time.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import TestPhase
from schemathesis.generation.stateful.state_machine import APIStateMachine

from herald.accounts import service as accounts
from herald.accounts.secrets import load_signing_key
from herald.app import create_app
from herald.db import Database
from herald.migrate import upgrade
from tests.conftest import settings_for
from tests.support.herald_process import herald_processes
from tests.support.postgres import throwaway_database

# Bounded for the suite's time budget (a by-hand campaign runs thousands: docs/reliability.md).
EXAMPLES = 3
STATEFUL_STEPS = 6
STATEFUL_SCENARIOS = 6
USER_ROUTES = re.compile(r"^/v1/(me/|stream$)")
NOTIFY = "/v2/"
KAZOO = "/kazoo/v2/"
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def _document() -> dict[str, Any]:
    """The application's own OpenAPI document, as ``/openapi.json`` serves it."""
    document: dict[str, Any] = create_app(settings_for("sqlite+aiosqlite:///:memory:")).openapi()
    return document


SCHEMA = schemathesis.openapi.from_dict(_document())
# The coverage phase's valid boundary values (an empty or longest string, the largest integer,
# null where null is allowed) found every class of 500 so far; its invalid mutations (several
# hundred per operation, all answered by request validation) are left to the generated
# negative examples and to the campaigns by hand (docs/reliability.md), for the time budget.
SCHEMA.config.phases.coverage.generation.modes = [GenerationMode.POSITIVE]


def _oauth_error(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"error", "error_description"}
        and body["error"] in OAUTH_ERRORS
        and isinstance(body["error_description"], str)
    )


def _notify_error(body: Any, status: int) -> bool:
    # GOV.UK Notify's error body (docs/notify.md).
    return (
        isinstance(body, dict)
        and set(body) == {"status_code", "errors"}
        and body["status_code"] == status
        and bool(body["errors"])
        and all(set(e) == {"error", "message"} for e in body["errors"])
    )


def _kazoo_error(body: Any, status: int) -> bool:
    # Seed 002's error envelope (docs/compatibility.md).
    keys = {"auth_token", "data", "error", "message", "request_id", "status"}
    return (
        isinstance(body, dict)
        and set(body) == keys
        and body["status"] == "error"
        and body["error"] == str(status)
    )


def _error_of(body: Any, status: int, path: str) -> bool:
    if path == "/oauth/token" and status in (400, 401):
        return _oauth_error(body)
    if path.startswith(NOTIFY):
        return _notify_error(body, status)
    if path.startswith(KAZOO):
        return _kazoo_error(body, status)
    if not isinstance(body, dict) or set(body) != {"error"}:
        return False
    error = body["error"]
    return (
        isinstance(error, dict)
        and set(error) == {"code", "message", "details"}
        and isinstance(error["code"], str)
        and isinstance(error["message"], str)
        and isinstance(error["details"], list)
        and len(error["details"]) <= 100
    )


OAUTH_ERRORS = {"invalid_request", "invalid_client", "invalid_scope", "unsupported_grant_type"}


@schemathesis.check
def contract_error_shape(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A 4xx or 5xx answers the contract's error body; the token endpoint's 400 and 401 are
    RFC 6749's (its 405, 413, 415 come before any OAuth processing: the contract's)."""
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not _error_of(body, response.status_code, case.operation.path):
        raise AssertionError(f"{response.status_code} outside the error shape: {response.text}")
    return None


CHECKS = [not_a_server_error, contract_error_shape]


@dataclass
class Target:
    """A running Herald with a tenant's credentials."""

    url: str
    server_key: str
    notify_key: str
    user_token: str
    log: Path

    def headers_for(self, case: Case) -> dict[str, str]:
        """The user token on user routes, a Notify key's JWT on Notify's, seed 002's
        X-Auth-Token on its routes, the server key elsewhere."""
        path = case.operation.path
        if path.startswith(NOTIFY):
            key = self.notify_key
            claims = {"iss": key[-73:-37], "iat": int(time.time())}
            return {"Authorization": f"Bearer {jwt.encode(claims, key[-36:], algorithm='HS256')}"}
        if path.startswith(KAZOO):
            return {"X-Auth-Token": self.server_key}
        token = self.user_token if USER_ROUTES.match(path) else self.server_key
        return {"Authorization": f"Bearer {token}"}


async def _keys(database_url: str) -> tuple[str, str]:
    """A new account's all-scope key, and a live GOV.UK Notify-format key of it."""
    settings = settings_for(database_url)
    db = Database(settings)
    try:
        async with db.sessions() as session, session.begin():
            account = await accounts.create_account(session, name="fuzz")
            issued = await accounts.create_key(session, account_id=account.id)
            notify = await accounts.create_notify_key(
                session, account_id=account.id, key_type="live", name="fuzz",
                sealing_key=await load_signing_key(session, settings),
            )  # fmt: skip
    finally:
        await db.dispose()
    return issued.plain, notify.plain


def _populate(url: str, key: str) -> str:
    """A few objects for the generated requests to find, and a user token."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        http.put("/v1/users/0", json={"name": "Zero", "phone": "+447400123456"}).raise_for_status()
        http.put("/v1/teams/0", json={"members": ["0"]}).raise_for_status()
        template = {"id": "0", "channels": {"sms": {"body": "Hello {{ name }}"}}}
        http.post("/v1/templates", json=template).raise_for_status()
        message = {"message": "hello", "notify": {"users": ["0"]}}
        http.post("/notifications", json=message).raise_for_status()
        return str(http.post("/v1/users/0/tokens").json()["token"])


@pytest.fixture(scope="module")
async def targets(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[list[Target]]:
    """``herald api`` on SQLite and on PostgreSQL, each on a database of its own, with a
    tenant, a user and a user token. Each generated case goes to both: generating is what
    costs, and the classes of 500 differ by backend (SQLite ``OverflowError``, PostgreSQL
    ``DataError``)."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    sqlite_url = f"sqlite+aiosqlite:///{folder / 'herald.db'}"
    await upgrade(settings_for(sqlite_url))
    async with throwaway_database("herald_fuzz") as postgres_url:
        urls = [sqlite_url, postgres_url]
        keys = [await _keys(url) for url in urls]
        logs = [folder / f"herald-{uuid.uuid4().hex[:6]}.log" for _ in urls]
        with herald_processes(
            "api",
            list(zip(urls, logs, strict=True)),
            RATE_LIMIT="1000000/minute",
            DAILY_LIMIT="100000000",
            ALLOW_PRIVATE_URLS="true",
            DOCUMENTS_DIR=str(folder / "documents"),
            REALTIME_KEEPALIVE="0.2",
        ) as processes:
            yield [
                Target(p.url, key, notify_key, _populate(p.url, key), p.log)
                for p, (key, notify_key) in zip(processes, keys, strict=True)
            ]
    for log in logs:
        assert "unhandled_error" not in log.read_text(), "a request hit an unexpected exception"


@SCHEMA.parametrize()
@FUZZ_SETTINGS
def test_no_server_error_for_any_input(case: Case, targets: list[Target]) -> None:
    # The coverage phase's boundary and type mutations (hundreds per operation) go to
    # PostgreSQL, whose columns are the narrower; generated examples go to both backends.
    coverage = case.meta is not None and case.meta.phase.name == TestPhase.COVERAGE
    for target in targets[1:] if coverage else targets:
        response = case.call(base_url=target.url, headers=target.headers_for(case), timeout=30)
        case.validate_response(response, checks=CHECKS)


def test_stateful_sequences_get_no_server_error(targets: list[Target]) -> None:
    for target in targets:
        _run_stateful(target)


def _run_stateful(target: Target) -> None:
    machine: type[APIStateMachine] = SCHEMA.as_state_machine()

    class Workflow(machine):  # type: ignore[valid-type,misc]
        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"base_url": target.url, "headers": target.headers_for(case), "timeout": 30}

        def validate_response(self, response: Response, case: Case, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    # Generation only: which links a scenario can follow depends on what the server holds by
    # then, so replaying or shrinking a scenario would not draw the same steps again.
    Workflow.run(
        settings=settings(
            FUZZ_SETTINGS,
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            phases=[Phase.generate],
        )
    )
