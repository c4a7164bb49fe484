"""factory_boy factories for every model; persistence is `flush` inside the test transaction."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import socket

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy import select
from sqlalchemy.orm import Session

from assessments.instruments.barthel import BARTHEL
from careapp import models as m
from careapp.core.clock import city_datetime
from careapp.core.identity import make_resident_id, mask_id_number
from careapp.eligibility.rules import BenefitCategory
from careapp.reports.pdf import AssessmentConclusionData, ItemRow
from careapp.security import DataProtector, hash_password
from careapp.services.actor import Actor
from careapp.services.policy import build_default_policy
from scheduling.claims import ClaimFlagKind
from scheduling.quality import ProviderStatus
from scheduling.visits import VisitStatus

# The suite's moment: conftest pins the app's clock here, and the data below is dated around it.
NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # 10:00 in the city
TODAY = dt.date(2026, 11, 23)

PASSWORD = "correct horse battery"
PASSWORD_HASH = hash_password(PASSWORD)
TEST_PROTECTOR = DataProtector("dGVzdC1kYXRhLWtleS10ZXN0LWRhdGEta2V5LTMyYnk=")

_session: Session | None = None


def current_session() -> Session:
    if _session is None:
        raise RuntimeError("factories are not bound to a session (use the db_session fixture)")
    return _session


def bind(session: Session | None) -> None:
    global _session
    _session = session


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "flush"


class DistrictFactory(BaseFactory):
    class Meta:
        model = m.District
        sqlalchemy_get_or_create = ("code",)

    code = "320602"
    name_zh = "崇川区"
    name_en = "Chongchuan District"
    kind = m.DistrictKind.URBAN


class ProviderFactory(BaseFactory):
    class Meta:
        model = m.Provider

    name = factory.Sequence(lambda n: f"照护公司{n}")
    licence_number = factory.Sequence(lambda n: f"LIC-{n:05d}")
    kind = m.ProviderKind.HOME_CARE
    status = ProviderStatus.ACTIVE
    contact_phone = "0513-80000000"
    contract_from = dt.date(2024, 1, 1)
    contract_until = None
    districts = factory.LazyFunction(lambda: [DistrictFactory()])


def totp_secret(username: str) -> str:
    """The TOTP secret the factories enrol for `username` (administrators must have one)."""
    return base64.b32encode(hashlib.sha256(f"totp:{username}".encode()).digest()[:20]).decode()


class UserFactory(BaseFactory):
    class Meta:
        model = m.User

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    password_hash = PASSWORD_HASH
    role = m.Role.ADMIN
    provider = None
    must_change_password = False  # a test that needs the first-login change sets it
    # Enrolled in the second factor (`totp_secret(username)`): administrators unless told not.
    totp_secret_ciphertext = factory.LazyAttribute(
        lambda o: TEST_PROTECTOR.encrypt(totp_secret(o.username)) if o.two_factor else None
    )
    totp_enrolled_at = factory.LazyAttribute(lambda o: NOW if o.two_factor else None)

    class Params:
        two_factor = factory.LazyAttribute(lambda o: o.role is m.Role.ADMIN)
        admin = factory.Trait(role=m.Role.ADMIN)
        assessor = factory.Trait(role=m.Role.ASSESSOR)
        manager = factory.Trait(
            role=m.Role.PROVIDER_MANAGER, provider=factory.SubFactory(ProviderFactory)
        )
        caregiver = factory.Trait(
            role=m.Role.CAREGIVER, provider=factory.SubFactory(ProviderFactory)
        )


class PersonFactory(BaseFactory):
    class Meta:
        model = m.Person
        exclude = ("id_number",)

    born_on = dt.date(1940, 3, 1)
    id_number = factory.Sequence(
        lambda n: make_resident_id("320602", dt.date(1940, 3, 1), (n % 499) * 2 + 1)
    )
    id_number_ciphertext = factory.LazyAttribute(lambda o: TEST_PROTECTOR.encrypt(o.id_number))
    id_number_index = factory.LazyAttribute(lambda o: TEST_PROTECTOR.blind_index(o.id_number))
    id_number_masked = factory.LazyAttribute(lambda o: mask_id_number(o.id_number))
    name = factory.Sequence(lambda n: f"张{n}")
    sex = m.Sex.MALE
    phone = "13800000000"
    address = "崇川区人民路1号"
    district = factory.SubFactory(DistrictFactory)
    township = "和平桥街道"
    home_lat = 32.0
    home_lon = 120.86
    household_type = m.HouseholdType.URBAN
    insurance_scheme = m.InsuranceScheme.RESIDENT
    insurance_status = m.InsuranceStatus.ACTIVE
    insured_from = dt.date(2010, 1, 1)
    insured_until = None
    guardian_name = "张家属"
    guardian_phone = "13900000000"


def _caregiver_id_number(n: int) -> str:
    """A distinct valid ID number per caregiver (born on consecutive days from 1970)."""
    return make_resident_id("320602", dt.date(1970, 1, 1) + dt.timedelta(days=n), 2)


class CaregiverFactory(BaseFactory):
    """A caregiver with an ID number of their own; pass `id_number=` to make two caregiver
    rows (of two providers) the same person, or `id_number=None` for a row without one."""

    class Meta:
        model = m.Caregiver
        exclude = ("id_number",)

    id_number = factory.Sequence(_caregiver_id_number)
    id_number_ciphertext = factory.LazyAttribute(
        lambda o: TEST_PROTECTOR.encrypt(o.id_number) if o.id_number else None
    )
    id_number_index = factory.LazyAttribute(
        lambda o: TEST_PROTECTOR.blind_index(o.id_number) if o.id_number else None
    )
    id_number_masked = factory.LazyAttribute(
        lambda o: mask_id_number(o.id_number) if o.id_number else None
    )
    provider = factory.SubFactory(ProviderFactory)
    user = None
    name = factory.Sequence(lambda n: f"护理员{n}")
    phone = "13700000000"
    qualifications = factory.LazyFunction(lambda: ["daily_care", "nursing"])
    work_days = factory.LazyFunction(lambda: [1, 2, 3, 4, 5, 6, 7])
    work_start = dt.time(8, 0)
    work_end = dt.time(18, 0)
    base_lat = 32.0
    base_lon = 120.85
    max_visits_per_day = 8


class ServiceItemFactory(BaseFactory):
    class Meta:
        model = m.ServiceItem
        sqlalchemy_get_or_create = ("code",)

    code = "bathing"
    name_zh = "助浴"
    name_en = "Bathing"
    duration_minutes = 60
    qualification = m.Qualification.DAILY_CARE
    unit_price_fen = 8000


class PolicyVersionFactory(BaseFactory):
    class Meta:
        model = m.PolicyVersion

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        """The spec's policy in force from `effective_on`; one version per date, as in the DB."""
        effective_on = kwargs.pop("effective_on", dt.date(2016, 1, 1))
        session = current_session()
        existing = session.scalar(
            select(m.PolicyVersion).where(m.PolicyVersion.effective_on == effective_on)
        )
        if existing is not None and not kwargs:
            return existing
        policy = build_default_policy(effective_on)
        for key, value in kwargs.items():
            setattr(policy, key, value)
        session.add(policy)
        session.flush()
        return policy


