"""An HTTP/2 server over TLS (ALPN h2) on 127.0.0.1, built on the h2 state machine.

Each request is handed to a script (the same ``Request``/``Reply`` as the HTTP/1.1
server) once its stream ends; ``http_versions`` records what each connection spoke.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events

from tests.channels.servers.http import Handler, Reply, Request
from tests.channels.servers.tls import Tls


@dataclass
class H2Server:
    handler: Handler
    tls: Tls
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    alpn: list[str | None] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.alpn.append(writer.get_extra_info("ssl_object").selected_alpn_protocol())
        connection = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        connection.initiate_connection()
        writer.write(connection.data_to_send())
        streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                for event in connection.receive_data(data):
                    self._on_event(connection, event, streams)
                writer.write(connection.data_to_send())
                await writer.drain()
        writer.close()

    def _on_event(
        self,
        connection: h2.connection.H2Connection,
        event: h2.events.Event,
        streams: dict[int, tuple[dict[str, str], bytearray]],
    ) -> None:
        if isinstance(event, h2.events.RequestReceived):
            headers = {str(name): str(value) for name, value in event.headers or []}
            streams[event.stream_id or 0] = (headers, bytearray())
        elif isinstance(event, h2.events.DataReceived):
            streams[event.stream_id or 0][1].extend(event.data or b"")
            connection.acknowledge_received_data(
                event.flow_controlled_length or 0, event.stream_id or 0
            )
        elif isinstance(event, h2.events.StreamEnded):
            headers, body = streams.pop(event.stream_id or 0)
            request = Request(headers[":method"], headers[":path"], headers, bytes(body))
            self.requests.append(request)
            self._reply(connection, event.stream_id or 0, self.handler(request))

    def _reply(self, connection: h2.connection.H2Connection, stream_id: int, reply: Reply) -> None:
        headers = [(":status", str(reply.status)), ("content-length", str(len(reply.body)))]
        headers += [(name.lower(), value) for name, value in reply.headers.items()]
        connection.send_headers(stream_id, headers, end_stream=not reply.body)
        if reply.body:
            connection.send_data(stream_id, reply.body, end_stream=True)


@contextlib.asynccontextmanager
async def serve_h2(handler: Handler, tls: Tls) -> AsyncIterator[H2Server]:
    """Serve HTTP/2 over TLS on a free port of 127.0.0.1 until the block ends."""
    h2_server = H2Server(handler, tls)
    server = await asyncio.start_server(h2_server.serve, "127.0.0.1", 0, ssl=tls.server)
    h2_server.url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield h2_server
    finally:
        server.close()
        await server.wait_closed()
