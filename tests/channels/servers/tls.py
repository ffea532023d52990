"""TLS for the local HTTP/2 servers: a server context offering h2, a client trusting only it."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from tests.support.tls import self_signed as make_certificate


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext


def self_signed() -> Tls:
    """A fresh certificate for 127.0.0.1; the server offers HTTP/2 by ALPN."""
    certificate = make_certificate(common_name="herald test h2")
    return Tls(certificate.server_context(alpn=["h2"]), certificate.client_context())
