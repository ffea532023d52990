"""delivery rules: preferences, skipped deliveries' reason and category, type rules

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03 13:40:00.000000

Recipients' and accounts' preferences (docs/rules.md); each delivery keeps its category (for
frequency caps) and, when a rule ruled it out, the reason; an account's own types carry their
rules (``mandatory``, ``frequency_cap``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import herald.db

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "preferences",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("document", herald.db.JSONType, nullable=False),
        sa.Column("updated_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_preferences_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_preferences_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("account_id", "subject", name=op.f("pk_preferences")),
    )
    with op.batch_alter_table("preferences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_preferences_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("mandatory", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("digest_key", sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column("digest_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("escalation", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_deliveries_digest_id"), ["digest_id"], unique=False)
        batch_op.create_index(
            "ix_deliveries_user_category_created",
            ["user_id", "category", "created_at"],
            unique=False,
        )
    with op.batch_alter_table("notification_types", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rules", herald.db.JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification_types", schema=None) as batch_op:
        batch_op.drop_column("rules")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_user_category_created")
        batch_op.drop_index(batch_op.f("ix_deliveries_digest_id"))
        batch_op.drop_column("escalation")
        batch_op.drop_column("digest_id")
        batch_op.drop_column("digest_key")
        batch_op.drop_column("mandatory")
        batch_op.drop_column("reason")
        batch_op.drop_column("category")
    op.drop_table("preferences")
