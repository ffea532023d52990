"""what a notification is about, who sent it, a provider per notification, actions on it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:40:00.000000

- ``notifications.about_id`` / ``about_type``: the business entity a notification is about
  (seed 003's ``targetId`` / ``targetType``: a missed payment, an estimate), filterable;
  ``notifications.sent_by``: the person who sent it (seed 003's ``user``).
- ``deliveries.own_provider``: the provider one notification chose for itself (a GOV.UK
  Notify key given with the request), sealed like an account's provider settings.
- ``accounts.default_region``: the region national phone numbers are read in (``GB``).
- ``notification_actions``: actions taken on a notification as a whole (by a server, not by
  one recipient in their inbox), append-only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import herald.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("about_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("about_type", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("sent_by", sa.String(length=320), nullable=True))
        batch_op.create_index("ix_notifications_account_about", ["account_id", "about_id"])
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("own_provider", sa.Text(), nullable=True))
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("default_region", sa.String(length=2), nullable=True))
    op.create_table(
        "notification_actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("action_type", sa.String(length=16), nullable=False),
        sa.Column("action_note", sa.Text(), nullable=True),
        sa.Column("performed_by", sa.String(length=300), nullable=False),
        sa.Column("performed_at", herald.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_notification_actions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_actions_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_actions")),
    )
    with op.batch_alter_table("notification_actions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_actions_notification_id_id", ["notification_id", "id"]
        )


def downgrade() -> None:
    op.drop_table("notification_actions")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("default_region")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("own_provider")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_account_about")
        batch_op.drop_column("sent_by")
        batch_op.drop_column("about_type")
        batch_op.drop_column("about_id")