class ApplicationFactory(BaseFactory):
    class Meta:
        model = m.Application

    person = factory.SubFactory(PersonFactory)
    status = m.ApplicationStatus.SUBMITTED
    applied_on = dt.date(2026, 11, 2)
    applicant = m.Applicant.FAMILY
    applicant_name = "张家属"
    disability_since = dt.date(2025, 1, 1)
    evidence_note = "南通市第一人民医院 诊断证明 2025-01"
    requested_setting = m.CareSetting.HOME_SERVICE
    created_by = factory.SubFactory(UserFactory, admin=True)
    assessor_1 = None
    assessor_2 = None

    class Params:
        assigned = factory.Trait(
            status=m.ApplicationStatus.ASSESSING,
            assessor_1=factory.SubFactory(UserFactory, assessor=True),
            assessor_2=factory.SubFactory(UserFactory, assessor=True),
            appointment_at=dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC),
        )
        # Reviewed and made public; the publicity ended before 2026-11-23 (tests' NOW).
        publicized = factory.Trait(
            status=m.ApplicationStatus.PUBLICITY,
            assessor_1=factory.SubFactory(UserFactory, assessor=True),
            assessor_2=factory.SubFactory(UserFactory, assessor=True),
            appointment_at=dt.datetime(2026, 11, 5, 1, 0, tzinfo=dt.UTC),
            reviewed_at=dt.datetime(2026, 11, 12, 2, 0, tzinfo=dt.UTC),
            reviewed_by=factory.SubFactory(UserFactory, admin=True),
            publicity_starts_on=dt.date(2026, 11, 13),
            publicity_ends_on=dt.date(2026, 11, 19),
        )


