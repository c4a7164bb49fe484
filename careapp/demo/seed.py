"""Demo data: a small, friendly city (the demo column of docs/domain.md), seeded so runs repeat.

Everything goes through the same services the pages use, so the demo data obeys every rule
(valid ID numbers, budgets, dispatch without double booking) and leaves an audit trail.

The data is laid out around `now`, whatever the date, so a newcomer has something to do at
each step of the job today (`DemoTour`): an application whose publicity has ended, ready for a
decision; a new entitlement waiting for its care plan; caregiver1's visits today; yesterday's
completed visit with its family's rating link; a provider warned by last month's quality
evaluation. The demo carries what the scheduler process (`careapp scheduler run`) would have
done by now: last month's evaluation, yesterday's visits and jobs, and the dispatch of today and
the next two days.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.grading import get_instrument
from assessments.procedure import is_working_day, publicity_period
from careapp.config import Config
from careapp.core.clock import city_datetime, city_today
from careapp.core.identity import make_resident_id, mask_id_number
from careapp.demo.simulation import Behaviour, SimulationReport, play_day
from careapp.eligibility.rules import BenefitCategory
from careapp.jobs.scheduled import SCHEDULER_ACTOR
from careapp.models import (
    Applicant,
    Application,
    ApplicationStatus,
    Caregiver,
    CarePlan,
    CareSetting,
    District,
    DistrictKind,
    Entitlement,
    EntitlementStatus,
    HouseholdType,
    InsuranceScheme,
    InsuranceStatus,
    Person,
    Provider,
    ProviderKind,
    Qualification,
    Role,
    SatisfactionRating,
    ServiceItem,
    User,
    Visit,
)
from careapp.security import DataProtector
from careapp.services.actor import Actor
from careapp.services.applications import (
    ApplicationInput,
    TieInput,
    assign_assessors,
    record_tie,
    submit_application,
)
from careapp.services.assessments import confirm_assessment, record_assessment
from careapp.services.auth import create_user
from careapp.services.careplans import CarePlanInput, create_care_plan
from careapp.services.catalogue import ensure_service_catalogue
from careapp.services.devices import (
    LoanInput,
    ReturnInput,
    ensure_device_catalogue,
    record_device_loan,
    record_device_return,
)
from careapp.services.dispatch import dispatch_visits
from careapp.services.eligibility import decide_application
from careapp.services.policy import ensure_default_policy
from careapp.services.procedure import (
    ProcedureRules,
    decision_refusal,
    review_application,
    rules_in_force,
)
from careapp.services.ratings import issue_rating_token
from careapp.services.reference import ensure_districts
from careapp.services.registry import PersonInput, register_person
from careapp.services.two_factor import enrol_secret, new_secret, provisioning_uri
from careapp.services.work_orders import evaluate_quality_and_hand_over
from scheduling.months import add_months
from scheduling.quality import ProviderStatus
from scheduling.visits import VisitStatus

DEMO_PASSWORD = "demo-care-2026"  # noqa: S105 - published demo password, printed by seed-demo  # nosec B105
DEMO_ADMIN = "admin"
# One login per role (role, username), printed by `careapp seed-demo`.
DEMO_LOGINS = (
    ("admin", DEMO_ADMIN),
    ("assessor", "assessor1"),
    ("provider_manager", "manager1"),
    ("caregiver", "caregiver1"),
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯"
    "邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈顾陆缪季"
)
GIVEN = "秀英桂兰玉珍凤华建国德明志强永兴文斌春梅海燕丽娟金宝福生国庆红霞美玲小平立新"
STREETS = ("人民路", "工农路", "青年路", "濠河路", "跃龙路", "长江路", "世纪大道", "通京大道")
CITY_CENTRE = "320602"  # 崇川区: manager1's company serves every district, from here first
# Rough centres of each district or county (lat, lon).
CENTRES = {
    "320602": (32.015, 120.864),
    "320612": (32.064, 121.075),
    "320614": (31.871, 121.181),
    "320623": (32.331, 121.185),
    "320681": (31.808, 121.657),
    "320682": (32.371, 120.573),
    "320685": (32.533, 120.467),
}


@dataclass(frozen=True)
class DemoSize:
    people: int
    beneficiaries: int
    pending_applications: int
    providers: int
    caregivers_per_provider: int


DEMO = DemoSize(
    people=500, beneficiaries=40, pending_applications=10, providers=3, caregivers_per_provider=5
)


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str


# The caregiver whose day the tour shows (manager1's company) and their client's visit window.
TOUR_CAREGIVER = "caregiver1"
TOUR_WINDOW = (dt.time(9, 0), dt.time(11, 0))


@dataclass(frozen=True)
class DemoTour:
    """Something to do at each step of the job today (None: that step has nothing today)."""

    application_id: int | None  # publicity over, no objection: ready for the decision
    entitlement_id: int | None  # severe, door-to-door service at home, no care plan yet
    caregiver_username: str
    visits_today: int  # the caregiver's visits today, to check in and out
    completed_visit_id: int | None  # completed and not rated yet
    rating_token: str | None  # that visit's one-time rating link (only when just issued)
    provider_id: int | None  # warned or suspended by the last quality evaluation
    provider_manager: str | None  # that provider's manager login


@dataclass(frozen=True)
class Demo:
    logins: list[DemoLogin]
    tour: DemoTour


def demo_settings(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The app settings the demo uses: the running app's config, else the defaults."""
    if config is not None:
        return dict(config)
    return {name: getattr(Config, name) for name in dir(Config) if name.isupper()}


