"""Seed 002's error envelope: ``{"auth_token", "data", "error": "<status>", "message",
"request_id", "status": "error"}``, rendered for every error under ``/kazoo/v2``.

``data`` holds the details as Kazoo's validation does, ``{"field": {"rule": {"message"}}}``,
the field named as the client wrote it (``to.type``, ``user.first_name``, ``plain``); an
error without details has ``{"code", "message"}``. Kazoo answers invalid data with 400, so
Herald's 422 is a 400 here.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.types import Scope

from herald.compat.kazoo.envelope import auth_token, request_id
from herald.errors import ErrorDetail, HeraldError
from herald.http.responses import OrjsonResponse

# Herald's email parts by the names seed 002's documents give them.
EMAIL_FIELDS = {"text": "plain"}
# Where Herald's services point that a seed 002 request has no such level: its fields are
# the data's, the template's variables (macros) and the email's parts themselves.
LEVELS = frozenset({"data", "personalisation", "parts", "template"})


def kazoo_field(pointer: str) -> str:
    """A JSON Pointer of Herald's as a seed 002 field: ``/data/to/type`` is ``to.type``,
    ``/personalisation/user/first_name`` is ``user.first_name``, ``/channels/email/text`` is
    ``plain``."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    if parts == ["template"]:  # a broadcast's unknown template: the document's id
        return "id"
    if parts and parts[0] in LEVELS:
        parts = parts[1:]
    if parts[:2] == ["channels", "email"] and len(parts) > 2:
        parts = [EMAIL_FIELDS.get(parts[2], parts[2]), *parts[3:]]
    return ".".join(parts) or "data"


def error_data(error: HeraldError) -> dict[str, Any]:
    """The envelope's ``data``: the details by field and rule, or the code and message."""
    if not error.details:
        return {"code": error.code, "message": error.message}
    data: dict[str, dict[str, Any]] = {}
    for detail in error.details:
        data.setdefault(kazoo_field(detail.path), {})[_rule(detail, error)] = {
            "message": detail.message
        }
    return data


def _rule(detail: ErrorDetail, error: HeraldError) -> str:
    return detail.rule or error.code


def error_status(status_code: int) -> int:
    """The status seed 002 answers with: Kazoo answers invalid data 400, never 422."""
    return 400 if status_code == 422 else status_code


def error_body(
    error: HeraldError, status_code: int, credential: str, request: str = "{REQUEST_ID}"
) -> dict[str, Any]:
    """The error envelope's body (``credential``: the request's X-Auth-Token)."""
    return {
        "auth_token": credential,
        "data": error_data(error),
        "error": str(status_code),
        "message": error.message,
        "request_id": request,
        "status": "error",
    }


def render_error(error: HeraldError, status_code: int, scope: Scope) -> Response:
    """The error answer (``herald.http.dialects.ErrorRenderer``)."""
    status_code = error_status(status_code)
    body = error_body(error, status_code, auth_token(scope), request_id(scope))
    headers = {**error.headers, "X-Request-ID": request_id(scope)}
    return OrjsonResponse(body, status_code=status_code, headers=headers)
