"""Entitlement events and the ledger: moves, hospital stays, ends, rate changes, refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.eligibility.ledger import DayStatus, Payee
from careapp.eligibility.rules import BenefitCategory
from careapp.models import (
    AuditEvent,
    CareSetting,
    Entitlement,
    EntitlementEvent,
    EntitlementEventKind,
    EntitlementStart,
    EntitlementStatus,
    HouseholdType,
    PolicyVersion,
    ProviderKind,
    Role,
)
from careapp.services import fund, ledger
from careapp.services.actor import Actor
from careapp.services.eligibility import decide_application
from careapp.services.ledger import AdmissionInput, EndInput, MoveInput
from careapp.services.policy import (
    DEFAULT_RATES_FEN,
    PolicyDraft,
    create_policy_version,
    default_grade_categories_data,
    default_grading_rules_data,
)
from scheduling.visits import VisitStatus
from tests.conftest import Statements
from tests.factories import (
    BENEFIT_START,
    NOW,
    CarePlanFactory,
    DecidableAssessmentFactory,
    DeviceLoanFactory,
    DistrictFactory,
    EntitlementFactory,
    PersonFactory,
    PolicyVersionFactory,
    ProviderFactory,
    UserFactory,
    VisitFactory,
    home_cash_beneficiary,
)

D = dt.date
SEP, OCT, NOV = D(2026, 9, 1), D(2026, 10, 1), D(2026, 11, 1)


def institution(kind: ProviderKind = ProviderKind.ELDERLY_CARE_INSTITUTION) -> Any:
    return ProviderFactory(kind=kind, name=f"{kind.value}-home")


def count_events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(EntitlementEvent)) or 0


def audit_actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def lines_of(month: ledger.MonthLedger, entitlement: Entitlement) -> list[tuple[Any, ...]]:
    return [
        (line.payee, line.provider_id, line.paid_days, line.suspended_days, line.amount_fen)
        for line in month.lines
        if line.entitlement_id == entitlement.id
    ]


# --- hand-worked scenarios --------------------------------------------------------------------


def test_a_move_mid_month_re_rates_from_the_day_of_the_move(
    db_session: Session, admin_actor: Actor
) -> None:
    entitlement = home_cash_beneficiary()
    home = institution()
    plan = CarePlanFactory(entitlement=entitlement, starts_on=D(2026, 9, 10))
    ledger.record_move(
        db_session,
        admin_actor,
        entitlement.id,
        MoveInput(D(2026, 10, 16), CareSetting.ELDERLY_CARE_INSTITUTION, home.id, "入住"),
        NOW,
    )
    october = ledger.month_ledger(db_session, admin_actor, OCT)
    assert lines_of(october, entitlement) == [
        (Payee.BENEFICIARY, None, 15, 0, 15 * 1500),  # 1-15 October at home
        (Payee.INSTITUTION, home.id, 16, 0, 16 * 4000),  # 16-31 October in the care home
    ]
    assert october.total_fen == 15 * 1500 + 16 * 4000
    # The entitlement shows the new setting and rate; home visits stop the day before the move.
    assert (entitlement.care_setting, entitlement.daily_rate_fen) == (
        CareSetting.ELDERLY_CARE_INSTITUTION,
        4000,
    )
    assert (plan.is_active, plan.ends_on) == (False, D(2026, 10, 15))
    assert audit_actions(db_session) == ["entitlement.move"]
    page = ledger.get_entitlement_page(db_session, admin_actor, entitlement.id, D(2026, 11, 23))
    assert [m.month for m in page.months] == [NOV, OCT, SEP]
    assert [e.kind for e in page.events] == [EntitlementEventKind.START, EntitlementEventKind.MOVE]
    assert page.providers == {home.id: home.name}


@pytest.mark.parametrize(
    ("category", "budget"),
    [(BenefitCategory.SEVERE, 120_000), (BenefitCategory.MODERATE, None)],
)
def test_a_move_home_gives_a_visit_budget_to_severe_disability_only(
    db_session: Session, admin_actor: Actor, category: BenefitCategory, budget: int | None
) -> None:
    entitlement = home_cash_beneficiary(CareSetting.ELDERLY_CARE_INSTITUTION, category)
    ledger.record_move(
        db_session,
        admin_actor,
        entitlement.id,
        MoveInput(D(2026, 10, 16), CareSetting.HOME_SERVICE, None),
        NOW,
    )
    assert entitlement.care_setting is CareSetting.HOME_SERVICE
    assert entitlement.monthly_budget_fen == budget
    page = ledger.get_entitlement_page(db_session, admin_actor, entitlement.id, D(2026, 11, 23))
    assert page.can_find_provider is (budget is not None)


def test_a_hospital_stay_across_a_month_end_suspends_the_right_days(
    db_session: Session, admin_actor: Actor
) -> None:
    entitlement = home_cash_beneficiary()
    stay = ledger.record_hospital_stay(
        db_session, admin_actor, entitlement.id, AdmissionInput(D(2026, 9, 28), None), NOW
    )
    ledger.record_discharge(db_session, admin_actor, entitlement.id, stay.id, D(2026, 10, 3), NOW)
    assert stay.discharged_on == D(2026, 10, 3)
    september = ledger.month_ledger(db_session, admin_actor, SEP)
    october = ledger.month_ledger(db_session, admin_actor, OCT)
    # September: 10-27 paid (18 days), 28-30 suspended; October: 1-2 suspended, 3-31 paid.
    assert lines_of(september, entitlement) == [(Payee.BENEFICIARY, None, 18, 3, 18 * 1500)]
    assert lines_of(october, entitlement) == [(Payee.BENEFICIARY, None, 29, 2, 29 * 1500)]
    (line,) = october.lines
    assert [(s.first, s.status) for s in line.segments] == [
        (D(2026, 10, 1), DayStatus.SUSPENDED),
        (D(2026, 10, 3), DayStatus.PAID),
    ]
    assert audit_actions(db_session) == ["entitlement.hospital_stay", "entitlement.discharge"]


def test_a_rate_change_mid_month_splits_the_month_and_past_decisions_keep_their_version(
    db_session: Session, admin_actor: Actor
) -> None:
    entitlement = home_cash_beneficiary()
    first_version = entitlement.policy_version_id
    raised = PolicyVersionFactory(effective_on=D(2026, 10, 16), name="2026 rates")
    for rate in raised.rates:
        if (rate.category, rate.care_setting) == (BenefitCategory.SEVERE, CareSetting.HOME_CASH):
            rate.daily_fen = 1800
    db_session.flush()
    october = ledger.month_ledger(db_session, admin_actor, OCT)
    (line,) = october.lines
    assert [(s.first, s.last, s.version_id, s.rate_fen) for s in line.segments] == [
        (D(2026, 10, 1), D(2026, 10, 15), first_version, 1500),
        (D(2026, 10, 16), D(2026, 10, 31), raised.id, 1800),
    ]
    assert october.total_fen == 15 * 1500 + 16 * 1800
    # The decision and the entitlement keep the version and rate they were decided with, and
    # September is priced as before.
    assert (entitlement.policy_version_id, entitlement.decision.policy_version_id) == (
        first_version,
        first_version,
    )
    assert (entitlement.daily_rate_fen, entitlement.decision.daily_rate_fen) == (1500, 1500)
    assert ledger.month_ledger(db_session, admin_actor, SEP).total_fen == 21 * 1500


def test_a_rate_change_stored_through_the_policy_service_splits_the_month_from_its_date(
    db_session: Session, admin_actor: Actor
) -> None:
    """An administrator raises the cash subsidy from 16 December (a new version, never an edit):
    December is paid at both rates, November and the decided rate stay as they were."""
    entitlement = home_cash_beneficiary()
    first_version = entitlement.policy_version_id
    raised = create_policy_version(
        db_session,
        admin_actor,
        PolicyDraft(
            name="2027 rates",
            effective_on=D(2026, 12, 16),
            instrument_code="barthel",
            grading_rules=default_grading_rules_data(),
            grade_categories=default_grade_categories_data(),
            entitlement_starts_from="decision",
            appeal_days=30,
            publicity_working_days=5,
            reassessment_interval_months=24,
            daily_rates_fen={
                **DEFAULT_RATES_FEN,
                (BenefitCategory.SEVERE, CareSetting.HOME_CASH): 1_825,
            },
            home_service_monthly_budget_fen=120_000,
            min_disability_months=6,
        ),
        NOW,
    )
    december = ledger.month_ledger(db_session, admin_actor, D(2026, 12, 1))
    (line,) = december.lines
    assert [(s.first, s.last, s.version_id, s.rate_fen) for s in line.segments] == [
        (D(2026, 12, 1), D(2026, 12, 15), first_version, 1_500),
        (D(2026, 12, 16), D(2026, 12, 31), raised.id, 1_825),
    ]
    assert december.total_fen == line.amount_fen == 15 * 1_500 + 16 * 1_825
    assert ledger.month_ledger(db_session, admin_actor, NOV).total_fen == 30 * 1_500
    assert (entitlement.policy_version_id, entitlement.daily_rate_fen) == (first_version, 1_500)


def test_ending_an_entitlement_pays_up_to_the_day_before_and_records_the_event(
    db_session: Session, admin_actor: Actor
) -> None:
    entitlement = home_cash_beneficiary()
    plan = CarePlanFactory(entitlement=entitlement, starts_on=D(2026, 9, 10))
    ledger.record_end(
        db_session, admin_actor, entitlement.id, EndInput(D(2026, 11, 5), "death", "家属告知"), NOW
    )
    assert (entitlement.status, entitlement.ends_on, entitlement.end_reason) == (
        EntitlementStatus.ENDED,
        D(2026, 11, 4),
        "death",
    )
    end = next(e for e in entitlement.events if e.kind is EntitlementEventKind.END)
    assert (end.occurs_on, end.end_reason, end.note) == (D(2026, 11, 5), "death", "家属告知")
    assert plan.is_active is False
    assert lines_of(ledger.month_ledger(db_session, admin_actor, NOV), entitlement) == [
        (Payee.BENEFICIARY, None, 4, 0, 4 * 1500)
    ]
    assert audit_actions(db_session) == ["entitlement.end"]
    with pytest.raises(ConflictError):
        ledger.record_end(db_session, admin_actor, entitlement.id, EndInput(NOV, "death"), NOW)


def test_severe_home_service_days_are_paid_per_visit_to_the_company_of_the_settled_visits(
    db_session: Session, admin_actor: Actor
) -> None:
    # Was: per-visit days carried 0 and the company of the latest care plan was guessed as the
    # payee. Now the settled visits of the month carry the money, and the company is the one
    # whose visits are paid (a plan without paid visits names no payee: no guess).
    company = ProviderFactory()
    entitlement = home_cash_beneficiary(CareSetting.HOME_SERVICE, provider_id=company.id)
    planned = home_cash_beneficiary(CareSetting.HOME_SERVICE)
    plan = CarePlanFactory(entitlement=planned, starts_on=BENEFIT_START)
    october = ledger.month_ledger(db_session, admin_actor, OCT)
    assert lines_of(october, entitlement) == [(Payee.PER_VISIT, company.id, 31, 0, 0)]
    assert lines_of(october, planned) == [(Payee.PER_VISIT, None, 31, 0, 0)]
    assert october.per_visit_days == 62
    assert october.total_fen == 0
    planned.monthly_budget_fen = 120_000
    VisitFactory(
        care_plan=plan,
        visit_on=D(2026, 10, 7),
        status=VisitStatus.COMPLETED,
        done_item_codes=["bathing"],  # 80.00 yuan
    )
    october = ledger.month_ledger(db_session, admin_actor, OCT)
    assert lines_of(october, planned) == [(Payee.PER_VISIT, plan.provider_id, 31, 0, 8000)]
    assert october.total_fen == 8000
    assert [(p.name, p.paid_days, p.amount_fen) for p in october.payees()] == sorted(
        [(company.name, 31, 0), (plan.provider.name, 31, 8000)]
    )


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "field", "message"),
    [
        (
            lambda s, a, e: ledger.record_move(
                s, a, e.id, MoveInput(D(2026, 9, 1), CareSetting.HOME_SERVICE, None), NOW
            ),
            "moved_on",
            "must come after the entitlement starts",
        ),
        (
            lambda s, a, e: ledger.record_move(
                s, a, e.id, MoveInput(D(2026, 11, 24), CareSetting.HOME_SERVICE, None), NOW
            ),
            "moved_on",
            "cannot be later than today",
        ),
        (
            lambda s, a, e: ledger.record_move(
                s, a, e.id, MoveInput(D(2026, 10, 1), CareSetting.HOME_CASH, None), NOW
            ),
            "moved_on",
            "already in this care setting",
        ),
        (
            lambda s, a, e: ledger.record_move(
                s,
                a,
                e.id,
                MoveInput(D(2026, 10, 1), CareSetting.MEDICAL_CARE_INSTITUTION, None),
                NOW,
            ),
            "provider_id",
            "Choose the institution the person moves into.",
        ),
        (
            lambda s, a, e: ledger.record_move(
                s,
                a,
                e.id,
                MoveInput(
                    D(2026, 10, 1), CareSetting.MEDICAL_CARE_INSTITUTION, ProviderFactory().id
                ),
                NOW,
            ),
            "provider_id",
            "Choose a provider that runs this care setting.",
        ),
        (
            lambda s, a, e: ledger.record_move(
                s,
                a,
                e.id,
                MoveInput(D(2026, 10, 1), CareSetting.HOME_SERVICE, None, "x" * 201),
                NOW,
            ),
            "note",
            "At most 200 characters.",
        ),
        (
            lambda s, a, e: ledger.record_hospital_stay(
                s, a, e.id, AdmissionInput(D(2026, 9, 5), D(2026, 9, 12)), NOW
            ),
            "admitted_on",
            "before the entitlement starts",
        ),
        (
            lambda s, a, e: ledger.record_hospital_stay(
                s, a, e.id, AdmissionInput(D(2026, 10, 5), D(2026, 10, 2)), NOW
            ),
            "discharged_on",
            "cannot be before the admission",
        ),
        (
            lambda s, a, e: ledger.record_hospital_stay(
                s, a, e.id, AdmissionInput(D(2026, 10, 5), D(2026, 12, 2)), NOW
            ),
            "discharged_on",
            "cannot be later than today",
        ),
        (
            lambda s, a, e: ledger.record_end(s, a, e.id, EndInput(D(2026, 9, 9), "death"), NOW),
            "ends_on",
            "cannot be before the entitlement starts",
        ),
        (
            lambda s, a, e: ledger.record_end(s, a, e.id, EndInput(D(2026, 10, 9), "bored"), NOW),
            "reason",
            "Choose why the entitlement ends.",
        ),
    ],
)
def test_impossible_events_are_refused_writing_nothing(
    english: None, db_session: Session, admin_actor: Actor, action: Any, field: str, message: str
) -> None:
    entitlement = home_cash_beneficiary()
    before = count_events(db_session)
    with pytest.raises(InvalidInputError) as raised:
        action(db_session, admin_actor, entitlement)
    assert (raised.value.field, message in raised.value.message) == (field, True)
    assert count_events(db_session) == before
    assert audit_actions(db_session) == []
    assert entitlement.status is EntitlementStatus.ACTIVE


def test_overlapping_hospital_stays_are_refused(
    english: None, db_session: Session, admin_actor: Actor
) -> None:
    entitlement = home_cash_beneficiary()
    ledger.record_hospital_stay(
        db_session,
        admin_actor,
        entitlement.id,
        AdmissionInput(D(2026, 10, 5), D(2026, 10, 12)),
        NOW,
    )
    with pytest.raises(InvalidInputError, match="overlaps another one"):
        ledger.record_hospital_stay(
            db_session, admin_actor, entitlement.id, AdmissionInput(D(2026, 10, 11), None), NOW
        )
    # Readmission on the discharge day is possible.
    ledger.record_hospital_stay(
        db_session, admin_actor, entitlement.id, AdmissionInput(D(2026, 10, 12), None), NOW
    )


def test_nothing_can_be_recorded_on_or_after_the_end(
    english: None, db_session: Session, admin_actor: Actor
) -> None:
    entitlement = home_cash_beneficiary()
    ledger.record_end(
        db_session, admin_actor, entitlement.id, EndInput(D(2026, 10, 20), "moved_away"), NOW
    )
    with pytest.raises(InvalidInputError, match="nothing can happen on or after its end"):
        ledger.record_hospital_stay(
            db_session, admin_actor, entitlement.id, AdmissionInput(D(2026, 10, 20), None), NOW
        )
    with pytest.raises(InvalidInputError, match="nothing can happen on or after its end"):
        ledger.record_move(
            db_session,
            admin_actor,
            entitlement.id,
            MoveInput(D(2026, 10, 25), CareSetting.HOME_SERVICE, None),
            NOW,
        )


def test_an_end_before_a_recorded_move_is_refused(
    english: None, db_session: Session, admin_actor: Actor
) -> None:
    entitlement = home_cash_beneficiary()
    ledger.record_move(
        db_session,
        admin_actor,
        entitlement.id,
        MoveInput(D(2026, 10, 10), CareSetting.HOME_SERVICE, None),
        NOW,
    )
    with pytest.raises(InvalidInputError, match="nothing can happen on or after its end"):
        ledger.record_end(
            db_session, admin_actor, entitlement.id, EndInput(D(2026, 10, 10), "death"), NOW
        )
    assert entitlement.status is EntitlementStatus.ACTIVE


def test_discharge_of_an_unknown_or_closed_stay_is_refused(
    db_session: Session, admin_actor: Actor
) -> None:
    entitlement = home_cash_beneficiary()
    stay = ledger.record_hospital_stay(
        db_session, admin_actor, entitlement.id, AdmissionInput(D(2026, 10, 5), D(2026, 10, 9)), NOW
    )
    with pytest.raises(ConflictError):
        ledger.record_discharge(
            db_session, admin_actor, entitlement.id, stay.id, D(2026, 10, 9), NOW
        )
    with pytest.raises(NotFoundError):
        ledger.record_discharge(
            db_session, admin_actor, entitlement.id, 999_999, D(2026, 10, 9), NOW
        )
    with pytest.raises(NotFoundError):
        ledger.get_entitlement_page(db_session, admin_actor, 999_999, D(2026, 11, 23))


@pytest.mark.parametrize("role", [Role.ASSESSOR, Role.PROVIDER_MANAGER, Role.CAREGIVER, None])
def test_ledger_services_are_for_administrators_only(
    db_session: Session, role: Role | None
) -> None:
    entitlement = home_cash_beneficiary()
    actor = Actor(user_id=UserFactory().id if role else None, role=role)
    with pytest.raises(PermissionDeniedError):
        ledger.get_entitlement_page(db_session, actor, entitlement.id, D(2026, 11, 23))
    with pytest.raises(PermissionDeniedError):
        ledger.record_end(db_session, actor, entitlement.id, EndInput(NOV, "death"), NOW)
    with pytest.raises(PermissionDeniedError):
        ledger.month_ledger(db_session, actor, OCT)
    with pytest.raises(PermissionDeniedError):
        fund.fund_overview(db_session, actor, OCT)


# --- decisions open the entitlement with its START event ------------------------------------


def test_a_decision_starts_the_entitlement_with_the_institution_named_on_the_application(
    db_session: Session, admin_actor: Actor, policy: PolicyVersion
) -> None:
    home = institution(ProviderKind.MEDICAL_CARE_INSTITUTION)
    assessment = DecidableAssessmentFactory(total=30, application__provider=home)
    decision = decide_application(
        db_session,
        admin_actor,
        assessment.application_id,
        CareSetting.MEDICAL_CARE_INSTITUTION,
        NOW,
    )
    entitlement = db_session.scalars(
        select(Entitlement).where(Entitlement.decision_id == decision.id)
    ).one()
    (start,) = entitlement.events
    assert (start.kind, start.occurs_on, start.care_setting, start.provider_id) == (
        EntitlementEventKind.START,
        entitlement.starts_on,
        CareSetting.MEDICAL_CARE_INSTITUTION,
        home.id,
    )
    assert decision.policy_version_id == policy.id == entitlement.policy_version_id


def test_a_policy_may_start_entitlements_on_the_application_date(
    db_session: Session, admin_actor: Actor
) -> None:
    PolicyVersionFactory(entitlement_starts_from=EntitlementStart.APPLICATION)
    assessment = DecidableAssessmentFactory(total=30, application__applied_on=D(2026, 10, 2))
    decision = decide_application(
        db_session, admin_actor, assessment.application_id, CareSetting.HOME_CASH, NOW
    )
    entitlement = db_session.scalars(
        select(Entitlement).where(Entitlement.decision_id == decision.id)
    ).one()
    assert entitlement.starts_on == D(2026, 10, 2)
    assert decision.decided_on == D(2026, 11, 23)
    october = ledger.month_ledger(db_session, admin_actor, OCT)
    assert lines_of(october, entitlement) == [(Payee.BENEFICIARY, None, 30, 0, 30 * 1500)]


# --- household registration never changes a decision, a rate or a ledger -------------------


@pytest.mark.parametrize(
    ("total", "setting"),
    [
        (30, CareSetting.HOME_CASH),
        (30, CareSetting.HOME_SERVICE),
        (30, CareSetting.ELDERLY_CARE_INSTITUTION),
        (50, CareSetting.MEDICAL_CARE_INSTITUTION),
        (50, CareSetting.HOME_CASH),
    ],
)
def test_the_ledger_is_the_same_whatever_the_household_registration(
    db_session: Session, admin_actor: Actor, policy: PolicyVersion, total: int, setting: CareSetting
) -> None:
    home = institution()
    rural = DistrictFactory(code="320684", name_zh="海门区", name_en="Haimen District")
    outcomes = []
    for household in (HouseholdType.URBAN, HouseholdType.RURAL, HouseholdType.OTHER_CITY):
        person = PersonFactory(name="王某", household_type=household, district=rural)
        assessment = DecidableAssessmentFactory(application__person=person, total=total)
        decision = decide_application(
            db_session, admin_actor, assessment.application_id, setting, NOW
        )
        entitlement = db_session.scalars(
            select(Entitlement).where(Entitlement.decision_id == decision.id)
        ).one()
        entitlement.starts_on = D(2026, 9, 10)  # backdated alike, to have whole months
        entitlement.events[0].occurs_on = D(2026, 9, 10)
        db_session.flush()
        ledger.record_hospital_stay(
            db_session,
            admin_actor,
            entitlement.id,
            AdmissionInput(D(2026, 9, 28), D(2026, 10, 3)),
            NOW,
        )
        target = (
            CareSetting.HOME_SERVICE
            if setting is CareSetting.ELDERLY_CARE_INSTITUTION
            else CareSetting.ELDERLY_CARE_INSTITUTION
        )
        ledger.record_move(
            db_session,
            admin_actor,
            entitlement.id,
            MoveInput(
                D(2026, 10, 16),
                target,
                home.id if target is CareSetting.ELDERLY_CARE_INSTITUTION else None,
            ),
            NOW,
        )
        months = [
            [
                (line.payee, line.paid_days, line.suspended_days, line.amount_fen, line.segments)
                for line in ledger.month_ledger(db_session, admin_actor, month).lines
                if line.entitlement_id == entitlement.id
            ]
            for month in (SEP, OCT, NOV)
        ]
        outcomes.append(
            (
                decision.is_eligible,
                decision.category,
                decision.daily_rate_fen,
                decision.reasons,
                entitlement.daily_rate_fen,
                entitlement.care_setting,
                months,
            )
        )
    assert outcomes[0] == outcomes[1] == outcomes[2]


# --- the fund -----------------------------------------------------------------------------------


def test_the_month_totals_sum_to_the_funds_expenditure(
    db_session: Session, admin_actor: Actor
) -> None:
    home = institution()
    moved = home_cash_beneficiary()
    ledger.record_move(
        db_session,
        admin_actor,
        moved.id,
        MoveInput(D(2026, 10, 16), CareSetting.ELDERLY_CARE_INSTITUTION, home.id),
        NOW,
    )
    home_cash_beneficiary(category=BenefitCategory.MODERATE)
    home_cash_beneficiary(CareSetting.HOME_SERVICE)  # per visit: no daily amount
    overview = fund.fund_overview(db_session, admin_actor, D(2026, 10, 20))
    month = overview.ledger
    expected = 15 * 1500 + 16 * 4000 + 31 * 1000
    assert overview.month == OCT
    assert month.total_fen == overview.total_fen == expected
    assert overview.total_of(SEP) == 21 * 1500 + 21 * 1000
    assert len(overview.months) == 12
    assert overview.months[0] == D(2025, 11, 1)
    for key in ("category", "care_setting", "district"):
        assert sum(amount for _, _, amount in month.by(key)) == expected
    assert sum(p.amount_fen for p in month.payees()) == expected
    assert {row[0]: row[2] for row in month.by("category")} == {
        "severe": 15 * 1500 + 16 * 4000,
        "moderate": 31 * 1000,
    }
    assert [line.code for line in overview.lines] == ["benefits", "devices"]


def test_the_fund_page_data_takes_a_bounded_number_of_queries(
    db_session: Session, admin_actor: Actor, count_queries: Statements
) -> None:
    def queries_for(extra: int) -> int:
        for _ in range(extra):
            entitlement = home_cash_beneficiary()
            ledger.record_hospital_stay(
                db_session,
                admin_actor,
                entitlement.id,
                AdmissionInput(D(2026, 10, 5), D(2026, 10, 8)),
                NOW,
            )
        db_session.expire_all()
        with count_queries.counted() as statements:
            fund.fund_overview(db_session, admin_actor, OCT)
            ledger.month_ledger(db_session, admin_actor, OCT)
        return len(statements)

    few = queries_for(2)
    many = queries_for(12)
    assert few == many
    # 5 more per ledger than before settlement joined it: service prices, visits, claim flags,
    # what statements paid, provider names (the fund page and the month's ledger: 2 ledgers).
    assert many <= 24


def test_entitlements_from_before_the_events_start_in_the_decisions_setting(
    db_session: Session, admin_actor: Actor, policy: PolicyVersion
) -> None:
    """Rows without a START (or END) event: the decision's setting, the day after `ends_on`."""
    legacy = EntitlementFactory(
        decision__policy_version=policy,
        decision__care_setting=CareSetting.HOME_CASH,
        care_setting=CareSetting.HOME_SERVICE,  # the setting now, not at the start
        starts_on=D(2026, 9, 10),
        status=EntitlementStatus.ENDED,
        ends_on=D(2026, 10, 9),
    )
    september = ledger.month_ledger(db_session, admin_actor, SEP)
    october = ledger.month_ledger(db_session, admin_actor, OCT)
    assert lines_of(september, legacy) == [(Payee.BENEFICIARY, None, 21, 0, 21 * 1500)]
    assert lines_of(october, legacy) == [(Payee.BENEFICIARY, None, 9, 0, 9 * 1500)]


