"""inbox counters

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:40:00.000000

Each user's unread and unseen numbers kept beside their event sequence (``user_inbox_seq``),
so that reading them costs one row whatever the inbox holds (issue 19). The database keeps
them, in the transaction of every change to ``inbox_items`` (insert, read, seen, withdraw,
delete, cascades and purges included), so no writer can make them drift: row triggers on
SQLite, statement triggers over transition tables on PostgreSQL (one set-based upsert per
statement, so a 100,000-item ``COPY`` costs one statement, not 100,000). Decision 0013.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# 1 when an item counts as unread / unseen, 0 otherwise, for a row alias (NEW, OLD, n, o).
UNREAD = "({r}.withdrawn_at IS NULL AND {r}.read_at IS NULL)"
UNSEEN = "({r}.withdrawn_at IS NULL AND {r}.seen_at IS NULL)"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER inbox_counts_insert AFTER INSERT ON inbox_items
    BEGIN
      INSERT OR IGNORE INTO user_inbox_seq (user_id, seq, unread, unseen)
        VALUES (NEW.user_id, 0, 0, 0);
      UPDATE user_inbox_seq
        SET unread = unread + {UNREAD.format(r="NEW")}, unseen = unseen + {UNSEEN.format(r="NEW")}
        WHERE user_id = NEW.user_id;
    END""",  # noqa: S608
    f"""CREATE TRIGGER inbox_counts_update
    AFTER UPDATE OF read_at, seen_at, withdrawn_at ON inbox_items
    WHEN {UNREAD.format(r="OLD")} IS NOT {UNREAD.format(r="NEW")}
      OR {UNSEEN.format(r="OLD")} IS NOT {UNSEEN.format(r="NEW")}
    BEGIN
      UPDATE user_inbox_seq
        SET unread = unread + {UNREAD.format(r="NEW")} - {UNREAD.format(r="OLD")},
            unseen = unseen + {UNSEEN.format(r="NEW")} - {UNSEEN.format(r="OLD")}
        WHERE user_id = NEW.user_id;
    END""",  # noqa: S608
    f"""CREATE TRIGGER inbox_counts_delete AFTER DELETE ON inbox_items
    WHEN {UNREAD.format(r="OLD")} OR {UNSEEN.format(r="OLD")}
    BEGIN
      UPDATE user_inbox_seq
        SET unread = unread - {UNREAD.format(r="OLD")}, unseen = unseen - {UNSEEN.format(r="OLD")}
        WHERE user_id = OLD.user_id;
    END""",  # noqa: S608
]


def _pg_count(flag: str, row: str) -> str:
    return f"count(*) FILTER (WHERE {flag.format(r=row)})"


def _pg_delta(flag: str) -> str:
    return f"sum({flag.format(r='n')}::int - {flag.format(r='o')}::int)"


# The counter rows are locked in user-id order, as every other writer of user_inbox_seq
# locks them, so that two statements over several users cannot deadlock.
PG_FUNCTIONS = {
    "inbox_counts_inserted": f"""
      INSERT INTO user_inbox_seq (user_id, seq, unread, unseen)
        SELECT n.user_id, 0, {_pg_count(UNREAD, "n")}, {_pg_count(UNSEEN, "n")}
        FROM new_items n GROUP BY n.user_id ORDER BY n.user_id
        ON CONFLICT (user_id) DO UPDATE
          SET unread = user_inbox_seq.unread + excluded.unread,
              unseen = user_inbox_seq.unseen + excluded.unseen;""",  # noqa: S608
    "inbox_counts_updated": f"""
      WITH d AS (
        SELECT n.user_id, {_pg_delta(UNREAD)} AS unread, {_pg_delta(UNSEEN)} AS unseen
        FROM new_items n JOIN old_items o ON o.id = n.id GROUP BY n.user_id
      ), locked AS (
        SELECT s.user_id FROM user_inbox_seq s JOIN d ON d.user_id = s.user_id
        WHERE d.unread <> 0 OR d.unseen <> 0 ORDER BY s.user_id FOR UPDATE OF s
      )
      UPDATE user_inbox_seq s SET unread = s.unread + d.unread, unseen = s.unseen + d.unseen
        FROM d JOIN locked l ON l.user_id = d.user_id WHERE s.user_id = d.user_id;""",  # noqa: S608
    "inbox_counts_deleted": f"""
      WITH d AS (
        SELECT o.user_id, {_pg_count(UNREAD, "o")} AS unread, {_pg_count(UNSEEN, "o")} AS unseen
        FROM old_items o GROUP BY o.user_id
      ), locked AS (
        SELECT s.user_id FROM user_inbox_seq s JOIN d ON d.user_id = s.user_id
        WHERE d.unread <> 0 OR d.unseen <> 0 ORDER BY s.user_id FOR UPDATE OF s
      )
      UPDATE user_inbox_seq s SET unread = s.unread - d.unread, unseen = s.unseen - d.unseen
        FROM d JOIN locked l ON l.user_id = d.user_id WHERE s.user_id = d.user_id;""",  # noqa: S608
}
PG_TRIGGERS = {
    "inbox_counts_insert": ("INSERT", "NEW TABLE AS new_items", "inbox_counts_inserted"),
    "inbox_counts_update": (
        "UPDATE",
        "OLD TABLE AS old_items NEW TABLE AS new_items",
        "inbox_counts_updated",
    ),
    "inbox_counts_delete": ("DELETE", "OLD TABLE AS old_items", "inbox_counts_deleted"),
}

BACKFILL = [
    "INSERT INTO user_inbox_seq (user_id, seq, unread, unseen)"
    " SELECT DISTINCT i.user_id, 0, 0, 0 FROM inbox_items i"
    " WHERE NOT EXISTS (SELECT 1 FROM user_inbox_seq s WHERE s.user_id = i.user_id)",
    "UPDATE user_inbox_seq SET"
    " unread = (SELECT count(*) FROM inbox_items i WHERE i.user_id = user_inbox_seq.user_id"
    " AND i.withdrawn_at IS NULL AND i.read_at IS NULL),"
    " unseen = (SELECT count(*) FROM inbox_items i WHERE i.user_id = user_inbox_seq.user_id"
    " AND i.withdrawn_at IS NULL AND i.seen_at IS NULL)",
]


def upgrade() -> None:
    for name in ("unread", "unseen"):
        op.add_column(
            "user_inbox_seq",
            sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"),
        )
    if op.get_bind().dialect.name == "postgresql":
        # Nothing writes items between the triggers and the backfill: one transaction.
        for function, body in PG_FUNCTIONS.items():
            op.execute(
                f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$"
                f" BEGIN {body} RETURN NULL; END $$"
            )
        for trigger, (event, referencing, function) in PG_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {trigger} AFTER {event} ON inbox_items REFERENCING {referencing}"
                f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            )
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    for statement in BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    for trigger in PG_TRIGGERS:
        op.execute(
            f"DROP TRIGGER IF EXISTS {trigger}"
            + (" ON inbox_items" if op.get_bind().dialect.name == "postgresql" else "")
        )
    if op.get_bind().dialect.name == "postgresql":
        for function in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    with op.batch_alter_table("user_inbox_seq") as batch:
        batch.drop_column("unseen")
        batch.drop_column("unread")
