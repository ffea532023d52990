"""The WebSocket ``/v1/realtime`` against a real server: pushes, hunt groups, ops, resume."""

from __future__ import annotations

import uuid
from collections import Counter

import httpx
import jwt

from tests.bus.conftest import eventually
from tests.realtime.conftest import Api, Server, call, events_of, seqs, unique, websocket

CREATED, UPDATED, WITHDRAWN, COUNT = (
    "notification.created",
    "notification.updated",
    "notification.withdrawn",
    "count",
)


async def _live(server: Server, *tokens: str) -> None:
    """Wait for the grace for a first ``resume`` to run out on a connection per token (a token
    twice: two connections): the hub has then placed each at the head, where live events reach
    it."""
    users = Counter(
        uuid.UUID(jwt.decode(t, options={"verify_signature": False})["sub"]) for t in tokens
    )

    def placed() -> bool:
        held = {user: server.hub._users.get(user, set()) for user in users}
        return all(
            len(held[user]) >= n and all(c.position is not None for c in held[user])
            for user, n in users.items()
        )

    await eventually(placed)


async def test_incoming_call_arrives_in_real_time(api: Api, server: Server) -> None:
    alice, token = await api.user()
    async with websocket(server.ws_url(token)) as client:
        await _live(server, token)
        sent = await api.send("incomingCall", [alice], payload=call(unique("c")))
        created, count = await events_of(client, 2)
    assert created["event"] == CREATED
    assert created["data"]["notification_id"] == sent["id"]
    assert created["data"]["subType"] == "incomingCall"
    assert count == {"event": COUNT, "data": count["data"], "seq": created["seq"] + 1}
    assert count["data"]["unread"] == 1


async def test_answered_call_withdraws_it_for_the_rest_of_the_hunt_group(
    api: Api, server: Server
) -> None:
    members = [await api.user() for _ in range(3)]
    call_id = unique("c")
    async with (
        websocket(server.ws_url(members[0][1])) as first,
        websocket(server.ws_url(members[1][1])) as answerer,
        websocket(server.ws_url(members[2][1])) as third,
    ):
        await _live(server, *(token for _, token in members))
        await api.send("incomingCall", [m[0] for m in members], payload=call(call_id))
        rung = {c: (await events_of(c, 2))[0] for c in (first, answerer, third)}
        answered = call(call_id, answeredById=members[1][0])
        await api.send("answeredCall", [members[1][0]], payload=answered)
        for other in (first, third):
            gone, count = await events_of(other, 2)
            assert gone == {
                "event": WITHDRAWN,
                "data": {"id": rung[other]["data"]["id"]},
                "seq": rung[other]["seq"] + 2,
            }
            assert count["event"] == COUNT and count["data"]["unread"] == 0
        kept, count = await events_of(answerer, 2)
    assert kept["event"] == UPDATED
    assert kept["data"]["id"] == rung[answerer]["data"]["id"]
    assert kept["data"]["subType"] == "answeredCall"
    assert count["data"]["unread"] == 1


async def test_missed_call_is_not_pushed_but_counted_and_listed(api: Api, server: Server) -> None:
    alice, token = await api.user()
    async with websocket(server.ws_url(token)) as client:
        await _live(server, token)
        await api.send("missedCall", [alice], payload=call(unique("c")))
        count = await client.next()
        await client.op(op="ping")
        pong = await client.next()
    assert count["event"] == COUNT and count["data"]["unread"] == 1
    assert pong == {"event": "pong"}
    async with httpx.AsyncClient(base_url=server.http) as http:
        listed = await http.get(
            "/v1/me/notifications", headers={"Authorization": f"Bearer {token}"}
        )
    assert [i["subType"] for i in listed.json()["data"]] == ["missedCall"]


async def test_resume_after_a_disconnect_misses_nothing_and_repeats_nothing(
    api: Api, server: Server
) -> None:
    alice, token = await api.user()
    async with websocket(server.ws_url(token)) as client:
        await _live(server, token)
        await api.send("incomingCall", [alice], payload=call(unique("c")))
        before = await events_of(client, 2)
    for _ in range(3):  # while away: three calls, six events
        await api.send("incomingCall", [alice], payload=call(unique("c")))
    async with websocket(server.ws_url(token)) as client:
        await client.op(op="resume", after=before[-1]["seq"])
        missed = await events_of(client, 6)
        await api.send("incomingCall", [alice], payload=call(unique("c")))
        live = await events_of(client, 2)
        await client.op(op="ping")
        assert await client.next() == {"event": "pong"}  # nothing else was queued before it
    assert seqs(before + missed + live) == list(range(1, 11))
    assert [f["event"] for f in missed] == [CREATED, COUNT] * 3


async def test_read_and_read_all_over_the_socket_act_like_rest(api: Api, server: Server) -> None:
    alice, token = await api.user()
    async with websocket(server.ws_url(token)) as client:
        await _live(server, token)
        for _ in range(2):
            await api.send("incomingCall", [alice], payload=call(unique("c")))
        first, _, _, _ = await events_of(client, 4)
        await client.op(op="read", id=first["data"]["id"])
        updated, count = await events_of(client, 2)
        assert updated["event"] == UPDATED and updated["data"]["read"] is True
        assert count["data"]["unread"] == 1
        await client.op(op="read_all")
        cleared = (await client.next())["data"]
        assert (cleared["unread"], cleared["unseen"]) == (0, 0)  # pushed, never listed
        await client.op(op="read", id="00000000-0000-0000-0000-000000000000")
        error = await client.next()
    assert error["event"] == "error" and error["data"]["error"]["code"] == "not_found"
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.http, headers=headers) as http:
        assert (await http.get("/v1/me/notifications/count")).json() == {"unread": 0, "unseen": 0}


async def test_a_connection_naming_a_product_gets_that_products_events(
    api: Api, server: Server
) -> None:
    alice, token = await api.user()
    async with (
        websocket(server.ws_url(token, product="AgencyCloud")) as agency,
        websocket(server.ws_url(token, product="Console")) as console,
    ):
        await _live(server, token, token)
        await api.send("incomingCall", [alice], payload=call(unique("c")), products=["Console"])
        await api.send("incomingCall", [alice], payload=call(unique("c")), products=[])
        got = await events_of(agency, 3)
        seen = await events_of(console, 4)
    assert [(f["event"], f["seq"]) for f in got] == [(COUNT, 2), (CREATED, 3), (COUNT, 4)]
    assert seqs(seen) == [1, 2, 3, 4]
