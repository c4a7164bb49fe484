"""Masked ID numbers hide the sequence digits too: 320602********1233 becomes 320602***********3.

The mask used to show the region and the last four characters (three sequence digits and the
check character), hiding only the birth date; with a birth date printed beside it, the full
number could be rebuilt. Every stored mask (people, caregivers, settlement lines) is rewritten to
the region and the check character only. The new mask is derived from the old one (its first 6
and its last character), so no data key is needed; values already in the new form, or not
18 characters long, are left alone.

One-way: the hidden sequence digits are not in the new mask, and a migration has no data key to
decrypt them again. The downgrade leaves the new masks in place (the earlier code shows them as
they are), as earlier data migrations of this project leave their data.

Revision ID: 0009_mask_rule
Revises: 0008_job_heartbeat
Create Date: 2026-12-07 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_mask_rule"
down_revision: str | None = "0008_job_heartbeat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("people", "caregivers", "settlement_lines")
OLD_MIDDLE = "*" * 8  # characters 7 to 14: the birth date
NEW_MIDDLE = "*" * 11  # characters 7 to 17: the birth date and the sequence


def upgrade() -> None:
    for name in TABLES:
        table = sa.table(name, sa.column("id_number_masked", sa.String()))
        masked = table.c.id_number_masked
        op.execute(
            sa.update(table)
            .where(
                sa.func.length(masked) == 18,
                sa.func.substr(masked, 7, 8) == OLD_MIDDLE,
                sa.func.substr(masked, 15, 3) != "***",
            )
            .values(
                id_number_masked=sa.func.substr(masked, 1, 6, type_=sa.String())
                + NEW_MIDDLE
                + sa.func.substr(masked, 18, 1)
            )
        )


def downgrade() -> None:
    """One-way: the sequence digits cannot be brought back without the data key."""
