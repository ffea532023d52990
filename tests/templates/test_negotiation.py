"""Accept negotiation of GET /v1/templates/{id}: JSON, HTML or text source, else 406."""

from __future__ import annotations

import httpx
import pytest

from herald.errors import NotAcceptable
from herald.templates.negotiation import HTML, JSON, TEXT, negotiate, parse_accept
from tests.conftest import Tenant


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        ("text/html", HTML),
        ("text/plain", TEXT),
        ("TEXT/PLAIN; charset=utf-8", TEXT),
        ("text/*", HTML),
        ("text/*;q=0.5, text/plain", TEXT),
        ("text/html;q=0.4, text/plain;q=0.8", TEXT),
        ("application/json;q=0.1, text/html", HTML),
        ("image/png, */*;q=0.1", JSON),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", HTML),
        ("text/*, text/html;q=0", TEXT),
    ],
)
def test_negotiate_picks_the_best_offered_type(accept: str | None, expected: str) -> None:
    assert negotiate(accept) == expected


@pytest.mark.parametrize(
    "accept", ["image/png", "application/xml", "text/csv", "*/*;q=0", "nonsense", "text/html;q=0"]
)
def test_negotiate_refuses_what_it_cannot_offer(accept: str) -> None:
    with pytest.raises(NotAcceptable):
        negotiate(accept)


def test_query_override_wins_and_must_be_offered() -> None:
    assert negotiate("application/json", "text/html") == HTML
    assert negotiate(None, "text/plain; charset=utf-8") == TEXT
    with pytest.raises(NotAcceptable):
        negotiate("text/html", "image/png")


def test_parse_accept_skips_malformed_entries_and_reads_weights() -> None:
    ranges = parse_accept("text/html;q=0.3, garbage, */*;q=bad, text/plain")
    assert [(r.type, r.subtype, r.q) for r in ranges] == [
        ("text", "html", 0.3),
        ("*", "*", 0.0),
        ("text", "plain", 1.0),
    ]


async def test_api_answers_json_html_and_plain(client: httpx.AsyncClient, tenant: Tenant) -> None:
    url = "/v1/templates/incoming-call"
    as_json = await client.get(url, headers={**tenant.headers, "Accept": "*/*"})
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json()["templates"]["text/html"]["length"] > 0
    html = await client.get(url, headers={**tenant.headers, "Accept": "text/html"})
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert len(html.text) == as_json.json()["templates"]["text/html"]["length"]
    assert "{{ payload.callerId }}" in html.text  # the source, not a rendering
    # Opened in a browser, a tenant's HTML must not run as a page of Herald's origin.
    assert html.headers["content-security-policy"].startswith("sandbox")
    assert html.headers["vary"] == "Accept"
    plain = await client.get(url + "?accept=text/plain", headers=tenant.headers)
    assert plain.text.startswith("Hello {{ user.first_name")


async def test_api_refuses_other_types_and_absent_bodies(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    url = "/v1/templates/incoming-call"
    for headers, query in (({"Accept": "application/pdf"}, ""), ({}, "?accept=image/png")):
        response = await client.get(url + query, headers={**tenant.headers, **headers})
        assert response.status_code == 406
        assert response.json()["error"]["code"] == "not_acceptable"
    # answered-call ships no plain-text email body: there is nothing to answer with.
    absent = await client.get(
        "/v1/templates/answered-call?accept=text/plain", headers=tenant.headers
    )
    assert absent.status_code == 406


async def test_api_body_follows_the_locale(client: httpx.AsyncClient, tenant: Tenant) -> None:
    url = "/v1/templates/missed-call?accept=text/plain"
    welsh = await client.get(url + "&locale=cy", headers=tenant.headers)
    assert welsh.text.startswith("Helo")
    english = await client.get(url + "&locale=fr", headers=tenant.headers)
    assert english.text.startswith("Hello")
