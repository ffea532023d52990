"""seed 002 (Kazoo notifications): a delivery's template owner, a notification's own template
parts, system defaults an operator customised

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 09:00:00.000000

- ``deliveries.template_account_id``: whose template was rendered (the SMTP log's
  ``template_account_id``); NULL for a system default.
- ``notifications.template_parts``: parts a broadcast brings inline, laid over its template.
- ``templates.customised_by``: set when an operator changed a system default through the API;
  ``herald migrate`` then leaves that default alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import herald.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_account_id", sa.Uuid(), nullable=True))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_parts", herald.db.JSONType, nullable=True))
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customised_by", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_column("customised_by")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("template_parts")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("template_account_id")
