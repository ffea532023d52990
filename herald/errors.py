"""The error tree. Every API error carries a status and a stable code; one handler renders them.

HeraldError (500 internal_error)
├── BadRequest (400 bad_request)
│   ├── InvalidJson (400 invalid_json)
│   └── MissingPersonalisation (400 missing_personalisation)
├── Unauthorized (401 unauthorized)
├── Forbidden (403 forbidden)
├── NotFound (404 not_found)
├── NotAcceptable (406 not_acceptable)
├── Conflict (409 conflict)
├── PayloadTooLarge (413 payload_too_large)
├── UnsupportedMediaType (415 unsupported_media_type)
├── ValidationFailed (422 validation_failed; details are JSON Pointers)
├── TooManyRequests (429 rate_limit_reached | daily_limit_reached | overuse_full)
│   ├── RateLimitReached (429 rate_limit_reached: the limit and its window)
│   └── DailyLimitReached (429 daily_limit_reached: the cap)
└── ServiceUnavailable (503 service_unavailable; with Retry-After)
    ├── DatabaseUnavailable (503 database_unavailable)
    └── TryLater (503 try_later: not known yet)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

MAX_DETAILS = 100


@dataclass(frozen=True)
class ErrorDetail:
    """One problem in a request: a JSON Pointer into the body, or ``/query/x``, ``/path/x``.

    ``rule`` names the kind of problem (``required``, ``enum``...) for the dialects whose
    envelopes show it (seed 002's ``{"field": {"rule": {"message"}}}``).
    """

    path: str
    message: str
    rule: str | None = None

    def as_dict(self) -> dict[str, str]:
        """The detail as it appears in the error body."""
        return {"path": self.path, "message": self.message}


class HeraldError(Exception):
    """Base of every error Herald reports to a client."""

    status_code: ClassVar[int] = 500
    code: str = "internal_error"

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        details: list[ErrorDetail] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or self.__class__.__name__)
        self.message = message or "Internal error"
        if code is not None:
            self.code = code
        self.details = details or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON error body of API.md: at most ``MAX_DETAILS`` details, and the message
        says how many more there were (100,000 unknown users are not a 6 MB answer)."""
        message, shown = self.message, self.details[:MAX_DETAILS]
        if len(self.details) > MAX_DETAILS:
            message = f"{message} ({len(self.details) - MAX_DETAILS} more problems not listed)"
        return {
            "error": {
                "code": self.code,
                "message": message,
                "details": [d.as_dict() for d in shown],
            }
        }


class BadRequest(HeraldError):
    status_code = 400
    code = "bad_request"


class InvalidJson(BadRequest):
    code = "invalid_json"


class MissingPersonalisation(BadRequest):
    code = "missing_personalisation"


class Unauthorized(HeraldError):
    status_code = 401
    code = "unauthorized"


class Forbidden(HeraldError):
    status_code = 403
    code = "forbidden"


class NotFound(HeraldError):
    status_code = 404
    code = "not_found"


class NotAcceptable(HeraldError):
    status_code = 406
    code = "not_acceptable"


class Conflict(HeraldError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(HeraldError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(HeraldError):
    status_code = 415
    code = "unsupported_media_type"


class ValidationFailed(HeraldError):
    status_code = 422
    code = "validation_failed"

    @classmethod
    def at(cls, path: str, message: str, *, code: str | None = None) -> ValidationFailed:
        """A validation error with a single detail."""
        return cls(message, code=code, details=[ErrorDetail(path, message)])


class TooManyRequests(HeraldError):
    status_code = 429
    code = "rate_limit_reached"


class ServiceUnavailable(HeraldError):
    """A dependency is down for now: the client may send the same request again after
    ``Retry-After`` seconds (with its ``Idempotency-Key``, that is safe: it acts once)."""

    status_code = 503
    code = "service_unavailable"
    retry_after = 2

    def __init__(self, message: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(self.retry_after))


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"


class TryLater(ServiceUnavailable):
    """What the request names is not known yet, and will be shortly: ask again, as a
    provider's receipt for a message whose answer is still being recorded."""

    code = "try_later"


class RateLimitReached(TooManyRequests):
    """A key's request rate is used up; ``limit`` requests per ``seconds`` (dialects say so)."""

    code = "rate_limit_reached"

    def __init__(
        self, message: str, *, limit: int, seconds: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, headers=headers)
        self.limit = limit
        self.seconds = seconds


class DailyLimitReached(TooManyRequests):
    """An account's daily message cap (``limit``) is reached."""

    code = "daily_limit_reached"

    def __init__(self, message: str, *, limit: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, headers=headers)
        self.limit = limit


def json_pointer(parts: tuple[int | str, ...] | list[int | str]) -> str:
    """RFC 6901 pointer for a path of keys and indexes (``~`` and ``/`` escaped)."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "".join("/" + p for p in escaped)


class OAuthError(HeraldError):
    """An error of ``POST /oauth/token``, answered as RFC 6749 section 5.2 says."""

    status_code = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code, headers=headers)
        self.status_code = status_code  # type: ignore[misc]

    def body(self) -> dict[str, Any]:
        """``{"error": "invalid_client", "error_description": "..."}``."""
        return {"error": self.code, "error_description": self.message}
