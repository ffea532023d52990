"""drop the inbox's unseen index

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 23:00:00.000000

``ix_inbox_items_unseen`` served the unseen count (migration 0006); since 0014 that number
is one row of ``user_inbox_seq``, and no query reads the index any more (``EXPLAIN QUERY
PLAN`` of marking read, read-all and seen, and of every list, on SQLite and PostgreSQL). It
was still written for every new item: a B-tree insert per row on the accept path (issue 19).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UNSEEN = "withdrawn_at IS NULL AND seen_at IS NULL"


def upgrade() -> None:
    op.drop_index("ix_inbox_items_unseen", table_name="inbox_items")


def downgrade() -> None:
    where = sa.text(UNSEEN)
    op.create_index(
        "ix_inbox_items_unseen",
        "inbox_items",
        ["user_id", "account_id", "withdrawn_at", "seen_at"],
        postgresql_where=where,
        sqlite_where=where,
    )
