"""Assessment procedure, drafts and confirmations, grading rules as policy data.

Adds review, publicity and objections, appeal and re-assessment rounds, assessor ties,
re-assessment reminders, device-synced drafts and confirmations; policy versions carry the
instrument in force, its grading rules and the grade-to-category mapping (frozen defaults below).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:01:38.724666
"""

import copy
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_GRADING_RULES = {
    "barthel": {
        "kind": "bands",
        "source": "Mahoney & Barthel 1965; bands of the common Chinese form 日常生活能力评定量表: "
        "≤40 severe, 41–60 moderate, 61–99 mild, 100 independent.",
        "bands": [
            {
                "grade": "severe",
                "label_zh": "重度依赖",
                "label_en": "Severe dependency",
                "min": 0,
                "max": 40,
            },
            {
                "grade": "moderate",
                "label_zh": "中度依赖",
                "label_en": "Moderate dependency",
                "min": 41,
                "max": 60,
            },
            {
                "grade": "mild",
                "label_zh": "轻度依赖",
                "label_en": "Mild dependency",
                "min": 61,
                "max": 99,
            },
            {
                "grade": "independent",
                "label_zh": "无需依赖",
                "label_en": "Independent",
                "min": 100,
                "max": 100,
            },
        ],
    },
    "national_2021": {
        "kind": "combination",
        "source": "《长期护理失能等级评估标准（试行）》医保办发〔2021〕37号 (2021-08-03). "
        "Default level "
        "bands and combination table as published in implementations; "
        "the C2/C3 bands and the table cells were not checked against "
        "the official annex: correct them in a policy version if they "
        "differ.",
        "levels": [
            {"code": "intact", "label_zh": "能力完好", "label_en": "Intact"},
            {"code": "mild", "label_zh": "轻度受损", "label_en": "Mildly impaired"},
            {"code": "moderate", "label_zh": "中度受损", "label_en": "Moderately impaired"},
            {"code": "severe", "label_zh": "重度受损", "label_en": "Severely impaired"},
        ],
        "grades": [
            {"code": "0", "label_zh": "基本正常", "label_en": "Basically normal"},
            {"code": "1", "label_zh": "轻度失能", "label_en": "Mild disability"},
            {"code": "2", "label_zh": "中度失能", "label_en": "Moderate disability"},
            {"code": "3", "label_zh": "重度失能Ⅰ级", "label_en": "Severe disability I"},
            {"code": "4", "label_zh": "重度失能Ⅱ级", "label_en": "Severe disability II"},
            {"code": "5", "label_zh": "重度失能Ⅲ级", "label_en": "Severe disability III"},
        ],
        "indicator_bands": [
            {
                "indicator": "adl",
                "bands": [
                    {"level": "severe", "min": 0, "max": 40},
                    {"level": "moderate", "min": 41, "max": 60},
                    {"level": "mild", "min": 61, "max": 99},
                    {"level": "intact", "min": 100, "max": 100},
                ],
            },
            {
                "indicator": "cognition",
                "bands": [
                    {"level": "severe", "min": 0, "max": 3},
                    {"level": "moderate", "min": 4, "max": 11},
                    {"level": "mild", "min": 12, "max": 15},
                    {"level": "intact", "min": 16, "max": 16},
                ],
            },
            {
                "indicator": "sensory",
                "bands": [
                    {"level": "severe", "min": 0, "max": 3},
                    {"level": "moderate", "min": 4, "max": 7},
                    {"level": "mild", "min": 8, "max": 11},
                    {"level": "intact", "min": 12, "max": 12},
                ],
            },
        ],
        "row_indicator": "adl",
        "column_indicators": ["cognition", "sensory"],
        "table": [
            ["0", "0", "1", "1"],
            ["1", "1", "1", "2"],
            ["2", "2", "2", "3"],
            ["3", "3", "4", "5"],
        ],
    },
}
DEFAULT_GRADE_CATEGORIES = {
    "barthel": {"independent": None, "mild": None, "moderate": "moderate", "severe": "severe"},
    "national_2021": {
        "0": None,
        "1": None,
        "2": "moderate",
        "3": "severe",
        "4": "severe",
        "5": "severe",
    },
}

BIGINT = sa.Integer().with_variant(sa.BigInteger(), "postgresql")
OPEN_WITHOUT_PUBLICITY = "status IN ('submitted', 'assessing', 'assessed')"
OPEN_WITH_PUBLICITY = "status IN ('submitted', 'assessing', 'assessed', 'publicity')"


