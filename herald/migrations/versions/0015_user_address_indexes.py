"""user address indexes

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 19:40:00.000000

The delivery rules find whose a raw address is (a GOV.UK Notify send to an email address, an
SMS to a number: ``herald.rules.owners``) on every such accept; without these indexes that
read every user of the account.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_users_account_email_lower", "users", ["account_id", sa.text("lower(email)")]
    )
    op.create_index("ix_users_account_phone", "users", ["account_id", "phone"])


def downgrade() -> None:
    op.drop_index("ix_users_account_phone", table_name="users")
    op.drop_index("ix_users_account_email_lower", table_name="users")