# Answers of a Barthel Index form giving total 30 (severe dependency).
SEVERE_BARTHEL_ANSWERS = {
    "feeding": 5,
    "bathing": 0,
    "grooming": 0,
    "dressing": 5,
    "bowels": 5,
    "bladder": 5,
    "toilet_use": 0,
    "transfer": 5,
    "mobility": 5,
    "stairs": 0,
}


# Answers of a 2021 national standard form: ADL 30 (severe), cognition 12 (mild),
# sensory 12 (intact) -> grade 3 (重度失能Ⅰ级); total 54.
SEVERE_NATIONAL_ANSWERS = {
    "feeding": 5,
    "dressing": 5,
    "face_mouth_cleaning": 0,
    "bowels": 5,
    "bladder": 5,
    "toilet_use": 0,
    "walking": 5,
    "transfer": 5,
    "stairs": 0,
    "bathing": 0,
    "time_orientation": 3,
    "person_orientation": 3,
    "place_orientation": 3,
    "memory": 3,
    "vision": 4,
    "hearing": 4,
    "communication": 4,
}


def _barthel_grade(total: int) -> str:
    return next(band.grade_code for band in BARTHEL.bands if band.covers(total))


class AssessmentFactory(BaseFactory):
    class Meta:
        model = m.Assessment

    application = factory.SubFactory(
        ApplicationFactory, assigned=True, status=m.ApplicationStatus.ASSESSED
    )
    version = 1
    instrument = "barthel"
    instrument_version = "1965"
    answers = factory.LazyFunction(lambda: dict(SEVERE_BARTHEL_ANSWERS))
    total = 30
    # The Barthel grade of `total` under the default bands (pass `grade` to override).
    grade = factory.LazyAttribute(lambda o: _barthel_grade(o.total))
    assessed_on = dt.date(2026, 11, 20)
    assessor_1 = factory.SelfAttribute("application.assessor_1")
    assessor_2 = factory.SelfAttribute("application.assessor_2")
    family_member_present = "张家属（女儿）"
    note = None
    submitted_by = factory.SelfAttribute("assessor_1")
    submitted_at = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)

    @factory.post_generation
    def confirmed(self, create: bool, extracted: bool | None, **kwargs: object) -> None:  # type: ignore[no-untyped-def,misc]  # factory_boy calls it with the built model as self
        """Both assessors confirmed it, by default when its application is ASSESSED."""
        assessment: m.Assessment = self  # type: ignore[assignment]  # the built model
        default = assessment.application.status is m.ApplicationStatus.ASSESSED
        if not create or not (default if extracted is None else extracted):
            return
        for user_id in (assessment.assessor_1_id, assessment.assessor_2_id):
            assessment.confirmations.append(
                m.AssessmentConfirmation(user_id=user_id, confirmed_at=assessment.submitted_at)
            )
        current_session().flush()

    class Params:
        # A 2021 national standard assessment, grade 3 (SEVERE_NATIONAL_ANSWERS).
        national = factory.Trait(
            instrument="national_2021",
            instrument_version="2021",
            answers=factory.LazyFunction(lambda: dict(SEVERE_NATIONAL_ANSWERS)),
            total=54,
            grade="3",
        )


class DecidableAssessmentFactory(AssessmentFactory):
    """An assessment reviewed and made public, publicity over with no objection: its
    application can be decided (a Trait cannot do this: an inactive trait's
    `application__status` would reset the sub-factory's status)."""

    application = factory.SubFactory(ApplicationFactory, publicized=True)
    assessed_on = dt.date(2026, 11, 10)
    submitted_at = dt.datetime(2026, 11, 10, 3, 0, tzinfo=dt.UTC)

    @factory.post_generation
    def confirmed(self, create: bool, extracted: bool | None, **kwargs: object) -> None:  # type: ignore[no-untyped-def,misc]  # factory_boy calls it with the built model as self
        """Both assessors confirmed it (it was reviewed)."""
        assessment: m.Assessment = self  # type: ignore[assignment]  # the built model
        if not create or extracted is False:
            return
        for user_id in (assessment.assessor_1_id, assessment.assessor_2_id):
            assessment.confirmations.append(
                m.AssessmentConfirmation(user_id=user_id, confirmed_at=assessment.submitted_at)
            )
        current_session().flush()


