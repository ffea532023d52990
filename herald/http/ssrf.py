"""HTTP requests to tenant-supplied URLs without server-side request forgery.

A URL is checked when it is registered and again at every delivery. The request then
connects to the very address that was checked, so a DNS answer that changes between
check and connect (rebinding) cannot send it elsewhere; it follows no redirect and has
a total time limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from herald.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

UNSAFE_URL = "unsafe_url"
DEFAULT_TIMEOUT_SECONDS = 15.0
RESOLVE_TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Hosts inet_aton may read as an IPv4 address; anything else goes to the resolver.
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+")


def _networks(*pairs: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(net), reason) for net, reason in pairs)


# Relaxed by allow_private (tests, development): a developer's own machine and network.
_PRIVATE = _networks(
    ("127.0.0.0/8", "loopback"),
    ("10.0.0.0/8", "private"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("100.64.0.0/10", "shared (CGNAT)"),
    ("::1/128", "loopback"),
    ("fc00::/7", "private"),
)
# Never reachable: cloud metadata (169.254.169.254), broadcast and multicast, and ranges
# no real receiver uses. Teredo hides its IPv4 address, so it cannot be judged by it.
_ALWAYS_REFUSED = _networks(
    ("0.0.0.0/8", "unspecified"),
    ("169.254.0.0/16", "link-local"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "reserved"),
    ("192.88.99.0/24", "reserved"),
    ("198.18.0.0/15", "reserved"),
    ("198.51.100.0/24", "reserved"),
    ("203.0.113.0/24", "reserved"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("100::/64", "reserved"),
    ("2001::/32", "mapped"),
    ("2001:db8::/32", "reserved"),
    ("64:ff9b:1::/48", "mapped"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "reserved"),
    ("ff00::/8", "multicast"),
)
# IPv6 ranges whose last 32 bits are an IPv4 address: compatible, translated, NAT64.
_EMBEDDING = tuple(
    ipaddress.IPv6Network(net) for net in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
_IPV6_OWN = frozenset({ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1")})


class UnsafeUrl(ValidationFailed):
    """A URL Herald refuses to call: not http(s), or its host resolves to an internal address."""

    code = UNSAFE_URL


class UnresolvableUrl(UnsafeUrl):
    """A URL whose host does not resolve now; at delivery time this may be temporary."""


@dataclass(frozen=True)
class ResolvedTarget:
    """A checked URL and the address a request to it must connect to."""

    url: httpx.URL
    host: str
    port: int
    address: IPAddress


@dataclass(frozen=True)
class PostResponse:
    """What a receiver answered; ``body`` holds at most ``MAX_RESPONSE_BYTES``."""

    status_code: int
    headers: httpx.Headers
    body: bytes

    @property
    def is_success(self) -> bool:
        """Only a 2xx is a delivery: a 3xx is a failure, its redirect never followed."""
        return 200 <= self.status_code < 300


async def check_url(
    url: str | httpx.URL, *, allow_private: bool, pointer: str = "/url"
) -> ResolvedTarget:
    """Resolve ``url``; raise ``UnsafeUrl`` (422 at ``pointer``) unless every address is safe.

    Loopback, private and CGNAT addresses (and IPv4 addresses embedded in IPv6) pass only
    with ``allow_private``; link-local, multicast, unspecified and reserved ones never do.
    """
    parsed = _parse(url, pointer)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    addresses = await _resolve(host, port, pointer)
    # Every answer is judged, not just the one used: a mixed answer is an attack, not a mistake.
    for address in addresses:
        if reason := _refusal(address, allow_private=allow_private):
            raise UnsafeUrl.at(pointer, f"the URL's host is or resolves to a {reason} address")
    return ResolvedTarget(url=parsed, host=host, port=port, address=addresses[0])


def safe_client(
    *,
    allow_private: bool,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An httpx client that checks each request, pins it to the checked address, never redirects.

    ``ssl_context`` replaces the system trust store (a private CA, or tests).
    """
    return httpx.AsyncClient(
        transport=PinnedTransport(allow_private=allow_private, ssl_context=ssl_context),
        follow_redirects=False,
        # The environment's proxies and .netrc would route or authenticate around the check.
        trust_env=False,
        timeout=httpx.Timeout(timeout),
    )


