"""HTTP routes of the webhook channel's endpoints (scope ``admin``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status

from herald.accounts.auth import Principal, server
from herald.endpoints import service
from herald.endpoints.schemas import NAME_PATTERN, EndpointIn, endpoint_document
from herald.http.deps import RuntimeDep, SessionDep
from herald.http.pagination import Paging, page_body

router = APIRouter(tags=["webhook endpoints"])
Admin = Annotated[Principal, Depends(server("admin"))]
Name = Annotated[str, Path(pattern=NAME_PATTERN)]


@router.put("/v1/endpoints/{name}")
async def put_endpoint(
    name: Name, body: EndpointIn, session: SessionDep, runtime: RuntimeDep, caller: Admin
) -> dict[str, Any]:
    """Create or replace an endpoint; answers its new signing secret, shown this once."""
    endpoint, secret = await service.put_endpoint(
        session,
        account_id=caller.account_id,
        name=name,
        url=body.url,
        types=body.types,
        allow_private=runtime.settings.allow_private_urls,
        sealing_key=runtime.secret,
    )
    return endpoint_document(endpoint, secret=secret)


@router.get("/v1/endpoints")
async def list_endpoints(
    request: Request, paging: Paging, session: SessionDep, caller: Admin
) -> dict[str, Any]:
    """The account's endpoints (without their secrets)."""
    rows = await service.list_endpoints(session, account_id=caller.account_id)
    page = rows[paging.offset : paging.offset + paging.per_page]
    return page_body(request, paging, data=[endpoint_document(e) for e in page], total=len(rows))


@router.get("/v1/endpoints/{name}")
async def get_endpoint(name: Name, session: SessionDep, caller: Admin) -> dict[str, Any]:
    """One endpoint (without its secret)."""
    return endpoint_document(
        await service.get_endpoint(session, account_id=caller.account_id, name=name)
    )


@router.delete("/v1/endpoints/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_endpoint(name: Name, session: SessionDep, caller: Admin) -> Response:
    """Remove an endpoint."""
    await service.delete_endpoint(session, account_id=caller.account_id, name=name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