class EligibilityDecisionFactory(BaseFactory):
    class Meta:
        model = m.EligibilityDecision

    assessment = factory.SubFactory(AssessmentFactory)
    application = factory.SelfAttribute("assessment.application")
    policy_version = factory.SubFactory(PolicyVersionFactory)
    decided_on = dt.date(2026, 11, 21)
    decided_by = factory.SubFactory(UserFactory, admin=True)
    is_eligible = True
    category = BenefitCategory.SEVERE
    care_setting = m.CareSetting.HOME_SERVICE
    daily_rate_fen = None
    reasons = factory.LazyFunction(list)


class EntitlementFactory(BaseFactory):
    class Meta:
        model = m.Entitlement

    decision = factory.SubFactory(EligibilityDecisionFactory)
    person = factory.SelfAttribute("decision.application.person")
    policy_version = factory.SelfAttribute("decision.policy_version")
    category = BenefitCategory.SEVERE
    care_setting = m.CareSetting.HOME_SERVICE
    daily_rate_fen = None
    monthly_budget_fen = 120_000
    status = m.EntitlementStatus.ACTIVE
    starts_on = dt.date(2026, 11, 21)
    ends_on = None


class CarePlanFactory(BaseFactory):
    class Meta:
        model = m.CarePlan

    entitlement = factory.SubFactory(EntitlementFactory)
    person = factory.SelfAttribute("entitlement.person")
    provider = factory.SubFactory(ProviderFactory)
    preferred_caregiver = None
    weekdays = factory.LazyFunction(lambda: [1, 2, 3, 4, 5, 6, 7])
    window_start = dt.time(9, 0)
    window_end = dt.time(11, 0)
    starts_on = dt.date(2026, 11, 21)
    ends_on = None
    is_active = True
    items = factory.LazyFunction(lambda: [m.CarePlanItem(service_item=ServiceItemFactory())])


class VisitFactory(BaseFactory):
    class Meta:
        model = m.Visit

    care_plan = factory.SubFactory(CarePlanFactory)
    person = factory.SelfAttribute("care_plan.person")
    provider = factory.SelfAttribute("care_plan.provider")
    caregiver = None
    visit_on = dt.date(2026, 11, 24)
    window_start = factory.LazyAttribute(lambda o: city_datetime(o.visit_on, dt.time(9, 0)))
    window_end = factory.LazyAttribute(lambda o: city_datetime(o.visit_on, dt.time(11, 0)))
    duration_minutes = 60
    service_item_codes = factory.LazyFunction(lambda: ["bathing"])
    required_qualifications = factory.LazyFunction(lambda: ["daily_care"])
    planned_start = None
    planned_end = None
    status = VisitStatus.UNASSIGNED

    class Params:
        assigned = factory.Trait(
            caregiver=factory.SubFactory(
                CaregiverFactory, provider=factory.SelfAttribute("..provider")
            ),
            planned_start=factory.LazyAttribute(lambda o: o.window_start),
            planned_end=factory.LazyAttribute(
                lambda o: o.window_start + dt.timedelta(minutes=o.duration_minutes)
            ),
            status=VisitStatus.ASSIGNED,
            route_order=1,
        )
        missed = factory.Trait(status=VisitStatus.MISSED)


class CaregiverUserFactory(CaregiverFactory):
    """A caregiver with a login account (role caregiver) of the same provider."""

    user = factory.SubFactory(
        UserFactory, caregiver=True, provider=factory.SelfAttribute("..provider")
    )


