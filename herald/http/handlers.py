"""The one error handler: every failure becomes API.md's error body, never a stack trace."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from herald.errors import (
    DatabaseUnavailable,
    ErrorDetail,
    HeraldError,
    InvalidJson,
    NotFound,
    ValidationFailed,
    json_pointer,
)
from herald.logs import get_logger

log = get_logger(__name__)

STATUS_CODES = {404: "not_found", 405: "method_not_allowed", 406: "not_acceptable"}


def error_response(error: HeraldError) -> JSONResponse:
    """Render a Herald error with its status and headers."""
    return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers)


def _pointer(loc: tuple[int | str, ...]) -> str:
    where, *rest = loc or ("body",)
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


async def _herald(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HeraldError)
    return error_response(exc)


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(validation_error(exc))


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return error_response(NotFound("No such resource"))
    error = HeraldError(str(exc.detail), code=STATUS_CODES.get(exc.status_code, "http_error"))
    response = JSONResponse(error.body(), status_code=exc.status_code)
    response.headers.update(exc.headers or {})
    return response


async def _pool_timeout(_request: Request, _exc: Exception) -> JSONResponse:
    # Every pooled connection stayed in use for database_timeout: the database is too slow.
    return error_response(DatabaseUnavailable("The database is busy; try again shortly"))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", path=request.url.path, method=request.method)
    return error_response(HeraldError("Internal error"))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an application."""
    app.add_exception_handler(HeraldError, _herald)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(PoolTimeout, _pool_timeout)
    app.add_exception_handler(Exception, _unexpected)
