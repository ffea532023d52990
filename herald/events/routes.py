"""HTTP routes of the notification-type catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from herald.accounts.auth import Principal, server
from herald.events import service
from herald.events.builtin import TypeDef
from herald.events.schemas import SUB_TYPE_PATTERN, TYPE_PATTERN, TypeIn, TypeOut
from herald.http.deps import SessionDep
from herald.http.pagination import Page, Paging, page_body

router = APIRouter(tags=["notification types"])
Reader = Annotated[Principal, Depends(server("notifications.read"))]
Writer = Annotated[Principal, Depends(server("notifications.write"))]
TypePath = Annotated[str, Path(pattern=TYPE_PATTERN)]
SubTypePath = Annotated[str, Path(pattern=SUB_TYPE_PATTERN)]


def type_out(definition: TypeDef) -> TypeOut:
    """The public view of a type."""
    return TypeOut(
        type=definition.type,
        subType=definition.sub_type,
        schema_=definition.schema,
        realtime=definition.realtime,
        channels=list(definition.channels),
        macros=definition.macros,
        builtin=definition.builtin,
        description=definition.description,
        template=definition.template,
        personalisation=definition.personalisation,
        mandatory=bool(definition.rules.get("mandatory")),
        frequency_cap=definition.rules.get("frequency_cap"),
        digest=definition.rules.get("digest"),
        escalation=definition.rules.get("escalation"),
    )


# Documented, not validated: the answers are ``TypeOut`` dumped by alias (``schema``).
@router.get(
    "/v1/notification-types", response_model=None, responses={200: {"model": Page[TypeOut]}}
)
async def list_types(
    request: Request, paging: Paging, session: SessionDep, caller: Reader
) -> dict[str, object]:
    """Built-in types and the account's own."""
    types = await service.list_types(session, account_id=caller.account_id)
    page = types[paging.offset : paging.offset + paging.per_page]
    data = [type_out(t).model_dump(mode="json", by_alias=True) for t in page]
    return page_body(request, paging, data=data, total=len(types))


@router.put(
    "/v1/notification-types/{type_}/{sub_type}",
    response_model=None,
    responses={200: {"model": TypeOut}},
)
async def put_type(
    type_: TypePath, sub_type: SubTypePath, body: TypeIn, session: SessionDep, caller: Writer
) -> dict[str, object]:
    """Register (or replace) one of the account's own types; a bad JSON Schema is a 422."""
    definition = await service.put_type(
        session, account_id=caller.account_id, type_=type_, sub_type=sub_type, body=body
    )
    return type_out(definition).model_dump(mode="json", by_alias=True)