def test_an_application_date_start_is_never_before_the_first_policy_version(
    db_session: Session, admin_actor: Actor
) -> None:
    PolicyVersionFactory(
        effective_on=D(2026, 10, 10), entitlement_starts_from=EntitlementStart.APPLICATION
    )
    assessment = DecidableAssessmentFactory(total=30, application__applied_on=D(2026, 10, 2))
    decision = decide_application(
        db_session, admin_actor, assessment.application_id, CareSetting.HOME_CASH, NOW
    )
    entitlement = db_session.scalars(
        select(Entitlement).where(Entitlement.decision_id == decision.id)
    ).one()
    assert entitlement.starts_on == D(2026, 10, 10)
    assert ledger.month_ledger(db_session, admin_actor, OCT).total_fen == 22 * 1500


def test_device_subsidies_join_the_fund_in_the_month_they_start(
    db_session: Session, admin_actor: Actor
) -> None:
    DeviceLoanFactory(starts_on=D(2026, 10, 31), subsidy_fen=30_000)
    DeviceLoanFactory(starts_on=D(2026, 11, 1), subsidy_fen=20_000)

    overview = fund.fund_overview(db_session, admin_actor, D(2026, 11, 1))

    devices = next(line for line in overview.lines if line.code == "devices")
    assert devices.by_month[D(2026, 10, 1)] == 30_000
    assert devices.by_month[D(2026, 11, 1)] == 20_000
    assert devices.by_month[D(2026, 9, 1)] == 0
    benefits = next(line for line in overview.lines if line.code == "benefits")
    assert overview.total_of(D(2026, 10, 1)) == benefits.by_month[D(2026, 10, 1)] + 30_000
