"""delivery pipeline: attempts, rendered log, callbacks, account providers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 05:44:44.125157
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import herald.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "account_providers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_providers_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_providers")),
        sa.UniqueConstraint(
            "account_id", "channel", "provider", name=op.f("uq_account_providers_account_id")
        ),
    )
    with op.batch_alter_table("account_providers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_providers_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "callback_endpoints",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("events", herald.db.JSONType, nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_callback_endpoints_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_callback_endpoints")),
    )
    op.create_table(
        "callback_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("payload", herald.db.JSONType, nullable=False),
        sa.Column("last_response", herald.db.JSONType, nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("due_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("leased_until", herald.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(length=255), nullable=True),
        sa.Column("first_attempt_at", herald.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", herald.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_callback_jobs_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_jobs")),
    )
    with op.batch_alter_table("callback_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_callback_jobs_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index("ix_callback_jobs_status_due_at", ["status", "due_at"], unique=False)

    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=True),
        sa.Column("provider_response", herald.db.JSONType, nullable=True),
        sa.Column("possible_duplicate", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_attempts_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_attempts_delivery_id"), ["delivery_id"], unique=False
        )

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("template_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("template_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rendered", herald.db.JSONType, nullable=True))
        batch_op.add_column(sa.Column("receipt", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("provider_message_id", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("possible_duplicate", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("sent_at", herald.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("purged_at", herald.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("first_attempt_at", herald.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("completed_at", herald.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("completed_at")
        batch_op.drop_column("first_attempt_at")
        batch_op.drop_column("purged_at")
        batch_op.drop_column("sent_at")
        batch_op.drop_column("possible_duplicate")
        batch_op.drop_column("provider_message_id")
        batch_op.drop_column("receipt")
        batch_op.drop_column("rendered")
        batch_op.drop_column("template_version")
        batch_op.drop_column("template_id")
        batch_op.drop_column("provider")

    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_delivery_id"))

    op.drop_table("delivery_attempts")
    with op.batch_alter_table("callback_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_jobs_status_due_at")
        batch_op.drop_index(batch_op.f("ix_callback_jobs_account_id"))

    op.drop_table("callback_jobs")
    op.drop_table("callback_endpoints")
    with op.batch_alter_table("account_providers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_providers_account_id"))

    op.drop_table("account_providers")
