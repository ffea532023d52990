"""The macro catalogue of a template: every variable it may use, named and described.

Mostly derived: from the payload schema of the type the template serves (``payload.*``),
the recipient's fields (``user.*``), the account (``account.*``), and the personalisation
fields the template's own parts read. A system default may also declare macros of its own
(``macros`` in its ``template.json``, never settable through the API, as seed 002 says);
declared entries win. A macro whose description says it is "not always present" is
optional: when its value is missing it renders empty instead of failing the render.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.events.builtin import BUILTIN
from herald.events.models import NotificationType
from herald.templates.variables import variables_of

Macros = dict[str, dict[str, str]]
TypeKey = tuple[str, str]
RESERVED_ROOTS = frozenset({"payload", "user", "account"})
MAX_SCHEMA_DEPTH = 4
CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

USER_MACROS = {
    "user.first_name": "The recipient's first name, when known",
    "user.last_name": "The recipient's last name, when known",
    "user.name": "The recipient's full name, when known",
    "user.email": "The recipient's email address, when known",
    "user.phone": "The recipient's phone number (E.164), when known",
}
ACCOUNT_MACROS = {
    "account.id": "The id of the sending account",
    "account.name": "The name of the sending account",
}
MESSAGE_MACRO = {"message": "The notification's message text"}
NOT_ALWAYS_PRESENT = "not always present"


def macro(name: str, description: str) -> dict[str, str]:
    """One catalogue entry: ``payload.callerId`` is friendly ``Caller ID``, label ``caller_id``."""
    words = CAMEL_BOUNDARY.sub(" ", name.rsplit(".", 1)[-1]).replace("_", " ").split()
    friendly = " ".join(w if w.isupper() else w.capitalize() for w in words)
    friendly = re.sub(r"\bId\b", "ID", friendly)
    label = "_".join(w.lower() for w in words)
    return {"description": description, "friendly_name": friendly or name, "i18n_label": label}


def payload_macros(schema: Mapping[str, Any] | None, prefix: str = "payload") -> Macros:
    """``payload.*`` entries for the properties of a JSON Schema, nested objects included."""
    found: Macros = {}
    stack = [(prefix, schema or {}, 0)]
    while stack:
        path, node, depth = stack.pop()
        for name, sub in (node.get("properties") or {}).items():
            if not isinstance(sub, Mapping):
                continue
            full = f"{path}.{name}"
            text = sub.get("description") or sub.get("title") or f"The event's {name}"
            found[full] = macro(full, str(text))
            if sub.get("properties") and depth < MAX_SCHEMA_DEPTH:
                stack.append((full, sub, depth + 1))
    return dict(sorted(found.items()))


def declared_macros(body: Mapping[str, Any]) -> Macros:
    """The macros a template body declares itself (a system default's ``macros``)."""
    declared = body.get("macros") or {}
    return {str(name): dict(entry) for name, entry in declared.items()}


def optional_fields(macros: Mapping[str, Mapping[str, str]]) -> frozenset[str]:
    """The dotted names of macros described as "not always present"."""
    return frozenset(
        name
        for name, entry in macros.items()
        if NOT_ALWAYS_PRESENT in str(entry.get("description", "")).lower()
    )


def template_macros(
    sources: Iterable[str],
    *,
    schema: Mapping[str, Any] | None,
    has_message: bool,
    declared: Macros | None = None,
) -> Macros:
    """The whole catalogue of a template whose parts are ``sources``; ``declared`` entries
    (the template's own) win over derived ones."""
    catalogue: Macros = payload_macros(schema)
    fixed = {**USER_MACROS, **ACCOUNT_MACROS, **(MESSAGE_MACRO if has_message else {})}
    catalogue.update((name, macro(name, text)) for name, text in fixed.items())
    used = sorted({name for source in sources for name in variables_of(source)})
    for name in used:
        if name not in catalogue:
            kind = "An event" if name.split(".")[0] in RESERVED_ROOTS else "A personalisation"
            catalogue[name] = macro(name, f"{kind} field this template uses")
    catalogue.update(declared or {})
    return dict(sorted(catalogue.items()))


def part_sources(channels: Mapping[str, Any]) -> list[str]:
    """The template source of every part (addresses and SMS sender are not templates)."""
    return [
        value
        for parts in channels.values()
        for name, value in parts.items()
        if isinstance(value, str) and name != "sender"
    ]


class TypeCatalogue:
    """The payload schemas of the types an account can send: built in, and registered by it
    or its ancestors (the nearest registration wins)."""

    def __init__(self, schemas: dict[TypeKey, tuple[dict[str, Any], bool]]) -> None:
        self._schemas = schemas

    def schema(self, type_: str | None, sub_type: str | None) -> dict[str, Any] | None:
        """The payload schema of a type, or None for an unknown one (or none named)."""
        found = self._schemas.get((type_ or "", sub_type or ""))
        return found[0] if found else None

    def has_message(self, type_: str | None, sub_type: str | None) -> bool:
        """Whether the type carries its text in the envelope's ``message``."""
        found = self._schemas.get((type_ or "", sub_type or ""))
        return bool(found and found[1])


async def type_catalogue(session: AsyncSession, *, account: Account) -> TypeCatalogue:
    """Load the catalogue of types ``account`` can send, in one query."""
    schemas = {key: (t.schema, t.needs_message) for key, t in BUILTIN.items()}
    owners: list[uuid.UUID] = [*account.ancestor_ids, account.id]
    rank = {owner: i for i, owner in enumerate(owners)}
    rows = await session.scalars(
        select(NotificationType).where(NotificationType.account_id.in_(owners))
    )
    for row in sorted(rows, key=lambda r: rank[r.account_id]):
        schemas[(row.type, row.sub_type)] = (row.payload_schema, False)
    return TypeCatalogue(schemas)
