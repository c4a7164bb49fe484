"""User management: a password that must be changed at the next login, and login failures an
administrator has cleared (unlocked) without erasing them.

Revision ID: 0010_user_management
Revises: 0009_mask_rule
Create Date: 2026-12-07 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_user_management"
down_revision: str | None = "0009_mask_rule"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    with op.batch_alter_table("login_attempts") as batch:
        batch.add_column(sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_attempts") as batch:
        batch.drop_column("cleared_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
