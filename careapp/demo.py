"""Demo data: a small, friendly city (the demo column of spec/scale.md), seeded so runs repeat.

Everything goes through the same services the pages use, so the demo data obeys every rule
(valid ID numbers, budgets, dispatch without double booking) and leaves an audit trail.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assessments.grading import get_instrument
from careapp.access import Actor
from careapp.clock import city_today
from careapp.identity import make_resident_id, mask_id_number
from careapp.models import (
    Applicant,
    Application,
    BenefitCategory,
    Caregiver,
    CareSetting,
    District,
    DistrictKind,
    HouseholdType,
    InsuranceScheme,
    InsuranceStatus,
    Person,
    Provider,
    ProviderKind,
    Qualification,
    Role,
    ServiceItem,
    User,
)
from careapp.security import DataProtector
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
from careapp.services.procedure import ProcedureRules, review_application
from careapp.services.reference import ensure_districts
from careapp.services.registry import PersonInput, register_person

DEMO_PASSWORD = "demo-care-2026"  # noqa: S105 - published demo password, printed by seed-demo
# One login per role (role, username), printed by `careapp seed-demo`.
DEMO_LOGINS = (
    ("admin", "admin"),
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


def seed_demo(
    session: Session,
    protector: DataProtector,
    *,
    now: dt.datetime,
    size: DemoSize = DEMO,
    seed: int = 2017,
) -> list[DemoLogin]:
    """Load the demo city and return one login per role. Call on an empty database."""
    rng = random.Random(seed)
    today = city_today(now)
    ensure_districts(session)
    ensure_default_policy(session)
    items = {item.code: item for item in ensure_service_catalogue(session)}
    districts = list(session.scalars(select(District).order_by(District.code)))
    urban = [d for d in districts if d.kind is DistrictKind.URBAN]

    admin = create_user(
        session,
        username="admin",
        password=DEMO_PASSWORD,
        display_name="管理员 王敏",
        role=Role.ADMIN,
    )
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
    rules = ProcedureRules()
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
            create_care_plan(
                session,
                admin_actor,
                entitlement_id,
                _plan_input(rng, provider, caregivers[provider.id], items),
                now,
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
    dispatch_visits(
        session,
        admin_actor,
        today,
        today + dt.timedelta(days=2),
        now,
        {"urban": 20.0, "rural": 35.0},
    )
    _lend_devices(session, admin_actor, beneficiaries, now)
    _entitlement_events(session, admin_actor, institutions, now)
    return [DemoLogin(role, username, DEMO_PASSWORD) for role, username in DEMO_LOGINS]


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
            contract_until=today.replace(year=today.year + 2),
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
    admitted = (this_month - dt.timedelta(days=32)).replace(day=26)  # two months ago
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
            contract_until=today.replace(year=today.year + 2),
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
    assert found is not None  # noqa: S101 - the decision above created it
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
