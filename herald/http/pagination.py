"""The list shape every collection answers with, page paging and cursor paging."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from herald.errors import ValidationFailed
from herald.http.bounds import INT64_MAX

MAX_PER_PAGE = 100
Item = TypeVar("Item")


class PageUrls(BaseModel):
    """Links to the neighbouring pages (null at either end, and with cursor paging)."""

    previous: str | None
    next: str | None


class Pagination(BaseModel):
    """Where a page stands in its list."""

    model_config = ConfigDict(extra="allow")
    total: int
    page: int
    per_page: int
    urls: PageUrls
    next_cursor: str | None = Field(
        default=None, description="The long lists only: pass as ?cursor= for the next page"
    )


class Page(BaseModel, Generic[Item]):
    """Every list answers this shape (API.md "Conventions")."""

    data: list[Item]
    pagination: Pagination


@dataclass(frozen=True)
class PageParams:
    """Where a list starts and how long it is."""

    page: int
    per_page: int
    cursor: uuid.UUID | None = None

    @property
    def offset(self) -> int:
        """Rows to skip for page paging (cursor paging skips none); a page past every row
        skips them all, within the 64 bits a database's OFFSET takes."""
        return 0 if self.cursor else min((self.page - 1) * self.per_page, INT64_MAX)


def encode_cursor(last_id: uuid.UUID) -> str:
    """An opaque cursor after the row ``last_id`` (ids are time-ordered UUIDv7)."""
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    """The id a cursor points after, or a 422 on ``/query/cursor``."""
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed.at("/query/cursor", "The cursor is not valid") from exc


async def page_params(
    page: Annotated[int, Query(ge=1, le=INT64_MAX)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 15,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> PageParams:
    """Paging from the query string: ``page``/``per_page`` (≤ 100), or ``cursor``.

    A coroutine although it never waits: FastAPI runs a plain function dependency in a
    worker thread, a hand-over and back on every listing.
    """
    return PageParams(page, per_page, decode_cursor(cursor) if cursor else None)


Paging = Annotated[PageParams, Depends(page_params)]


def _url(request: Request, page: int) -> str:
    return str(request.url.remove_query_params("cursor").include_query_params(page=page))


def page_body(
    request: Request,
    params: PageParams,
    *,
    data: list[Any],
    total: int,
    next_id: uuid.UUID | None = None,
    cursor_paging: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """``{"data", "pagination": {total, page, per_page, urls, [next_cursor], ...extra}}``.

    Long lists pass ``cursor_paging`` and the id of their last row as ``next_id`` when more follow.
    """
    has_next = params.offset + len(data) < total if not params.cursor else next_id is not None
    pagination: dict[str, Any] = {
        "total": total,
        "page": params.page,
        "per_page": params.per_page,
        "urls": {
            "previous": _url(request, params.page - 1) if params.page > 1 else None,
            "next": _url(request, params.page + 1) if has_next and not params.cursor else None,
        },
    }
    if cursor_paging:
        pagination["next_cursor"] = encode_cursor(next_id) if next_id else None
    pagination.update(extra)
    return {"data": data, "pagination": pagination}