def _one_open_application(where: str) -> None:
    op.drop_index("uq_applications_one_open_per_person", table_name="applications")
    op.create_index(
        "uq_applications_one_open_per_person",
        "applications",
        ["person_id"],
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def _rules_with_barthel_cuts(severe_max: int, moderate_max: int) -> dict[str, Any]:
    rules = copy.deepcopy(DEFAULT_GRADING_RULES)
    severe, moderate, mild, _ = rules["barthel"]["bands"]
    severe["max"] = severe_max
    moderate["min"], moderate["max"] = severe_max + 1, moderate_max
    mild["min"] = moderate_max + 1
    return rules


def upgrade() -> None:
    op.create_table(
        "assessor_provider_ties",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "assessor_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column(
            "provider_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["assessor_id"], ["users.id"], name=op.f("fk_assessor_provider_ties_assessor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_assessor_provider_ties_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessor_provider_ties")),
    )
    op.create_index(
        op.f("ix_assessor_provider_ties_assessor_id"),
        "assessor_provider_ties",
        ["assessor_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_assessor_provider_ties_provider_id"),
        "assessor_provider_ties",
        ["provider_id"],
        unique=False,
    )
    op.create_table(
        "application_objections",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "application_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum("applicant", "public", name="objectionsource", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("lodged_by_name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("lodged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_by_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open", "dismissed", "upheld", name="objectionstatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("resolution_note", sa.String(length=500), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "resolved_by_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_objections_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_application_objections_recorded_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["users.id"],
            name=op.f("fk_application_objections_resolved_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_objections")),
    )
    op.create_index(
        op.f("ix_application_objections_application_id"),
        "application_objections",
        ["application_id"],
        unique=False,
    )
    op.create_table(
        "assessment_drafts",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "application_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column("instrument", sa.String(length=40), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column(
            "updated_by_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_assessment_drafts_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_assessment_drafts_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_drafts")),
        sa.UniqueConstraint("application_id", name=op.f("uq_assessment_drafts_application_id")),
    )
    op.create_table(
        "application_reviews",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "application_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "assessment_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_approved", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column(
            "reviewed_by_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_reviews_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_application_reviews_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
            name=op.f("fk_application_reviews_reviewed_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_reviews")),
    )
    op.create_index(
        op.f("ix_application_reviews_application_id"),
        "application_reviews",
        ["application_id"],
        unique=False,
    )
    op.create_table(
        "assessment_confirmations",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "assessment_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "user_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_assessment_confirmations_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_assessment_confirmations_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_confirmations")),
        sa.UniqueConstraint(
            "assessment_id", "user_id", name=op.f("uq_assessment_confirmations_assessment_id")
        ),
    )
    op.create_index(
        op.f("ix_assessment_confirmations_assessment_id"),
        "assessment_confirmations",
        ["assessment_id"],
        unique=False,
    )
    op.create_table(
        "reassessment_reminders",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "person_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column(
            "entitlement_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open", "done", "suspended", name="reminderstatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "confirmed_by_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=True,
        ),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["users.id"],
            name=op.f("fk_reassessment_reminders_confirmed_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["entitlement_id"],
            ["entitlements.id"],
            name=op.f("fk_reassessment_reminders_entitlement_id_entitlements"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_reassessment_reminders_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reassessment_reminders")),
        sa.UniqueConstraint(
            "person_id", "due_on", name=op.f("uq_reassessment_reminders_person_id")
        ),
    )
    op.create_index(
        op.f("ix_reassessment_reminders_entitlement_id"),
        "reassessment_reminders",
        ["entitlement_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_reassessment_reminders_person_id"),
        "reassessment_reminders",
        ["person_id"],
        unique=False,
    )
    with op.batch_alter_table("applications") as batch:
        batch.add_column(
            sa.Column(
                "kind",
                sa.Enum(
                    "initial",
                    "appeal",
                    "reassessment",
                    name="applicationkind",
                    native_enum=False,
                    length=32,
                ),
                nullable=False,
                server_default="initial",
            )
        )
        batch.add_column(sa.Column("previous_id", BIGINT, nullable=True))
        batch.add_column(sa.Column("provider_id", BIGINT, nullable=True))
        batch.add_column(sa.Column("request_reason", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reviewed_by_id", BIGINT, nullable=True))
        batch.add_column(sa.Column("publicity_starts_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("publicity_ends_on", sa.Date(), nullable=True))
        batch.create_index(batch.f("ix_applications_previous_id"), ["previous_id"], unique=False)
        batch.create_index(batch.f("ix_applications_provider_id"), ["provider_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_applications_previous_id_applications"),
            "applications",
            ["previous_id"],
            ["id"],
        )
        batch.create_foreign_key(
            batch.f("fk_applications_reviewed_by_id_users"), "users", ["reviewed_by_id"], ["id"]
        )
        batch.create_foreign_key(
            batch.f("fk_applications_provider_id_providers"), "providers", ["provider_id"], ["id"]
        )
    # An application in publicity is still open: one open application per person.
    _one_open_application(OPEN_WITH_PUBLICITY)

    with op.batch_alter_table("assessments") as batch:
        batch.add_column(
            sa.Column("item_notes", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch.add_column(sa.Column("idempotency_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("correction_reason", sa.String(length=1000), nullable=True))
        batch.create_unique_constraint(
            batch.f("uq_assessments_idempotency_key"), ["idempotency_key"]
        )
    # Assessments submitted before confirmations existed count as confirmed by both assessors.
    op.execute(
        """
        INSERT INTO assessment_confirmations (assessment_id, user_id, confirmed_at)
        SELECT id, assessor_1_id, submitted_at FROM assessments
        UNION SELECT id, assessor_2_id, submitted_at FROM assessments
        """
    )

    with op.batch_alter_table("policy_versions") as batch:
        batch.add_column(sa.Column("instrument_code", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("grading_rules", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("grade_categories", sa.JSON(), nullable=True))
    # The Barthel cut-offs of each version become its grading rules (other figures: defaults).
    policies = sa.table(
        "policy_versions",
        sa.column("id", sa.Integer()),
        sa.column("barthel_severe_max", sa.Integer()),
        sa.column("barthel_moderate_max", sa.Integer()),
        sa.column("instrument_code", sa.String()),
        sa.column("grading_rules", sa.JSON()),
        sa.column("grade_categories", sa.JSON()),
    )
    bind = op.get_bind()
    for row in bind.execute(
        sa.select(policies.c.id, policies.c.barthel_severe_max, policies.c.barthel_moderate_max)
    ).all():
        bind.execute(
            policies.update()
            .where(policies.c.id == row.id)
            .values(
                instrument_code="barthel",
                grading_rules=_rules_with_barthel_cuts(
                    row.barthel_severe_max, row.barthel_moderate_max
                ),
                grade_categories=DEFAULT_GRADE_CATEGORIES,
            )
        )
    with op.batch_alter_table("policy_versions") as batch:
        batch.alter_column("instrument_code", existing_type=sa.String(length=40), nullable=False)
        batch.alter_column("grading_rules", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("grade_categories", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("barthel_moderate_max")
        batch.drop_column("barthel_severe_max")


def downgrade() -> None:
    with op.batch_alter_table("policy_versions") as batch:
        batch.add_column(
            sa.Column("barthel_severe_max", sa.Integer(), nullable=False, server_default="40")
        )
        batch.add_column(
            sa.Column("barthel_moderate_max", sa.Integer(), nullable=False, server_default="60")
        )
        batch.drop_column("grade_categories")
        batch.drop_column("grading_rules")
        batch.drop_column("instrument_code")
    with op.batch_alter_table("assessments") as batch:
        batch.drop_constraint(batch.f("uq_assessments_idempotency_key"), type_="unique")
        batch.drop_column("correction_reason")
        batch.drop_column("idempotency_key")
        batch.drop_column("item_notes")
    _one_open_application(OPEN_WITHOUT_PUBLICITY)
    with op.batch_alter_table("applications") as batch:
        batch.drop_constraint(batch.f("fk_applications_provider_id_providers"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_applications_reviewed_by_id_users"), type_="foreignkey")
        batch.drop_constraint(
            batch.f("fk_applications_previous_id_applications"), type_="foreignkey"
        )
        batch.drop_index(batch.f("ix_applications_provider_id"))
        batch.drop_index(batch.f("ix_applications_previous_id"))
        for name in (
            "publicity_ends_on",
            "publicity_starts_on",
            "reviewed_by_id",
            "reviewed_at",
            "request_reason",
            "provider_id",
            "previous_id",
            "kind",
        ):
            batch.drop_column(name)
    op.drop_index(op.f("ix_reassessment_reminders_person_id"), table_name="reassessment_reminders")
    op.drop_index(
        op.f("ix_reassessment_reminders_entitlement_id"), table_name="reassessment_reminders"
    )
    op.drop_table("reassessment_reminders")
    op.drop_index(
        op.f("ix_assessment_confirmations_assessment_id"), table_name="assessment_confirmations"
    )
    op.drop_table("assessment_confirmations")
    op.drop_index(op.f("ix_application_reviews_application_id"), table_name="application_reviews")
    op.drop_table("application_reviews")
    op.drop_table("assessment_drafts")
    op.drop_index(
        op.f("ix_application_objections_application_id"), table_name="application_objections"
    )
    op.drop_table("application_objections")
    op.drop_index(
        op.f("ix_assessor_provider_ties_provider_id"), table_name="assessor_provider_ties"
    )
    op.drop_index(
        op.f("ix_assessor_provider_ties_assessor_id"), table_name="assessor_provider_ties"
    )
    op.drop_table("assessor_provider_ties")
