"""Certificates reprint under the same number; a new content or a re-issue supersedes.

Certificates gain the digest of their content and the date, successor and reason of their
supersession; a partial unique index keeps one current certificate per document (an
assessment's conclusion, a decision's notice or benefit certificate). Documents numbered more
than once before this revision keep their latest number; the earlier ones are superseded by it.

Revision ID: 0005_h2
Revises: 0004
Create Date: 2026-11-23 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_h2"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = sa.text("superseded_at IS NULL")


def _supersede_duplicates() -> None:
    """Of the certificates numbered for one document, all but the latest are superseded by it."""
    connection = op.get_bind()
    certificates = sa.table(
        "certificates",
        sa.column("id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("assessment_id", sa.Integer()),
        sa.column("decision_id", sa.Integer()),
        sa.column("issued_at", sa.DateTime(timezone=True)),
        sa.column("superseded_at", sa.DateTime(timezone=True)),
        sa.column("superseded_by_id", sa.Integer()),
    )
    for subject in (certificates.c.assessment_id, certificates.c.decision_id):
        rows = connection.execute(
            sa.select(certificates.c.id, certificates.c.kind, subject, certificates.c.issued_at)
            .where(subject.is_not(None))
            .order_by(certificates.c.kind, subject, certificates.c.id.desc())
        ).all()
        latest: dict[tuple[str, int], tuple[int, object]] = {}
        for row_id, kind, subject_id, issued_at in rows:
            newest = latest.setdefault((kind, subject_id), (row_id, issued_at))
            if newest[0] != row_id:
                connection.execute(
                    sa.update(certificates)
                    .where(certificates.c.id == row_id)
                    .values(superseded_at=newest[1], superseded_by_id=newest[0])
                )


def upgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("content_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column(
                "superseded_by_id",
                sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("supersede_reason", sa.String(length=500), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_certificates_superseded_by_id_certificates"),
            "certificates",
            ["superseded_by_id"],
            ["id"],
        )
    _supersede_duplicates()
    for name, subject in (
        ("uq_certificates_current_assessment", "assessment_id"),
        ("uq_certificates_current_decision", "decision_id"),
    ):
        op.create_index(
            name,
            "certificates",
            ["kind", subject],
            unique=True,
            postgresql_where=CURRENT,
            sqlite_where=CURRENT,
        )


def downgrade() -> None:
    for name in ("uq_certificates_current_decision", "uq_certificates_current_assessment"):
        op.drop_index(
            name, table_name="certificates", postgresql_where=CURRENT, sqlite_where=CURRENT
        )
    with op.batch_alter_table("certificates") as batch:
        batch.drop_constraint(
            batch.f("fk_certificates_superseded_by_id_certificates"), type_="foreignkey"
        )
        batch.drop_column("supersede_reason")
        batch.drop_column("superseded_by_id")
        batch.drop_column("superseded_at")
        batch.drop_column("content_digest")
