"""Profile the accept path in process: ``bench.accept``'s body, N accepts C at a time through
the application (no uvicorn, no wrk), with the statements each accept sends and its CPU.

    python -m bench.accept_profile [--backend sqlite|postgresql] [--accepts 640]
        [--concurrency 64] [--no-batch] [--sql] [--profile out.txt [--show-all]]

Statements are counted with SQLAlchemy's ``before_cursor_execute`` (an ``executemany`` is
one); CPU is the process's user + system time over the measured accepts, per accept. After
the warm-up the process freezes its startup objects and sets the collector's thresholds as
``herald api`` does (``herald.cli.serve.freeze_startup_objects``). With
``--profile`` the measured accepts run under pyinstrument and its text report is written
(``pip install pyinstrument`` in the venv: a tool, not a dependency of Herald).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
from sqlalchemy import event

from bench import backends
from bench.accept import BODY
from herald.app import create_app
from herald.cli.serve import freeze_startup_objects
from herald.config import Settings


def _backend(name: str) -> contextlib.AbstractContextManager[backends.Backend]:
    if name == "sqlite":
        return backends.sqlite()
    dsn = os.environ.get(backends.BENCH_DSN_ENV)
    if not dsn:
        raise SystemExit(f"{backends.BENCH_DSN_ENV} is needed for PostgreSQL")
    return backends.postgresql(dsn)


@contextlib.contextmanager
def _statements(engine: Any, *, texts: bool) -> Iterator[list[str]]:
    """Each statement the engine sends: its verb, or its first 150 characters (``texts``)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement[:150] if texts else statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def _run(backend: backends.Backend, args: argparse.Namespace) -> str | None:
    """Measure; the profiler's report when asked for one."""
    os.environ.update(backend.env())
    settings = Settings(group_commit_batch=not args.no_batch)
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {backend.api_key}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            user = {"name": "User u1", "email": "u1@example.com"}
            (await http.put("/v1/users/u1", json=user, headers=headers)).raise_for_status()
            gate = asyncio.Semaphore(args.concurrency)

            async def one() -> int:
                async with gate:
                    answer = await http.post("/v1/notifications", json=BODY, headers=headers)
                    return answer.status_code

            await asyncio.gather(*(one() for _ in range(args.concurrency * 2)))  # warm up
            # As ``herald api`` does before it serves: otherwise the full collections walking
            # every startup object land on whatever allocation triggers them (once a namedtuple
            # in the rules' ``_sort``), a cost the served process does not pay.
            freeze_startup_objects()
            engine = app.state.runtime.db.engine.sync_engine
            profiler = None
            if args.profile:
                from pyinstrument import Profiler

                profiler = Profiler(async_mode="disabled")
                profiler.start()
            with _statements(engine, texts=args.sql) as seen:
                cpu, wall = time.process_time(), time.perf_counter()
                codes = await asyncio.gather(*(one() for _ in range(args.accepts)))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            report = None
            if profiler is not None:
                profiler.stop()
                report = profiler.output_text(unicode=True, show_all=args.show_all)
    kinds: dict[str, int] = {}
    for kind in seen:
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"{backend.name}: {args.accepts} accepts, {args.concurrency} at a time, "
          f"batch {'off' if args.no_batch else 'on'}; statuses {sorted(set(codes))}")  # fmt: skip
    print(f"  CPU {1000 * cpu / args.accepts:.2f} ms/accept, {args.accepts / wall:.0f} accepts/s")
    per = {k: round(v / args.accepts, 2) for k, v in sorted(kinds.items())}
    print(f"  statements per accept: {round(len(seen) / args.accepts, 2)} {per}")
    return report


def main() -> None:
    """Parse the arguments and profile on a fresh database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--accepts", type=int, default=640)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--no-batch", action="store_true")
    parser.add_argument("--profile", help="write pyinstrument's report of the accepts here")
    parser.add_argument("--show-all", action="store_true", help="every frame in the report")
    parser.add_argument("--sql", action="store_true", help="count statements by their text")
    args = parser.parse_args()
    with _backend(args.backend) as backend:
        report = asyncio.run(_run(backend, args))
    if report is not None:
        with open(args.profile, "w") as out:
            out.write(report)


if __name__ == "__main__":
    main()
