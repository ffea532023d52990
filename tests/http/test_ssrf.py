"""SSRF protection: address checks, pinned connections, no redirects, time limits.

Every request goes to 127.0.0.1; other names are answered by the fake resolver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable

import httpx
import pytest

from herald.errors import ValidationFailed
from herald.http import ssrf
from herald.http.ssrf import UnresolvableUrl, UnsafeUrl, check_url, post, safe_client
from herald.webhooks.signing import generate_secret, sign, verify

from .conftest import Certificate, FakeAnswers, Receiver, StartReceiver

FakeDns = Callable[[FakeAnswers], list[str]]

LOOPBACK_AND_PRIVATE = [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://127.255.255.254:8080/x",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://[::ffff:0:127.0.0.1]/",
    "http://[64:ff9b::127.0.0.1]/",
    "http://[2002:7f00:1::]/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://[fd00::1]/",
    "http://localhost/",
    "https://LOCALHOST:8443/",
]
NEVER_ALLOWED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fe80::1]/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://[ff02::1]/",
    "http://192.0.2.1/",
    "http://240.0.0.1/",
    "http://[2001:db8::1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://[64:ff9b:1::a00:1]/",
]
NOT_HTTP = [
    "ftp://example.com/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "javascript:alert(1)",
    "http:///no-host",
    "not a url",
    "http://example.com:99999/",
]


@pytest.mark.parametrize("url", LOOPBACK_AND_PRIVATE + NEVER_ALLOWED)
async def test_internal_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl) as caught:
        await check_url(url, allow_private=False, pointer="/url")
    error = caught.value
    assert isinstance(error, ValidationFailed)
    assert (error.status_code, error.code) == (422, "unsafe_url")
    assert [d.path for d in error.details] == ["/url"]


@pytest.mark.parametrize("url", NEVER_ALLOWED)
async def test_link_local_multicast_and_reserved_stay_refused_with_allow_private(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        await check_url(url, allow_private=True)


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.1/", "127.0.0.1"),
        ("http://2130706433:8080/", "127.0.0.1"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
        ("http://[::1]/", "::1"),
        ("http://10.0.0.1/", "10.0.0.1"),
        ("http://localhost/", "127.0.0.1"),
    ],
)
async def test_allow_private_lets_loopback_and_private_through(url: str, address: str) -> None:
    target = await check_url(url, allow_private=True)
    assert target.address == ipaddress.ip_address(address)


@pytest.mark.parametrize("url", NOT_HTTP)
async def test_only_http_urls_with_a_host_are_accepted(url: str) -> None:
    with pytest.raises(UnsafeUrl) as caught:
        await check_url(url, allow_private=True, pointer="/endpoints/0/url")
    assert caught.value.details[0].path == "/endpoints/0/url"


@pytest.mark.parametrize(
    ("url", "host", "port", "address"),
    [
        ("https://93.184.215.14/hook", "93.184.215.14", 443, "93.184.215.14"),
        ("http://[2606:4700::1111]:8080/", "2606:4700::1111", 8080, "2606:4700::1111"),
        ("HTTPS://Hooks.Example.COM/x", "hooks.example.com", 443, "93.184.215.14"),
    ],
)
async def test_public_addresses_pass(
    fake_dns: FakeDns, url: str, host: str, port: int, address: str
) -> None:
    fake_dns({"hooks.example.com": ["93.184.215.14"]})
    target = await check_url(url, allow_private=False)
    assert (target.host, target.port, target.address) == (host, port, ipaddress.ip_address(address))


async def test_a_name_with_any_internal_answer_is_refused(fake_dns: FakeDns) -> None:
    fake_dns({"mixed.example.com": ["93.184.215.14", "10.1.2.3"]})
    with pytest.raises(UnsafeUrl, match="private"):
        await check_url("https://mixed.example.com/", allow_private=False)


async def test_an_unresolvable_name_is_refused_distinctly(fake_dns: FakeDns) -> None:
    fake_dns({"gone.example.com": socket.gaierror(socket.EAI_NONAME, "Name or service not known")})
    with pytest.raises(UnresolvableUrl) as caught:
        await check_url("https://gone.example.com/", allow_private=True)
    assert caught.value.code == "unsafe_url"


async def test_a_signed_post_reaches_a_local_receiver_that_verifies_it(
    start_receiver: StartReceiver,
) -> None:
    receiver = await start_receiver(Receiver(status=204, body=b""))
    secret, body = generate_secret(), b'{"type":"delivery.delivered"}'
    headers = sign(secret, "dlv_1", 1_700_000_000, body) | {"content-type": "application/json"}

    response = await post(receiver.url(), content=body, headers=headers, allow_private=True)

    assert response.status_code == 204
    assert response.is_success
    [received] = receiver.requests
    assert (received.method, received.target, received.body) == ("POST", "/hook", body)
    verify(secret, received.headers, received.body, now=1_700_000_000)


async def test_post_rechecks_the_url_and_refuses_loopback(start_receiver: StartReceiver) -> None:
    receiver = await start_receiver(Receiver())
    with pytest.raises(UnsafeUrl):
        await post(receiver.url(), content=b"{}", headers={}, allow_private=False)
    assert receiver.requests == []


async def test_a_redirect_to_loopback_is_not_followed(start_receiver: StartReceiver) -> None:
    target = await start_receiver(Receiver())
    redirect = await start_receiver(Receiver(status=302, headers={"location": target.url("/in")}))

    response = await post(redirect.url(), content=b"{}", headers={}, allow_private=True)

    assert response.status_code == 302
    assert not response.is_success
    assert len(redirect.requests) == 1
    assert target.requests == []


async def test_the_connection_goes_to_the_checked_address_under_the_original_host(
    start_receiver: StartReceiver, fake_dns: FakeDns
) -> None:
    receiver = await start_receiver(Receiver())
    lookups = fake_dns({"hooks.herald.test": ["127.0.0.1"]})

    await post(receiver.url(host="hooks.herald.test"), content=b"1", headers={}, allow_private=True)
    await post(receiver.url(host="hooks.herald.test"), content=b"2", headers={}, allow_private=True)

    # One lookup per delivery, ours: httpcore dialled the address, so nothing can rebind.
    assert lookups == ["hooks.herald.test", "hooks.herald.test"]
    host = f"hooks.herald.test:{receiver.port}"
    assert [r.headers["host"] for r in receiver.requests] == [host, host]


async def test_tls_is_verified_against_the_host_name_sent_as_sni(
    start_receiver: StartReceiver, fake_dns: FakeDns, certificate: Certificate
) -> None:
    receiver = await start_receiver(Receiver(), tls=certificate.server)
    fake_dns({"receiver.herald.test": ["127.0.0.1"], "other.herald.test": ["127.0.0.1"]})

    async with safe_client(allow_private=True, ssl_context=certificate.client) as client:
        response = await client.post(receiver.url(host="receiver.herald.test", scheme="https"))
        assert response.status_code == 200
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.post(receiver.url(host="other.herald.test", scheme="https"))

    assert receiver.server_names[0] == "receiver.herald.test"
    assert receiver.requests[0].headers["host"] == f"receiver.herald.test:{receiver.port}"


async def test_a_client_that_follows_redirects_still_checks_every_hop(
    start_receiver: StartReceiver,
) -> None:
    target = await start_receiver(Receiver())
    redirect = await start_receiver(
        Receiver(status=307, headers={"location": "http://169.254.169.254/latest/meta-data/"})
    )
    async with safe_client(allow_private=True) as client:
        with pytest.raises(UnsafeUrl, match="link-local"):
            await client.post(redirect.url(), follow_redirects=True)
    assert target.requests == []


async def test_a_receiver_that_never_answers_times_out(start_receiver: StartReceiver) -> None:
    receiver = await start_receiver(Receiver(hang=True))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises((TimeoutError, httpx.TimeoutException)):
        await post(receiver.url(), content=b"{}", headers={}, allow_private=True, time_limit=0.5)
    assert loop.time() - started < 3


async def test_a_large_answer_is_cut_at_the_limit(start_receiver: StartReceiver) -> None:
    receiver = await start_receiver(Receiver(status=500, body=b"x" * (ssrf.MAX_RESPONSE_BYTES * 4)))
    response = await post(receiver.url(), content=b"{}", headers={}, allow_private=True)
    assert response.status_code == 500
    assert response.body == b"x" * ssrf.MAX_RESPONSE_BYTES
    assert receiver.requests[0].headers["accept-encoding"] == "identity"
