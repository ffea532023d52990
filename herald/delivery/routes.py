"""HTTP routes of the delivery log, status callbacks and account providers."""

from __future__ import annotations

import functools
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response, status

from herald.accounts.auth import Principal, server
from herald.channels.registry import ProviderRegistry
from herald.delivery import notify_receipts_in, providers, service
from herald.delivery.callbacks import service as callbacks
from herald.delivery.composers.letter import documents
from herald.delivery.schemas import (
    CallbackIn,
    DeliveryOut,
    ProviderIn,
    callback_document,
    delivery_document,
    provider_document,
)
from herald.delivery.status import DeliveryStatus
from herald.errors import NotFound
from herald.http.deps import RuntimeDep, SessionDep
from herald.http.pagination import Page, Paging, page_body
from herald.http.responses import OrjsonResponse
from herald.http.times import Rfc3339

router = APIRouter(tags=["deliveries"])
Reader = Annotated[Principal, Depends(server("deliveries.read"))]
Admin = Annotated[Principal, Depends(server("admin"))]
Name = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")]
PDF = "application/pdf"


@functools.cache
def registry() -> ProviderRegistry:
    """The installed providers (entry points are read once per process)."""
    return ProviderRegistry.from_entry_points()


@router.get("/v1/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    request: Request,
    paging: Paging,
    session: SessionDep,
    caller: Reader,
    notification_id: uuid.UUID | None = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    status: DeliveryStatus | None = None,
    created_at_gt_or_eq: Rfc3339 | None = None,
) -> OrjsonResponse:
    """The account's deliveries, newest first, with their attempts and rendered content."""
    filters = service.Filters(
        notification_id, channel, status.value if status else None, created_at_gt_or_eq
    )
    rows, total = await service.list_deliveries(
        session,
        account_id=caller.account_id,
        filters=filters,
        offset=paging.offset,
        limit=paging.per_page,
        before=paging.cursor,
    )
    next_id = rows[-1].delivery.id if len(rows) == paging.per_page else None
    data = [delivery_document(r.delivery, r.attempts) for r in rows]
    body = page_body(request, paging, data=data, total=total, next_id=next_id, cursor_paging=True)
    return OrjsonResponse(body)


@router.get("/v1/deliveries/{delivery_id}", response_model=DeliveryOut)
async def get_delivery(
    delivery_id: uuid.UUID, session: SessionDep, caller: Reader
) -> OrjsonResponse:
    """One delivery: status, every attempt with the provider's answer, receipt, content."""
    found = await service.get_delivery(
        session, account_id=caller.account_id, delivery_id=delivery_id
    )
    return OrjsonResponse(delivery_document(found.delivery, found.attempts))


@router.get(
    "/v1/deliveries/{delivery_id}/pdf",
    response_class=Response,
    responses={200: {"content": {PDF: {}}, "description": "The letter as printed"}},
)
async def get_delivery_pdf(
    delivery_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, caller: Reader
) -> Response:
    """A letter's PDF, as kept in the document store (404 when the delivery has none)."""
    found = await service.get_delivery(
        session, account_id=caller.account_id, delivery_id=delivery_id
    )
    if found.delivery.document_id is None:
        raise NotFound("This delivery has no PDF")
    pdf = await documents(runtime.settings).get(found.delivery.document_id)
    return Response(pdf, media_type=PDF)


@router.put("/v1/callbacks")
async def put_callbacks(
    body: CallbackIn, session: SessionDep, runtime: RuntimeDep, caller: Admin
) -> dict[str, Any]:
    """Set where status callbacks go; answers the new signing secret, shown this once (the
    ``notify`` format posts Notify's receipts with the given bearer token instead)."""
    endpoint, secret = await callbacks.put_endpoint(
        session,
        account_id=caller.account_id,
        url=body.url,
        events=body.events,
        allow_private=runtime.settings.allow_private_urls,
        sealing_key=runtime.secret,
        format=body.format,
        bearer_token=body.bearer_token,
    )
    return callback_document(endpoint, secret=secret)


@router.get("/v1/callbacks")
async def get_callbacks(session: SessionDep, caller: Admin) -> dict[str, Any]:
    """The callback endpoint (without its secret)."""
    return callback_document(await callbacks.get_endpoint(session, account_id=caller.account_id))


@router.delete("/v1/callbacks", status_code=status.HTTP_204_NO_CONTENT)
async def delete_callbacks(session: SessionDep, caller: Admin) -> Response:
    """Stop status callbacks."""
    await callbacks.delete_endpoint(session, account_id=caller.account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# GOV.UK Notify's delivery-status callback body, as its documentation shows it.
NOTIFY_RECEIPT_EXAMPLE = {
    "delivered": {
        "summary": "An email delivered",
        "value": {
            "id": "740e5834-3a29-46b4-9a6f-16142fde533a",
            "reference": "12345678",
            "to": "ada@example.com",
            "status": "delivered",
            "created_at": "2026-11-22T10:28:00.000000Z",
            "completed_at": "2026-11-22T10:28:03.000000Z",
            "sent_at": "2026-11-22T10:28:01.000000Z",
            "notification_type": "email",
        },
    }
}


@router.post("/v1/receipts/govuk_notify", status_code=status.HTTP_204_NO_CONTENT)
async def govuk_notify_receipt(
    account: Annotated[uuid.UUID, Query()],
    body: Annotated[dict[str, Any], Body(openapi_examples=NOTIFY_RECEIPT_EXAMPLE)],
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """A delivery receipt from the GOV.UK Notify service the account sends through, as its
    callback posts it (``Authorization: Bearer`` the provider's ``callback_bearer_token``)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    await notify_receipts_in.take_receipt(
        session, account_id=account, bearer=token if scheme.lower() == "bearer" else None,
        body=body, sealing_key=runtime.secret, bus=runtime.bus,
    )  # fmt: skip
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/v1/providers")
async def list_providers(
    request: Request, paging: Paging, session: SessionDep, runtime: RuntimeDep, caller: Admin
) -> dict[str, Any]:
    """The account's providers, secrets masked."""
    rows = await providers.list_providers(session, account_id=caller.account_id)
    page = rows[paging.offset : paging.offset + paging.per_page]
    data = [
        provider_document(
            row, providers.masked_settings(row, registry=registry(), secret=runtime.secret)
        )
        for row in page
    ]
    return page_body(request, paging, data=data, total=len(rows))


@router.put("/v1/providers/{channel}/{provider}")
async def put_provider(
    channel: Name,
    provider: Name,
    body: ProviderIn,
    session: SessionDep,
    runtime: RuntimeDep,
    caller: Admin,
) -> dict[str, Any]:
    """Add or replace one of the account's providers (settings checked by the provider)."""
    row = await providers.put_provider(
        session,
        account_id=caller.account_id,
        channel=channel,
        name=provider,
        config=body.settings,
        priority=body.priority,
        active=body.active,
        registry=registry(),
        secret=runtime.secret,
    )
    masked = providers.masked_settings(row, registry=registry(), secret=runtime.secret)
    return provider_document(row, masked)


@router.delete("/v1/providers/{channel}/{provider}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_provider(
    channel: Name, provider: Name, session: SessionDep, caller: Admin
) -> Response:
    """Remove one of the account's providers."""
    await providers.delete_provider(
        session, account_id=caller.account_id, channel=channel, name=provider
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
