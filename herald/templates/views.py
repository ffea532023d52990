"""How templates and their versions are shown: the stored body, where it comes from, and
its macro catalogue (derived from the type it serves and the parts it holds)."""

from __future__ import annotations

from typing import Any

from herald.templates.catalogue import (
    TypeCatalogue,
    declared_macros,
    part_sources,
    template_macros,
)
from herald.templates.inheritance import Resolved
from herald.templates.models import TemplateVersion
from herald.templates.schemas import Macro, TemplateOut, VersionOut
from herald.templates.service import email_lengths


def macros_of(body: dict[str, Any], types: TypeCatalogue) -> dict[str, Macro]:
    """The macro catalogue of a template body, its locale variants' parts included."""
    type_, sub_type = body.get("type"), body.get("subType")
    sources = part_sources(body.get("channels") or {})
    for variant in (body.get("locales") or {}).values():
        sources += part_sources(variant.get("channels") or {})
    macros = template_macros(
        sources,
        schema=types.schema(type_, sub_type),
        has_message=types.has_message(type_, sub_type),
        declared=declared_macros(body),
    )
    return {name: Macro(**entry) for name, entry in macros.items()}


def template_view(resolved: Resolved, types: TypeCatalogue) -> TemplateOut:
    """A template as ``GET /v1/templates/{id}`` answers it."""
    row, body = resolved.row, resolved.row.body
    owner = row.account_id
    return TemplateOut(
        id=row.template_id,
        friendly_name=body.get("friendly_name"),
        category=body.get("category"),
        enabled=body.get("enabled", True),
        type=body.get("type"),
        subType=body.get("subType"),
        channels=body.get("channels") or {},
        macros=macros_of(body, types),
        locales=body.get("locales") or {},
        template_charset=body.get("template_charset", "utf-8"),
        version=row.version,
        account_overridden=resolved.account_overridden,
        overridden_by=str(owner) if owner else None,
        templates=email_lengths(body),
        created_at=row.created_at,
        updated_at=row.updated_at,
        mandatory=bool(body.get("mandatory")),
        frequency_cap=body.get("frequency_cap"),
        digest=body.get("digest"),
    )


def version_view(resolved: Resolved, version: TemplateVersion) -> VersionOut:
    """One saved state of a template."""
    owner = resolved.row.account_id
    return VersionOut(
        id=str(version.id),
        version=version.version,
        overridden_by=str(owner) if owner else None,
        created_by=version.created_by,
        created_at=version.created_at,
        template={"id": resolved.row.template_id, **version.body},
    )