def seed_demo(
    session: Session,
    protector: DataProtector,
    *,
    now: dt.datetime,
    size: DemoSize = DEMO,
    seed: int = 2017,
    config: Mapping[str, Any] | None = None,
) -> Demo:
    """Load the demo city around `now` and return one login per role and today's tour.

    Call on an empty database. `config` is the app's (holidays, travel speeds, thresholds).
    """
    settings = demo_settings(config)
    rng = random.Random(seed)  # seeded demo data, not security  # nosec B311
    today = city_today(now)
    ensure_districts(session)
    ensure_default_policy(session)
    items = {item.code: item for item in ensure_service_catalogue(session)}
    districts = list(session.scalars(select(District).order_by(District.code)))
    urban = [d for d in districts if d.kind is DistrictKind.URBAN]

    admin = create_user(
        session,
        username=DEMO_ADMIN,
        password=DEMO_PASSWORD,
        display_name="管理员 王敏",
        role=Role.ADMIN,
    )
    # Administrators log in with a second factor: a secret of this install, printed by seed-demo.
    enrol_secret(session, admin, new_secret(), protector, now)
    admin_actor = Actor(user_id=admin.id, role=Role.ADMIN, address="demo")
    assessors = [
        create_user(
            session,
            username=f"assessor{n}",
            password=DEMO_PASSWORD,
            display_name=f"评估员 {name}",
            role=Role.ASSESSOR,
        )
        for n, name in enumerate(("李静", "赵刚", "陈芳", "周涛"), start=1)
    ]
    providers = _providers(session, size, districts, urban, today)
    caregivers = _caregivers(session, rng, providers, size, protector)

    people = [
        register_person(
            session, admin_actor, _person_input(rng, n, districts, today), protector, now
        )
        for n in range(size.people)
    ]
    # Beneficiaries: the oldest-looking applicants pass through the whole procedure.
    candidates = rng.sample(people, size.beneficiaries + size.pending_applications)
    beneficiaries = candidates[: size.beneficiaries]
    pending = candidates[size.beneficiaries :]
    instrument = get_instrument("barthel")
    rules = ProcedureRules.from_config(settings)
    institutions = _institutions(session, today)
    for index, person in enumerate(beneficiaries):
        setting = _demo_setting(index)
        # Decided over the last year (so the fund page has 12 months of numbers), some today.
        decided_at = now - dt.timedelta(days=30 * (index % 13))
        # Applied, assessed and made public three weeks before; publicity has ended since.
        earlier = decided_at - dt.timedelta(days=21)
        application = _apply(
            session,
            admin_actor,
            person,
            setting,
            rng,
            city_today(earlier),
            earlier,
            provider_id=institutions.get(setting),
        )
        pair = rng.sample(assessors, 2)
        assign_assessors(
            session,
            admin_actor,
            application.id,
            pair[0].id,
            pair[1].id,
            earlier + dt.timedelta(minutes=5),
            earlier,
        )
        answers = _severe_answers(rng, instrument.items)
        assessment = record_assessment(
            session, _actor(pair[0]), application.id, answers, "家属（子女）", None, True, earlier
        )
        confirm_assessment(session, _actor(pair[1]), assessment.id, earlier)
        review_application(session, admin_actor, application.id, True, None, rules, earlier)
        decision = decide_application(session, admin_actor, application.id, setting, decided_at)
        # Door-to-door service paid per visit is for severe disability (moderate: a daily rate).
        if (
            setting is CareSetting.HOME_SERVICE
            and decision.is_eligible
            and decision.category is BenefitCategory.SEVERE
        ):
            entitlement_id = _entitlement_id(session, person.id)
            provider = _provider_for(providers, person.district_code, index)
            # Planned on the day of the decision: the visits run since then.
            create_care_plan(
                session,
                admin_actor,
                entitlement_id,
                _plan_input(rng, provider, caregivers[provider.id], items),
                decided_at,
            )
    # Applications still in the procedure, so every role has something to do.
    for index, person in enumerate(pending):
        application = _apply(
            session, admin_actor, person, CareSetting.HOME_SERVICE, rng, today, now
        )
        if index % 3 == 0:
            continue  # submitted: the administrator appoints assessors
        assign_assessors(
            session,
            admin_actor,
            application.id,
            assessors[0].id,
            assessors[1].id,
            now + dt.timedelta(days=1 + index % 4, hours=1),
            now,
        )
        if index % 3 == 2:  # assessed: the administrator reviews (index 8: made public)
            answers = _severe_answers(rng, instrument.items)
            assessment = record_assessment(
                session,
                _actor(assessors[0]),
                application.id,
                answers,
                "家属（配偶）",
                None,
                True,
                now,
            )
            confirm_assessment(session, _actor(assessors[1]), assessment.id, now)
            if index == 8:
                review_application(session, admin_actor, application.id, True, None, rules, now)
    # A declared conflict of interest: this assessor may not assess that provider's clients.
    record_tie(
        session,
        admin_actor,
        TieInput(assessors[3].id, providers[0].id, "配偶在该公司任职", dt.date(2020, 1, 1), None),
        now,
    )
    session.flush()
    _lend_devices(session, admin_actor, beneficiaries, now)
    _entitlement_events(session, admin_actor, institutions, now)
    # The tour: three more people at the steps a newcomer walks through today.
    ready, waiting, regular = _tour_people(people, candidates)
    tour_rng = random.Random(seed + 1)  # seeded demo data, not security  # nosec B311
    procedure = _Procedure(session, admin_actor, assessors[1:3], rules, tour_rng)
    procedure.through_publicity(ready, ready_by=today, now=now)
    procedure.through_publicity(waiting, ready_by=today, now=now)
    decide_application(session, admin_actor, _application_id(session, waiting.id), _HOME, now)
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    # The client caregiver1 sees every day, decided a week before the end of last month.
    regular_ready = last_month_end - dt.timedelta(days=7)
    procedure.through_publicity(regular, ready_by=regular_ready, now=now)
    decided_at = min(now, city_datetime(regular_ready, dt.time(10, 0)))
    decide_application(
        session, admin_actor, _application_id(session, regular.id), _HOME, decided_at
    )
    tour_caregiver = caregivers[providers[0].id][0]  # caregiver1, manager1's company
    create_care_plan(
        session,
        admin_actor,
        _entitlement_id(session, regular.id),
        CarePlanInput(
            provider_id=providers[0].id,
            service_item_ids=[items["companionship"].id],
            weekdays=[1, 2, 3, 4, 5, 6, 7],
            window_start=TOUR_WINDOW[0],
            window_end=TOUR_WINDOW[1],
            preferred_caregiver_id=tour_caregiver.id,
        ),
        decided_at,
    )
    session.flush()
    warned = _scheduler_history(session, settings, providers, today, now, tour_rng)
    # The nightly dispatch (01:00 in the city) planned today and the next two days.
    dispatch_visits(
        session,
        admin_actor,
        today,
        today + dt.timedelta(days=2),
        min(now, city_datetime(today, dt.time(1, 0))),
        settings["TRAVEL_SPEED_KMH"],
    )
    tour = demo_tour(session, now)
    token = None
    if tour.completed_visit_id is not None:
        # The link the caregiver showed the family yesterday, issued again for the newcomer.
        visit = session.get(Visit, tour.completed_visit_id)
        assert visit is not None  # noqa: S101 - just found  # nosec B101
        token = issue_rating_token(
            visit, now, dt.timedelta(days=int(settings["RATING_LINK_VALID_DAYS"]))
        )
        session.flush()
    assert warned is None or tour.provider_id == warned  # noqa: S101 - the evaluation warned it  # nosec B101
    logins = [DemoLogin(role, username, DEMO_PASSWORD) for role, username in DEMO_LOGINS]
    return Demo(logins, replace(tour, rating_token=token))


