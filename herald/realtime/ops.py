"""What a WebSocket client may ask: read one, read all, ping, resume.

``read`` and ``read_all`` call the inbox service the REST routes call, in a transaction of
their own, so they leave the same state, audit and events (which come back on the stream).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.auth import Principal
from herald.db import discard_after_commit, run_after_commit
from herald.errors import BadRequest, HeraldError, ValidationFailed
from herald.inbox import service as inbox
from herald.inbox.service import Owner
from herald.logs import get_logger
from herald.realtime.connection import Connection
from herald.realtime.frames import PONG
from herald.realtime.hub import Hub
from herald.runtime import Runtime

log = get_logger(__name__)
Work = Callable[[AsyncSession], Awaitable[None]]


def error_frame(error: HeraldError, op: Any = None) -> bytes:
    """An ``{"event": "error"}`` frame carrying API.md's error body and the op it answers."""
    return orjson.dumps({"event": "error", "data": {**error.body(), "op": op}})


def parse(text: str | bytes) -> dict[str, Any]:
    """A client frame as an object with an ``op``, or a 400."""
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadRequest("A client frame is a JSON object", code="invalid_json") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("op"), str):
        raise BadRequest('A client frame is {"op": "read"|"read_all"|"ping"|"resume", ...}')
    return frame


def _integer(frame: dict[str, Any], name: str) -> int:
    value = frame.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationFailed(f"{name} must be a sequence number (an integer from 0)")
    return value


def _item_id(frame: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(frame.get("id")))
    except ValueError:
        raise ValidationFailed("id must be the id of an inbox item") from None


async def _in_transaction(runtime: Runtime, work: Work) -> None:
    # As the REST routes do: commit, then publish what the change appended (after commit only).
    async with runtime.db.sessions() as session:
        try:
            async with session.begin():
                await work(session)
        except BaseException:
            discard_after_commit(session)
            raise
        await run_after_commit(session)


async def _mark(runtime: Runtime, owner: Owner, item_id: uuid.UUID | None) -> None:
    async def work(session: AsyncSession) -> None:
        if item_id is None:
            await inbox.mark_all_read(session, owner=owner, bus=runtime.bus)
        else:
            await inbox.mark_read(session, owner=owner, item_id=item_id, bus=runtime.bus)

    await _in_transaction(runtime, work)


async def handle(
    frame: dict[str, Any],
    *,
    connection: Connection,
    principal: Principal,
    hub: Hub,
    runtime: Runtime,
) -> None:
    """Carry out one client op; a refused op is answered with an error frame."""
    assert principal.user_id is not None
    owner = Owner(principal.account_id, principal.user_id, principal.actor, by_user=True)
    op = frame["op"]
    try:
        if op == "ping":
            connection.reply(PONG)
        elif op == "resume":
            hub.start_at(connection, _integer(frame, "after"))
        elif op == "read":
            await _mark(runtime, owner, _item_id(frame))
        elif op == "read_all":
            await _mark(runtime, owner, None)
        else:
            raise BadRequest(f"Unknown op {op!r}")
    except HeraldError as error:
        connection.reply(error_frame(error, op))
