"""Walk every route as every role (anonymous included) and check who may see what.

Every endpoint of the app must be listed in ACCESS: a new route without a rule fails the walk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from careapp import models as m
from careapp.security import token_hash
from careapp.web import CACHEABLE_ENDPOINTS
from scheduling.claims import ClaimFlagKind
from scheduling.visits import VisitStatus
from tests import factories as f
from tests.factories import NOW

ANON = "anonymous"
ADMIN = "admin"
ASSESSOR = "assessor"
MANAGER = "provider_manager"
CAREGIVER = "caregiver"
ROLES = (ANON, ADMIN, ASSESSOR, MANAGER, CAREGIVER)
PUBLIC = frozenset(ROLES)
LOGGED_IN = frozenset({ADMIN, ASSESSOR, MANAGER, CAREGIVER})

# endpoint -> roles that may use it. Everyone else: 403 (logged in) or the login page (anonymous).
ACCESS: dict[str, frozenset[str]] = {
    "static": PUBLIC,
    "set_language": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,
    # The second factor's login steps serve only a browser whose password was just accepted:
    # anyone else is sent to the login page (anonymous) or home (logged in).
    "auth.two_factor": LOGGED_IN,
    "auth.two_factor_enrol": LOGGED_IN,
    "auth.account_two_factor": LOGGED_IN,
    "auth.account_two_factor_enrol": LOGGED_IN,
    "auth.account_recovery_codes": LOGGED_IN,
    "auth.account_two_factor_disable": LOGGED_IN,
    "ratings.rate_visit": PUBLIC,
    "main.index": LOGGED_IN,
    "registry.person_list": frozenset({ADMIN}),
    "registry.person_new": frozenset({ADMIN}),
    "registry.person_search": frozenset({ADMIN}),
    "registry.person_detail": frozenset({ADMIN}),
    "registry.person_reveal_id": frozenset({ADMIN}),
    "applications.application_list": frozenset({ADMIN}),
    "applications.application_new": frozenset({ADMIN}),
    "applications.application_detail": frozenset({ADMIN}),
    "applications.application_assign": frozenset({ADMIN}),
    "applications.application_review": frozenset({ADMIN}),
    "applications.objection_new": frozenset({ADMIN}),
    "applications.objection_resolve": frozenset({ADMIN}),
    "applications.reassessment_request": frozenset({ADMIN}),
    "applications.reminder_list": frozenset({ADMIN}),
    "applications.reminder_suspend": frozenset({ADMIN}),
    "applications.oversight_report": frozenset({ADMIN}),
    "applications.tie_list": frozenset({ADMIN}),
    "assessments.assessment_queue": frozenset({ASSESSOR}),
    "assessments.assessment_form": frozenset({ASSESSOR}),
    "assessments.assessment_detail": frozenset({ADMIN, ASSESSOR}),
    "assessments.assessment_draft": frozenset({ASSESSOR}),
    "assessments.assessment_shell": frozenset({ASSESSOR}),
    "assessments.service_worker": PUBLIC,
    "assessments.assessment_confirm": frozenset({ASSESSOR}),
    "assessments.assessment_correction": frozenset({ASSESSOR}),
    "eligibility.decision_new": frozenset({ADMIN}),
    "eligibility.decision_detail": frozenset({ADMIN}),
    "policy.policy_list": frozenset({ADMIN}),
    "policy.policy_new": frozenset({ADMIN}),
    "ledger.entitlement_detail": frozenset({ADMIN}),
    "ledger.entitlement_move": frozenset({ADMIN}),
    "ledger.hospital_stay_new": frozenset({ADMIN}),
    "ledger.hospital_discharge": frozenset({ADMIN}),
    "ledger.entitlement_end": frozenset({ADMIN}),
    "ledger.fund_overview": frozenset({ADMIN}),
    "ledger.fund_ledger": frozenset({ADMIN}),
    "careplans.careplan_new": frozenset({ADMIN}),
    "careplans.careplan_detail": frozenset({ADMIN}),
    "dispatch.dispatch_run": frozenset({ADMIN}),
    "rosters.roster_day": frozenset({MANAGER}),
    "rosters.roster_visit_detail": frozenset({MANAGER}),
    "rosters.roster_week": frozenset({MANAGER}),
    "rosters.roster_visit_move": frozenset({MANAGER}),
    "rosters.roster_visit_manual_entry": frozenset({MANAGER}),
    "rosters.roster_visit_manual_entry_done": frozenset({MANAGER}),
    "rosters.roster_visit_reschedule": frozenset({MANAGER}),
    "rosters.roster_visit_cancel": frozenset({MANAGER}),
    "rosters.alert_acknowledge": frozenset({MANAGER}),
    "rosters.caregiver_map": frozenset({MANAGER}),
    "rosters.roster_csv_export": frozenset({MANAGER}),
    "rosters.day_sheet": frozenset({MANAGER}),
    "rosters.calendar_feed_create": frozenset({MANAGER}),
    "rosters.calendar_feed_revoke": frozenset({MANAGER}),
    "rosters.calendar_feed_ics": PUBLIC,
    "visits.my_day_map": frozenset({CAREGIVER}),
    "visits.my_calendar_create": frozenset({CAREGIVER}),
    "visits.my_calendar_revoke": frozenset({CAREGIVER}),
    "visits.my_day": frozenset({CAREGIVER}),
    "visits.visit_detail": frozenset({CAREGIVER}),
    "visits.visit_list": frozenset({ADMIN}),
    "visits.visit_check_in": frozenset({CAREGIVER}),
    "visits.visit_check_out": frozenset({CAREGIVER}),
    "visits.visit_receipt": frozenset({CAREGIVER}),
    "ratings.phone_rating": frozenset({ADMIN}),
    "certificates.assessment_conclusion_pdf": frozenset({ADMIN}),
    "certificates.decision_notice_pdf": frozenset({ADMIN}),
    "certificates.benefit_certificate_pdf": frozenset({ADMIN}),
    "certificates.reissue": frozenset({ADMIN}),
    "certificates.verify_form": PUBLIC,
    "certificates.verify_number": PUBLIC,
    "certificates.batch_new": frozenset({ADMIN}),
    "certificates.batch_detail": frozenset({ADMIN}),
    "certificates.batch_status": frozenset({ADMIN}),
    "certificates.batch_download": frozenset({ADMIN}),
    "certificates.batch_restart": frozenset({ADMIN}),
    "devices.catalogue_list": frozenset({ADMIN}),
    "devices.device_type_new": frozenset({ADMIN}),
    "devices.device_type_edit": frozenset({ADMIN}),
    "devices.device_type_active": frozenset({ADMIN}),
    "devices.loan_list": frozenset({ADMIN}),
    "devices.person_devices": frozenset({ADMIN}),
    "devices.loan_new": frozenset({ADMIN}),
    "devices.loan_return": frozenset({ADMIN}),
    "claims.flag_list": frozenset({ADMIN, MANAGER}),
    "claims.flag_detail": frozenset({ADMIN, MANAGER}),
    "claims.flag_review": frozenset({ADMIN}),
    "providers.provider_list": frozenset({ADMIN}),
    "providers.provider_detail": frozenset({ADMIN}),
    "providers.lift_suspension": frozenset({ADMIN}),
    "providers.complaint_new": frozenset({ADMIN}),
    "providers.complaint_resolve": frozenset({ADMIN}),
    "providers.my_quality": frozenset({MANAGER}),
    "providers.satisfaction_page": frozenset({ADMIN}),
    "providers.satisfaction_csv": frozenset({ADMIN}),
    "settlement.month_reconciliation": frozenset({ADMIN}),
    "settlement.issue_month": frozenset({ADMIN}),
    "settlement.issue_provider": frozenset({ADMIN}),
    "settlement.statement_list": frozenset({ADMIN, MANAGER}),
    "settlement.statement_detail": frozenset({ADMIN, MANAGER}),
    "settlement.statement_pdf": frozenset({ADMIN, MANAGER}),
    "settlement.statement_csv_download": frozenset({ADMIN, MANAGER}),
    "work_orders.work_order_list": frozenset({ADMIN}),
    "work_orders.work_order_new": frozenset({ADMIN}),
    "work_orders.work_order_detail": frozenset({ADMIN}),
    "work_orders.work_order_family_choice": frozenset({ADMIN}),
    "work_orders.work_order_assign": frozenset({ADMIN}),
    "work_orders.work_order_cancel": frozenset({ADMIN}),
    "work_orders.offer_list": frozenset({MANAGER}),
    "work_orders.offer_accept": frozenset({MANAGER}),
    "work_orders.offer_refuse": frozenset({MANAGER}),
    "users.user_list": frozenset({ADMIN, MANAGER}),
    "users.user_new": frozenset({ADMIN}),
    "users.caregiver_new": frozenset({MANAGER}),
    "users.user_detail": frozenset({ADMIN, MANAGER}),
    "users.user_disable": frozenset({ADMIN, MANAGER}),
    "users.user_enable": frozenset({ADMIN, MANAGER}),
    "users.user_reset_password": frozenset({ADMIN}),
    "users.user_unlock": frozenset({ADMIN}),
    "users.password_change": LOGGED_IN,
    # The probes are public; the metrics go by address (METRICS_ALLOW: this machine, which the
    # test client is) or a bearer token, whoever is logged in (tests/careapp/web/test_metrics.py).
    "monitoring.healthz": PUBLIC,
    "monitoring.readyz": PUBLIC,
    "monitoring.metrics": PUBLIC,
}

TOKEN = "permission-walk-token"


@dataclass
class World:
    users: dict[str, m.User]
    args: dict[str, dict[str, object]]  # endpoint -> URL arguments
    other_provider_visit: m.Visit


@pytest.fixture
def world(db_session: Session) -> World:
    provider = f.ProviderFactory()
    manager = f.UserFactory(manager=True, provider=provider)
    caregiver = f.CaregiverUserFactory(provider=provider)
    assessor = f.UserFactory(assessor=True)
    admin = f.UserFactory(admin=True)
    assessing = f.ApplicationFactory(assigned=True, assessor_1=assessor)
    assessment = f.AssessmentFactory(
        application__assessor_1=assessor, application__status=m.ApplicationStatus.ASSESSED
    )
    decision = f.EligibilityDecisionFactory(assessment=f.AssessmentFactory())
    decision.application.status = m.ApplicationStatus.DECIDED
    publicized = f.ApplicationFactory(publicized=True)
    objection = f.ObjectionFactory(application=publicized)
    reminder = f.ReassessmentReminderFactory()
    entitlement = f.EntitlementFactory()
    care_plan = f.CarePlanFactory(provider=provider)
    device_loan = f.DeviceLoanFactory(entitlement=entitlement)
    visit = f.caregiver_visit(caregiver)
    rated = f.caregiver_visit(caregiver, visit_on=dt.date(2026, 11, 22))
    rated.status = VisitStatus.COMPLETED
    rated.rating_token_hash = token_hash(TOKEN)
    rated.rating_token_expires_at = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    other_visit = f.VisitFactory(assigned=True)  # another provider's
    print_batch = f.PrintBatchFactory(completed=True)
    alert = m.ProviderAlert(
        provider=provider,
        kind=m.AlertKind.MISSED_VISIT,
        visit=visit,
        raised_at=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC),
        detail={"visit_on": "2026-11-23"},
    )
    db_session.add(alert)
    feed = m.CalendarFeed(  # another caregiver's: the walk's create/revoke leave it alone
        caregiver=f.CaregiverFactory(provider=provider),
        token_hash=token_hash(TOKEN),
        created_at=NOW,
    )
    db_session.add(feed)
    work_order = m.WorkOrder(  # offered to the manager's provider
        entitlement=entitlement,
        person_id=entitlement.person_id,
        reason=m.WorkOrderReason.NEW_CLIENT,
        created_at=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC),
    )
    work_offer = m.WorkOrderOffer(
        work_order=work_order,
        provider=provider,
        position=1,
        basis=m.OfferBasis.ROTATION,
        offered_at=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC),
        deadline_at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC),
    )
    db_session.add_all([work_order, work_offer])
    claim_flag = m.ClaimFlag(  # on the manager's provider's visit
        visit=rated,
        kind=ClaimFlagKind.MANUAL_ENTRY,
        detail={},
        raised_at=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC),
    )
    db_session.add(claim_flag)
    complaint = f.ComplaintFactory(provider=provider, recorded_by=admin)
    statement = f.SettlementStatementFactory(provider=provider, issued_by=admin)
    # Another caregiver of the manager's company: the walk disables, enables and resets them.
    colleague = f.CaregiverUserFactory(provider=provider).user
    db_session.flush()
    user_args = {"user_id": colleague.id}
    person_args = {"person_id": assessing.person_id}
    return World(
        users={
            ADMIN: admin,
            ASSESSOR: assessor,
            MANAGER: manager,
            CAREGIVER: caregiver.user,
        },
        args={
            "registry.person_detail": person_args,
            "registry.person_reveal_id": person_args,
            "applications.application_new": {"person_id": assessment.application.person_id},
            "applications.application_detail": {"application_id": assessing.id},
            "applications.application_assign": {"application_id": assessing.id},
            "applications.application_review": {"application_id": assessment.application_id},
            "applications.objection_new": {"application_id": publicized.id},
            "applications.objection_resolve": {"objection_id": objection.id},
            "applications.reassessment_request": {"application_id": decision.application_id},
            "applications.reminder_suspend": {"reminder_id": reminder.id},
            "assessments.assessment_form": {"application_id": assessing.id},
            "assessments.assessment_detail": {"assessment_id": assessment.id},
            "assessments.assessment_draft": {"application_id": assessing.id},
            "assessments.assessment_confirm": {"assessment_id": assessment.id},
            "assessments.assessment_correction": {"assessment_id": assessment.id},
            "eligibility.decision_new": {"application_id": assessment.application_id},
            "eligibility.decision_detail": {"decision_id": decision.id},
            "careplans.careplan_new": {"entitlement_id": entitlement.id},
            "ledger.entitlement_detail": {"entitlement_id": entitlement.id},
            "ledger.entitlement_move": {"entitlement_id": entitlement.id},
            "ledger.hospital_stay_new": {"entitlement_id": entitlement.id},
            "ledger.hospital_discharge": {"entitlement_id": entitlement.id, "event_id": 1},
            "ledger.entitlement_end": {"entitlement_id": entitlement.id},
            "careplans.careplan_detail": {"care_plan_id": care_plan.id},
            "rosters.roster_visit_detail": {"visit_id": visit.id},
            "rosters.roster_visit_move": {"visit_id": visit.id},
            "rosters.roster_visit_manual_entry": {"visit_id": visit.id},
            "rosters.roster_visit_manual_entry_done": {"visit_id": visit.id},
            "rosters.roster_visit_reschedule": {"visit_id": visit.id},
            "rosters.roster_visit_cancel": {"visit_id": visit.id},
            "rosters.alert_acknowledge": {"alert_id": alert.id},
            "rosters.caregiver_map": {"caregiver_id": caregiver.id},
            "rosters.calendar_feed_create": {"caregiver_id": caregiver.id},
            "rosters.calendar_feed_revoke": {"caregiver_id": caregiver.id},
            "rosters.calendar_feed_ics": {"token": TOKEN},
            "visits.visit_detail": {"visit_id": visit.id},
            "visits.visit_check_in": {"visit_id": visit.id},
            "visits.visit_check_out": {"visit_id": visit.id},
            "visits.visit_receipt": {"visit_id": rated.id},
            "ratings.rate_visit": {"token": TOKEN},
            "ratings.phone_rating": {"visit_id": rated.id},
            "certificates.assessment_conclusion_pdf": {"assessment_id": assessment.id},
            "certificates.decision_notice_pdf": {"decision_id": decision.id},
            "certificates.benefit_certificate_pdf": {"decision_id": entitlement.decision_id},
            "certificates.reissue": {"kind": "decision_notice", "subject_id": decision.id},
            "certificates.verify_number": {"number": "DY-2026-000001"},
            "certificates.batch_detail": {"batch_id": print_batch.id},
            "certificates.batch_status": {"batch_id": print_batch.id},
            "certificates.batch_download": {"batch_id": print_batch.id},
            "certificates.batch_restart": {"batch_id": print_batch.id},  # done: a 409
            "devices.device_type_edit": {"device_type_id": device_loan.device_type_id},
            "devices.device_type_active": {"device_type_id": device_loan.device_type_id},
            "devices.person_devices": {"person_id": entitlement.person_id},
            "devices.loan_new": {"person_id": entitlement.person_id},
            "devices.loan_return": {"loan_id": device_loan.id},
            "claims.flag_detail": {"flag_id": claim_flag.id},
            "claims.flag_review": {"flag_id": claim_flag.id},
            "providers.provider_detail": {"provider_id": provider.id},
            "providers.lift_suspension": {"provider_id": provider.id},
            "providers.complaint_new": {"provider_id": provider.id},
            "providers.complaint_resolve": {"complaint_id": complaint.id},
            "settlement.issue_month": {"month": "2026-10"},
            "settlement.issue_provider": {"month": "2026-10", "provider_id": provider.id},
            "settlement.statement_detail": {"statement_id": statement.id},
            "settlement.statement_pdf": {"statement_id": statement.id},
            "settlement.statement_csv_download": {"statement_id": statement.id},
            "work_orders.work_order_new": {"entitlement_id": entitlement.id},
            "work_orders.work_order_detail": {"order_id": work_order.id},
            "work_orders.work_order_family_choice": {"order_id": work_order.id},
            "work_orders.work_order_assign": {"order_id": work_order.id},
            "work_orders.work_order_cancel": {"order_id": work_order.id},
            "work_orders.offer_accept": {"offer_id": work_offer.id},
            "work_orders.offer_refuse": {"offer_id": work_offer.id},
            "users.user_detail": user_args,
            "users.user_disable": user_args,
            "users.user_enable": user_args,
            "users.user_reset_password": user_args,
            "users.user_unlock": user_args,
            "static": {"filename": "css/app.css"},
            "set_language": {"code": "en"},
        },
        other_provider_visit=other_visit,
    )


def _endpoints(app: Flask) -> list[tuple[str, str]]:
    """(endpoint, method) for every route; POST where a route takes no GET."""
    found = []
    for rule in app.url_map.iter_rules():
        methods = rule.methods or set()
        found.append((rule.endpoint, "GET" if "GET" in methods else "POST"))
    return sorted(set(found))


def test_every_route_has_an_access_rule(app: Flask) -> None:
    assert {endpoint for endpoint, _ in _endpoints(app)} == set(ACCESS)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_as_every_role(
    app: Flask,
    client: FlaskClient,
    login_as,
    world: World,
    role: str,  # type: ignore[no-untyped-def]
) -> None:
    if role != ANON:
        login_as(world.users[role])
    problems = []
    for endpoint, method in _endpoints(app):
        with app.test_request_context():
            from flask import url_for

            url = url_for(endpoint, **world.args.get(endpoint, {}))
        response = client.open(url, method=method)
        status = response.status_code
        cache = response.headers.get("Cache-Control", "")
        stored = method == "GET" and status == 200 and endpoint not in CACHEABLE_ENDPOINTS
        if stored and cache != "no-store":  # pages, CSV, PDF, JSON, feeds: never cached
            problems.append(f"{role} GET {url}: Cache-Control {cache!r}, not no-store")
        to_login = status == 302 and "/login" in response.headers.get("Location", "")
        response.close()
        if endpoint == "auth.logout":
            to_login = False  # logging out lands on the login page, for everyone
        allowed = role in ACCESS[endpoint]
        if endpoint == "auth.logout" and role != ANON:
            login_as(world.users[role])  # walking on needs the session back
        if allowed and (status in (401, 403, 404) or status >= 500 or to_login):
            problems.append(f"{role} should reach {method} {url} but got {status}")
        if not allowed and role == ANON and not to_login:
            problems.append(f"anonymous {method} {url} should go to login, got {status}")
        if not allowed and role != ANON and status != 403:
            problems.append(f"{role} {method} {url} should be 403, got {status}")
    assert problems == []


def test_provider_manager_gets_404_for_another_providers_visit(
    client: FlaskClient,
    login_as,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    login_as(world.users[MANAGER])
    other = world.other_provider_visit
    response = client.get(f"/roster/visits/{other.id}")
    assert response.status_code == 404
    assert other.person.name not in response.get_data(as_text=True)
    page = client.get(f"/roster?day={other.visit_on.isoformat()}").get_data(as_text=True)
    assert other.person.name not in page


def test_caregiver_gets_404_for_another_caregivers_visit(
    client: FlaskClient,
    login_as,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    login_as(world.users[CAREGIVER])
    response = client.get(f"/visits/{world.other_provider_visit.id}")
    assert response.status_code == 404


@pytest.mark.parametrize("role", [ANON, ASSESSOR, MANAGER, CAREGIVER])
def test_only_an_administrator_restarts_an_abandoned_batch(
    client: FlaskClient,
    db_session: Session,
    login_as,
    world: World,
    role: str,  # type: ignore[no-untyped-def]
) -> None:
    batch = f.PrintBatchFactory(abandoned=True)
    if role != ANON:
        login_as(world.users[role])
    response = client.post(f"/certificates/batches/{batch.id}/restart")
    assert response.status_code == (302 if role == ANON else 403)
    db_session.refresh(batch)
    assert (batch.status, batch.attempt) == (m.PrintBatchStatus.RUNNING, 0)  # untouched