_HOME = CareSetting.HOME_SERVICE


def demo_tour(session: Session, now: dt.datetime) -> DemoTour:
    """What the demo data offers at each step today (the rating link is never stored)."""
    today = city_today(now)
    ready = None
    for application in session.scalars(
        select(Application)
        .where(Application.status == ApplicationStatus.PUBLICITY)
        .order_by(Application.publicity_ends_on, Application.id)
    ):
        if decision_refusal(session, application, today) is None:
            ready = application.id
            break
    planned = select(CarePlan.entitlement_id).where(CarePlan.is_active.is_(True))
    entitlement_id = session.scalar(
        select(Entitlement.id)
        .where(
            Entitlement.status == EntitlementStatus.ACTIVE,
            Entitlement.care_setting == _HOME,
            Entitlement.category == BenefitCategory.SEVERE,
            Entitlement.id.not_in(planned),
        )
        .order_by(Entitlement.starts_on.desc(), Entitlement.id)
        .limit(1)
    )
    caregiver_id = session.scalar(
        select(Caregiver.id)
        .join(User, User.id == Caregiver.user_id)
        .where(User.username == TOUR_CAREGIVER)
    )
    visits_today = session.scalar(
        select(func.count())
        .select_from(Visit)
        .where(
            Visit.caregiver_id == caregiver_id,
            Visit.visit_on == today,
            Visit.status.in_((VisitStatus.ASSIGNED, VisitStatus.CONFIRMED)),
        )
    )
    completed = session.scalar(
        select(Visit.id)
        .where(
            Visit.caregiver_id == caregiver_id,
            Visit.status == VisitStatus.COMPLETED,
            Visit.id.not_in(select(SatisfactionRating.visit_id)),
        )
        .order_by(Visit.checked_out_at.desc(), Visit.id)
        .limit(1)
    )
    provider = session.scalar(
        select(Provider)
        .where(Provider.status.in_((ProviderStatus.WARNED, ProviderStatus.SUSPENDED)))
        .order_by(Provider.id)
        .limit(1)
    )
    manager = (
        session.scalar(
            select(User.username)
            .where(User.provider_id == provider.id, User.role == Role.PROVIDER_MANAGER)
            .order_by(User.id)
            .limit(1)
        )
        if provider is not None
        else None
    )
    return DemoTour(
        application_id=ready,
        entitlement_id=entitlement_id,
        caregiver_username=TOUR_CAREGIVER,
        visits_today=visits_today or 0,
        completed_visit_id=completed,
        rating_token=None,
        provider_id=provider.id if provider is not None else None,
        provider_manager=manager,
    )


