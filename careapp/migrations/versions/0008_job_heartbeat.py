"""Print batches record who runs them and a heartbeat: an abandoned batch is seen at once.

Revision ID: 0008_job_heartbeat
Revises: 0007_certificate_check_code
Create Date: 2026-12-07 23:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_job_heartbeat"
down_revision: str | None = "0007_certificate_check_code"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("print_batches") as batch:
        batch.add_column(
            sa.Column("attempt", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("runner_host", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("runner_pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    # Batches left "queued" or "running" by a crash before this revision: all but the newest of
    # each week are failed, so that one batch in progress per week can be an index.
    op.execute(
        sa.text(
            "UPDATE print_batches SET status = 'failed', "
            "error = 'Abandoned (found in progress at the upgrade).' "
            "WHERE status IN ('queued', 'running') AND id NOT IN ("
            "SELECT max(id) FROM print_batches WHERE status IN ('queued', 'running') "
            "GROUP BY week_starts_on)"
        )
    )
    op.create_index(
        "uq_print_batches_one_in_progress_per_week",
        "print_batches",
        ["week_starts_on"],
        unique=True,
        sqlite_where=sa.text("status IN ('queued', 'running')"),
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_print_batches_one_in_progress_per_week",
        table_name="print_batches",
        sqlite_where=sa.text("status IN ('queued', 'running')"),
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    with op.batch_alter_table("print_batches") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("runner_pid")
        batch.drop_column("runner_host")
        batch.drop_column("attempt")
