"""Tables of templates: one row per owner and template id, and its immutable versions.

The owner is an account, or nobody for the system defaults shipped with Herald. A row's
``body`` is its current content (also kept as the row's latest version); a deleted
override keeps its row and versions (``deleted_at``), so a delivery can still show the
version it used and a later override goes on counting from there.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from herald.accounts import models as _accounts  # noqa: F401  # the foreign key's table
from herald.db import Base, new_id, utcnow

SYSTEM_ONLY = text("account_id IS NULL")


class Template(Base):
    """A template of one owner: an account's own or override, or a system default."""

    __tablename__ = "templates"
    __table_args__ = (
        UniqueConstraint("account_id", "template_id", name="uq_templates_account_template"),
        # NULLs never collide in a unique constraint, so system rows need their own index.
        Index(
            "uq_templates_system_template",
            "template_id",
            unique=True,
            sqlite_where=SYSTEM_ONLY,
            postgresql_where=SYSTEM_ONLY,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE")
    )
    template_id: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(default=1)
    body: Mapped[dict[str, Any]]
    deleted_at: Mapped[datetime | None]
    customised_by: Mapped[str | None] = mapped_column(String(255))
    """Who last changed this system default through the API (None: as shipped). The shipped
    files no longer manage a customised default: ``herald migrate`` leaves it as it is."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TemplateVersion(Base):
    """One saved state of a template; never changed once written."""

    __tablename__ = "template_versions"
    __table_args__ = (
        UniqueConstraint("template_row_id", "version", name="uq_template_versions_version"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    template_row_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("templates.id", ondelete="CASCADE")
    )
    version: Mapped[int]
    body: Mapped[dict[str, Any]]
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