def _tour_people(people: list[Person], taken: list[Person]) -> tuple[Person, Person, Person]:
    """Three people who have not applied yet: the oldest first (elderly people apply), in the
    city centre (where caregiver1 starts the day) when there are enough there."""
    chosen = {p.id for p in taken}
    free = sorted(
        (p for p in people if p.id not in chosen),
        key=lambda p: (p.district_code != CITY_CENTRE, p.born_on, p.id),
    )
    if len(free) < 3:
        raise ValueError("the demo needs at least three people besides its applicants")
    return free[0], free[1], free[2]


@dataclass(frozen=True)
class _Procedure:
    """An application through assessment and review, its publicity over by a given day."""

    session: Session
    admin: Actor
    assessors: list[User]
    rules: ProcedureRules
    rng: random.Random

    def through_publicity(self, person: Person, *, ready_by: dt.date, now: dt.datetime) -> None:
        """Apply, assess (totally dependent: severe) and review on the last working day whose
        publicity, under the policy in force then, ends before `ready_by`."""
        reviewed_on = _last_review_day(self.session, self.rules, ready_by)
        applied_at = min(now, city_datetime(reviewed_on - dt.timedelta(days=14), dt.time(9, 0)))
        assessed_at = min(now, city_datetime(reviewed_on - dt.timedelta(days=7), dt.time(10, 0)))
        reviewed_at = min(now, city_datetime(reviewed_on, dt.time(15, 0)))
        first, second = self.assessors
        application = _apply(
            self.session, self.admin, person, _HOME, self.rng, city_today(applied_at), applied_at
        )
        assign_assessors(
            self.session, self.admin, application.id, first.id, second.id, assessed_at, applied_at
        )
        instrument = get_instrument("barthel")
        answers = {item.code: min(o.points for o in item.options) for item in instrument.items}
        assessment = record_assessment(
            self.session,
            _actor(first),
            application.id,
            answers,
            "家属（子女）",
            None,
            True,
            assessed_at,
        )
        confirm_assessment(self.session, _actor(second), assessment.id, assessed_at)
        review_application(
            self.session, self.admin, application.id, True, None, self.rules, reviewed_at
        )


