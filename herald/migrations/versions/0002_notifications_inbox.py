"""notifications and inbox: types, notifications, idempotency keys, deliveries, inbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:32:45.729831
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import herald.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("locked_until", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_idempotency_keys_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "notification_types",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("sub_type", sa.String(length=255), nullable=False),
        sa.Column("payload_schema", herald.db.JSONType, nullable=False),
        sa.Column("realtime", sa.Boolean(), nullable=False),
        sa.Column("channels", herald.db.JSONType, nullable=False),
        sa.Column("macros", herald.db.JSONType, nullable=False),
        sa.Column("created_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_notification_types_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_types")),
        sa.UniqueConstraint("account_id", "type", "sub_type", name="uq_notification_types_name"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=True),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("sub_type", sa.String(length=255), nullable=False),
        sa.Column("products", herald.db.JSONType, nullable=False),
        sa.Column("targets", herald.db.JSONType, nullable=False),
        sa.Column("channels", herald.db.JSONType, nullable=False),
        sa.Column("payload", herald.db.JSONType, nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("correlation_id", sa.String(length=255), nullable=True),
        sa.Column("require_action", sa.Boolean(), nullable=False),
        sa.Column("actions", herald.db.JSONType, nullable=False),
        sa.Column("template", sa.String(length=255), nullable=True),
        sa.Column("personalisation", herald.db.JSONType, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", herald.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_notifications_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_account_correlation", ["account_id", "correlation_id"], unique=False
        )
        batch_op.create_index("ix_notifications_account_id_id", ["account_id", "id"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("recipient", herald.db.JSONType, nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("due_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("leased_until", herald.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(length=255), nullable=True),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("created_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_deliveries_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_deliveries_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_deliveries_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deliveries_notification_id"), ["notification_id"], unique=False
        )
        batch_op.create_index("ix_deliveries_status_due_at", ["status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_user_id"), ["user_id"], unique=False)

    op.create_table(
        "inbox_events",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=True),
        sa.Column("payload", herald.db.JSONType, nullable=False),
        sa.Column("created_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_inbox_events_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "seq", name=op.f("pk_inbox_events")),
    )
    with op.batch_alter_table("inbox_events", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_events_created_at", ["created_at"], unique=False)

    op.create_table(
        "inbox_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("sub_type", sa.String(length=255), nullable=False),
        sa.Column("correlation_id", sa.String(length=255), nullable=True),
        sa.Column("data", herald.db.JSONType, nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("message_formatted", sa.Text(), nullable=True),
        sa.Column("actions", herald.db.JSONType, nullable=False),
        sa.Column("require_action", sa.Boolean(), nullable=False),
        sa.Column("action_status", sa.String(length=16), nullable=True),
        sa.Column("read_at", herald.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("seen_at", herald.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", herald.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_inbox_items_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_inbox_items_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_inbox_items_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_items")),
    )
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbox_items_notification_id"), ["notification_id"], unique=False
        )
        batch_op.create_index(
            "ix_inbox_items_unread",
            ["user_id", "id"],
            unique=False,
            postgresql_where=sa.text("withdrawn_at IS NULL AND read_at IS NULL"),
            sqlite_where=sa.text("withdrawn_at IS NULL AND read_at IS NULL"),
        )
        batch_op.create_index(
            "ix_inbox_items_unseen",
            ["user_id"],
            unique=False,
            postgresql_where=sa.text("withdrawn_at IS NULL AND seen_at IS NULL"),
            sqlite_where=sa.text("withdrawn_at IS NULL AND seen_at IS NULL"),
        )
        batch_op.create_index(
            "ix_inbox_items_visible",
            ["user_id", "id"],
            unique=False,
            postgresql_where=sa.text("withdrawn_at IS NULL"),
            sqlite_where=sa.text("withdrawn_at IS NULL"),
        )
        batch_op.create_index(
            "uq_inbox_items_chain", ["account_id", "correlation_id", "user_id"], unique=True
        )

    op.create_table(
        "user_inbox_seq",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_inbox_seq_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_inbox_seq")),
    )
    op.create_table(
        "inbox_audit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("action_type", sa.String(length=16), nullable=False),
        sa.Column("action_note", sa.Text(), nullable=True),
        sa.Column("performed_by", sa.String(length=300), nullable=False),
        sa.Column("performed_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_inbox_audit_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["inbox_items.id"],
            name=op.f("fk_inbox_audit_item_id_inbox_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_audit")),
    )
    with op.batch_alter_table("inbox_audit", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_audit_item_id_id", ["item_id", "id"], unique=False)

    op.create_table(
        "inbox_item_history",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("sub_type", sa.String(length=255), nullable=False),
        sa.Column("created_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["inbox_items.id"],
            name=op.f("fk_inbox_item_history_item_id_inbox_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_inbox_item_history_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "notification_id", name=op.f("pk_inbox_item_history")),
    )
    with op.batch_alter_table("inbox_item_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbox_item_history_notification_id"), ["notification_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inbox_item_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_item_history_notification_id"))

    op.drop_table("inbox_item_history")
    with op.batch_alter_table("inbox_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_audit_item_id_id")

    op.drop_table("inbox_audit")
    op.drop_table("user_inbox_seq")
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.drop_index("uq_inbox_items_chain")
        batch_op.drop_index(
            "ix_inbox_items_visible",
            postgresql_where=sa.text("withdrawn_at IS NULL"),
            sqlite_where=sa.text("withdrawn_at IS NULL"),
        )
        batch_op.drop_index(
            "ix_inbox_items_unseen",
            postgresql_where=sa.text("withdrawn_at IS NULL AND seen_at IS NULL"),
            sqlite_where=sa.text("withdrawn_at IS NULL AND seen_at IS NULL"),
        )
        batch_op.drop_index(
            "ix_inbox_items_unread",
            postgresql_where=sa.text("withdrawn_at IS NULL AND read_at IS NULL"),
            sqlite_where=sa.text("withdrawn_at IS NULL AND read_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_inbox_items_notification_id"))

    op.drop_table("inbox_items")
    with op.batch_alter_table("inbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_events_created_at")

    op.drop_table("inbox_events")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_user_id"))
        batch_op.drop_index("ix_deliveries_status_due_at")
        batch_op.drop_index(batch_op.f("ix_deliveries_notification_id"))
        batch_op.drop_index(batch_op.f("ix_deliveries_account_id"))

    op.drop_table("deliveries")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_account_id_id")
        batch_op.drop_index("ix_notifications_account_correlation")

    op.drop_table("notifications")
    op.drop_table("notification_types")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_expires_at"))

    op.drop_table("idempotency_keys")