def caregiver_visit(caregiver: m.Caregiver, **overrides: object) -> m.Visit:
    """A visit of `caregiver`'s provider assigned to them (on TODAY unless `visit_on`).

    Every call makes a new beneficiary and care plan under one shared policy version, and books
    the visit in the caregiver's next free hour so the no-double-booking rule holds.
    """
    from sqlalchemy import func, select

    session = current_session()
    policy = (
        session.scalar(
            select(m.PolicyVersion).where(m.PolicyVersion.effective_on == dt.date(2016, 1, 1))
        )
        or PolicyVersionFactory()
    )
    booked = session.scalar(
        select(func.count()).select_from(m.Visit).where(m.Visit.caregiver_id == caregiver.id)
    )
    visit_on = overrides.pop("visit_on", TODAY)
    assert isinstance(visit_on, dt.date)
    start = city_datetime(visit_on, dt.time(9, 0)) + dt.timedelta(hours=booked or 0)
    values: dict[str, object] = {
        "assigned": True,
        "caregiver": caregiver,
        "care_plan__provider": caregiver.provider,
        "care_plan__entitlement__decision__policy_version": policy,
        "visit_on": visit_on,
        "planned_start": start,
        "planned_end": start + dt.timedelta(minutes=60),
    }
    values.update(overrides)
    visit: m.Visit = VisitFactory(**values)
    return visit


def provider_care_plan(provider: m.Provider, **overrides: object) -> m.CarePlan:
    """A care plan of `provider` for a new beneficiary, under one shared policy version.

    (CarePlanFactory alone makes a new policy version each time, whose date is unique.)
    """
    from sqlalchemy import select

    session = current_session()
    policy = (
        session.scalar(
            select(m.PolicyVersion).where(m.PolicyVersion.effective_on == dt.date(2016, 1, 1))
        )
        or PolicyVersionFactory()
    )
    values: dict[str, object] = {
        "provider": provider,
        "entitlement__decision__policy_version": policy,
    }
    values.update(overrides)
    plan: m.CarePlan = CarePlanFactory(**values)
    return plan


def provider_visit(
    provider: m.Provider,
    day: dt.date = TODAY,
    window: tuple[int, int] = (7, 9),
    *,
    assigned: bool = True,
    **values: object,
) -> m.Visit:
    """A visit of `provider` on `day` (its own beneficiary and plan), 07:00-09:00 by default,
    assigned to a new caregiver of the provider unless `assigned=False`."""
    start = city_datetime(day, dt.time(window[0]))
    values.setdefault("window_start", start)
    values.setdefault("window_end", city_datetime(day, dt.time(window[1])))
    if assigned:
        values.setdefault("caregiver", CaregiverFactory(provider=provider))
        values.setdefault("planned_start", start)
        values.setdefault("planned_end", start + dt.timedelta(minutes=60))
        values.setdefault("status", VisitStatus.ASSIGNED)
        values.setdefault("route_order", 1)
    visit: m.Visit = VisitFactory(care_plan=provider_care_plan(provider), visit_on=day, **values)
    return visit


def rate_visit(visit: m.Visit, stars: int, **values: object) -> m.SatisfactionRating:
    """A rating of `visit`: by phone survey the day after its window unless `values` say."""
    values.setdefault("channel", m.RatingChannel.PHONE_SURVEY)
    values.setdefault("rated_at", visit.window_end + dt.timedelta(days=1))
    rating = m.SatisfactionRating(visit_id=visit.id, stars=stars, **values)
    session = current_session()
    session.add(rating)
    session.flush()
    return rating


BENEFIT_START = dt.date(2026, 9, 10)
"""The day the ledger's and settlement's beneficiaries (below) start."""


def _started_entitlement(
    setting: m.CareSetting,
    category: BenefitCategory,
    starts_on: dt.date,
    provider_id: int | None,
    **changes: object,
) -> m.Entitlement:
    """An entitlement at the default policy's daily rate, with its START event."""
    policy = PolicyVersionFactory()
    rate = next(
        r.daily_fen for r in policy.rates if (r.category, r.care_setting) == (category, setting)
    )
    entitlement: m.Entitlement = EntitlementFactory(
        decision__policy_version=policy,
        decision__care_setting=setting,
        decision__category=category,
        decision__daily_rate_fen=rate,
        category=category,
        care_setting=setting,
        daily_rate_fen=rate,
        starts_on=starts_on,
        **changes,
    )
    session = current_session()
    session.add(
        m.EntitlementEvent(
            entitlement_id=entitlement.id,
            kind=m.EntitlementEventKind.START,
            occurs_on=starts_on,
            care_setting=setting,
            provider_id=provider_id,
            recorded_at=NOW,
        )
    )
    session.flush()
    session.expire(entitlement, ["events"])
    return entitlement