def _last_review_day(session: Session, rules: ProcedureRules, ready_by: dt.date) -> dt.date:
    """The last working day before `ready_by` whose publicity is over by then."""
    day = ready_by - dt.timedelta(days=1)
    while True:
        windows = rules_in_force(session, rules, day)
        holidays = windows.public_holidays
        if is_working_day(day, holidays):
            _, last = publicity_period(day, windows.publicity_working_days, holidays)
            if last < ready_by:
                return day
        day -= dt.timedelta(days=1)


def _application_id(session: Session, person_id: int) -> int:
    found = session.scalar(
        select(Application.id)
        .where(Application.person_id == person_id)
        .order_by(Application.id.desc())
        .limit(1)
    )
    assert found is not None  # noqa: S101 - the tour just applied  # nosec B101
    return found


def _scheduler_history(
    session: Session,
    settings: Mapping[str, Any],
    providers: list[Provider],
    today: dt.date,
    now: dt.datetime,
    rng: random.Random,
) -> int | None:
    """What the scheduler and the people did before today: the last day of last month (one
    company sent nobody: its visits were missed) and yesterday (every visit made, not rated
    yet), then the quality evaluation of last month on the first. Returns the company the
    evaluation warned (None when it had no visit that day)."""
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    yesterday = today - dt.timedelta(days=1)
    home = [p.id for p in providers]
    plans = dict(
        session.execute(
            select(CarePlan.provider_id, func.count())
            .where(CarePlan.is_active.is_(True), CarePlan.starts_on <= last_month_end)
            .group_by(CarePlan.provider_id)
        ).all()
    )
    # The busiest company besides manager1's (caregiver1's day stays clean).
    failing = max(home[1:], key=lambda p: (plans.get(p, 0), -p), default=None)
    if failing is not None and not plans.get(failing):
        failing = None
    quiet = Behaviour(miss=0.0, far_check_in=0.0, late=0.0, rated=0.0, unhappy=0.0)
    for day in sorted({last_month_end, yesterday}):
        rated = (
            quiet
            if day == yesterday
            else Behaviour(miss=0.0, far_check_in=0.0, late=0.0, rated=0.7, unhappy=0.0)
        )
        behaviours = dict.fromkeys(home, rated)
        if day == last_month_end and failing is not None:
            behaviours[failing] = Behaviour(miss=1.0)
        play_day(
            session,
            settings,
            day,
            rng,
            behaviours,
            None,
            SimulationReport(day, day),
            night=min(now, city_datetime(day + dt.timedelta(days=1), dt.time(2, 0))),
        )
    first_of_month = min(now, city_datetime(today.replace(day=1), dt.time(3, 0)))
    evaluate_quality_and_hand_over(
        session, SCHEDULER_ACTOR, last_month_end, first_of_month, settings
    )
    return failing


