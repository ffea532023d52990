"""Who may not listen: foreign origins, expired tokens, server keys, other users and accounts
(who also cannot act on another user's items over the socket, nor hear them over SSE)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import jwt
import orjson
import pytest
from websockets.exceptions import InvalidStatus

from herald.accounts.tokens import issue
from tests.realtime.conftest import ALLOWED_ORIGIN, Api, MakeApi, Server, call, unique, websocket
from tests.realtime.test_sse import stream


async def _refused(url: str, **options: str) -> tuple[int, str]:
    with pytest.raises(InvalidStatus) as refused:
        async with websocket(url, **options):
            pass
    response = refused.value.response
    return response.status_code, response.body.decode() if response.body else ""


async def test_a_foreign_origin_is_refused_before_the_handshake(api: Api, server: Server) -> None:
    _, token = await api.user()
    status, body = await _refused(server.ws_url(token), origin="https://evil.example")
    assert status == 403 and '"forbidden"' in body
    async with websocket(server.ws_url(token), origin=ALLOWED_ORIGIN) as client:
        await client.op(op="ping")
        assert await client.next() == {"event": "pong"}
    async with httpx.AsyncClient(base_url=server.http) as http:
        answer = await http.get(
            "/v1/stream", params={"token": token}, headers={"Origin": "https://evil.example"}
        )
    assert answer.status_code == 403


async def test_an_expired_token_and_a_server_key_are_refused(api: Api, server: Server) -> None:
    _, token = await api.user()
    claims = jwt.decode(token, options={"verify_signature": False})
    expired, _ = issue(
        secret=server.app.state.runtime.secret,
        kind="user",
        account_id=api.tenant.account_id,
        subject=claims["sub"],
        ttl=timedelta(seconds=-60),
    )
    assert (await _refused(server.ws_url(expired)))[0] == 401
    assert (await _refused(server.ws_url(api.tenant.api_key)))[0] == 403
    assert (await _refused(server.ws_url()))[0] == 401


async def test_nobody_hears_another_users_or_another_accounts_events(
    api: Api, server: Server, make_api: MakeApi
) -> None:
    alice, alice_token = await api.user()
    bob, _ = await api.user()
    other = await make_api()
    _, namesake_token = await other.user(alice)  # the same external id in another account
    async with (
        websocket(server.ws_url(alice_token)) as alice_ws,
        websocket(server.ws_url(namesake_token)) as namesake_ws,
    ):
        for client in (alice_ws, namesake_ws):
            await client.op(op="resume", after=0)
        await api.send("incomingCall", [bob], payload=call(unique("c")))
        to_alice = await api.send("incomingCall", [alice], payload=call(unique("c")))
        to_namesake = await other.send("incomingCall", [alice], payload=call(unique("c")))
        alice_first = await alice_ws.next()
        namesake_first = await namesake_ws.next()
    assert alice_first["data"]["notification_id"] == to_alice["id"]
    assert namesake_first["data"]["notification_id"] == to_namesake["id"]


async def test_foreign_ids_over_the_socket_change_nothing_and_sse_hears_only_its_user(
    api: Api, server: Server, make_api: MakeApi
) -> None:
    alice, alice_token = await api.user()
    _, colleague_token = await api.user()  # the same account, another user
    other = await make_api()
    _, stranger_token = await other.user()
    sent = await api.send("incomingCall", [alice], payload=call(unique("c")))
    items = (await api.http.get(f"/v1/users/{alice}/notifications")).json()["data"]
    item_id = items[0]["id"]
    for token in (colleague_token, stranger_token):
        async with websocket(server.ws_url(token)) as client:
            await client.op(op="read", id=item_id)
            refused = await client.until("error")
            # Everything this user missed, then the pong: nothing, since none of it was theirs.
            await client.op(op="resume", after=0)
            await client.op(op="ping")
            heard = await client.next()
        assert refused["data"]["error"]["code"] == "not_found"
        assert refused["data"]["op"] == "read"
        assert heard == {"event": "pong"}
        async with stream(server, token, **{"Last-Event-ID": "0"}) as events:
            await api.send("incomingCall", [alice], payload=call(unique("c")))
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(events.next(), timeout=0.5)
    item = (await api.http.get(f"/v1/users/{alice}/notifications/{item_id}")).json()
    assert item["read"] is False
    assert (await api.http.get(f"/v1/users/{alice}/notifications/count")).json()["unread"] == 3
    async with stream(server, alice_token, **{"Last-Event-ID": "0"}) as events:
        replayed = await events.take(2)
    first = next(e for e in replayed if e["event"] == "notification.created")
    assert orjson.loads(first["data"])["data"]["notification_id"] == sent["id"]
