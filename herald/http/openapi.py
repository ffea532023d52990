"""The OpenAPI document, derived from the routes: the real error bodies, security, examples.

FastAPI documents what a route takes and returns; what it can refuse lives in its code. Each
route's possible errors are gathered from what it depends on:

- dependencies and endpoints that declare errors with ``raises`` (authentication: 401 and 429;
  scope checks: 403; the transaction: 503);
- its request: a JSON body can be 400 (not JSON), 413, 415 and 422; a form body 413 and 422; any
  parameter 422; a path parameter names something that may not exist (404).

Each status is documented with the body its route class renders errors in: Herald's
``{"error": {"code", "message", "details"}}`` unless the route's class says otherwise
(``dialect_route``), so a dialect's router documents its own envelope. A route that can answer
401 takes a bearer token (the ``bearerAuth`` scheme, so Swagger's "Try it out" authenticates).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, Field

from herald.errors import (
    ErrorDetail,
    HeraldError,
    InvalidJson,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)

F = TypeVar("F", bound=Callable[..., Any])
ErrorSpec = HeraldError | type[HeraldError]
RAISES = "__herald_raises__"
BEARER = "bearerAuth"
RETRY_AFTER_STATUSES = frozenset({429, 503})
DESCRIPTIONS = {
    400: "The request is malformed",
    401: "No credentials, or credentials that are not valid",
    403: "The credentials lack a scope this route needs",
    404: "Nothing of that id is visible to the caller",
    406: "No acceptable media type",
    409: "A request with the same Idempotency-Key is still in flight",
    413: "The body is larger than HERALD_MAX_BODY_BYTES",
    415: "The body is not JSON",
    422: "The request is invalid; each detail points at a field",
    429: "A limit is reached; retry after Retry-After seconds",
    503: "The database cannot be reached; retry after Retry-After seconds",
}


class ErrorDetailOut(BaseModel):
    """One problem: a JSON Pointer into the body, or ``/query/<name>``, ``/path/<name>``."""

    path: str = Field(examples=["/payload/callerId"])
    message: str


class ErrorInfo(BaseModel):
    """What went wrong: a stable snake_case code, a human message, the fields at fault."""

    code: str = Field(examples=["validation_failed"])
    message: str
    details: list[ErrorDetailOut]


class ErrorBody(BaseModel):
    """Every error Herald answers (the dialects and ``POST /oauth/token`` excepted)."""

    error: ErrorInfo


@dataclass(frozen=True)
class ErrorEnvelope:
    """How a family of routes writes its errors: the schema, one error's body as example, and
    the status it answers a Herald error's with (seed 002 answers invalid data 400, not 422)."""

    model: type[BaseModel]
    render: Callable[[HeraldError], Any]
    status_of: Callable[[int], int] = lambda status: status


HERALD_ENVELOPE = ErrorEnvelope(ErrorBody, lambda error: error.body())


ROUTE_ENVELOPES: list[ErrorEnvelope] = []


def dialect_route(envelope: ErrorEnvelope) -> type[APIRoute]:
    """A route class whose every error is documented in ``envelope``.

    A dialect's router answers in its own error shape: ``APIRouter(route_class=dialect_route(
    ErrorEnvelope(NotifyErrors, render)))``, where ``render`` turns a Herald error into the
    dialect's body (the dialect's error handler does the same at run time).
    """
    ROUTE_ENVELOPES.append(envelope)
    return type(f"{envelope.model.__name__}Route", (APIRoute,), {"error_envelope": envelope})


def raises(*errors: ErrorSpec) -> Callable[[F], F]:
    """Declare errors a route or a dependency can answer, for the OpenAPI document.

    Give an instance for a realistic example (its code and message), or a class.
    """

    def declare(function: F) -> F:
        setattr(function, RAISES, (*getattr(function, RAISES, ()), *errors))
        return function

    return declare


def _instance(error: ErrorSpec) -> HeraldError:
    if isinstance(error, HeraldError):
        return error
    return error(DESCRIPTIONS.get(error.status_code, ""))


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _request_errors(route: RouteContext) -> list[HeraldError]:
    errors: list[HeraldError] = []
    dependants = list(_dependants(route.dependant))
    params = [p for d in dependants for p in (*d.query_params, *d.header_params, *d.cookie_params)]
    has_path = "{" in (route.path_format or "")
    if route.body_field is not None:
        form = type(route.body_field.field_info).__name__ in {"Form", "File"}
        errors.append(PayloadTooLarge("The body is larger than 1048576 bytes"))
        if not form:
            errors.append(InvalidJson("The request body is not valid JSON"))
            errors.append(UnsupportedMediaType("Send the body as application/json"))
    if route.body_field is not None or params or has_path:
        detail = ErrorDetail("/name", "Field required")
        errors.append(ValidationFailed("The request is invalid", details=[detail]))
    if has_path:
        errors.append(NotFound("No such resource"))
    return errors


def errors_of(route: RouteContext) -> list[HeraldError]:
    """Every error ``route`` can answer: declared by it or its dependencies, or by its request."""
    declared = [
        _instance(error)
        for dependant in _dependants(route.dependant)
        for error in getattr(dependant.call, RAISES, ())
    ]
    return [*declared, *_request_errors(route)]