def _lend_devices(
    session: Session, admin_actor: Actor, beneficiaries: list[Person], now: dt.datetime
) -> None:
    """The device catalogue, and devices for some beneficiaries (one wheelchair back already)."""
    from careapp.models import DeviceProvision, Entitlement, EntitlementStatus

    devices = {device.code: device for device in ensure_device_catalogue(session)}
    holders = [
        person.id
        for person in beneficiaries
        if session.scalar(
            select(Entitlement.id).where(
                Entitlement.person_id == person.id,
                Entitlement.status == EntitlementStatus.ACTIVE,
            )
        )
    ]
    today = city_today(now)
    plan = ("wheelchair", "care_bed", "commode", "wheelchair", "walker", "anti_pressure_mattress")
    for index, (person_id, code) in enumerate(zip(holders, plan, strict=False)):
        lent = devices[code].provision is DeviceProvision.LOAN
        serial = f"NT-{code[:2].upper()}-{index + 1:04d}" if lent else None
        loan = record_device_loan(
            session,
            admin_actor,
            person_id,
            LoanInput(devices[code].id, today, None, serial),
            now,
        )
        if index == 3:
            record_device_return(session, admin_actor, loan.id, ReturnInput(today, "完好"), now)


def _demo_setting(index: int) -> CareSetting:
    """Mostly door-to-door service at home; some cash subsidies and institution residents."""
    if index % 10 == 0:
        return CareSetting.ELDERLY_CARE_INSTITUTION
    if index % 10 == 5:
        return CareSetting.MEDICAL_CARE_INSTITUTION
    if index % 10 in (3, 7):
        return CareSetting.HOME_CASH
    return CareSetting.HOME_SERVICE


def _institutions(session: Session, today: dt.date) -> dict[CareSetting, int]:
    """One elderly-care and one medical nursing institution, paid for their residents' days."""
    found: dict[CareSetting, int] = {}
    for n, (setting, kind, name) in enumerate(
        (
            (
                CareSetting.ELDERLY_CARE_INSTITUTION,
                ProviderKind.ELDERLY_CARE_INSTITUTION,
                "崇川颐养院",
            ),
            (
                CareSetting.MEDICAL_CARE_INSTITUTION,
                ProviderKind.MEDICAL_CARE_INSTITUTION,
                "南通康复护理院",
            ),
        )
    ):
        institution = Provider(
            name=name,
            licence_number=f"NT-INST-2017-{n + 1:03d}",
            kind=kind,
            contact_phone=f"0513-8552{n:04d}",
            contract_from=dt.date(2017, 1, 1),
            contract_until=dt.date(today.year + 2, 12, 31),
        )
        session.add(institution)
        session.flush()
        found[setting] = institution.id
    return found


def _entitlement_events(
    session: Session, admin_actor: Actor, institutions: dict[CareSetting, int], now: dt.datetime
) -> None:
    """A hospital stay across a month end and then a move into a care home for one cash-subsidy
    beneficiary decided months ago; a death ends another entitlement."""
    from careapp.models import Entitlement, EntitlementStatus
    from careapp.services.ledger import (
        AdmissionInput,
        EndInput,
        MoveInput,
        record_end,
        record_hospital_stay,
        record_move,
    )

    today = city_today(now)
    this_month = today.replace(day=1)
    admitted = add_months(this_month, -2).replace(day=26)
    moved = (this_month - dt.timedelta(days=1)).replace(day=15)  # mid last month
    active = list(
        session.scalars(
            select(Entitlement)
            .where(Entitlement.status == EntitlementStatus.ACTIVE)
            .order_by(Entitlement.starts_on, Entitlement.id)
        )
    )
    at_home = [
        e for e in active if e.care_setting is CareSetting.HOME_CASH and e.starts_on < admitted
    ]
    if at_home:
        entitlement = at_home[0]
        record_hospital_stay(
            session,
            admin_actor,
            entitlement.id,
            AdmissionInput(admitted, admitted + dt.timedelta(days=9), "急性肺炎住院"),
            now,
        )
        record_move(
            session,
            admin_actor,
            entitlement.id,
            MoveInput(
                moved,
                CareSetting.ELDERLY_CARE_INSTITUTION,
                institutions[CareSetting.ELDERLY_CARE_INSTITUTION],
                "出院后入住养老机构",
            ),
            now,
        )
    others = [e for e in active if e.starts_on < moved and e not in at_home[:1]]
    if others:
        record_end(
            session,
            admin_actor,
            others[-1].id,
            EndInput(today - dt.timedelta(days=10), "death", "家属告知"),
            now,
        )


