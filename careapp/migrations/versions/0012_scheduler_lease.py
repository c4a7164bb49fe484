"""The scheduler's lease: one row per lease name, held by one scheduler process at a time.

Revision ID: 0012_scheduler_lease
Revises: 0011_totp
Create Date: 2026-12-08 00:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_scheduler_lease"
down_revision: str | None = "0011_totp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder_host", sa.String(length=255), nullable=True),
        sa.Column("holder_pid", sa.Integer(), nullable=True),
        sa.Column("holder_instance", sa.String(length=32), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(holder_host IS NULL AND holder_pid IS NULL AND holder_instance IS NULL) OR "
            "(holder_host IS NOT NULL AND holder_pid IS NOT NULL AND holder_instance IS NOT NULL "
            "AND acquired_at IS NOT NULL AND heartbeat_at IS NOT NULL AND expires_at IS NOT NULL)",
            name=op.f("ck_scheduler_leases_holder_complete"),
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_leases")),
    )


def downgrade() -> None:
    op.drop_table("scheduler_leases")
