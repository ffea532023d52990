"""Seed 002's examples as they are written, run against a real server, and its documented
answers checked field by field.

``curl`` runs a curl command copied from the seed: placeholders filled in, ``-X``, ``-H`` and
``-d`` obeyed as curl would (``-d`` without a ``Content-Type`` goes as curl's default form
type). ``assert_documented`` compares an answer with the seed's example answer: every field
the seed shows must be there with its value, or of the type (or passing the check) the test
puts where the seed has a placeholder; fields the seed leaves out (its ``...``) may be more.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from typing import Any

import httpx

SEED_BASE = "https://apps.hostedpbx.ie:8443/v2"
CURL_FORM = "application/x-www-form-urlencoded"


def fill(text: str, values: Mapping[str, str]) -> str:
    """The seed's text with ``{PLACEHOLDER}``s replaced."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


async def curl(
    http: httpx.AsyncClient, command: str, values: Mapping[str, str], *, base: str
) -> httpx.Response:
    """Run one of the seed's curl commands against ``base`` (Herald's ``/kazoo/v2``)."""
    words = shlex.split(fill(command, values).replace("\\\n", " "))
    assert words[0] == "curl", command
    method, headers, data, url = "GET", {}, None, None
    args = iter(words[1:])
    for word in args:
        if word == "-X":
            method = next(args)
        elif word == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data = next(args)
        elif word == "-v":
            continue
        else:
            url = word
    assert url is not None and url.startswith(SEED_BASE), url
    if data is not None and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = CURL_FORM
    content = data.encode() if data is not None else None
    return await http.request(
        method, base + url.removeprefix(SEED_BASE), headers=headers, content=content
    )


Check = Callable[[Any], bool]


def assert_documented(actual: Any, documented: Any, where: str = "") -> None:
    """``actual`` has every field ``documented`` shows (see the module's docstring)."""
    if isinstance(documented, type):
        assert isinstance(actual, documented), f"{where}: {actual!r} is no {documented.__name__}"
    elif callable(documented):
        assert documented(actual), f"{where}: {actual!r} fails the check"
    elif isinstance(documented, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is no object"
        for key, value in documented.items():
            assert key in actual, f"{where}: no {key!r} in {sorted(actual)}"
            assert_documented(actual[key], value, f"{where}.{key}")
    elif isinstance(documented, list):
        assert isinstance(actual, list), f"{where}: {actual!r} is no list"
        for index, item in enumerate(documented):
            assert any(_matches(a, item) for a in actual), f"{where}[{index}]: none is {item!r}"
    else:
        assert actual == documented, f"{where}: {actual!r} != {documented!r}"


def _matches(actual: Any, documented: Any) -> bool:
    try:
        assert_documented(actual, documented)
    except AssertionError:
        return False
    return True


def words(text: str) -> Check:
    """A check for a string equal to ``text`` but for runs of white space (the seed's own
    examples of one description differ in its spaces)."""
    wanted = " ".join(text.split())
    return lambda value: isinstance(value, str) and " ".join(value.split()) == wanted


def envelope(data: Any, token: str) -> dict[str, Any]:
    """The seed's success envelope around ``data``."""
    return {
        "auth_token": token,
        "data": data,
        "request_id": str,
        "revision": str,
        "status": "success",
    }


def error_envelope(status: int, data: Any, token: str) -> dict[str, Any]:
    """The error envelope (API.md's "Seed 002 at /kazoo/v2") with ``data`` as its details."""
    return {
        "auth_token": token,
        "data": data,
        "error": str(status),
        "message": str,
        "request_id": str,
        "status": "error",
    }
