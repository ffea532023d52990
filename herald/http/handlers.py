"""The one error handler: every failure becomes API.md's error body (or its dialect's), never
a stack trace. Exceptions none of these handlers knows are answered by ``HttpFront``
(``herald.http.middleware``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from herald.errors import (
    DatabaseUnavailable,
    ErrorDetail,
    HeraldError,
    InvalidJson,
    NotFound,
    ValidationFailed,
    json_pointer,
)
from herald.http.dialects import DialectErrors
from herald.logs import get_logger

log = get_logger(__name__)

STATUS_CODES = {404: "not_found", 405: "method_not_allowed", 406: "not_acceptable"}


def error_response(error: HeraldError) -> JSONResponse:
    """Render a Herald error with its status and headers."""
    return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers)


def _pointer(loc: tuple[int | str, ...]) -> str:
    # Pydantic names a refused mapping key ``[key]`` after the key: the key is the pointer.
    where, *rest = [part for part in loc if part != "[key]"] or ["body"]
    if where == "body":
        return json_pointer(rest)
    return json_pointer([str(where), *rest])


def validation_error(exc: RequestValidationError) -> HeraldError:
    """Translate FastAPI's validation errors into JSON-Pointer details (bad JSON is a 400)."""
    errors: list[dict[str, Any]] = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return InvalidJson("The request body is not valid JSON")
    details = [ErrorDetail(_pointer(tuple(e.get("loc", ()))), str(e.get("msg"))) for e in errors]
    return ValidationFailed("The request is invalid", details=details)


def _answer(request: Request, error: HeraldError, status_code: int | None = None) -> Response:
    """The error in the shape the request's route speaks: a dialect's, or API.md's."""
    status_code = status_code or error.status_code
    dialects: DialectErrors = getattr(request.app.state, "dialect_errors", DialectErrors())
    render = dialects.renderer_for(request.url.path)
    if render is not None:
        return render(error, status_code, request.scope)
    return JSONResponse(error.body(), status_code=status_code, headers=error.headers)


async def _herald(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HeraldError)
    return _answer(request, exc)


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return _answer(request, validation_error(exc))


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return _answer(request, NotFound("No such resource"))
    error = HeraldError(
        str(exc.detail),
        code=STATUS_CODES.get(exc.status_code, "http_error"),
        headers=dict(exc.headers or {}),
    )
    return _answer(request, error, exc.status_code)


async def _pool_timeout(request: Request, _exc: Exception) -> Response:
    # Every pooled connection stayed in use for database_timeout: the database is too slow.
    return _answer(request, DatabaseUnavailable("The database is busy; try again shortly"))


def install_error_handlers(app: FastAPI, dialects: DialectErrors | None = None) -> None:
    """Register the handlers on an application; ``dialects`` render their routes' errors."""
    app.state.dialect_errors = dialects or DialectErrors()
    app.add_exception_handler(HeraldError, _herald)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(PoolTimeout, _pool_timeout)