def home_service_beneficiary(
    setting: m.CareSetting = m.CareSetting.HOME_SERVICE,
    provider_id: int | None = None,
    budget: int | None = 120_000,
    name: str = "王小明",
) -> m.Entitlement:
    """`name`, severe, from BENEFIT_START, with its START event: at home with a monthly `budget`
    for services (the settlement's usual beneficiary), or in another `setting` without one."""
    return _started_entitlement(
        setting,
        BenefitCategory.SEVERE,
        BENEFIT_START,
        provider_id,
        decision__assessment__application__person=PersonFactory(name=name),
        monthly_budget_fen=budget if setting is m.CareSetting.HOME_SERVICE else None,
    )


def home_cash_beneficiary(
    setting: m.CareSetting = m.CareSetting.HOME_CASH,
    category: BenefitCategory = BenefitCategory.SEVERE,
    starts_on: dt.date = BENEFIT_START,
    provider_id: int | None = None,
    **changes: object,
) -> m.Entitlement:
    """An entitlement with its START event and no monthly budget: cash at home (the ledger's
    usual beneficiary) unless `setting` says otherwise."""
    return _started_entitlement(
        setting, category, starts_on, provider_id, monthly_budget_fen=None, **changes
    )


def plan_for(entitlement: m.Entitlement, provider: m.Provider, **changes: object) -> m.CarePlan:
    """A care plan of `entitlement` with `provider`, from BENEFIT_START."""
    plan: m.CarePlan = CarePlanFactory(
        entitlement=entitlement, provider=provider, starts_on=BENEFIT_START, **changes
    )
    return plan


def october_visit(
    plan: m.CarePlan,
    day: int,
    done: tuple[str, ...] = ("bathing",),
    status: VisitStatus = VisitStatus.COMPLETED,
    flag: m.ClaimFlagStatus | None = None,
) -> m.Visit:
    """A visit of `plan` on `day` October 2026 that did `done`, flagged with `flag` if given."""
    found: m.Visit = VisitFactory(
        care_plan=plan,
        visit_on=dt.date(2026, 10, day),
        status=status,
        done_item_codes=list(done),
    )
    if flag is not None:
        raise_flag(found, flag)
    return found


def raise_flag(found: m.Visit, status: m.ClaimFlagStatus = m.ClaimFlagStatus.OPEN) -> m.ClaimFlag:
    """A far-from-home claim flag on `found`."""
    flag = m.ClaimFlag(
        visit_id=found.id,
        kind=ClaimFlagKind.FAR_FROM_HOME,
        detail={"distance_m": 2400},
        raised_at=NOW,
        status=status,
    )
    session = current_session()
    session.add(flag)
    session.flush()
    return flag


QIAN_ID_NUMBER = make_resident_id("320602", dt.date(1942, 2, 3), 55)
"""钱桂兰's full resident ID (institution_entitlement's): documents show it masked."""


def institution_entitlement() -> m.Entitlement:
    """钱桂兰's entitlement in an elderly care institution at 40.00 yuan a day, decided on a
    disability of 22 months: the one the sealed notices and certificates are checked on."""
    person = PersonFactory(name="钱桂兰", id_number=QIAN_ID_NUMBER)
    assessment = AssessmentFactory(application=ApplicationFactory(person=person, assigned=True))
    decision = EligibilityDecisionFactory(
        assessment=assessment,
        reasons=[
            {
                "rule": "disability_duration",
                "passed": True,
                "reason_code": "disability_long_enough",
                "params": {"months": 22, "required": 6},
            }
        ],
        care_setting=m.CareSetting.ELDERLY_CARE_INSTITUTION,
        daily_rate_fen=4000,
    )
    entitlement: m.Entitlement = EntitlementFactory(
        decision=decision,
        care_setting=m.CareSetting.ELDERLY_CARE_INSTITUTION,
        daily_rate_fen=4000,
        monthly_budget_fen=None,
    )
    return entitlement


class ObjectionFactory(BaseFactory):
    class Meta:
        model = m.Objection

    application = factory.SubFactory(ApplicationFactory, publicized=True)
    source = m.ObjectionSource.PUBLIC
    lodged_by_name = "邻居王某"
    text = "评估时老人状态被夸大。"
    lodged_at = dt.datetime(2026, 11, 16, 2, 0, tzinfo=dt.UTC)
    recorded_by = factory.SubFactory(UserFactory, admin=True)
    status = m.ObjectionStatus.OPEN