def demo_admin_totp_uri(session: Session, protector: DataProtector) -> str | None:
    """The otpauth:// URI of the demo administrator's second factor (for an authenticator
    app), or None when the demo admin has none."""
    admin = session.scalar(select(User).where(User.username == DEMO_ADMIN))
    if admin is None or admin.totp_secret_ciphertext is None:
        return None
    return provisioning_uri(protector.decrypt(admin.totp_secret_ciphertext), admin.username)


def database_is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(User))


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, role=user.role, provider_id=user.provider_id, address="demo")


def _providers(
    session: Session,
    size: DemoSize,
    districts: list[District],
    urban: list[District],
    today: dt.date,
) -> list[Provider]:
    names = ("通城护理服务有限公司", "江海居家照护中心", "紫琅康养服务有限公司", "濠滨护理站")
    rural = [d for d in districts if d.kind is DistrictKind.RURAL]
    providers = []
    for n in range(size.providers):
        served = [*urban, *rural[n :: size.providers]] if n else list(districts)
        provider = Provider(
            name=names[n % len(names)],
            licence_number=f"NT-LTC-{2017 + n}-{n + 1:03d}",
            kind=ProviderKind.HOME_CARE,
            contact_phone=f"0513-8551{n:04d}",
            contract_from=dt.date(2017, 1, 1),
            contract_until=dt.date(today.year + 2, 12, 31),
            districts=served,
        )
        session.add(provider)
        session.flush()
        create_user(
            session,
            username=f"manager{n + 1}",
            password=DEMO_PASSWORD,
            display_name=f"{provider.name} 经理",
            role=Role.PROVIDER_MANAGER,
            provider_id=provider.id,
        )
        providers.append(provider)
    return providers


def _caregivers(
    session: Session,
    rng: random.Random,
    providers: list[Provider],
    size: DemoSize,
    protector: DataProtector,
) -> dict[int, list[Caregiver]]:
    """Each provider's caregivers, with ID numbers. The last caregiver of the second provider is
    the first caregiver of the first provider too (one person, two employers: the audit of
    claims compares their visits)."""
    result: dict[int, list[Caregiver]] = {}
    number = 0
    first: tuple[str, str] | None = None  # (name, ID number) of the first caregiver
    for n, provider in enumerate(providers):
        result[provider.id] = []
        for k in range(size.caregivers_per_provider):
            number += 1
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            id_number = make_resident_id(
                "320602", dt.date(1966, 1, 1) + dt.timedelta(days=number * 211), number * 2 % 1000
            )
            if first is None:
                first = (name, id_number)
            elif n == 1 and k == size.caregivers_per_provider - 1:
                name, id_number = first
            user = create_user(
                session,
                username=f"caregiver{number}",
                password=DEMO_PASSWORD,
                display_name=f"护理员 {name}",
                role=Role.CAREGIVER,
                provider_id=provider.id,
            )
            district = provider.districts[k % len(provider.districts)]
            lat, lon = _near(rng, CENTRES[district.code], 0.02)
            qualifications = [Qualification.DAILY_CARE.value]
            # Nurses on every day of the week: caregivers 0, 1 and 3 work Sundays too.
            if k % 2 == 0 or k == 1:
                qualifications.append(Qualification.NURSING.value)
            if k % 3 == 0:
                qualifications.append(Qualification.REHABILITATION.value)
            caregiver = Caregiver(
                provider_id=provider.id,
                user_id=user.id,
                name=name,
                phone=f"139{rng.randrange(10**8):08d}",
                qualifications=qualifications,
                work_days=[1, 2, 3, 4, 5, 6, 7] if k % 2 or k == 0 else [1, 2, 3, 4, 5, 6],
                work_start=dt.time(7, 30),
                work_end=dt.time(18, 30),
                base_lat=lat,
                base_lon=lon,
                max_visits_per_day=8,
                id_number_ciphertext=protector.encrypt(id_number),
                id_number_index=protector.blind_index(id_number),
                id_number_masked=mask_id_number(id_number),
            )
            session.add(caregiver)
            result[provider.id].append(caregiver)
    session.flush()
    return result


