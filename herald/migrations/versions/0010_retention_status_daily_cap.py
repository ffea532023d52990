"""retention of notifications, notification status from deliveries, daily cap in the database

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 09:00:00.000000

- ``notifications.purged_at`` (retention has emptied it) with a partial index of the ones not
  purged yet, by creation time, so each retention pass finds its next batch at once;
  ``notifications.cancelled_at`` (``DELETE /v1/notifications/{id}``).
- ``deliveries.template_row_id``: the template row whose version was checked at accept, so the
  worker renders that version; ``ix_deliveries_notification_id`` becomes
  ``(notification_id, status)``: a notification's status is a handful of probes of it.
- ``daily_usage``: messages counted per account per UTC day, checked and counted by one
  statement (``herald/throttling/daily.py``).
- ``notifications.status`` holds 32 characters (``partially-delivered``). Existing
  notifications get the status their deliveries give them (``status`` never left
  ``queued`` before).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import herald.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UNPURGED = sa.text("purged_at IS NULL")


# The rules of herald/notifications/progress.py, as they stood when this ran: queued until a
# delivery starts, sending while any runs, then delivered / partially-delivered / failed /
# cancelled from which statuses its deliveries ended in (inbox items count as delivered,
# or as cancelled once the notification was cancelled).
BACKFILL = """
WITH s AS (
  SELECT n.id,
    EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id
            AND d.status IN ('created', 'sending')) AS active,
    EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id
            AND d.status <> 'created') AS started,
    EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id) AS deliveries,
    EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id
            AND d.status = 'delivered') AS delivered,
    EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id
            AND d.status IN ('temporary-failure', 'permanent-failure', 'technical-failure'))
      AS failed,
    EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id
            AND d.status = 'cancelled') AS withdrawn,
    EXISTS (SELECT 1 FROM inbox_item_history h WHERE h.notification_id = n.id) AS items,
    n.cancelled_at IS NOT NULL AS cancelled
  FROM notifications n
)
UPDATE notifications SET status = (
  SELECT CASE
    WHEN s.active AND s.started THEN 'sending'
    WHEN s.active THEN 'queued'
    WHEN NOT s.deliveries AND NOT s.items THEN
      CASE WHEN s.cancelled THEN 'cancelled' ELSE 'delivered' END
    WHEN NOT s.failed AND NOT s.withdrawn AND NOT (s.items AND s.cancelled) THEN 'delivered'
    WHEN s.delivered OR (s.items AND NOT s.cancelled) THEN 'partially-delivered'
    WHEN s.failed THEN 'failed'
    ELSE 'cancelled'
  END
  FROM s WHERE s.id = notifications.id
)
"""


def _status_length(length: int) -> None:
    # ``partially-delivered`` is 19 characters. SQLite does not enforce a VARCHAR's length, and
    # altering a column there copies the whole table: only PostgreSQL needs it.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("notifications", "status", type_=sa.String(length=length))


def upgrade() -> None:
    _status_length(32)
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purged_at", herald.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("cancelled_at", herald.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_notifications_unpurged_created_at",
            ["created_at"],
            unique=False,
            postgresql_where=UNPURGED,
            sqlite_where=UNPURGED,
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_row_id", sa.Uuid(), nullable=True))
        batch_op.drop_index("ix_deliveries_notification_id")
        batch_op.create_index(
            "ix_deliveries_notification_status", ["notification_id", "status"], unique=False
        )
    op.create_table(
        "daily_usage",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_daily_usage_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "day", name=op.f("pk_daily_usage")),
    )
    op.execute("UPDATE notifications SET cancelled_at = updated_at WHERE status = 'cancelled'")
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("daily_usage")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_notification_status")
        batch_op.create_index("ix_deliveries_notification_id", ["notification_id"], unique=False)
        batch_op.drop_column("template_row_id")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_unpurged_created_at")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("purged_at")
    # Before this revision a notification was only ever queued or cancelled.
    op.execute("UPDATE notifications SET status = 'queued' WHERE status <> 'cancelled'")
    _status_length(16)
