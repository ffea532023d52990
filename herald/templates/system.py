"""System default templates: shipped as files in ``defaults/``, synced into the database.

One folder per template id: ``template.json`` (everything but the long bodies), and
optionally ``email.html``, ``email.txt`` and ``letter.html``. ``herald migrate`` syncs
them: a new file makes a template, a changed one a new version, a removed one is
withdrawn (its versions stay, for deliveries that used them). A default an operator
changed through the API (``herald.templates.system_edits``) is theirs from then on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.db import utcnow
from herald.templates.inheritance import merge_template
from herald.templates.models import Template
from herald.templates.schemas import Macro, TemplateIn
from herald.templates.service import finished, record_version

DEFAULTS = Path(__file__).parent / "defaults"
MACROS = TypeAdapter(dict[str, Macro])
SYSTEM_ACTOR = "system"
# Bodies too long to read comfortably inside JSON live in files of their own.
BODY_FILES = {"email.html": ("email", "html"), "email.txt": ("email", "text"),
              "letter.html": ("letter", "html")}  # fmt: skip


def load_default(folder: Path) -> dict[str, Any]:
    """The body of one shipped template, checked as a tenant's would be; its declared
    ``macros`` (which no API may set) are kept beside the rest."""
    body: dict[str, Any] = json.loads((folder / "template.json").read_text("utf-8"))
    macros = MACROS.validate_python(body.pop("macros", {}))
    channels = body.setdefault("channels", {})
    for filename, (channel, part) in BODY_FILES.items():
        path = folder / filename
        if path.exists():
            channels.setdefault(channel, {})[part] = path.read_text("utf-8")
    content = finished(merge_template({}, TemplateIn.model_validate(body).given()))
    if macros:
        content["macros"] = {name: entry.model_dump() for name, entry in macros.items()}
    return content


def load_defaults(root: Path = DEFAULTS) -> dict[str, dict[str, Any]]:
    """Every shipped template by id."""
    return {
        folder.name: load_default(folder)
        for folder in sorted(root.iterdir())
        if (folder / "template.json").is_file()
    }


async def sync_system_templates(
    session: AsyncSession, *, defaults: Mapping[str, dict[str, Any]] | None = None
) -> None:
    """Make the system rows match the shipped files; a no-op when nothing changed.

    Does nothing before the templates table exists (a migration to an older revision).
    """
    if not await session.run_sync(lambda s: inspect(s.connection()).has_table("templates")):
        return
    wanted = load_defaults() if defaults is None else defaults
    rows = await session.scalars(select(Template).where(Template.account_id.is_(None)))
    existing = {row.template_id: row for row in rows}
    for template_id, body in wanted.items():
        row = existing.get(template_id)
        if row is None:
            row = Template(account_id=None, template_id=template_id, version=0, body={})
            session.add(row)
        elif row.customised_by is not None:
            continue  # an operator's change wins over the shipped file
        if row.body != body or row.deleted_at is not None:
            await record_version(session, row=row, body=body, actor=SYSTEM_ACTOR)
    for template_id, row in existing.items():
        if template_id not in wanted and row.deleted_at is None and row.customised_by is None:
            row.deleted_at = utcnow()
    await session.flush()
