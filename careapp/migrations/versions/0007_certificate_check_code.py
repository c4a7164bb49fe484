"""Certificates gain a check code: /verify answers only to the number and its code together.

Every certificate issued before this revision gets a fresh random code. Its earlier prints do
not carry it, so they verify again once reprinted (same number, now with the code; see
docs/operations.md). Also an index for the /verify throttle's count of recent look-ups per
address.

Revision ID: 0007_certificate_check_code
Revises: 0006_session_version
Create Date: 2026-12-07 23:30:00.000000
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_certificate_check_code"
down_revision: str | None = "0006_session_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As careapp.core.check_codes (copied: a migration keeps working when the code moves on).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 10


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def _backfill() -> None:
    connection = op.get_bind()
    certificates = sa.table(
        "certificates", sa.column("id", sa.Integer()), sa.column("check_code", sa.String())
    )
    ids = connection.scalars(
        sa.select(certificates.c.id).where(certificates.c.check_code.is_(None))
    ).all()
    for certificate_id in ids:
        connection.execute(
            sa.update(certificates)
            .where(certificates.c.id == certificate_id)
            .values(check_code=_new_code())
        )


def upgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("check_code", sa.String(length=16), nullable=True))
    _backfill()
    with op.batch_alter_table("certificates") as batch:
        batch.alter_column("check_code", existing_type=sa.String(length=16), nullable=False)
    op.create_index(
        "ix_audit_events_action_address_at", "audit_events", ["action", "address", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_action_address_at", table_name="audit_events")
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("check_code")