def _summary(route: RouteContext) -> str | None:
    doc = (getattr(route.endpoint, "__doc__", None) or "").strip()
    if not doc:
        return None
    first = doc.split("\n\n", 1)[0].replace("\n", " ").replace("``", "")
    first = " ".join(first.split())
    return re.split(r"(?<=[a-z)])[.:;] ", first + " ", maxsplit=1)[0].strip().rstrip(".:;")


def envelope_for_errors(error_class: type[HeraldError], envelope: ErrorEnvelope) -> None:
    """Document ``error_class`` (and its subclasses) in ``envelope`` wherever it is raised.

    For an error that renders its own body, such as ``POST /oauth/token``'s RFC 6749 errors.
    """
    ERROR_ENVELOPES[error_class] = envelope


ERROR_ENVELOPES: dict[type[HeraldError], ErrorEnvelope] = {}


def _envelope_of(error: HeraldError, route_envelope: ErrorEnvelope | None) -> ErrorEnvelope:
    if route_envelope is not None:
        return route_envelope
    for error_class in type(error).__mro__:
        if error_class in ERROR_ENVELOPES:
            return ERROR_ENVELOPES[error_class]
    return HERALD_ENVELOPE


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _error_response(status: int, errors: list[tuple[HeraldError, ErrorEnvelope]]) -> dict[str, Any]:
    models = list(dict.fromkeys(envelope.model for _, envelope in errors))
    schema = _ref(models[0]) if len(models) == 1 else {"oneOf": [_ref(m) for m in models]}
    examples = {
        error.code: {"summary": error.message, "value": envelope.render(error)}
        for error, envelope in errors
    }
    response: dict[str, Any] = {
        "description": DESCRIPTIONS.get(status, "Error"),
        "content": {"application/json": {"schema": schema, "examples": examples}},
    }
    if status in RETRY_AFTER_STATUSES:
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before trying again",
                "schema": {"type": "integer"},
            }
        }
    return response


def _error_responses(
    errors: list[HeraldError], route_envelope: ErrorEnvelope | None
) -> dict[str, Any]:
    by_status: dict[int, dict[str, tuple[HeraldError, ErrorEnvelope]]] = {}
    for error in errors:
        envelope = _envelope_of(error, route_envelope)
        by_status.setdefault(envelope.status_of(error.status_code), {}).setdefault(
            error.code, (error, envelope)
        )
    return {
        str(status): _error_response(status, list(by_status[status].values()))
        for status in sorted(by_status)
    }


def _shared(document: dict[str, Any], status: str, response: dict[str, Any]) -> dict[str, str]:
    # Most routes refuse alike: one component per distinct response keeps the document small.
    shared = document["components"].setdefault("responses", {})
    codes = "_".join(response["content"]["application/json"]["examples"])
    name, n = f"Error{status}_{codes}", 1
    while name in shared and shared[name] != response:
        n += 1
        name = f"Error{status}_{codes}_{n}"
    shared[name] = response
    return {"$ref": f"#/components/responses/{name}"}


def _declare_path_parameters(path: str, operation: dict[str, Any]) -> None:
    # A dependency may read a path parameter from the request (the inbox's owner does, because
    # /v1/me has none): the path template still names it, so the document declares it.
    declared = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
    for name in re.findall(r"{([^}:]+)", path):
        if name not in declared:
            operation.setdefault("parameters", []).append(
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            )


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return resolved
    for option in schema.get("anyOf", []):
        if "$ref" in option:
            return _resolve(document, option)
    return schema


def _lift_body_example(document: dict[str, Any], operation: dict[str, Any]) -> None:
    # Swagger UI prefills "Try it out" from the media type's example: take the model's first.
    for media in operation.get("requestBody", {}).get("content", {}).values():
        if "example" in media or "examples" in media:
            continue
        examples = _resolve(document, media.get("schema", {})).get("examples")
        if examples:
            media["example"] = examples[0]


def _route_envelope(route: RouteContext) -> ErrorEnvelope | None:
    envelope: ErrorEnvelope | None = getattr(route.original_route, "error_envelope", None)
    return envelope


def _document_route(document: dict[str, Any], route: RouteContext) -> None:
    path_format = route.path_format or ""
    path = document["paths"][path_format]
    envelope = _route_envelope(route)
    errors = errors_of(route)
    for method in route.methods or ():
        operation = path[method.lower()]
        responses = operation.setdefault("responses", {})
        responses.pop("422", None)  # FastAPI's {"detail": [...]}, which Herald never sends
        for status, response in _error_responses(errors, envelope).items():
            responses[status] = _shared(document, status, response)
        if any(isinstance(error, Unauthorized) for error in errors):
            operation["security"] = [{BEARER: []}]
        summary = _summary(route)
        if summary:
            operation["summary"] = summary
        _declare_path_parameters(path_format, operation)
        _lift_body_example(document, operation)


def _add_components(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    envelopes = [HERALD_ENVELOPE, *ERROR_ENVELOPES.values(), *ROUTE_ENVELOPES]
    for model in dict.fromkeys(envelope.model for envelope in envelopes):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    document["components"]["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (hk_live_…), an OAuth2 access token or a user token",
        }
    }


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The application's OpenAPI 3.1 document, with Herald's errors, security and examples."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
    )
    _add_components(document)
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            _document_route(document, route)
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve ``build_openapi``'s document at ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
