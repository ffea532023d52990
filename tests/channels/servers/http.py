"""A small HTTP/1.1 server on 127.0.0.1 that records requests and answers from a script."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Request:
    """One request as the server received it; header names are lowercase."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Reply]


@dataclass
class Server:
    """A running server: its base URL (no trailing slash) and what it has received."""

    url: str
    port: int
    requests: list[Request]


def _handler_class(handler: Handler, requests: list[Request]) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            request = Request(
                method=self.command,
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=self.rfile.read(length),
            )
            requests.append(request)
            reply = handler(request)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the tests assert on ``requests`` instead."""

    return _Handler


@contextmanager
def serve(handler: Handler | Reply | None = None) -> Iterator[Server]:
    """Serve on a free port of 127.0.0.1 until the block ends; answers 200 by default."""
    requests: list[Request] = []
    reply = handler if isinstance(handler, Reply) else Reply()
    script: Handler = handler if callable(handler) else (lambda _request: reply)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(script, requests))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    port = httpd.server_address[1]
    try:
        yield Server(f"http://127.0.0.1:{port}", port, requests)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