def _person_input(
    rng: random.Random, n: int, districts: list[District], today: dt.date
) -> PersonInput:
    district = rng.choices(districts, weights=[30, 15, 15, 10, 10, 10, 10])[0]
    age = rng.choice((rng.randint(3, 59), rng.randint(60, 105), rng.randint(70, 95)))
    born_on = dt.date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))
    number = make_resident_id(district.code, born_on, (n * 7) % 1000)
    lat, lon = _near(rng, CENTRES[district.code], 0.05)
    household = rng.choice(list(HouseholdType))
    return PersonInput(
        id_number=number,
        name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
        phone=f"138{rng.randrange(10**8):08d}",
        address=f"{district.name_zh}{rng.choice(STREETS)}{rng.randint(1, 300)}号",
        district_code=district.code,
        township=None,
        home_lat=lat,
        home_lon=lon,
        household_type=household,
        insurance_scheme=rng.choice(list(InsuranceScheme)),
        insurance_status=InsuranceStatus.ACTIVE,
        insured_from=dt.date(2012, 1, 1),
        insured_until=None,
        guardian_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
        guardian_phone=f"137{rng.randrange(10**8):08d}",
    )


def _apply(
    session: Session,
    actor: Actor,
    person: Person,
    setting: CareSetting,
    rng: random.Random,
    today: dt.date,
    now: dt.datetime,
    provider_id: int | None = None,
) -> Application:
    return submit_application(
        session,
        actor,
        person.id,
        ApplicationInput(
            applicant=rng.choice(list(Applicant)),
            applicant_name=person.guardian_name,
            disability_since=today - dt.timedelta(days=rng.randint(200, 2000)),
            evidence_note="南通市第一人民医院 出院小结及诊断证明",
            requested_setting=setting,
            provider_id=provider_id,
        ),
        now,
    )


def _severe_answers(rng: random.Random, items: tuple[object, ...]) -> dict[str, int]:
    """Answers totalling at most 60 (moderate or severe), as real beneficiaries have."""
    while True:
        answers = {
            item.code: rng.choice([option.points for option in item.options])  # type: ignore[attr-defined]  # Item
            for item in items
        }
        if sum(answers.values()) <= 60:
            return answers


def _entitlement_id(session: Session, person_id: int) -> int:
    from careapp.models import Entitlement, EntitlementStatus

    found = session.scalar(
        select(Entitlement.id).where(
            Entitlement.person_id == person_id, Entitlement.status == EntitlementStatus.ACTIVE
        )
    )
    assert found is not None  # noqa: S101 - the decision above created it  # nosec B101
    return found


def _provider_for(providers: list[Provider], district_code: str, index: int) -> Provider:
    serving = [p for p in providers if any(d.code == district_code for d in p.districts)]
    return serving[index % len(serving)]


def _plan_input(
    rng: random.Random,
    provider: Provider,
    caregivers: list[Caregiver],
    items: dict[str, ServiceItem],
) -> CarePlanInput:
    start = rng.choice((8, 9, 10, 13, 14, 15))
    kind = rng.random()
    if kind < 0.6:  # daily help, within the 1,200 yuan monthly budget
        codes, weekdays = [rng.choice(("companionship", "feeding_help"))], [1, 2, 3, 4, 5, 6, 7]
    elif kind < 0.85:
        codes, weekdays = ["bathing"], [1, 3, 5]
    else:
        codes, weekdays = ["hair_washing", "oral_care"], [2, 4, 6, 7]
    return CarePlanInput(
        provider_id=provider.id,
        service_item_ids=[items[code].id for code in codes],
        weekdays=weekdays,
        window_start=dt.time(start, 0),
        window_end=dt.time(start + 2, 0),
        preferred_caregiver_id=rng.choice(caregivers).id if rng.random() < 0.5 else None,
    )


def _near(rng: random.Random, centre: tuple[float, float], spread: float) -> tuple[float, float]:
    return (
        round(centre[0] + rng.uniform(-spread, spread), 6),
        round(centre[1] + rng.uniform(-spread, spread), 6),
    )
