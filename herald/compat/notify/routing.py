"""A route class for ``/v2``: every error a route (or its dependencies) raises leaves as
Notify's error body; unexpected ones are logged with their trace and answered as Notify's 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Scope

from herald.compat.notify import errors
from herald.errors import HeraldError
from herald.logs import get_logger

log = get_logger(__name__)


def error_response(error: errors.NotifyError) -> JSONResponse:
    """Notify's error body with its status and headers (``Retry-After`` on a 429)."""
    return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers)


def render_error(error: HeraldError, _status: int, _scope: Scope) -> Response:
    """A Herald error met outside the routes (an unknown path, a body over the limit), as
    Notify's error body: the renderer of ``/v2`` in ``herald.http.dialects``."""
    return error_response(errors.from_herald(error))


def _validation(exc: RequestValidationError) -> errors.NotifyError:
    messages = []
    for problem in exc.errors():
        where = [str(p) for p in problem.get("loc", ())[1:]]
        messages.append(f"{where[0] if where else ''} {problem.get('msg', '')}".strip())
    return errors.validation(messages or ["The request is invalid"])


def translate(exc: Exception) -> errors.NotifyError | None:
    """The Notify error an exception is answered with; None for an unexpected one."""
    if isinstance(exc, HeraldError):
        return errors.from_herald(exc)
    if isinstance(exc, RequestValidationError):
        return _validation(exc)
    if isinstance(exc, HTTPException):
        return errors.NotifyError(exc.status_code, errors.BAD_REQUEST, str(exc.detail))
    return None


class NotifyRoute(APIRoute):
    """An ``APIRoute`` whose failures are answered in Notify's envelope."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The usual handler, its errors translated."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                error = translate(exc)
                if error is None:
                    log.exception("unhandled_error", path=request.url.path, method=request.method)
                    error = errors.internal()
                return error_response(error)

        return handle


async def json_body(request: Request) -> Any:
    """The request's JSON; Notify's 400 when it is not JSON."""
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise errors.bad_request("Invalid JSON supplied in POST data") from exc
