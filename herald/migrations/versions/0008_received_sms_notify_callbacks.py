"""received SMS per account; callback endpoints in GOV.UK Notify's format

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 17:00:00.000000

``received_messages`` keeps the text messages people send to an account's numbers (HTTP
providers' inbound webhooks, SMPP ``deliver_sm``); ``callback_endpoints.format`` says how
status callbacks are posted: ``standard`` (Standard Webhooks) or ``notify`` (bearer token,
Notify's delivery receipt).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import herald.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "received_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("provider_message_id", sa.String(length=255), nullable=True),
        sa.Column("from_number", sa.String(length=32), nullable=False),
        sa.Column("to_number", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_received_messages_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_messages")),
        sa.UniqueConstraint(
            "account_id",
            "provider",
            "provider_message_id",
            name=op.f("uq_received_messages_account_id"),
        ),
    )
    with op.batch_alter_table("received_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_received_messages_account_id_id", ["account_id", "id"], unique=False
        )
    with op.batch_alter_table("callback_endpoints", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("format", sa.String(length=16), server_default="standard", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("callback_endpoints", schema=None) as batch_op:
        batch_op.drop_column("format")
    with op.batch_alter_table("received_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_received_messages_account_id_id")
    op.drop_table("received_messages")
