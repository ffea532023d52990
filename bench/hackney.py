"""What seed 003's translation costs: ``/hackney`` against the same work through ``/v1``.

One ``herald api`` (SQLite unless ``--backend``), one client sending one request at a time,
alternating the two routes of a pair so that both see the same database and caches:

- create: ``POST /hackney/notifications`` (Screen + Email, a Herald template) against
  ``POST /v1/notifications`` with the envelope the dialect makes of it;
- list: ``GET /hackney/notifications?limit=100`` (records with their deliveries and actions)
  against ``GET /v1/notifications?per_page=100``.

The table quotes medians of the latencies and their ratio (``/hackney`` / ``/v1``).

    python -m bench.hackney [--requests 300] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import httpx

from bench import backends
from bench.backends import HERALD, Backend
from bench.common import Report, free_port, median, percentile, running, server_cores

TEMPLATE = {"id": "payments", "channels": {"email": {"subject": "Payments",
            "text": "Dear {{ firstName }}, 3 payments are missed."}}}  # fmt: skip
SEED = {
    "targetId": "7e6041e2-01b6-4c41-9ccd-5b0932616b50",
    "targetType": "MissedServiceChargePayments",
    "notificationType": "Screen,Email",
    "user": "test.user@hackney.gov.uk",
    "message": "3 missed service charge payments have exceeded the tolerance period",
    "templateId": "payments",
    "email": "test@example.com",
    "personalisationParams": {"firstName": "Joe"},
    "requireAction": "true",
}
ENVELOPE = {
    "type": "custom", "subType": "message", "channels": ["in_app", "email"],
    "userChannels": ["in_app"], "targets": {"all": True, "emails": ["test@example.com"]},
    "template": "payments", "personalisation": {"firstName": "Joe"}, "message": SEED["message"],
    "requireAction": True, "about": {"id": SEED["targetId"], "type": SEED["targetType"]},
    "sentBy": SEED["user"],
}  # fmt: skip
COLUMNS = ["backend", "operation", "/hackney p50 ms", "/v1 p50 ms", "ratio",
           "/hackney p99 ms", "/v1 p99 ms", "requests each"]  # fmt: skip
Call = Callable[[httpx.Client], httpx.Response]


def _timed(http: httpx.Client, call: Call) -> float:
    start = time.perf_counter()
    answer = call(http)
    elapsed = (time.perf_counter() - start) * 1000
    if answer.status_code >= 300:
        raise RuntimeError(f"{answer.status_code}: {answer.text[:300]}")
    return elapsed


def _pair(http: httpx.Client, ours: Call, theirs: Call, n: int) -> tuple[list[float], list[float]]:
    for _ in range(10):  # warm both up
        _timed(http, ours), _timed(http, theirs)
    a: list[float] = []
    b: list[float] = []
    for _ in range(n):
        a.append(_timed(http, ours))
        b.append(_timed(http, theirs))
    return a, b


def _row(backend: str, operation: str, a: list[float], b: list[float]) -> dict[str, object]:
    return {
        "backend": backend, "operation": operation,
        "/hackney p50 ms": median(a), "/v1 p50 ms": median(b),
        "ratio": median(a) / median(b) if median(b) else 0.0,
        "/hackney p99 ms": percentile(a, 99), "/v1 p99 ms": percentile(b, 99),
        "requests each": len(a),
    }  # fmt: skip


def measure(backend: Backend, *, requests: int) -> list[dict[str, object]]:
    """The two pairs on one backend."""
    server, _load = server_cores()
    port = free_port()
    headers = {"Authorization": f"Bearer {backend.api_key}"}
    with (
        running([HERALD, "api", "--port", str(port)], port=port, env=backend.env(), cores=server),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as http,
    ):
        http.post("/v1/templates", json=TEMPLATE).raise_for_status()
        created = _pair(
            http,
            lambda c: c.post("/hackney/notifications", json=SEED),
            lambda c: c.post("/v1/notifications", json=ENVELOPE),
            requests,
        )
        listed = _pair(
            http,
            lambda c: c.get("/hackney/notifications", params={"limit": 100}),
            lambda c: c.get("/v1/notifications", params={"per_page": 100}),
            max(requests // 3, 10),
        )
    return [_row(backend.name, "create", *created), _row(backend.name, "list 100", *listed)]


def main() -> None:
    """Run the pairs on each backend and write bench/results/hackney.{json,md}."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], action="append")
    args = parser.parse_args()
    report = Report("hackney", "Seed 003 at /hackney against the same work through /v1", COLUMNS)
    for name in args.backend or ["sqlite"]:
        with backends.backend(name) as backend:
            report.rows += measure(backend, requests=args.requests)
    for row in report.rows:
        ratio = float(str(row["ratio"]))
        report.target(f"{row['backend']} {row['operation']}: /hackney p50 within 1.5x of /v1",
                      round(ratio, 2), "≤ 1.5", ratio <= 1.5)  # fmt: skip
    report.notes += [
        "One client, one request at a time, the two routes alternating; `herald api` pinned to "
        "core 0. Create commits the notification, no inbox item (the account has no users) and "
        "one pending email (no worker runs); /hackney also answers the record it made.",
        "List: /hackney reads each record's deliveries, actions and inbox reads (three "
        "statements for the page); /v1 reads the notifications alone.",
    ]
    print(report.write())


if __name__ == "__main__":
    main()
