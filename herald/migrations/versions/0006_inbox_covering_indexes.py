"""inbox partial indexes name the account and their own WHERE columns (covering counts)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 06:50:00.000000

Every inbox query names ``user_id`` and ``account_id``; with both in the index, and the
columns of the index's own ``WHERE`` too (always NULL there), unread and unseen counts are
read from the partial index alone on SQLite as on PostgreSQL (docs/performance.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

WHERE = {
    "ix_inbox_items_visible": "withdrawn_at IS NULL",
    "ix_inbox_items_unread": "withdrawn_at IS NULL AND read_at IS NULL",
    "ix_inbox_items_unseen": "withdrawn_at IS NULL AND seen_at IS NULL",
}
NEW = {
    "ix_inbox_items_visible": ["user_id", "account_id", "id", "withdrawn_at"],
    "ix_inbox_items_unread": ["user_id", "account_id", "id", "withdrawn_at", "read_at"],
    "ix_inbox_items_unseen": ["user_id", "account_id", "withdrawn_at", "seen_at"],
}
OLD = {
    "ix_inbox_items_visible": ["user_id", "id"],
    "ix_inbox_items_unread": ["user_id", "id"],
    "ix_inbox_items_unseen": ["user_id"],
}


def _replace(columns: dict[str, list[str]]) -> None:
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        for name, names in columns.items():
            where = sa.text(WHERE[name])
            batch_op.drop_index(name)
            batch_op.create_index(
                name, names, unique=False, postgresql_where=where, sqlite_where=where
            )


def upgrade() -> None:
    _replace(NEW)


def downgrade() -> None:
    _replace(OLD)
