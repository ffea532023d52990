"""Notify's error body, ``{"status_code", "errors": [{"error", "message"}]}``, and the
translation of Herald's errors into it, with the statuses and messages Notify answers.

Notify's classes (``app/v2/errors.py``, ``app/authentication/auth.py``): ``BadRequestError``
and ``ValidationError`` (400), ``AuthError`` (401/403), ``NoResultFound`` (404),
``RateLimitError`` and ``TooManyRequestsError`` (429), ``Exception`` (500).
"""

from __future__ import annotations

from typing import Any

from herald.errors import (
    DailyLimitReached,
    ErrorDetail,
    Forbidden,
    HeraldError,
    MissingPersonalisation,
    NotFound,
    PayloadTooLarge,
    RateLimitReached,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)

BAD_REQUEST = "BadRequestError"
VALIDATION = "ValidationError"
AUTH = "AuthError"
NOT_FOUND = "NoResultFound"
RATE_LIMIT = "RateLimitError"
TOO_MANY = "TooManyRequestsError"
PDF_NOT_READY = "PDFNotReadyError"
INTERNAL = "Exception"


class NotifyError(HeraldError):
    """An error as Notify answers it: one or more ``{"error", "message"}`` and a status."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        more: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=error, headers=headers)
        self.status_code = status  # type: ignore[misc]
        self.errors = [(error, message), *(more or [])]

    def body(self) -> dict[str, Any]:
        """Notify's error body."""
        return {
            "status_code": self.status_code,
            "errors": [{"error": error, "message": message} for error, message in self.errors],
        }


def bad_request(message: str, *, status: int = 400) -> NotifyError:
    """Notify's ``BadRequestError`` (400 unless said otherwise)."""
    return NotifyError(status, BAD_REQUEST, message)


def validation(messages: list[str]) -> NotifyError:
    """Notify's ``ValidationError``: one entry per problem, all in one 400."""
    errors = [(VALIDATION, message) for message in dict.fromkeys(messages)]
    return NotifyError(400, VALIDATION, errors[0][1], more=errors[1:])


def auth(message: str, *, status: int = 403) -> NotifyError:
    """Notify's ``AuthError``: 401 without a bearer token, 403 for every token it refuses."""
    return NotifyError(status, AUTH, message)


def no_result() -> NotifyError:
    """Notify's 404."""
    return NotifyError(404, NOT_FOUND, "No result found")


def _missing_names(details: list[ErrorDetail]) -> str:
    names = [d.path.removeprefix("/personalisation/").replace("/", ".") for d in details]
    return ", ".join(dict.fromkeys(names))


def _field(detail: ErrorDetail) -> str:
    """A pointer as Notify names a field: its first segment (``/targets/emails/0``: emails)."""
    return detail.path.strip("/").split("/")[0]


def from_herald(error: HeraldError) -> NotifyError:
    """The Notify error a service's Herald error stands for."""
    if isinstance(error, NotifyError):
        return error
    if isinstance(error, MissingPersonalisation) and error.details:
        return bad_request(f"Missing personalisation: {_missing_names(error.details)}")
    if isinstance(error, TooManyRequests):
        return _limited(error)
    if isinstance(error, NotFound):
        return no_result()
    if isinstance(error, Unauthorized | Forbidden):
        return auth(error.message)
    if isinstance(error, PayloadTooLarge):
        return NotifyError(413, BAD_REQUEST, error.message)
    if isinstance(error, ValidationFailed) and error.details:
        return validation([f"{_field(d)} {d.message}".strip() for d in error.details])
    if 400 <= error.status_code < 500:
        return NotifyError(400, BAD_REQUEST, error.message)
    return NotifyError(500, INTERNAL, "Internal server error")


def _limited(error: TooManyRequests) -> NotifyError:
    """The daily cap is ``TooManyRequestsError``; any other limit ``RateLimitError``; 429."""
    if isinstance(error, DailyLimitReached):
        message = f"Exceeded send limits ({error.limit}) for today"
        return NotifyError(429, TOO_MANY, message, headers=error.headers)
    return NotifyError(429, RATE_LIMIT, error.message, headers=error.headers)


def rate_limited(error: RateLimitReached, *, key_type: str) -> NotifyError:
    """Notify's words for a key over its rate (``key type LIVE``, as Notify names the types)."""
    message = (
        f"Exceeded rate limit for key type {key_type.upper()} of {error.limit} requests "
        f"per {error.seconds} seconds"
    )
    return NotifyError(429, RATE_LIMIT, message, headers=error.headers)


def internal() -> NotifyError:
    """What an unexpected failure answers (logged with its trace, never shown)."""
    return NotifyError(500, INTERNAL, "Internal server error")