async def post(
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    allow_private: bool,
    time_limit: float = DEFAULT_TIMEOUT_SECONDS,
) -> PostResponse:
    """POST ``content`` to ``url`` after checking it again, within ``time_limit`` seconds in all.

    Raises ``UnsafeUrl`` (``UnresolvableUrl`` when DNS fails), ``TimeoutError``, or
    ``httpx.TransportError`` when the connection fails; a 3xx comes back as a response.
    """
    # Compression is refused so that a small answer cannot inflate past the read limit.
    request_headers = {**headers, "accept-encoding": "identity"}
    async with (
        asyncio.timeout(time_limit),
        safe_client(allow_private=allow_private, timeout=time_limit) as client,
        client.stream("POST", url, content=content, headers=request_headers) as response,
    ):
        body = await _read_at_most(response, MAX_RESPONSE_BYTES)
    return PostResponse(status_code=response.status_code, headers=response.headers, body=body)


class PinnedTransport(httpx.AsyncBaseTransport):
    """Checks each request's URL, then connects to the checked address under the original host."""

    def __init__(self, *, allow_private: bool, ssl_context: ssl.SSLContext | None = None) -> None:
        self._allow_private = allow_private
        self._inner = httpx.AsyncHTTPTransport(verify=ssl_context or True, trust_env=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the address its URL was checked to resolve to."""
        target = await check_url(request.url, allow_private=self._allow_private)
        return await self._inner.handle_async_request(_pinned(request, target))

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._inner.aclose()


def _pinned(request: httpx.Request, target: ResolvedTarget) -> httpx.Request:
    # The URL names the address so httpcore does no lookup of its own; the Host header
    # (set from the original URL) and the TLS server name keep naming the host, so virtual
    # hosting and certificate verification work as if the host had been dialled.
    return httpx.Request(
        request.method,
        request.url.copy_with(host=str(target.address)),
        headers=request.headers,
        stream=request.stream,
        extensions={**request.extensions, "sni_hostname": target.host},
    )


def _parse(url: str | httpx.URL, pointer: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise UnsafeUrl.at(pointer, "not a valid URL") from None
    if parsed.scheme not in _DEFAULT_PORTS:
        raise UnsafeUrl.at(pointer, "only http and https URLs are allowed")
    if not parsed.raw_host:
        raise UnsafeUrl.at(pointer, "the URL has no host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UnsafeUrl.at(pointer, "the URL's port is out of range")
    return parsed


async def _resolve(host: str, port: int, pointer: str) -> list[IPAddress]:
    if (literal := _literal_address(host)) is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        raise UnresolvableUrl.at(pointer, "the URL's host does not resolve") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise UnresolvableUrl.at(pointer, "the URL's host does not resolve")
    return list(dict.fromkeys(addresses))


def _literal_address(host: str) -> IPAddress | None:
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host)
    if _NUMERIC_HOST.fullmatch(host):
        # The legacy forms resolvers and browsers accept (127.1, 2130706433, 0x7f000001,
        # 0177.0.0.1) are judged as the address they stand for, whatever the resolver does.
        with contextlib.suppress(OSError):
            return ipaddress.IPv4Address(socket.inet_aton(host))
    return None


def _refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why Herald must not connect to ``address``, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(address)):
        return _refusal(embedded, allow_private=True) if allow_private else "mapped"
    for network, reason in _ALWAYS_REFUSED:
        if address in network:
            return reason
    for network, reason in _PRIVATE:
        if address in network:
            return None if allow_private else reason
    # Whatever else Python's registry copy knows is not globally routable.
    return None if address.is_global else "reserved"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if embedded := address.ipv4_mapped or address.sixtofour:
        return embedded
    # :: and ::1 lie inside ::/96 but are IPv6's own unspecified and loopback addresses.
    if address not in _IPV6_OWN and any(address in network for network in _EMBEDDING):
        return ipaddress.IPv4Address(address.packed[-4:])
    return None


async def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) >= limit:
            break
    return bytes(body[:limit])
