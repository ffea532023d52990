"""GOV.UK Notify-compatible API: Notify-format keys, references and sending options, reply-to
addresses

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00.000000

A Notify-format key keeps its JWT secret sealed (the server verifies signatures with it);
a notification keeps the sender's ``reference`` (indexed with the account, to find it by)
and its sending options; reply-to addresses are referred to by id.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import herald.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notify_type", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("secret", sa.Text(), nullable=True))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=1000), nullable=True))
        batch_op.add_column(
            sa.Column("options", herald.db.JSONType, nullable=False, server_default="{}")
        )
        batch_op.create_index(
            "ix_notifications_account_reference", ["account_id", "reference"], unique=False
        )
    op.create_table(
        "email_reply_to",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("email_address", sa.String(length=320), nullable=False),
        sa.Column("created_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_email_reply_to_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_reply_to")),
    )
    with op.batch_alter_table("email_reply_to", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_email_reply_to_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("email_reply_to", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_reply_to_account_id"))
    op.drop_table("email_reply_to")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_account_reference")
        batch_op.drop_column("options")
        batch_op.drop_column("reference")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("secret")
        batch_op.drop_column("notify_type")
