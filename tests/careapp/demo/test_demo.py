"""The demo gives a newcomer something to do at each step of the job, whatever the date."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.clock import CITY_TZ, city_today, utcnow
from careapp.demo.seed import TOUR_CAREGIVER, Demo, DemoSize, seed_demo
from careapp.eligibility.rules import BenefitCategory
from careapp.models import (
    AlertKind,
    Application,
    CareSetting,
    Entitlement,
    Provider,
    ProviderAlert,
    ProviderQualityEvaluation,
    SatisfactionRating,
    User,
    Visit,
)
from careapp.security import DataProtector
from careapp.services.actor import Actor
from careapp.services.careplans import CarePlanInput, care_plan_options, create_care_plan
from careapp.services.procedure import decision_refusal
from careapp.services.ratings import rating_visit_for_token
from careapp.services.two_factor import code_at
from careapp.services.visits import caregiver_day, check_in
from scheduling.quality import ProviderStatus
from scheduling.visits import VisitStatus
from tests.factories import NOW

SIZE = DemoSize(
    people=80, beneficiaries=20, pending_applications=3, providers=3, caregivers_per_provider=3
)
MOMENTS = {
    "suite-monday": NOW,
    "leap-day-night": dt.datetime(2028, 2, 29, 1, 30, tzinfo=CITY_TZ),
    "first-sunday-evening": dt.datetime(2027, 8, 1, 21, 30, tzinfo=CITY_TZ),
}


def _seed(db_session: Session, protector: DataProtector, now: dt.datetime) -> Demo:
    return seed_demo(db_session, protector, now=now.astimezone(dt.UTC), size=SIZE)


def _actor(session: Session, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None
    return Actor(user.id, user.role, user.provider_id)


@pytest.mark.parametrize("now", list(MOMENTS.values()), ids=list(MOMENTS))
def test_demo_offers_every_step_today(
    db_session: Session, protector: DataProtector, now: dt.datetime
) -> None:
    demo = _seed(db_session, protector, now)
    tour = demo.tour
    today = city_today(now)
    admin = _actor(db_session, "admin")

    # An application past its publicity, ready for the decision.
    assert tour.application_id is not None
    application = db_session.get(Application, tour.application_id)
    assert application is not None
    assert application.publicity_ends_on is not None
    assert application.publicity_ends_on < today
    assert decision_refusal(db_session, application, today) is None

    # A severe home-care entitlement without a care plan; planning it succeeds.
    assert tour.entitlement_id is not None
    entitlement = db_session.get(Entitlement, tour.entitlement_id)
    assert entitlement is not None
    assert entitlement.category is BenefitCategory.SEVERE
    assert entitlement.care_setting is CareSetting.HOME_SERVICE
    options = care_plan_options(db_session, admin, entitlement.id)
    assert options.existing_plan_id is None
    provider = options.providers[0]
    item = next(i for i in options.service_items if i.code == "companionship")
    plan = create_care_plan(
        db_session,
        admin,
        entitlement.id,
        CarePlanInput(provider.id, [item.id], [1, 3, 5], dt.time(9), dt.time(11)),
        now,
    )
    assert plan.is_active

    # caregiver1 (manager1's company) has visits today and can check in.
    caregiver = _actor(db_session, TOUR_CAREGIVER)
    manager1 = _actor(db_session, "manager1")
    assert caregiver.provider_id == manager1.provider_id
    visits = caregiver_day(db_session, caregiver, today)
    waiting = [v for v in visits if v.status is VisitStatus.ASSIGNED]
    assert waiting
    assert tour.visits_today == len(waiting)
    home = waiting[0].person
    checked = check_in(
        db_session, caregiver, waiting[0].id, home.home_lat, home.home_lon, None, now
    )
    assert checked.status is VisitStatus.CHECKED_IN

    # Yesterday's completed visit, not rated yet, with a working one-time link.
    assert tour.rating_token is not None
    rated = rating_visit_for_token(db_session, tour.rating_token, now)
    assert rated.id == tour.completed_visit_id
    assert rated.status is VisitStatus.COMPLETED
    assert rated.visit_on == today - dt.timedelta(days=1)
    assert rated.caregiver_id is not None
    assert (
        db_session.scalar(
            select(SatisfactionRating.id).where(SatisfactionRating.visit_id == rated.id)
        )
        is None
    )

    # A provider under quality review: last month's evaluation warned it, its manager alerted.
    assert tour.provider_id is not None
    warned = db_session.get(Provider, tour.provider_id)
    assert warned is not None
    assert warned.status is ProviderStatus.WARNED
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    evaluation = db_session.scalar(
        select(ProviderQualityEvaluation).where(
            ProviderQualityEvaluation.provider_id == warned.id,
            ProviderQualityEvaluation.month == last_month,
        )
    )
    assert evaluation is not None
    assert evaluation.is_failing
    assert evaluation.status_after is ProviderStatus.WARNED
    assert db_session.scalar(
        select(ProviderAlert.id).where(
            ProviderAlert.evaluation_id == evaluation.id,
            ProviderAlert.kind == AlertKind.QUALITY_WARNING,
        )
    )
    assert tour.provider_manager is not None
    assert _actor(db_session, tour.provider_manager).provider_id == warned.id
    assert manager1.provider_id != warned.id  # caregiver1's company stays in good standing
    # Nothing the demo did lies in the future.
    assert not db_session.scalar(select(Visit.id).where(Visit.checked_out_at > now))
    assert not db_session.scalar(
        select(ProviderQualityEvaluation.id).where(ProviderQualityEvaluation.evaluated_at > now)
    )


def test_seed_demo_prints_each_step_at_the_served_address(
    app: Flask, db_session: Session, protector: DataProtector
) -> None:
    demo = _seed(db_session, protector, NOW)
    tour = demo.tour
    runner = app.test_cli_runner()  # type: ignore[attr-defined]  # the Flask app fixture

    result = runner.invoke(
        args=["seed-demo", "--if-empty"], env={"HOST": "192.168.1.20", "PORT": "8123"}
    )

    assert result.exit_code == 0, result.output
    base = "http://192.168.1.20:8123"
    assert f"log in at {base}/login" in result.output
    assert f"{base}/applications/{tour.application_id}/decision/new" in result.output
    assert f"{base}/entitlements/{tour.entitlement_id}/care-plan/new" in result.output
    assert f"{base}/my-day" in result.output
    assert f"{base}/providers/{tour.provider_id}" in result.output
    assert "5000" not in result.output
    assert re.search(
        r"otpauth://totp/careapp:admin\?secret=[A-Z2-7]{32}&issuer=careapp", result.output
    )

    everywhere = "0.0.0.0"  # noqa: S104 - only printed: nothing is bound here
    result = runner.invoke(args=["seed-demo", "--if-empty", "--host", everywhere, "--port", "80"])

    assert "http://127.0.0.1:80/login" in result.output


ROOT = Path(__file__).resolve().parents[3]


def test_make_run_serves_with_careapp_serve_and_prints_the_same_address() -> None:
    """The demo is served by production's server (gunicorn), not the development one."""
    recipe = ROOT.joinpath("Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    seed = next(line for line in recipe.splitlines() if "careapp seed-demo" in line)
    serve = next(line for line in recipe.splitlines() if "careapp serve" in line)

    for line in (seed, serve):
        assert "--host '$(HOST)'" in line
        assert "--port '$(PORT)'" in line
    # The demo runs no scheduler process: /readyz leaves its heartbeat out.
    assert "CAREAPP_READINESS_SCHEDULER=false" in serve


def test_readme_sends_a_newcomer_only_to_files_in_the_repository() -> None:
    readme = ROOT.joinpath("README.md").read_text()
    named = set(re.findall(r"`((?:docs|benchmarks|careapp|tests)/[\w./-]+)`", readme))

    assert "../" not in readme
    assert "shared/" not in readme
    assert "docs/domain.md" in named
    assert [path for path in named if not ROOT.joinpath(path).exists()] == []


def test_demo_accounts_keep_their_published_password(
    db_session: Session, protector: DataProtector
) -> None:
    """A newcomer clicks through the demo with the README's logins: no account of it is sent to
    the first-login password change."""
    _seed(db_session, protector, NOW)
    flagged = db_session.scalars(select(User.username).where(User.must_change_password)).all()
    assert flagged == []
    assert db_session.scalar(select(func.count()).select_from(User)) > 5


def test_a_newcomer_logs_in_as_admin_with_what_seed_demo_prints(
    app: Flask, client: FlaskClient, db_session: Session, protector: DataProtector
) -> None:
    _seed(db_session, protector, NOW)
    output = app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"]).output  # type: ignore[attr-defined]
    uri = re.search(r"otpauth://totp/\S+", output)
    assert uri is not None, output
    secret = parse_qs(urlsplit(uri.group()).query)["secret"][0]
    password = re.search(r"with password '([^']+)'", output)
    assert password is not None, output
    # The secret is stored encrypted, not as typed.
    admin = db_session.scalar(select(User).where(User.username == "admin"))
    assert admin is not None
    assert admin.totp_secret_ciphertext is not None
    assert secret.encode() not in admin.totp_secret_ciphertext

    response = client.post("/login", data={"username": "admin", "password": password.group(1)})
    assert response.headers["Location"] == "/login/two-factor"
    response = client.post("/login/two-factor", data={"code": code_at(secret, utcnow())})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/people").status_code == 200