class AssessorProviderTieFactory(BaseFactory):
    class Meta:
        model = m.AssessorProviderTie

    assessor = factory.SubFactory(UserFactory, assessor=True)
    provider = factory.SubFactory(ProviderFactory)
    description = "曾任护理部主任"
    starts_on = dt.date(2024, 1, 1)
    ends_on = None


class ReassessmentReminderFactory(BaseFactory):
    class Meta:
        model = m.ReassessmentReminder

    entitlement = factory.SubFactory(EntitlementFactory)
    person = factory.SelfAttribute("entitlement.person")
    due_on = dt.date(2026, 11, 1)
    status = m.ReminderStatus.OPEN


class DeviceTypeFactory(BaseFactory):
    class Meta:
        model = m.DeviceType
        sqlalchemy_get_or_create = ("code",)

    code = "wheelchair"
    name_zh = "轮椅"
    name_en = "Wheelchair"
    provision = m.DeviceProvision.LOAN
    subsidy_fen = 30_000
    max_loan_days = 180
    stock = 5
    is_active = True

    class Params:
        # A purchase subsidy (commode chair): no loan duration, no stock.
        purchase = factory.Trait(
            code="commode",
            name_zh="坐便椅",
            name_en="Commode chair",
            provision=m.DeviceProvision.PURCHASE_SUBSIDY,
            subsidy_fen=20_000,
            max_loan_days=None,
            stock=None,
        )


class DeviceLoanFactory(BaseFactory):
    """A wheelchair lent on 2026-11-21 to the holder of a new entitlement, due in 180 days."""

    class Meta:
        model = m.DeviceLoan

    entitlement = factory.SubFactory(EntitlementFactory)
    person = factory.SelfAttribute("entitlement.person")
    device_type = factory.SubFactory(DeviceTypeFactory)
    provision = factory.SelfAttribute("device_type.provision")
    subsidy_fen = factory.SelfAttribute("device_type.subsidy_fen")
    max_loan_days = factory.SelfAttribute("device_type.max_loan_days")
    starts_on = dt.date(2026, 11, 21)
    due_on = factory.LazyAttribute(
        lambda o: o.starts_on + dt.timedelta(days=o.max_loan_days) if o.max_loan_days else None
    )
    serial_number = factory.Sequence(lambda n: f"WC-{n:04d}")
    recorded_by = factory.SubFactory(UserFactory, admin=True)
    recorded_at = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)
    returned_on = None
    return_condition = None

    class Params:
        returned = factory.Trait(
            returned_on=dt.date(2026, 11, 22),
            return_condition="完好",
            returned_by=factory.SelfAttribute("recorded_by"),
            returned_at=dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC),
        )


def _tiny_pdf_file() -> str:
    """A PDF file in a fresh temporary folder (what a finished batch points to)."""
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp(prefix="print-batch-")) / "batch.pdf"
    path.write_bytes(b"%PDF-1.4\n%%EOF\n")
    return str(path)


class PrintBatchFactory(BaseFactory):
    """A queued batch of the week of 2026-11-16; `done=True` for a finished one with a file."""

    class Meta:
        model = m.PrintBatch

    week_starts_on = dt.date(2026, 11, 16)
    status = m.PrintBatchStatus.QUEUED
    total = 0
    done = 0
    file_path = None
    requested_by = factory.SubFactory(UserFactory, admin=True)
    requested_at = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    # Built by this test process, alive at the moment it was asked for (careapp.core.liveness).
    runner_host = factory.LazyFunction(socket.gethostname)
    runner_pid = factory.LazyFunction(os.getpid)
    heartbeat_at = factory.SelfAttribute("requested_at")

    class Params:
        completed = factory.Trait(
            status=m.PrintBatchStatus.DONE,
            finished_at=dt.datetime(2026, 11, 23, 2, 5, tzinfo=dt.UTC),
            file_path=factory.LazyFunction(_tiny_pdf_file),
        )
        # In progress on another host, silent for ten minutes (careapp.core.liveness).
        abandoned = factory.Trait(
            status=m.PrintBatchStatus.RUNNING,
            total=3,
            done=1,
            runner_host="web-2.example",
            runner_pid=4242,
            heartbeat_at=dt.datetime(2026, 11, 23, 1, 50, tzinfo=dt.UTC),
        )


