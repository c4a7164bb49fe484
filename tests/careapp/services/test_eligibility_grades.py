"""Eligibility by the policy's grade -> category mapping, for both instruments, on the database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.eligibility.rules import BenefitCategory
from careapp.models import CareSetting, Entitlement, HouseholdType
from careapp.services.actor import Actor
from careapp.services.eligibility import decide_application, figures_from_policy
from careapp.services.policy import default_grade_categories_data
from tests.factories import (
    NOW,
    DecidableAssessmentFactory,
    PersonFactory,
    PolicyVersionFactory,
)


def national(grade: str, **extra: Any) -> Any:
    return DecidableAssessmentFactory(national=True, grade=grade, **extra)


def assessment_reason(decision: Any) -> dict[str, Any]:
    return next(r for r in decision.reasons if r["rule"] == "assessment_category")  # type: ignore[no-any-return]  # JSON


@pytest.mark.parametrize(
    ("grade", "category", "rate"),
    [
        ("5", BenefitCategory.SEVERE, 4000),
        ("4", BenefitCategory.SEVERE, 4000),
        ("3", BenefitCategory.SEVERE, 4000),
        ("2", BenefitCategory.MODERATE, 1000),
    ],
)
def test_decide_national_grade_gives_the_mapped_category(
    db_session: Session,
    admin_actor: Actor,
    policy: Any,
    grade: str,
    category: BenefitCategory,
    rate: int,
) -> None:
    application = national(grade).application
    setting = CareSetting.ELDERLY_CARE_INSTITUTION
    decision = decide_application(db_session, admin_actor, application.id, setting, NOW)
    assert decision.is_eligible
    assert (decision.category, decision.daily_rate_fen) == (category, rate)
    reason = assessment_reason(decision)
    assert reason["reason_code"] == "grade_category"
    assert reason["params"] == {
        "instrument": "national_2021",
        "total": 54,
        "grade": grade,
        "category": category.value,
    }
    entitlement = db_session.scalars(
        select(Entitlement).where(Entitlement.decision_id == decision.id)
    ).one()
    assert entitlement.category is category


@pytest.mark.parametrize("grade", ["0", "1"])
def test_decide_national_grade_0_or_1_is_ineligible(
    db_session: Session, admin_actor: Actor, policy: Any, grade: str
) -> None:
    application = national(grade).application
    decision = decide_application(
        db_session, admin_actor, application.id, CareSetting.HOME_CASH, NOW
    )
    assert not decision.is_eligible
    assert decision.category is None
    assert assessment_reason(decision)["reason_code"] == "grade_no_category"
    assert db_session.scalars(select(Entitlement)).all() == []


def test_decide_uses_the_mapping_of_the_policy_in_force(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    mapping = default_grade_categories_data()
    mapping["national_2021"] |= {"3": "moderate"}
    mapping["barthel"] |= {"mild": "moderate"}
    PolicyVersionFactory(effective_on=NOW.date().replace(day=1), grade_categories=mapping)
    national_decision = decide_application(
        db_session, admin_actor, national("3").application.id, CareSetting.HOME_CASH, NOW
    )
    assert national_decision.category is BenefitCategory.MODERATE
    barthel = DecidableAssessmentFactory(total=70)
    assert barthel.grade == "mild"
    barthel_decision = decide_application(
        db_session, admin_actor, barthel.application.id, CareSetting.HOME_CASH, NOW
    )
    assert barthel_decision.category is BenefitCategory.MODERATE


def test_decide_barthel_grade_not_total_decides(
    db_session: Session, admin_actor: Actor, policy: Any
) -> None:
    # Graded severe under the bands in force when assessed (severe up to 45): severe stays.
    assessment = DecidableAssessmentFactory(total=45, grade="severe")
    decision = decide_application(
        db_session, admin_actor, assessment.application.id, CareSetting.HOME_CASH, NOW
    )
    assert decision.category is BenefitCategory.SEVERE


def test_figures_from_policy_reads_the_stored_mapping(policy: Any) -> None:
    mapping = default_grade_categories_data()
    mapping["national_2021"] = {
        "0": None,
        "1": None,
        "2": None,
        "3": None,
        "4": None,
        "5": "severe",
    }
    changed = PolicyVersionFactory(effective_on=NOW.date(), grade_categories=mapping)
    figures = figures_from_policy(changed)
    assert figures.grade_categories["national_2021"]["4"] is None
    assert figures.grade_categories["barthel"]["severe"] is not None


@pytest.mark.parametrize(
    ("grade", "setting"),
    [
        ("5", CareSetting.HOME_SERVICE),
        ("3", CareSetting.MEDICAL_CARE_INSTITUTION),
        ("2", CareSetting.ELDERLY_CARE_INSTITUTION),
        ("1", CareSetting.HOME_CASH),
    ],
)
def test_national_decision_is_the_same_whatever_the_household_registration(
    db_session: Session, admin_actor: Actor, policy: Any, grade: str, setting: CareSetting
) -> None:
    outcomes = []
    for household in (HouseholdType.URBAN, HouseholdType.RURAL, HouseholdType.OTHER_CITY):
        person = PersonFactory(name="王某", household_type=household)
        assessment = national(grade, application__person=person)
        decision = decide_application(
            db_session, admin_actor, assessment.application.id, setting, NOW
        )
        entitlement = db_session.scalars(
            select(Entitlement).where(Entitlement.decision_id == decision.id)
        ).one_or_none()
        outcomes.append(
            (
                decision.is_eligible,
                decision.category,
                decision.daily_rate_fen,
                decision.reasons,
                None if entitlement is None else (entitlement.category, entitlement.daily_rate_fen),
            )
        )
    assert outcomes[0] == outcomes[1] == outcomes[2]
