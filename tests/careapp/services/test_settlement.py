"""Monthly settlement: statements per provider, supplementary statements, reconciliation with the
ledger (a hand-worked month and generated months), the PDF and the CSV."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from careapp.models import (
    AuditEvent,
    CareSetting,
    Certificate,
    CertificateKind,
    ClaimFlag,
    ClaimFlagStatus,
    Provider,
    ProviderKind,
    Role,
    SettlementStatement,
    Visit,
)
from careapp.reports.statement import render_statement, statement_csv
from careapp.services import fund, ledger, settlement
from careapp.services.actor import Actor
from careapp.services.certificates import VerificationResult, verify_certificate
from careapp.services.ledger import AdmissionInput, MoveInput
from scheduling.visits import VisitStatus
from tests.careapp.reports.pdf_checks import flat, pdftotext
from tests.conftest import Statements
from tests.factories import (
    NOW,
    ProviderFactory,
    ServiceItemFactory,
    UserFactory,
    home_service_beneficiary,
    october_visit,
    plan_for,
    raise_flag,
)

D = dt.date
OCT = D(2026, 10, 1)
BED_RATE = 4000  # severe, elderly care institution (the default policy)
CASH_RATE = 1500  # severe, cash at home


@pytest.fixture
def items(db_session: Session) -> dict[str, int]:
    ServiceItemFactory(code="bathing", unit_price_fen=8000)
    ServiceItemFactory(code="feeding", name_zh="助餐", name_en="Feeding", unit_price_fen=3500)
    ServiceItemFactory(code="nursing", name_zh="护理", name_en="Nursing", unit_price_fen=12_050)
    return {"bathing": 8000, "feeding": 3500, "nursing": 12_050}


def statements_of(session: Session, provider: Provider) -> list[tuple[int, int, int]]:
    return [
        (s.sequence, s.total_fen, s.visits_held)
        for s in session.scalars(
            select(SettlementStatement)
            .where(SettlementStatement.provider_id == provider.id)
            .order_by(SettlementStatement.sequence)
        )
    ]


def reconciled(session: Session, admin_actor: Actor) -> dict[int, tuple[int, int, int]]:
    found = settlement.reconcile_month(session, admin_actor, OCT, NOW)
    return {
        row.provider_id: (row.ledger_fen, row.statements_fen, row.difference_fen)
        for row in found.rows
    }


# --- a hand-worked month ------------------------------------------------------------------------


@pytest.fixture
def month(db_session: Session, admin_actor: Actor, items: dict[str, int]) -> dict[str, Any]:
    """October 2026, worked by hand (figures in fen):

    王小明 (budget 200.00): company A on the 2nd, bathing + feeding = 115.00 (paid, 85.00 left);
      A on the 3rd, bathing 80.00 (paid, 5.00 left); A in hospital on the 11th (stay 10th-12th,
      discharged on the 13th): not a benefit day; A leaves, company B on the 16th, bathing 80.00:
      the remainder 5.00 is paid; B on the 17th: over budget.
    李四 (budget 1,200.00): A on the 4th, open flag (held, 80.00); A on the 8th, upheld flag
      (refused); A on the 9th, bathing (80.00 paid); a volunteer on the 9th (never settled);
      A on the 20th, missed (not on the statement).
    张三丰: in care home H all month: 31 bed-days x 40.00 = 1,240.00.
    赵六: cash at home (15 days x 15.00 = 225.00, to the person), care home H from the 16th:
      16 bed-days x 40.00 = 640.00.
    """
    company_a = ProviderFactory(name="甲照护公司")
    company_b = ProviderFactory(name="乙照护公司")
    volunteers = ProviderFactory(name="志愿者协会", kind=ProviderKind.VOLUNTEER)
    home = ProviderFactory(name="丙护理院", kind=ProviderKind.ELDERLY_CARE_INSTITUTION)

    wang = home_service_beneficiary(budget=20_000, name="王小明")
    wang_a = plan_for(wang, company_a, ends_on=D(2026, 10, 15), is_active=False)
    wang_b = plan_for(wang, company_b)
    october_visit(wang_a, 2, ("bathing", "feeding"))
    october_visit(wang_a, 3)
    october_visit(wang_a, 11)
    october_visit(wang_b, 16)
    october_visit(wang_b, 17)
    ledger.record_hospital_stay(
        db_session, admin_actor, wang.id, AdmissionInput(D(2026, 10, 10), D(2026, 10, 13)), NOW
    )

    li = home_service_beneficiary(name="李四")
    li_a = plan_for(li, company_a)
    held = october_visit(li_a, 4, flag=ClaimFlagStatus.OPEN)
    october_visit(li_a, 8, flag=ClaimFlagStatus.UPHELD)
    october_visit(li_a, 9)
    october_visit(li_a, 20, status=VisitStatus.MISSED)
    volunteer_visit = october_visit(plan_for(li, volunteers), 9)

    home_service_beneficiary(CareSetting.ELDERLY_CARE_INSTITUTION, home.id, name="张三丰")
    zhao = home_service_beneficiary(CareSetting.HOME_CASH, name="赵六")
    ledger.record_move(
        db_session,
        admin_actor,
        zhao.id,
        MoveInput(D(2026, 10, 16), CareSetting.ELDERLY_CARE_INSTITUTION, home.id),
        NOW,
    )
    return {
        "a": company_a,
        "b": company_b,
        "volunteers": volunteers,
        "home": home,
        "held": held,
        "volunteer_visit": volunteer_visit,
        "wang": wang,
    }


A_FEN = 11_500 + 8000 + 8000  # 王小明 on the 2nd and 3rd, 李四 on the 9th
B_FEN = 500  # the remainder of 王小明's budget
HOME_FEN = 31 * BED_RATE + 16 * BED_RATE
CASH_FEN = 15 * CASH_RATE


def test_the_hand_worked_month_settles_to_the_fen(
    db_session: Session, admin_actor: Actor, month: dict[str, Any]
) -> None:
    a, b, volunteers, home = month["a"], month["b"], month["volunteers"], month["home"]
    october = ledger.month_ledger(db_session, admin_actor, OCT)
    assert {p.provider_id: p.amount_fen for p in october.payees()} == {
        a.id: A_FEN,
        b.id: B_FEN,
        home.id: HOME_FEN,
        None: CASH_FEN,
    }
    assert october.total_fen == A_FEN + B_FEN + HOME_FEN + CASH_FEN
    # The entitlement's own page counts its settled visits in the month.
    page = ledger.get_entitlement_page(db_session, admin_actor, month["wang"].id, D(2026, 11, 23))
    wang_october = next(m for m in page.months if m.month == OCT)
    assert (wang_october.visits_paid, wang_october.amount_fen) == (3, 20_000)
    # The ledger sums to the fund's expenditure, home care included.
    overview = fund.fund_overview(db_session, admin_actor, D(2026, 10, 31))
    assert overview.lines[0].by_month[OCT] == october.total_fen

    issued = settlement.issue_month_statements(db_session, admin_actor, OCT, NOW)
    assert sorted((s.provider_id, s.sequence, s.total_fen) for s in issued) == sorted(
        [(a.id, 1, A_FEN), (b.id, 1, B_FEN), (home.id, 1, HOME_FEN)]
    )
    main_a = next(s for s in issued if s.provider_id == a.id)
    assert (main_a.visits_paid, main_a.visits_paid_fen) == (3, A_FEN)
    assert (main_a.visits_held, main_a.visits_held_fen) == (1, 8000)
    assert sorted((line.visit_on.day, line.outcome, line.amount_fen) for line in main_a.lines) == [
        (2, "paid", 11_500),
        (3, "paid", 8000),
        (4, "held_flag", 0),
        (8, "rejected_flag", 0),
        (9, "paid", 8000),
        (11, "in_hospital", 0),
    ]
    main_b = next(s for s in issued if s.provider_id == b.id)
    assert [(line.visit_on.day, line.outcome, line.amount_fen) for line in main_b.lines] == [
        (16, "paid", 500),
        (17, "over_budget", 0),
    ]
    main_home = next(s for s in issued if s.provider_id == home.id)
    assert (main_home.bed_days, main_home.bed_days_fen) == (47, HOME_FEN)
    assert statements_of(db_session, volunteers) == []  # volunteer visits are never settled
    assert reconciled(db_session, admin_actor) == {
        a.id: (A_FEN, A_FEN, 0),
        b.id: (B_FEN, B_FEN, 0),
        home.id: (HOME_FEN, HOME_FEN, 0),
        volunteers.id: (0, 0, 0),
    }
    found = settlement.reconcile_month(db_session, admin_actor, OCT, NOW)
    assert [line.claim.visit_id for row in found.rows for line in row.held] == [month["held"].id]
    assert found.beneficiaries_fen == CASH_FEN
    assert found.providers_ledger_fen + found.beneficiaries_fen == found.ledger_total_fen
    # Nothing new: a second run issues nothing, and one provider's statement is refused.
    assert settlement.issue_month_statements(db_session, admin_actor, OCT, NOW) == []
    with pytest.raises(ConflictError):
        settlement.issue_statement(db_session, admin_actor, b.id, OCT, NOW)


def test_a_held_visit_cleared_later_is_paid_by_a_supplementary_statement(
    db_session: Session, admin_actor: Actor, month: dict[str, Any]
) -> None:
    a = month["a"]
    settlement.issue_month_statements(db_session, admin_actor, OCT, NOW)
    flag = db_session.scalar(select(ClaimFlag).where(ClaimFlag.visit_id == month["held"].id))
    assert flag is not None
    flag.status = ClaimFlagStatus.CLEARED
    db_session.flush()
    assert reconciled(db_session, admin_actor)[a.id] == (A_FEN + 8000, A_FEN, 8000)
    supplementary = settlement.issue_statement(db_session, admin_actor, a.id, OCT, NOW)
    assert supplementary.sequence == 2
    assert supplementary.is_supplementary
    assert (supplementary.total_fen, supplementary.visits_paid, supplementary.visits_held) == (
        8000,
        1,
        0,
    )
    assert [(line.visit_id, line.amount_fen) for line in supplementary.lines] == [
        (month["held"].id, 8000)
    ]
    assert statements_of(db_session, a) == [(1, A_FEN, 1), (2, 8000, 0)]
    assert reconciled(db_session, admin_actor)[a.id] == (A_FEN + 8000, A_FEN + 8000, 0)
    with pytest.raises(ConflictError):
        settlement.issue_statement(db_session, admin_actor, a.id, OCT, NOW)


def test_a_cleared_visit_is_paid_only_within_the_budget_left(
    db_session: Session, admin_actor: Actor, items: dict[str, int]
) -> None:
    company = ProviderFactory()
    person = home_service_beneficiary(budget=20_000)
    plan = plan_for(person, company)
    early = october_visit(plan, 2, ("nursing",), flag=ClaimFlagStatus.OPEN)  # 120.50, held
    october_visit(plan, 3, ("nursing",))  # 120.50
    october_visit(plan, 4, ("bathing",))  # 80.00 -> 79.50 (the budget is 200.00)
    main = settlement.issue_statement(db_session, admin_actor, company.id, OCT, NOW)
    assert main.total_fen == 20_000
    flag = db_session.scalar(select(ClaimFlag).where(ClaimFlag.visit_id == early.id))
    assert flag is not None
    flag.status = ClaimFlagStatus.CLEARED
    db_session.flush()
    # Cleared, but the budget was used up by the visits paid: nothing new to pay.
    with pytest.raises(ConflictError):
        settlement.issue_statement(db_session, admin_actor, company.id, OCT, NOW)
    assert reconciled(db_session, admin_actor)[company.id] == (20_000, 20_000, 0)
    lines = ledger.month_ledger(db_session, admin_actor, OCT).settlement.lines
    assert (lines[0].claim.visit_id, lines[0].outcome.value) == (
        early.id,
        "over_budget",
    )


def test_an_upheld_flag_is_never_paid(
    db_session: Session, admin_actor: Actor, month: dict[str, Any]
) -> None:
    flag = db_session.scalar(select(ClaimFlag).where(ClaimFlag.visit_id == month["held"].id))
    assert flag is not None
    flag.status = ClaimFlagStatus.UPHELD
    db_session.flush()
    main = settlement.issue_statement(db_session, admin_actor, month["a"].id, OCT, NOW)
    assert (main.total_fen, main.visits_held) == (A_FEN, 0)
    outcome = next(line.outcome for line in main.lines if line.visit_id == month["held"].id)
    assert outcome == "rejected_flag"


def test_volunteer_visits_are_never_settled_nor_make_the_volunteer_a_payee(
    db_session: Session, admin_actor: Actor, items: dict[str, int]
) -> None:
    volunteers = ProviderFactory(kind=ProviderKind.VOLUNTEER)
    person = home_service_beneficiary()
    plan = plan_for(person, volunteers)
    for day in (2, 3, 4):
        october_visit(plan, day)
    october = ledger.month_ledger(db_session, admin_actor, OCT)
    assert [(line.provider_id, line.amount_fen) for line in october.lines] == [(None, 0)]
    assert {line.outcome.value for line in october.settlement.lines} == {"volunteer"}
    assert settlement.issue_month_statements(db_session, admin_actor, OCT, NOW) == []
    with pytest.raises(ConflictError):
        settlement.issue_statement(db_session, admin_actor, volunteers.id, OCT, NOW)


def test_a_month_is_settled_only_after_it_ended_and_by_an_administrator(
    db_session: Session, admin_actor: Actor, month: dict[str, Any]
) -> None:
    with pytest.raises(ConflictError):
        settlement.issue_statement(db_session, admin_actor, month["a"].id, D(2026, 11, 1), NOW)
    manager = Actor(
        user_id=UserFactory(manager=True).id, role=Role.PROVIDER_MANAGER, provider_id=month["a"].id
    )
    with pytest.raises(PermissionDeniedError):
        settlement.issue_statement(db_session, manager, month["a"].id, OCT, NOW)
    with pytest.raises(PermissionDeniedError):
        settlement.reconcile_month(db_session, manager, OCT, NOW)
    with pytest.raises(NotFoundError):
        settlement.issue_statement(db_session, admin_actor, 999_999, OCT, NOW)


def test_managers_see_only_their_providers_statements_and_each_download_is_audited(
    db_session: Session, admin_actor: Actor, month: dict[str, Any]
) -> None:
    issued = settlement.issue_month_statements(db_session, admin_actor, OCT, NOW)
    a_statement = next(s for s in issued if s.provider_id == month["a"].id)
    b_statement = next(s for s in issued if s.provider_id == month["b"].id)
    manager = Actor(
        user_id=UserFactory(manager=True).id, role=Role.PROVIDER_MANAGER, provider_id=month["a"].id
    )
    assert [s.id for s in settlement.list_statements(db_session, manager)] == [a_statement.id]
    assert len(settlement.list_statements(db_session, admin_actor)) == 3
    settlement.get_statement(db_session, manager, a_statement.id, NOW, purpose="pdf")
    with pytest.raises(NotFoundError):
        settlement.get_statement(db_session, manager, b_statement.id, NOW, purpose="pdf")
    caregiver = Actor(user_id=UserFactory(caregiver=True).id, role=Role.CAREGIVER)
    with pytest.raises(PermissionDeniedError):
        settlement.list_statements(db_session, caregiver)
    actions = list(
        db_session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type == "settlement_statement")
        )
    )
    assert actions.count("settlement.issue") == 3
    assert actions.count("settlement.download") == 1


def test_the_statement_pdf_and_csv_carry_the_number_and_masked_people(
    db_session: Session, admin_actor: Actor, month: dict[str, Any], tmp_path: Path
) -> None:
    main = settlement.issue_statement(db_session, admin_actor, month["a"].id, OCT, NOW)
    data = settlement.statement_data(main, "https://ltc.example.cn")
    pdf = render_statement(data)
    assert pdf.startswith(b"%PDF")
    text = flat(pdftotext(pdf, tmp_path))
    assert main.number in text
    assert main.number.startswith("JS-2026-")
    assert "王**" in text
    assert "李*" in text
    assert "王小明" not in text
    assert "275.00" in text  # the total, 27,500 fen
    assert "待审核暂缓" in text
    assert "助浴、助餐" in text  # the items done, in Chinese
    csv = statement_csv(data).decode("utf-8-sig")
    assert main.number in csv
    assert "王**" in csv
    assert "王小明" not in csv
    assert '助浴、助餐,"bathing,feeding",11500,11500,已结算' in csv
    # The statement's number is a certificate: the public page finds it, genuine and valid.
    certificate = db_session.get(Certificate, main.certificate_id)
    assert certificate is not None
    assert certificate.kind is CertificateKind.SETTLEMENT_STATEMENT
    code = certificate.check_code
    assert f"{main.number}核验码：{code[:5]}-{code[5:]}" in text  # the code beside the number
    assert data.verify_url == f"https://ltc.example.cn/verify/{main.number}?code={data.check_code}"
    verification = verify_certificate(db_session, admin_actor, main.number, NOW, 100, raw_code=code)
    assert verification.result is VerificationResult.VALID
    wrong = verify_certificate(db_session, admin_actor, main.number, NOW, 100, raw_code=None)
    assert wrong.result is VerificationResult.UNKNOWN
    assert verification.masked_name == "甲照护公司"


# --- generated months ---------------------------------------------------------------------------


def test_settlement_reconciles_with_the_ledger_on_generated_months(
    db_session: Session, admin_actor: Actor, items: dict[str, int]
) -> None:
    """Many beneficiaries, visits, prices, budgets, hospital stays, flags, a mid-month change of
    company, volunteers and institutions with moves; an oracle written day by day checks every
    provider's money to the fen, before and after flags are cleared."""
    rng = random.Random(20261023)
    companies = [ProviderFactory(name=f"公司{n}") for n in range(3)]
    volunteers = ProviderFactory(kind=ProviderKind.VOLUNTEER)
    homes = [
        ProviderFactory(name=f"护理院{n}", kind=ProviderKind.ELDERLY_CARE_INSTITUTION)
        for n in range(2)
    ]
    expected_visits: dict[int, list[tuple[dt.date, dt.datetime, int, int, int]]] = defaultdict(list)
    budgets: dict[int, int] = {}
    stays: dict[int, tuple[int, int]] = {}
    flags: list[tuple[Visit, ClaimFlag]] = []
    for n in range(14):
        budget = rng.choice([10_000, 30_000, 120_000])
        person = home_service_beneficiary(budget=budget, name=f"居家{n}号")
        budgets[person.person_id] = budget
        if rng.random() < 0.5:
            admitted = rng.randint(1, 25)
            discharged = admitted + rng.randint(1, 5)
            stays[person.person_id] = (admitted, discharged)
            ledger.record_hospital_stay(
                db_session,
                admin_actor,
                person.id,
                AdmissionInput(D(2026, 10, admitted), D(2026, 10, discharged)),
                NOW,
            )
        first, second = rng.sample(companies, 2)
        change = rng.randint(5, 25) if rng.random() < 0.4 else None
        plans = [plan_for(person, first)]
        if change is not None:
            plans.append(plan_for(person, second))
        extra = plan_for(person, volunteers)
        for day in sorted(rng.sample(range(1, 32), rng.randint(0, 12))):
            plan = plans[1] if change is not None and day >= change else plans[0]
            if rng.random() < 0.1:
                plan = extra
            done = tuple(rng.sample(list(items), rng.randint(0, 3)))
            status = rng.choice([VisitStatus.COMPLETED] * 5 + [VisitStatus.MISSED])
            found = october_visit(plan, day, done, status)
            flag = None
            if rng.random() < 0.2:
                flag = raise_flag(found, rng.choice([ClaimFlagStatus.OPEN, ClaimFlagStatus.UPHELD]))
                flags.append((found, flag))
            stay = stays.get(person.person_id)
            in_hospital = stay is not None and stay[0] <= day < stay[1]
            if (
                status is VisitStatus.COMPLETED
                and plan.provider.kind is ProviderKind.HOME_CARE
                and not in_hospital
            ):
                value = sum(items[code] for code in done)
                expected_visits[person.person_id].append(
                    (found.visit_on, found.window_start, found.id, plan.provider_id, value)
                )
    bed_fen: dict[int, int] = defaultdict(int)
    for n in range(8):
        home = rng.choice(homes)
        resident = home_service_beneficiary(
            CareSetting.ELDERLY_CARE_INSTITUTION, home.id, name=f"院{n}号"
        )
        days_in = dict.fromkeys(range(1, 32), home.id)
        if rng.random() < 0.5:
            moved = rng.randint(2, 30)
            other = homes[1] if home is homes[0] else homes[0]
            ledger.record_move(
                db_session,
                admin_actor,
                resident.id,
                MoveInput(D(2026, 10, moved), CareSetting.ELDERLY_CARE_INSTITUTION, other.id),
                NOW,
            )
            days_in.update(dict.fromkeys(range(moved, 32), other.id))
        if rng.random() < 0.4:
            admitted = rng.randint(1, 28)
            discharged = admitted + rng.randint(1, 3)
            ledger.record_hospital_stay(
                db_session,
                admin_actor,
                resident.id,
                AdmissionInput(D(2026, 10, admitted), D(2026, 10, discharged)),
                NOW,
            )
            for day in range(admitted, discharged):
                days_in.pop(day, None)
        for provider_id in days_in.values():
            bed_fen[provider_id] += BED_RATE

    held_ids = {found.id for found, flag in flags if flag.status is ClaimFlagStatus.OPEN}
    rejected_ids = {found.id for found, flag in flags if flag.status is ClaimFlagStatus.UPHELD}

    def oracle(excluded: set[int]) -> dict[int, int]:
        """Provider id -> fen: each person's payable visits in order, capped by the budget."""
        owed: dict[int, int] = defaultdict(int)
        for person_id, own in expected_visits.items():
            room = budgets[person_id]
            for _day, _start, visit_id, provider_id, value in sorted(own):
                if visit_id in excluded:
                    continue
                paid = min(value, room)
                room -= paid
                owed[provider_id] += paid
        for provider_id, fen in bed_fen.items():
            owed[provider_id] += fen
        return {key: fen for key, fen in owed.items() if fen}

    def money() -> dict[int, int]:
        rows = reconciled(db_session, admin_actor)
        assert all(diff == 0 for _, _, diff in rows.values())
        return {key: fen for key, (fen, _, _) in rows.items() if fen}

    expected = oracle(held_ids | rejected_ids)
    october = ledger.month_ledger(db_session, admin_actor, OCT)
    assert {
        p.provider_id: p.amount_fen for p in october.payees() if p.provider_id and p.amount_fen
    } == expected
    assert volunteers.id not in {line.provider_id for line in october.lines}
    settlement.issue_month_statements(db_session, admin_actor, OCT, NOW)
    assert money() == expected
    # The administrator clears the open flags: supplementary statements pay what was held,
    # still within every budget.
    for _, flag in flags:
        if flag.status is ClaimFlagStatus.OPEN:
            flag.status = ClaimFlagStatus.CLEARED
    db_session.flush()
    settlement.issue_month_statements(db_session, admin_actor, OCT, NOW)
    statements_total = db_session.scalar(
        select(func.sum(SettlementStatement.total_fen)).where(SettlementStatement.month == OCT)
    )
    after = money()
    assert statements_total == sum(after.values())
    assert sum(after.values()) >= sum(expected.values())
    october = ledger.month_ledger(db_session, admin_actor, OCT)
    assert (
        october.total_fen == fund.fund_overview(db_session, admin_actor, OCT).lines[0].by_month[OCT]
    )
    for person_id, budget in budgets.items():
        paid = sum(
            line.amount_fen
            for line in october.settlement.lines
            if line.claim.person_id == person_id
        )
        assert paid <= budget
    assert all(
        line.amount_fen == 0
        for line in october.settlement.lines
        if line.claim.visit_id in rejected_ids
    )