class ComplaintFactory(BaseFactory):
    """An open complaint about a provider, recorded by an administrator."""

    class Meta:
        model = m.Complaint

    provider = factory.SubFactory(ProviderFactory)
    received_on = dt.date(2026, 11, 20)
    channel = m.ComplaintChannel.PHONE
    summary = "护理员迟到且态度不好"
    status = m.ComplaintStatus.OPEN
    recorded_by = factory.SubFactory(UserFactory, admin=True)
    recorded_at = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)

    class Params:
        dismissed = factory.Trait(
            status=m.ComplaintStatus.DISMISSED,
            resolution_note="查无实据",
            resolved_by=factory.SelfAttribute("recorded_by"),
            resolved_at=dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC),
        )
        upheld = factory.Trait(
            status=m.ComplaintStatus.UPHELD,
            resolution_note="情况属实，已责令整改",
            resolved_by=factory.SelfAttribute("recorded_by"),
            resolved_at=dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC),
        )


class SettlementStatementFactory(BaseFactory):
    """An issued main statement of October 2026 (numbered like a certificate), without lines."""

    class Meta:
        model = m.SettlementStatement

    provider = factory.SubFactory(ProviderFactory)
    issued_by = factory.SubFactory(UserFactory, admin=True)
    issued_at = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)
    certificate_id = factory.LazyAttribute(lambda o: _statement_certificate_id(o))
    number = factory.LazyAttribute(lambda o: f"JS-2026-{o.number_suffix}")
    month = dt.date(2026, 10, 1)
    sequence = 1
    provider_name = factory.SelfAttribute("provider.name")
    visits_paid = 0
    visits_paid_fen = 0
    visits_held = 0
    visits_held_fen = 0
    bed_days = 0
    bed_days_fen = 0
    total_fen = 0

    class Params:
        number_suffix = factory.Sequence(lambda n: f"{900000 + n:06d}")


def _statement_certificate_id(o: factory.builder.Resolver) -> int:
    """The certificate row that numbers a statement (flushed for its id)."""
    certificate = m.Certificate(
        number=f"JS-2026-{o.number_suffix}",
        kind=m.CertificateKind.SETTLEMENT_STATEMENT,
        issued_at=o.issued_at,
        issued_by_id=o.issued_by.id,
    )
    session = current_session()
    session.add(certificate)
    session.flush()
    return certificate.id


# The filled assessment conclusion that the PDF and seal tests render.
CONCLUSION_DATA = AssessmentConclusionData(
    certificate_number="PG-2026-000123",
    issued_on=dt.date(2026, 11, 23),
    person_name="张秀英",
    id_number_masked="320602***********9",
    sex_zh="女",
    birth_year=1940,
    district_zh="崇川区",
    instrument_zh="Barthel指数",
    items=(
        ItemRow("进食", "需部分帮助", 5),
        ItemRow("洗澡", "需极大帮助或完全依赖", 0),
        ItemRow("床椅转移", "需极大帮助", 5),
        ItemRow("平地行走", "需极大帮助", 5),
        ItemRow("上下楼梯", "需极大帮助或完全依赖", 0),
    ),
    total=15,
    grade_zh="重度依赖",
    assessed_on=dt.date(2026, 11, 20),
    assessor_1_name="评估员甲",
    assessor_2_name="评估员乙",
    family_member_present="王小明（儿子）",
    appeal_days=30,
    appeal_deadline=dt.date(2026, 12, 23),
    verify_url="https://ltc.example.cn/verify/PG-2026-000123?code=K7QF3-M9DXA",
    check_code="K7QF3-M9DXA",
)


def actor_of(user: m.User, address: str | None = None) -> Actor:
    """The Actor a service receives when `user` acts."""
    return Actor(user_id=user.id, role=user.role, provider_id=user.provider_id, address=address)


def person_form(**values: str) -> dict[str, str]:
    """The registry's form for a new person (孙玉兰 of Rudong county), as the page posts it;
    `values` (the id_number at least) replace its fields."""
    data = {
        "id_number": "",
        "name": "孙玉兰",
        "phone": "0513-84512345",
        "address": "如东县掘港镇青园路2号",
        "district_code": "320623",
        "township": "掘港镇",
        "home_lat": "32.31",
        "home_lon": "121.18",
        "household_type": "rural",
        "insurance_scheme": "resident",
        "insurance_status": "active",
        "insured_from": "2011-07-01",
        "insured_until": "",
        "guardian_name": "孙强",
        "guardian_phone": "13812340000",
    }
    data.update(values)
    return data
