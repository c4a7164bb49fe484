"""Initial schema: every table, plus the guards the database itself enforces.

The audit log is append-only (triggers) and a caregiver can never be double-booked
(an exclusion constraint on PostgreSQL, triggers on SQLite). These statements are
frozen copies of the DDL in careapp.models.audit and careapp.models.visit.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 10:54:48.154879
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY = {
    "postgresql": [
        """
        CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events is append-only';
        END;
        $$ LANGUAGE plpgsql
        """,
        """
        CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
        """,
    ],
    "sqlite": [
        """
        CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
        """,
        """
        CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
        """,
    ],
}

NO_DOUBLE_BOOKING = {
    "postgresql": [
        "CREATE EXTENSION IF NOT EXISTS btree_gist",
        """
        ALTER TABLE visits ADD CONSTRAINT visits_no_double_booking EXCLUDE USING gist (
            caregiver_id WITH =, tstzrange(planned_start, planned_end) WITH &&
        ) WHERE (caregiver_id IS NOT NULL AND planned_start IS NOT NULL
                 AND status IN ('assigned', 'confirmed', 'checked_in', 'completed'))
        """,
    ],
    "sqlite": [
        """
        CREATE TRIGGER visits_no_double_booking_OP BEFORE OP ON visits
        WHEN NEW.caregiver_id IS NOT NULL AND NEW.planned_start IS NOT NULL
             AND NEW.status IN ('assigned', 'confirmed', 'checked_in', 'completed')
        BEGIN
            SELECT RAISE(ABORT, 'visits_no_double_booking')
            WHERE EXISTS (
                SELECT 1 FROM visits AS other
                WHERE other.caregiver_id = NEW.caregiver_id
                  AND other.id IS NOT NEW.id
                  AND other.planned_start IS NOT NULL
                  AND other.status IN ('assigned', 'confirmed', 'checked_in', 'completed')
                  AND julianday(other.planned_start) < julianday(NEW.planned_end)
                  AND julianday(NEW.planned_start) < julianday(other.planned_end)
            );
        END
        """.replace("OP", op_name)  # constant DDL text; op is INSERT or UPDATE  # nosec B608
        for op_name in ("INSERT", "UPDATE")
    ],
}


def _guards() -> None:
    dialect = op.get_bind().dialect.name
    for statement in APPEND_ONLY.get(dialect, []) + NO_DOUBLE_BOOKING.get(dialect, []):
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "districts",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name_zh", sa.String(length=40), nullable=False),
        sa.Column("name_en", sa.String(length=60), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("urban", "rural", name="districtkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_districts")),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(
        "ix_login_attempts_address_at", "login_attempts", ["address", "attempted_at"], unique=False
    )
    op.create_index(
        "ix_login_attempts_username_at",
        "login_attempts",
        ["username", "attempted_at"],
        unique=False,
    )
    op.create_table(
        "providers",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("licence_number", sa.String(length=40), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "home_care",
                "elderly_care_institution",
                "medical_care_institution",
                "volunteer",
                name="providerkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "warned",
                "suspended",
                "exited",
                name="providerstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("contact_phone", sa.String(length=30), nullable=True),
        sa.Column("contract_from", sa.Date(), nullable=False),
        sa.Column("contract_until", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
        sa.UniqueConstraint("licence_number", name=op.f("uq_providers_licence_number")),
    )
    op.create_table(
        "service_items",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=60), nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column(
            "qualification",
            sa.Enum(
                "daily_care",
                "nursing",
                "rehabilitation",
                name="qualification",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("unit_price_fen", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_items")),
        sa.UniqueConstraint("code", name=op.f("uq_service_items_code")),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column("id_number_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("id_number_index", sa.String(length=64), nullable=False),
        sa.Column("id_number_masked", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "sex",
            sa.Enum("male", "female", name="sex", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("born_on", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("township", sa.String(length=60), nullable=True),
        sa.Column("home_lat", sa.Double(), nullable=True),
        sa.Column("home_lon", sa.Double(), nullable=True),
        sa.Column(
            "household_type",
            sa.Enum(
                "urban", "rural", "other_city", name="householdtype", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "insurance_scheme",
            sa.Enum("employee", "resident", name="insurancescheme", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "insurance_status",
            sa.Enum(
                "active", "suspended", "ended", name="insurancestatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("insured_from", sa.Date(), nullable=False),
        sa.Column("insured_until", sa.Date(), nullable=True),
        sa.Column("guardian_name", sa.String(length=100), nullable=True),
        sa.Column("guardian_phone", sa.String(length=30), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["districts.code"], name=op.f("fk_people_district_code_districts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint("id_number_index", name=op.f("uq_people_id_number_index")),
    )
    op.create_table(
        "provider_districts",
        sa.Column(
            "provider_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_provider_districts_district_code_districts"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_provider_districts_provider_id_providers"),
        ),
        sa.PrimaryKeyConstraint("provider_id", "district_code", name=op.f("pk_provider_districts")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "assessor",
                "provider_manager",
                "caregiver",
                name="role",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "provider_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=True
        ),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_users_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "person_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "assessing",
                "assessed",
                "decided",
                "withdrawn",
                name="applicationstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column(
            "applicant",
            sa.Enum(
                "self", "family", "institution", name="applicant", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("applicant_name", sa.String(length=100), nullable=True),
        sa.Column("disability_since", sa.Date(), nullable=False),
        sa.Column("evidence_note", sa.String(length=500), nullable=False),
        sa.Column(
            "requested_setting",
            sa.Enum(
                "medical_care_institution",
                "elderly_care_institution",
                "home_service",
                "home_cash",
                name="caresetting",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "assessor_1_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=True
        ),
        sa.Column(
            "assessor_2_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=True
        ),
        sa.Column("appointment_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_by_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["assessor_1_id"], ["users.id"], name=op.f("fk_applications_assessor_1_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["assessor_2_id"], ["users.id"], name=op.f("fk_applications_assessor_2_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_applications_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_applications_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
    )
    op.create_index(op.f("ix_applications_person_id"), "applications", ["person_id"], unique=False)
    op.create_index(
        "uq_applications_one_open_per_person",
        "applications",
        ["person_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('submitted', 'assessing', 'assessed')"),
        postgresql_where=sa.text("status IN ('submitted', 'assessing', 'assessed')"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "actor_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=True
        ),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        "ix_audit_events_object", "audit_events", ["object_type", "object_id"], unique=False
    )
    op.create_table(
        "caregivers",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "provider_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column(
            "user_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=True
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("qualifications", sa.JSON(), nullable=False),
        sa.Column("work_days", sa.JSON(), nullable=False),
        sa.Column("work_start", sa.Time(), nullable=False),
        sa.Column("work_end", sa.Time(), nullable=False),
        sa.Column("base_lat", sa.Double(), nullable=False),
        sa.Column("base_lon", sa.Double(), nullable=False),
        sa.Column("max_visits_per_day", sa.Integer(), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_caregivers_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_caregivers_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caregivers")),
        sa.UniqueConstraint("user_id", name=op.f("uq_caregivers_user_id")),
    )
    op.create_index(op.f("ix_caregivers_provider_id"), "caregivers", ["provider_id"], unique=False)
    op.create_table(
        "dispatch_runs",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "running",
                "completed",
                "failed",
                name="dispatchrunstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "started_by_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=True
        ),
        sa.Column("visits_created", sa.Integer(), nullable=False),
        sa.Column("visits_assigned", sa.Integer(), nullable=False),
        sa.Column("visits_unassigned", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["started_by_id"], ["users.id"], name=op.f("fk_dispatch_runs_started_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_runs")),
    )
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column(
            "approved_by_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=True,
        ),
        sa.Column("min_disability_months", sa.Integer(), nullable=False),
        sa.Column("barthel_severe_max", sa.Integer(), nullable=False),
        sa.Column("barthel_moderate_max", sa.Integer(), nullable=False),
        sa.Column("home_service_monthly_budget_fen", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["users.id"], name=op.f("fk_policy_versions_approved_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_versions")),
        sa.UniqueConstraint("effective_on", name=op.f("uq_policy_versions_effective_on")),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "application_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("instrument", sa.String(length=40), nullable=False),
        sa.Column("instrument_version", sa.String(length=20), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=40), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column(
            "assessor_1_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "assessor_2_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column("family_member_present", sa.String(length=100), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column(
            "submitted_by_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_assessments_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["assessor_1_id"], ["users.id"], name=op.f("fk_assessments_assessor_1_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["assessor_2_id"], ["users.id"], name=op.f("fk_assessments_assessor_2_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["users.id"], name=op.f("fk_assessments_submitted_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
        sa.UniqueConstraint(
            "application_id", "version", name=op.f("uq_assessments_application_id")
        ),
    )
    op.create_index(
        op.f("ix_assessments_application_id"), "assessments", ["application_id"], unique=False
    )
    op.create_table(
        "policy_rates",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "policy_version_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "category",
            sa.Enum("severe", "moderate", name="benefitcategory", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "care_setting",
            sa.Enum(
                "medical_care_institution",
                "elderly_care_institution",
                "home_service",
                "home_cash",
                name="caresetting",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("daily_fen", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_version_id"],
            ["policy_versions.id"],
            name=op.f("fk_policy_rates_policy_version_id_policy_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_rates")),
        sa.UniqueConstraint(
            "policy_version_id",
            "category",
            "care_setting",
            name=op.f("uq_policy_rates_policy_version_id"),
        ),
    )
    op.create_table(
        "eligibility_decisions",
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
        sa.Column(
            "policy_version_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column(
            "decided_by_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_eligible", sa.Boolean(), nullable=False),
        sa.Column(
            "category",
            sa.Enum("severe", "moderate", name="benefitcategory", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column(
            "care_setting",
            sa.Enum(
                "medical_care_institution",
                "elderly_care_institution",
                "home_service",
                "home_cash",
                name="caresetting",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("daily_rate_fen", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_eligibility_decisions_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_eligibility_decisions_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_eligibility_decisions_decided_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_version_id"],
            ["policy_versions.id"],
            name=op.f("fk_eligibility_decisions_policy_version_id_policy_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_decisions")),
        sa.UniqueConstraint("application_id", name=op.f("uq_eligibility_decisions_application_id")),
    )
    op.create_table(
        "entitlements",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "person_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column(
            "decision_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column(
            "policy_version_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "category",
            sa.Enum("severe", "moderate", name="benefitcategory", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "care_setting",
            sa.Enum(
                "medical_care_institution",
                "elderly_care_institution",
                "home_service",
                "home_cash",
                name="caresetting",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("daily_rate_fen", sa.Integer(), nullable=True),
        sa.Column("monthly_budget_fen", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("active", "ended", name="entitlementstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["eligibility_decisions.id"],
            name=op.f("fk_entitlements_decision_id_eligibility_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_entitlements_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["policy_version_id"],
            ["policy_versions.id"],
            name=op.f("fk_entitlements_policy_version_id_policy_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entitlements")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_entitlements_decision_id")),
    )
    op.create_index(op.f("ix_entitlements_person_id"), "entitlements", ["person_id"], unique=False)
    op.create_index(
        "uq_entitlements_one_active_per_person",
        "entitlements",
        ["person_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "care_plans",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "entitlement_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "person_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column(
            "provider_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column(
            "preferred_caregiver_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=True,
        ),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("window_start", sa.Time(), nullable=False),
        sa.Column("window_end", sa.Time(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["entitlement_id"],
            ["entitlements.id"],
            name=op.f("fk_care_plans_entitlement_id_entitlements"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_care_plans_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["preferred_caregiver_id"],
            ["caregivers.id"],
            name=op.f("fk_care_plans_preferred_caregiver_id_caregivers"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_care_plans_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plans")),
    )
    op.create_index(
        op.f("ix_care_plans_entitlement_id"), "care_plans", ["entitlement_id"], unique=False
    )
    op.create_index(op.f("ix_care_plans_person_id"), "care_plans", ["person_id"], unique=False)
    op.create_index(op.f("ix_care_plans_provider_id"), "care_plans", ["provider_id"], unique=False)
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "assessment_conclusion",
                "benefit",
                name="certificatekind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "assessment_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=True
        ),
        sa.Column(
            "entitlement_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=True,
        ),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "issued_by_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_certificates_assessment_id_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["entitlement_id"],
            ["entitlements.id"],
            name=op.f("fk_certificates_entitlement_id_entitlements"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"], ["users.id"], name=op.f("fk_certificates_issued_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("number", name=op.f("uq_certificates_number")),
    )
    op.create_table(
        "care_plan_items",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "care_plan_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column(
            "service_item_id",
            sa.Integer().with_variant(sa.BigInteger(), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["care_plan_id"],
            ["care_plans.id"],
            name=op.f("fk_care_plan_items_care_plan_id_care_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["service_item_id"],
            ["service_items.id"],
            name=op.f("fk_care_plan_items_service_item_id_service_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plan_items")),
        sa.UniqueConstraint(
            "care_plan_id", "service_item_id", name=op.f("uq_care_plan_items_care_plan_id")
        ),
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "care_plan_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column(
            "person_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column(
            "provider_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column(
            "caregiver_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=True
        ),
        sa.Column("visit_on", sa.Date(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("service_item_codes", sa.JSON(), nullable=False),
        sa.Column("required_qualifications", sa.JSON(), nullable=False),
        sa.Column("planned_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("planned_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("route_order", sa.Integer(), nullable=True),
        sa.Column("travel_minutes", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "unassigned",
                "assigned",
                "confirmed",
                "checked_in",
                "completed",
                "missed",
                "cancelled",
                name="visitstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("unassigned_reason", sa.String(length=200), nullable=True),
        sa.Column("is_hand_edited", sa.Boolean(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_in_lat", sa.Double(), nullable=True),
        sa.Column("check_in_lon", sa.Double(), nullable=True),
        sa.Column("check_out_lat", sa.Double(), nullable=True),
        sa.Column("check_out_lon", sa.Double(), nullable=True),
        sa.Column("location_note", sa.String(length=200), nullable=True),
        sa.Column("check_in_flags", sa.JSON(), nullable=True),
        sa.Column("done_item_codes", sa.JSON(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("rating_token_hash", sa.String(length=64), nullable=True),
        sa.Column("rating_token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["care_plan_id"], ["care_plans.id"], name=op.f("fk_visits_care_plan_id_care_plans")
        ),
        sa.ForeignKeyConstraint(
            ["caregiver_id"], ["caregivers.id"], name=op.f("fk_visits_caregiver_id_caregivers")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_visits_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_visits_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("care_plan_id", "visit_on", name=op.f("uq_visits_care_plan_id")),
        sa.UniqueConstraint("rating_token_hash", name=op.f("uq_visits_rating_token_hash")),
    )
    op.create_index("ix_visits_caregiver_day", "visits", ["caregiver_id", "visit_on"], unique=False)
    op.create_index(op.f("ix_visits_person_id"), "visits", ["person_id"], unique=False)
    op.create_index("ix_visits_provider_day", "visits", ["provider_id", "visit_on"], unique=False)
    op.create_table(
        "satisfaction_ratings",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column(
            "visit_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False
        ),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=True),
        sa.Column(
            "channel",
            sa.Enum("link", "phone_survey", name="ratingchannel", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "entered_by_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=True
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "stars BETWEEN 1 AND 5", name=op.f("ck_satisfaction_ratings_stars_range")
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["users.id"],
            name=op.f("fk_satisfaction_ratings_entered_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_satisfaction_ratings_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satisfaction_ratings")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_satisfaction_ratings_token_hash")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_satisfaction_ratings_visit_id")),
    )

    _guards()


def downgrade() -> None:
    op.drop_table("satisfaction_ratings")
    op.drop_index("ix_visits_provider_day", table_name="visits")
    op.drop_index(op.f("ix_visits_person_id"), table_name="visits")
    op.drop_index("ix_visits_caregiver_day", table_name="visits")
    op.drop_table("visits")
    op.drop_table("care_plan_items")
    op.drop_table("certificates")
    op.drop_index(op.f("ix_care_plans_provider_id"), table_name="care_plans")
    op.drop_index(op.f("ix_care_plans_person_id"), table_name="care_plans")
    op.drop_index(op.f("ix_care_plans_entitlement_id"), table_name="care_plans")
    op.drop_table("care_plans")
    op.drop_index(
        "uq_entitlements_one_active_per_person",
        table_name="entitlements",
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_index(op.f("ix_entitlements_person_id"), table_name="entitlements")
    op.drop_table("entitlements")
    op.drop_table("eligibility_decisions")
    op.drop_table("policy_rates")
    op.drop_index(op.f("ix_assessments_application_id"), table_name="assessments")
    op.drop_table("assessments")
    op.drop_table("policy_versions")
    op.drop_table("dispatch_runs")
    op.drop_index(op.f("ix_caregivers_provider_id"), table_name="caregivers")
    op.drop_table("caregivers")
    op.drop_index("ix_audit_events_object", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index(
        "uq_applications_one_open_per_person",
        table_name="applications",
        sqlite_where=sa.text("status IN ('submitted', 'assessing', 'assessed')"),
        postgresql_where=sa.text("status IN ('submitted', 'assessing', 'assessed')"),
    )
    op.drop_index(op.f("ix_applications_person_id"), table_name="applications")
    op.drop_table("applications")
    op.drop_table("users")
    op.drop_table("provider_districts")
    op.drop_table("people")
    op.drop_table("service_items")
    op.drop_table("providers")
    op.drop_index("ix_login_attempts_username_at", table_name="login_attempts")
    op.drop_index("ix_login_attempts_address_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_table("districts")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