def test_the_settle_command_issues_the_month_once(
    app: Flask, db_session: Session, month: dict[str, Any]
) -> None:
    admin_user = UserFactory(admin=True)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["settle", "--month", "2026-10", "--by", admin_user.username])
    assert result.exit_code == 0, result.output
    assert "2026-10: 3 statements issued" in result.output
    assert "甲照护公司  main  275.00 yuan" in result.output
    again = runner.invoke(args=["settle", "--month", "2026-10", "--by", admin_user.username])
    assert "2026-10: 0 statements issued" in again.output
    refused = runner.invoke(args=["settle", "--month", "2026-13", "--by", admin_user.username])
    assert refused.exit_code == 2
    caregiver = UserFactory(caregiver=True)
    refused = runner.invoke(args=["settle", "--month", "2026-10", "--by", caregiver.username])
    assert refused.exit_code == 2


def test_reconciliation_and_issuing_take_a_bounded_number_of_queries(
    db_session: Session, admin_actor: Actor, items: dict[str, int], count_queries: Statements
) -> None:
    company = ProviderFactory()
    home = ProviderFactory(kind=ProviderKind.ELDERLY_CARE_INSTITUTION)

    def queries_for(extra: int) -> tuple[int, int]:
        for _ in range(extra):
            plan = plan_for(home_service_beneficiary(), company)
            october_visit(plan, 2)
            october_visit(plan, 3, flag=ClaimFlagStatus.OPEN)
            home_service_beneficiary(CareSetting.ELDERLY_CARE_INSTITUTION, home.id)
        db_session.expire_all()
        with count_queries.counted() as reconciling:
            settlement.reconcile_month(db_session, admin_actor, OCT, NOW)
        with count_queries.counted() as issuing, db_session.begin_nested() as nested:
            settlement.issue_month_statements(db_session, admin_actor, OCT, NOW)
            nested.rollback()
        # Issuing reads a fixed number of times (its inserts grow with the lines, as they must).
        return len(reconciling), len(issuing.selects())

    few = queries_for(2)
    many = queries_for(10)
    assert few[0] == many[0]
    assert few[1] == many[1]
