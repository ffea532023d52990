"""The queue's depth for ``/metrics``, and the ``/metrics`` that ``herald worker`` serves itself.

A worker running apart from the API (``herald worker``) counts its attempts, deliveries and
provider latency in its own process; with ``HERALD_WORKER_METRICS_PORT`` it serves them on
that port, behind ``HERALD_METRICS_TOKEN`` like the API's. The queue's depth is read from the
database at each scrape (one grouped count on the status index), by any process.
"""

from __future__ import annotations

import asyncio
import hmac

import h11
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from herald.delivery.models import Delivery
from herald.delivery.status import DeliveryStatus
from herald.logs import get_logger
from herald.metrics import DELIVERIES_WAITING
from herald.runtime import Runtime

_log = get_logger(__name__)
WAITING = (DeliveryStatus.CREATED.value, DeliveryStatus.SENDING.value)
MAX_REQUEST = 16 * 1024


async def refresh_queue_depth(runtime: Runtime) -> None:
    """Set ``herald_deliveries_waiting`` from the database: unfinished deliveries by status."""
    async with runtime.db.sessions() as session:
        rows = await session.execute(
            select(Delivery.channel, Delivery.status, func.count())
            .where(Delivery.status.in_(WAITING))
            .group_by(Delivery.channel, Delivery.status)
        )
    DELIVERIES_WAITING.clear()
    for channel, status, count in rows:
        DELIVERIES_WAITING.labels(channel, status).set(count)


def authorised(runtime: Runtime, authorization: str | None) -> bool:
    """Whether a scrape may read the metrics (always, unless ``HERALD_METRICS_TOKEN`` is set)."""
    expected = runtime.settings.metrics_token
    if expected is None:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), expected.get_secret_value().encode()
    )


async def _answer(runtime: Runtime, request: h11.Request) -> tuple[int, bytes]:
    authorization = dict(request.headers).get(b"authorization")
    if request.target.split(b"?", 1)[0] != b"/metrics":
        return 404, b""
    if not authorised(runtime, authorization.decode("latin-1") if authorization else None):
        return 401, b""
    await refresh_queue_depth(runtime)
    return 200, generate_latest()


async def _serve_one(
    runtime: Runtime, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    connection = h11.Connection(h11.SERVER)
    try:
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                data = await asyncio.wait_for(reader.read(MAX_REQUEST), timeout=10)
                connection.receive_data(data)
                if not data:
                    return
                continue
            if isinstance(event, h11.Request):
                break
            return
        status, body = await _answer(runtime, event)
        headers = [("content-type", CONTENT_TYPE_LATEST), ("content-length", str(len(body)))]
        head = h11.Response(status_code=status, headers=headers)
        writer.write(connection.send(head) or b"")
        writer.write(connection.send(h11.Data(data=body)) or b"")
        writer.write(connection.send(h11.EndOfMessage()) or b"")
        await writer.drain()
    except (h11.ProtocolError, TimeoutError, ConnectionError) as exc:
        _log.info("worker_metrics.bad_request", error=type(exc).__name__)
    finally:
        writer.close()


async def serve_metrics(
    runtime: Runtime,
    *,
    port: int,
    host: str = "0.0.0.0",  # noqa: S104 (Prometheus scrapes from another machine)
) -> asyncio.Server:
    """Serve ``GET /metrics`` on ``port`` (one request per connection) until closed."""
    server = await asyncio.start_server(
        lambda reader, writer: _serve_one(runtime, reader, writer), host=host, port=port
    )
    _log.info("worker_metrics.listening", port=port)
    return server
