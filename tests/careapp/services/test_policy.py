"""Policy versions on the database: default figures, rules in force, new versions by admins."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.grading import rules_to_data
from assessments.instruments.barthel import BARTHEL, barthel_bands
from assessments.instruments.national_2021 import DEFAULT_RULES as NATIONAL_RULES
from assessments.instruments.national_2021 import NATIONAL_2021
from assessments.types import BandRules, CombinationRules
from careapp.core.errors import ConflictError, PermissionDeniedError
from careapp.eligibility.rules import BenefitCategory
from careapp.models import (
    AuditEvent,
    CareSetting,
    Entitlement,
    EntitlementStart,
    HouseholdType,
    PolicyRate,
    PolicyVersion,
    Role,
)
from careapp.services.actor import Actor
from careapp.services.assessments import grading_scale_in_force
from careapp.services.eligibility import decide_application
from careapp.services.policy import (
    DEFAULT_RATES_FEN,
    PolicyDraft,
    PolicyInputError,
    build_default_policy,
    create_policy_version,
    default_grade_categories_data,
    default_grading_rules_data,
    ensure_default_policy,
    grade_categories_of,
    grading_rules_of,
    list_policy_versions,
    policy_base,
)
from tests.factories import (
    NOW,
    TODAY,
    DecidableAssessmentFactory,
    PersonFactory,
    PolicyVersionFactory,
    UserFactory,
)


def draft(**changes: Any) -> PolicyDraft:
    base = PolicyDraft(
        name="2027 national standard",
        effective_on=TODAY + dt.timedelta(days=38),
        instrument_code="national_2021",
        grading_rules=default_grading_rules_data(),
        grade_categories=default_grade_categories_data(),
        entitlement_starts_from="application",
        appeal_days=45,
        publicity_working_days=7,
        reassessment_interval_months=18,
        daily_rates_fen=DEFAULT_RATES_FEN,
        home_service_monthly_budget_fen=120_000,
        min_disability_months=6,
    )
    return dataclasses.replace(base, **changes)


SEVERE, MODERATE = BenefitCategory.SEVERE, BenefitCategory.MODERATE
MEDICAL, ELDERLY = CareSetting.MEDICAL_CARE_INSTITUTION, CareSetting.ELDERLY_CARE_INSTITUTION
HOME_SERVICE, HOME_CASH = CareSetting.HOME_SERVICE, CareSetting.HOME_CASH


def rates_with(
    key: tuple[BenefitCategory, CareSetting], fen: int | None
) -> dict[tuple[BenefitCategory, CareSetting], int | None]:
    return {**DEFAULT_RATES_FEN, key: fen}


def stored_rates(version: PolicyVersion) -> dict[tuple[BenefitCategory, CareSetting], int | None]:
    return {(r.category, r.care_setting): r.daily_fen for r in version.rates}


def rules_with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(default_grading_rules_data())
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def categories_with(instrument: str, grade: str, value: str | None) -> dict[str, Any]:
    data = copy.deepcopy(default_grade_categories_data())
    data[instrument][grade] = value
    return data


def versions(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(PolicyVersion)) or 0


# --- the default version ---------------------------------------------------------------------


def test_default_policy_holds_barthel_and_every_instrument_rules(app: Flask) -> None:
    policy = build_default_policy()
    assert policy.instrument_code == "barthel"
    assert set(policy.grading_rules) == {"barthel", "national_2021"}
    assert grading_rules_of(policy, BARTHEL) == BARTHEL.default_rules
    assert grading_rules_of(policy, NATIONAL_2021) == NATIONAL_RULES
    categories = grade_categories_of(policy)
    assert categories["barthel"] == {
        "independent": None,
        "mild": None,
        "moderate": BenefitCategory.MODERATE,
        "severe": BenefitCategory.SEVERE,
    }
    assert [categories["national_2021"][str(n)] for n in range(6)] == [
        None,
        None,
        BenefitCategory.MODERATE,
        BenefitCategory.SEVERE,
        BenefitCategory.SEVERE,
        BenefitCategory.SEVERE,
    ]
    # Every figure of the spec: the start rule and the windows too (30 / 5 / 24).
    assert policy.entitlement_starts_from is EntitlementStart.DECISION
    assert (policy.appeal_days, policy.publicity_working_days) == (30, 5)
    assert policy.reassessment_interval_months == 24
    assert policy.min_disability_months == 6
    assert policy.home_service_monthly_budget_fen == 120_000


def test_ensure_default_policy_is_idempotent(db_session: Session) -> None:
    first = ensure_default_policy(db_session)
    assert ensure_default_policy(db_session).id == first.id
    assert versions(db_session) == 1


def test_a_policy_without_stored_rules_falls_back_to_the_instrument_defaults(app: Flask) -> None:
    policy = build_default_policy()
    policy.grading_rules = {}
    policy.grade_categories = {}
    assert grading_rules_of(policy, NATIONAL_2021) == NATIONAL_RULES
    assert grade_categories_of(policy)["national_2021"]["2"] is BenefitCategory.MODERATE


# --- the grading scale in force --------------------------------------------------------------


def test_grading_scale_without_policy_is_barthel_with_default_rules(db_session: Session) -> None:
    scale = grading_scale_in_force(db_session, NOW)
    assert scale.instrument is BARTHEL
    assert scale.rules == BARTHEL.default_rules
    assert scale.bands == BARTHEL.bands
    assert scale.rules_data["kind"] == "bands"


def test_grading_scale_follows_the_policy_in_force_on_the_date(
    db_session: Session, policy: Any
) -> None:
    corrected = rules_with(("national_2021", "table", 1, 2), "2")
    PolicyVersionFactory(
        effective_on=TODAY, instrument_code="national_2021", grading_rules=corrected
    )
    yesterday = grading_scale_in_force(db_session, NOW - dt.timedelta(days=1))
    assert yesterday.instrument is BARTHEL
    scale = grading_scale_in_force(db_session, NOW)
    assert scale.instrument is NATIONAL_2021
    assert isinstance(scale.rules, CombinationRules)
    assert scale.rules.table[1] == ("1", "1", "2", "2")
    assert scale.bands == ()
    assert scale.rules_data["table"][1] == ["1", "1", "2", "2"]


def test_grading_scale_reads_barthel_bands_of_the_policy(db_session: Session) -> None:
    bands = BandRules(barthel_bands(severe_max=45, moderate_max=70), source="city 2026")
    PolicyVersionFactory(grading_rules={"barthel": rules_to_data(bands)})
    scale = grading_scale_in_force(db_session, NOW)
    assert scale.rules == bands
    assert [b.max_total for b in scale.bands] == [45, 70, 99, 100]


# --- creating a new version ------------------------------------------------------------------


def test_create_policy_version_stores_the_draft_and_audits(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    corrected = rules_with(("national_2021", "table", 1, 2), "2")
    categories = categories_with("national_2021", "2", "severe")
    version = create_policy_version(
        db_session, admin_actor, draft(grading_rules=corrected, grade_categories=categories), NOW
    )
    assert version.id is not None
    assert version.name == "2027 national standard"
    assert version.effective_on == TODAY + dt.timedelta(days=38)
    assert version.approved_by_id == admin_actor.user_id
    assert version.instrument_code == "national_2021"
    assert version.grading_rules["national_2021"]["table"][1] == ["1", "1", "2", "2"]
    assert version.grade_categories["national_2021"]["2"] == "severe"
    assert version.min_disability_months == policy.min_disability_months
    assert version.home_service_monthly_budget_fen == policy.home_service_monthly_budget_fen
    # The start rule and the procedure's windows are the draft's.
    assert version.entitlement_starts_from is EntitlementStart.APPLICATION
    assert (version.appeal_days, version.publicity_working_days) == (45, 7)
    assert version.reassessment_interval_months == 18
    assert sorted((r.category.value, r.care_setting.value, r.daily_fen) for r in version.rates) == (
        sorted((r.category.value, r.care_setting.value, r.daily_fen) for r in policy.rates)
    )
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.create")).one()
    assert (event.object_type, event.object_id, event.actor_id) == (
        "policy_version",
        version.id,
        admin_actor.user_id,
    )
    assert event.detail["based_on"] == policy.id
    assert event.detail["instrument_code"] == "national_2021"
    assert (event.detail["appeal_days"], event.detail["entitlement_starts_from"]) == (
        45,
        "application",
    )
    # The version in force is untouched; the new one grades from its date.
    assert policy.instrument_code == "barthel"
    assert grading_scale_in_force(db_session, NOW).instrument is BARTHEL
    later = NOW + dt.timedelta(days=38)
    assert grading_scale_in_force(db_session, later).instrument is NATIONAL_2021


def test_create_policy_version_effective_today_is_allowed(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    version = create_policy_version(db_session, admin_actor, draft(effective_on=TODAY), NOW)
    assert grading_scale_in_force(db_session, NOW).instrument.code == version.instrument_code


def test_create_policy_version_without_any_policy_uses_default_figures(
    db_session: Session, admin_actor: Actor
) -> None:
    version = create_policy_version(db_session, admin_actor, draft(), NOW)
    assert len(version.rates) == 8
    assert versions(db_session) == 1


def _rules_error(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    return {"grading_rules": rules_with(path, value)}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "  "}, "name", "Name the new version."),
        ({"name": "x" * 101}, "name", "At most 100 characters."),
        ({"effective_on": TODAY - dt.timedelta(days=1)}, "effective_on", "before today"),
        ({"effective_on": dt.date(2016, 1, 1)}, "effective_on", "before today"),
        ({"instrument_code": "nba"}, "instrument_code", "Choose an instrument."),
        (
            _rules_error(("national_2021", "table", 3, 0), "1"),
            None,
            "row “Severely impaired”, column “Intact”: grade 1 is lower than grade 2 in the "
            "cell above it",
        ),
        (
            _rules_error(("national_2021", "table", 0, 3), "0"),
            None,
            "row “Intact”, column “Severely impaired”: grade 0 is lower than grade 1 in the "
            "cell to its left",
        ),
        (
            _rules_error(("barthel", "bands", 1, "min"), 45),
            None,
            "the band “Moderate dependency” must start right after the band before it",
        ),
        (
            _rules_error(("barthel", "bands", 0, "min"), 5),
            None,
            "the first band “Severe dependency” must start at 0",
        ),
        (
            _rules_error(("barthel", "bands", 3, "max"), 101),
            None,
            "the last band “Independent” must end at 100",
        ),
        (
            _rules_error(("barthel", "bands", 2, "max"), 50),
            None,
            "the band “Mild dependency” ends before it starts",
        ),
        (
            _rules_error(("national_2021", "indicator_bands", 1, "bands", 2, "min"), 13),
            None,
            "level bands of “Cognition”: the band “Mildly impaired” must start right after",
        ),
        (
            _rules_error(("national_2021", "indicator_bands", 2, "bands"), []),
            None,
            "there are no bands",
        ),
        (
            _rules_error(("national_2021", "table", 2, 1), "9"),
            None,
            "the rules are incomplete or malformed (unknown_grade)",
        ),
        (
            {"grade_categories": categories_with("national_2021", "4", None)},
            None,
            "grade 4 gives a lesser benefit category than a less severe grade",
        ),
        (
            {"grade_categories": categories_with("barthel", "mild", "severe")},
            None,
            "grade moderate gives a lesser benefit category",
        ),
        (
            {"grade_categories": {"barthel": {"severe": "severe"}}},
            None,
            "choose a benefit category for grade independent",
        ),
        (
            {"grade_categories": categories_with("national_2021", "6", "severe")},
            None,
            "6 is not a grade of its rules",
        ),
        (
            {"grade_categories": categories_with("barthel", "severe", "huge")},
            None,
            "Choose a benefit category for every grade.",
        ),
        (
            {"entitlement_starts_from": "birthday"},
            "entitlement_starts_from",
            "Choose the date entitlements start on.",
        ),
        ({"appeal_days": 0}, "appeal_days", "Enter a whole number from 1 to 365."),
        ({"publicity_working_days": 31}, "publicity_working_days", "from 1 to 30."),
        ({"reassessment_interval_months": -1}, "reassessment_interval_months", "from 1 to 120."),
        # The money figures: exact fen, never negative, never absurd, the per-visit row kept.
        (
            {"daily_rates_fen": rates_with((SEVERE, HOME_CASH), -1)},
            "rate__severe__home_cash",
            "An amount cannot be negative.",
        ),
        (
            {"daily_rates_fen": rates_with((MODERATE, ELDERLY), 100_001)},
            "rate__moderate__elderly_care_institution",
            "At most 1,000.00 yuan.",
        ),
        (
            {"daily_rates_fen": rates_with((SEVERE, MEDICAL), None)},
            "rate__severe__medical_care_institution",
            "Enter a daily rate in yuan.",
        ),
        (
            {
                "daily_rates_fen": {
                    k: v for k, v in DEFAULT_RATES_FEN.items() if k != (MODERATE, HOME_SERVICE)
                }
            },
            "rate__moderate__home_service",
            "Enter a daily rate in yuan.",
        ),
        (
            {"daily_rates_fen": rates_with((SEVERE, HOME_SERVICE), 4000)},
            None,
            "is paid per visit within the monthly budget, not at a daily rate.",
        ),
        (
            {"home_service_monthly_budget_fen": -100},
            "home_service_monthly_budget",
            "An amount cannot be negative.",
        ),
        (
            {"home_service_monthly_budget_fen": 1_000_001},
            "home_service_monthly_budget",
            "At most 10,000.00 yuan.",
        ),
        ({"min_disability_months": -1}, "min_disability_months", "from 0 to 60."),
        ({"min_disability_months": 61}, "min_disability_months", "from 0 to 60."),
    ],
)
def test_create_policy_version_refuses_bad_input_writing_nothing(
    english: None,
    db_session: Session,
    admin_actor: Actor,
    policy: Any,
    changes: dict[str, Any],
    field: str | None,
    message: str,
) -> None:
    with pytest.raises(PolicyInputError) as raised:
        create_policy_version(db_session, admin_actor, draft(**changes), NOW)
    assert raised.value.field == field
    assert message in raised.value.message
    assert versions(db_session) == 1
    assert db_session.scalar(select(func.count()).select_from(PolicyRate)) == 8
    assert db_session.scalars(select(AuditEvent)).all() == []


def test_create_policy_version_refuses_a_taken_date(
    english: None, db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    create_policy_version(db_session, admin_actor, draft(effective_on=TODAY), NOW)
    with pytest.raises(PolicyInputError) as raised:
        create_policy_version(db_session, admin_actor, draft(effective_on=TODAY), NOW)
    assert raised.value.field == "effective_on"
    assert "already takes effect" in raised.value.message
    assert versions(db_session) == 2


def test_create_policy_version_names_an_indicator_level_out_of_order(
    english: None, db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    rules = default_grading_rules_data()
    rules["national_2021"]["indicator_bands"][2]["bands"][1]["level"] = "mild"
    rules["national_2021"]["indicator_bands"][2]["bands"][2]["level"] = "moderate"
    with pytest.raises(PolicyInputError) as raised:
        create_policy_version(db_session, admin_actor, draft(grading_rules=rules), NOW)
    assert "the level “Moderately impaired” covers higher totals than a less impaired level" in (
        raised.value.message
    )


def test_create_policy_version_same_date_at_once_is_a_conflict(
    db_session: Session, admin_actor: Actor, policy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another administrator stored the same date after this one checked it was free.
    from careapp.services import policy as service

    real_check = service.check_policy_draft

    def check_then_race(d: PolicyDraft) -> Any:
        PolicyVersionFactory(effective_on=d.effective_on, name="raced")
        return real_check(d)

    monkeypatch.setattr(service, "check_policy_draft", check_then_race)
    with pytest.raises(ConflictError):
        create_policy_version(db_session, admin_actor, draft(), NOW)
    assert versions(db_session) == 2


@pytest.mark.parametrize("role", [Role.ASSESSOR, Role.PROVIDER_MANAGER, Role.CAREGIVER, None])
def test_policy_services_are_for_administrators_only(
    db_session: Session, policy: Any, role: Role | None
) -> None:
    actor = Actor(user_id=UserFactory(assessor=True).id, role=role)
    with pytest.raises(PermissionDeniedError):
        create_policy_version(db_session, actor, draft(), NOW)
    with pytest.raises(PermissionDeniedError):
        list_policy_versions(db_session, actor)
    with pytest.raises(PermissionDeniedError):
        policy_base(db_session, actor, NOW)
    assert versions(db_session) == 1


def test_list_policy_versions_newest_first_with_rules(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    create_policy_version(db_session, admin_actor, draft(), NOW)
    listed = list_policy_versions(db_session, admin_actor)
    assert [p.version.effective_on for p in listed] == [
        TODAY + dt.timedelta(days=38),
        dt.date(2016, 1, 1),
    ]
    assert listed[0].instrument is NATIONAL_2021
    assert listed[1].instrument is BARTHEL
    assert listed[0].rules["national_2021"] == NATIONAL_RULES


def test_policy_base_is_the_version_in_force_or_the_default(
    db_session: Session, admin_actor: Actor
) -> None:
    unsaved = policy_base(db_session, admin_actor, NOW)
    assert unsaved.version.id is None
    assert unsaved.instrument is BARTHEL
    stored = PolicyVersionFactory()
    assert policy_base(db_session, admin_actor, NOW).version.id == stored.id


# --- the money figures of a new version ------------------------------------------------------


def test_create_policy_version_stores_exactly_the_drafts_rates_budget_and_minimum(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    rates = {
        **DEFAULT_RATES_FEN,
        (SEVERE, MEDICAL): 5_550,  # 55.50 yuan
        (SEVERE, HOME_CASH): 1_801,  # 18.01 yuan
        (MODERATE, ELDERLY): 0,  # no daily benefit in that setting
        (MODERATE, HOME_SERVICE): 100_000,  # the highest daily rate allowed
    }
    version = create_policy_version(
        db_session,
        admin_actor,
        draft(
            daily_rates_fen=rates,
            home_service_monthly_budget_fen=135_050,
            min_disability_months=0,
        ),
        NOW,
    )
    db_session.expire_all()
    stored = db_session.get(PolicyVersion, version.id)
    assert stored is not None
    assert stored_rates(stored) == rates
    assert stored_rates(stored)[(SEVERE, HOME_SERVICE)] is None  # still paid per visit
    assert stored.home_service_monthly_budget_fen == 135_050
    assert stored.min_disability_months == 0
    # The version in force keeps its figures.
    assert stored_rates(policy) == DEFAULT_RATES_FEN
    assert (policy.home_service_monthly_budget_fen, policy.min_disability_months) == (120_000, 6)
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.create")).one()
    assert event.detail["daily_rates_fen"]["severe/medical_care_institution"] == 5_550
    assert event.detail["daily_rates_fen"]["severe/home_service"] is None
    assert event.detail["home_service_monthly_budget_fen"] == 135_050
    assert event.detail["min_disability_months"] == 0


def test_a_new_versions_figures_decide_from_its_date_whatever_the_household(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    """Decisions from the new version's date take its rate, budget and minimum months (a
    disability of 4 months passes 3, not the former 6); household registration changes nothing."""
    new = create_policy_version(
        db_session,
        admin_actor,
        draft(
            effective_on=TODAY,
            instrument_code="barthel",
            daily_rates_fen=rates_with((SEVERE, HOME_CASH), 2_250),
            home_service_monthly_budget_fen=150_000,
            min_disability_months=3,
        ),
        NOW,
    )
    outcomes = set()
    for household in HouseholdType:
        for setting in (HOME_CASH, HOME_SERVICE):
            assessment = DecidableAssessmentFactory(
                total=30,
                application__person=PersonFactory(household_type=household),
                application__disability_since=dt.date(2026, 7, 15),
            )
            decision = decide_application(
                db_session, admin_actor, assessment.application_id, setting, NOW
            )
            entitlement = db_session.scalars(
                select(Entitlement).where(Entitlement.decision_id == decision.id)
            ).one()
            outcomes.add(
                (
                    setting,
                    decision.is_eligible,
                    decision.policy_version_id,
                    decision.daily_rate_fen,
                    entitlement.daily_rate_fen,
                    entitlement.monthly_budget_fen,
                )
            )
    assert outcomes == {
        (HOME_CASH, True, new.id, 2_250, 2_250, None),
        (HOME_SERVICE, True, new.id, None, None, 150_000),
    }
