"""Seed 002's answer envelope: ``{"auth_token", "data", "request_id", "revision", "status"}``.

Every answer, success or error, echoes the ``X-Auth-Token`` the request carried and a request
id (the client's ``X-Request-ID`` when it sent a sane one, as Kazoo does), also sent back as
the ``X-Request-ID`` header.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.types import Scope

from herald.http.responses import OrjsonResponse

AUTOMATIC = "automatic"
"""Kazoo's ``revision`` of answers that are no stored document."""
TOKEN_HEADER = "x-auth-token"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_STATE_KEY = "kazoo_request_id"


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


def auth_token(scope: Scope) -> str:
    """The ``X-Auth-Token`` the request carried ("" when none)."""
    return (_header(scope, TOKEN_HEADER) or "").strip()


def request_id(scope: Scope) -> str:
    """This request's id, the same for its answer and any error it ends with."""
    state: dict[str, Any] = scope.setdefault("state", {})
    if _STATE_KEY not in state:
        given = _header(scope, "x-request-id")
        state[_STATE_KEY] = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
    return str(state[_STATE_KEY])


def envelope(
    scope: Scope,
    data: Any,
    *,
    status_code: int = 200,
    revision: str = AUTOMATIC,
    token: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> OrjsonResponse:
    """A success answer; ``extra`` adds envelope keys (paging: ``page_size``, ``start_key``)."""
    body = {
        "auth_token": auth_token(scope) if token is None else token,
        "data": data,
        "request_id": request_id(scope),
        "revision": revision,
        "status": "success",
        **(extra or {}),
    }
    return OrjsonResponse(
        body, status_code=status_code, headers={"X-Request-ID": request_id(scope)}
    )
