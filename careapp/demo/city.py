"""City-scale workload (the "city" column of docs/domain.md), seeded so runs repeat.

40 providers, 3,000 caregivers and as many home-care beneficiaries (each with a decided
application, an entitlement and a care plan) as make exactly 10,000 home visits due on the
benchmark day. Homes spread over Nantong's urban districts and rural counties; each provider
serves one home district (and, for urban ones, a neighbour); caregivers' bases lie near their
own provider's clients; visit windows fall between 07:00 and 20:00.

Unlike `careapp.demo.seed` (which goes through the services, one row at a time, for a friendly
audit trail), this writes with SQLAlchemy Core `insert(...).returning(id)` executemany batches,
so the whole city loads in well under a minute. The rows are those the services would write:
valid ID numbers (encrypted, blind-indexed, masked), decided applications, budgets in fen.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.orm import Session

from careapp.core.identity import make_resident_id, mask_id_number
from careapp.db import Base
from careapp.demo.seed import CENTRES, GIVEN, STREETS, SURNAMES
from careapp.eligibility.rules import BenefitCategory
from careapp.models import (
    Applicant,
    Application,
    ApplicationKind,
    ApplicationStatus,
    Assessment,
    Caregiver,
    CarePlan,
    CarePlanItem,
    CareSetting,
    District,
    DistrictKind,
    EligibilityDecision,
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
    Sex,
    User,
)
from careapp.models.providers import provider_districts
from careapp.security import DataProtector
from careapp.services.catalogue import ensure_service_catalogue
from careapp.services.policy import ensure_default_policy
from careapp.services.reference import ensure_districts

# A password hash no password matches: generated accounts cannot log in until reset.
UNUSABLE_PASSWORD = "!city-generated"  # noqa: S105 - not a password, a marker  # nosec B105
BATCH = 2_000


@dataclass(frozen=True)
class CitySize:
    providers: int = 40
    caregivers: int = 3_000
    visits_per_day: int = 10_000


CITY = CitySize()

# Where people live: share of the city's home-care beneficiaries, and how far homes spread (°).
DISTRICT_WEIGHTS = {
    "320602": 24,
    "320612": 14,
    "320614": 12,
    "320623": 12,
    "320681": 12,
    "320682": 14,
    "320685": 12,
}
SPREAD = {DistrictKind.URBAN: 0.06, DistrictKind.RURAL: 0.16}
# Care plans: (items, weekdays, share). Durations follow the catalogue (30-60 min per item).
PLAN_KINDS: tuple[tuple[tuple[str, ...], tuple[int, ...], float], ...] = (
    (("companionship",), (1, 2, 3, 4, 5, 6, 7), 0.22),
    (("feeding_help",), (1, 2, 3, 4, 5, 6, 7), 0.18),
    (("bathing",), (1, 3, 5), 0.17),
    (("hair_washing", "oral_care"), (2, 4, 6, 7), 0.13),
    (("turning_positioning",), (1, 2, 3, 4, 5, 6, 7), 0.10),
    (("pressure_sore_care",), (1, 3, 5), 0.08),
    (("catheter_care",), (2, 5), 0.05),
    (("rehabilitation_exercise",), (1, 4), 0.07),
)
SHIFTS = (
    (dt.time(7, 0), dt.time(15, 30)),
    (dt.time(8, 30), dt.time(17, 30)),
    (dt.time(11, 30), dt.time(20, 0)),
)


@dataclass(frozen=True)
class CitySummary:
    day: dt.date
    providers: int
    caregivers: int
    beneficiaries: int
    care_plans: int
    visits_due: int
    by_district_kind: dict[str, int]


def seed_city(
    connection: Connection,
    protector: DataProtector,
    *,
    day: dt.date,
    now: dt.datetime,
    size: CitySize = CITY,
    seed: int = 2017,
) -> CitySummary:
    """Write the city into the (migrated, empty of city rows) database behind `connection`.

    Exactly `size.visits_per_day` care plans are due on `day`; the caller commits.
    """
    rng = random.Random(seed)  # noqa: S311 - seeded data so runs repeat, not a secret  # nosec B311
    # Reference data through the services; the session writes into the caller's transaction.
    session = Session(bind=connection, join_transaction_mode="rollback_only")
    ensure_districts(session)
    policy = ensure_default_policy(session)
    items = {item.code: item for item in ensure_service_catalogue(session)}
    districts = {d.code: d for d in session.scalars(select(District))}
    session.flush()
    policy_id, item_ids = policy.id, {code: item.id for code, item in items.items()}
    durations = {code: item.duration_minutes for code, item in items.items()}
    qualifications = {code: item.qualification.value for code, item in items.items()}
    session.close()

    admin_id, assessor_ids = _staff(connection, seed)
    provider_homes = _provider_homes(size.providers)
    provider_ids = _insert_ids(
        connection,
        Provider,
        [
            {
                "name": f"城市照护{n + 1:02d}号服务有限公司",
                "licence_number": f"CITY-{seed}-{n + 1:03d}",
                "kind": ProviderKind.HOME_CARE,
                "contact_phone": f"0513-8660{n:04d}",
                "contract_from": dt.date(2017, 1, 1),
                "contract_until": None,
            }
            for n in range(size.providers)
        ],
    )
    served: dict[str, list[int]] = defaultdict(list)
    links = []
    for provider_id, home in zip(provider_ids, provider_homes, strict=True):
        for code in _served_districts(home, districts):
            served[code].append(provider_id)
            links.append({"provider_id": provider_id, "district_code": code})
    for n, code in enumerate(c for c in sorted(DISTRICT_WEIGHTS) if not served[c]):
        provider_id = provider_ids[n % len(provider_ids)]  # a small city: no district unserved
        served[code].append(provider_id)
        links.append({"provider_id": provider_id, "district_code": code})
    connection.execute(insert(provider_districts), links)
    _insert_ids(
        connection,
        User,
        [
            {
                "username": f"city-manager-{provider_id}",
                "display_name": f"经理 {provider_id}",
                "password_hash": UNUSABLE_PASSWORD,
                "role": Role.PROVIDER_MANAGER,
                "provider_id": provider_id,
                "is_enabled": True,
            }
            for provider_id in provider_ids
        ],
    )

    # Beneficiaries and their plans, until exactly `visits_per_day` are due on `day`.
    codes = list(DISTRICT_WEIGHTS)
    weights = [DISTRICT_WEIGHTS[c] for c in codes]
    kinds = list(PLAN_KINDS)
    kind_weights = [kind[2] for kind in kinds]
    clients: list[dict[str, Any]] = []
    due = 0
    number = 0
    while due < size.visits_per_day:
        number += 1
        code = rng.choices(codes, weights)[0]
        plan_items, weekdays, _share = rng.choices(kinds, kind_weights)[0]
        is_due = day.isoweekday() in weekdays
        due += is_due
        district = districts[code]
        position = _near(rng, CENTRES[code], SPREAD[district.kind])
        duration = sum(durations[c] for c in plan_items)
        start_hour = rng.randint(7, 18)
        length = rng.choice((1, 2, 2, 3))
        end = min(20 * 60, start_hour * 60 + length * 60)
        clients.append(
            {
                "number": number,
                "district": code,
                "kind": district.kind.value,
                "home": position,
                "provider_id": rng.choice(served[code]),
                "items": plan_items,
                "weekdays": list(weekdays),
                "window_start": dt.time(start_hour),
                "window_end": dt.time(end // 60, end % 60),
                "duration": duration,
                "needs": sorted({qualifications[c] for c in plan_items}),
            }
        )

    caregiver_ids = _caregivers(connection, rng, clients, provider_ids, size.caregivers)
    seen: set[str] = set()
    person_ids = _insert_ids(
        connection, Person, [_person_row(rng, protector, c, day, seen) for c in clients]
    )
    applied_on = day - dt.timedelta(days=120)
    decided_on = day - dt.timedelta(days=60)
    application_ids = _insert_ids(
        connection,
        Application,
        [
            {
                "person_id": person_id,
                "status": ApplicationStatus.DECIDED,
                "kind": ApplicationKind.INITIAL,
                "applied_on": applied_on,
                "applicant": Applicant.FAMILY,
                "applicant_name": "家属",
                "disability_since": applied_on - dt.timedelta(days=400),
                "evidence_note": "出院小结及诊断证明",
                "requested_setting": CareSetting.HOME_SERVICE,
                "assessor_1_id": assessor_ids[0],
                "assessor_2_id": assessor_ids[1],
                "created_by_id": admin_id,
            }
            for person_id in person_ids
        ],
    )
    submitted_at = dt.datetime.combine(decided_on, dt.time(2), tzinfo=dt.UTC)
    assessment_ids = _insert_ids(
        connection,
        Assessment,
        [
            {
                "application_id": application_id,
                "version": 1,
                "instrument": "barthel",
                "instrument_version": "2019",
                "answers": {},
                "item_notes": {},
                "total": 35,
                "grade": "severe",
                "assessed_on": decided_on - dt.timedelta(days=14),
                "assessor_1_id": assessor_ids[0],
                "assessor_2_id": assessor_ids[1],
                "family_member_present": "家属（子女）",
                "submitted_by_id": assessor_ids[0],
                "submitted_at": submitted_at,
            }
            for application_id in application_ids
        ],
    )
    decision_ids = _insert_ids(
        connection,
        EligibilityDecision,
        [
            {
                "application_id": application_id,
                "assessment_id": assessment_id,
                "policy_version_id": policy_id,
                "decided_on": decided_on,
                "decided_by_id": admin_id,
                "is_eligible": True,
                "category": BenefitCategory.SEVERE,
                "care_setting": CareSetting.HOME_SERVICE,
                "daily_rate_fen": None,
                "reasons": [],
            }
            for application_id, assessment_id in zip(application_ids, assessment_ids, strict=True)
        ],
    )
    entitlement_ids = _insert_ids(
        connection,
        Entitlement,
        [
            {
                "person_id": person_id,
                "decision_id": decision_id,
                "policy_version_id": policy_id,
                "category": BenefitCategory.SEVERE,
                "care_setting": CareSetting.HOME_SERVICE,
                "daily_rate_fen": None,
                "monthly_budget_fen": 120_000,
                "status": EntitlementStatus.ACTIVE,
                "starts_on": decided_on,
                "ends_on": None,
            }
            for person_id, decision_id in zip(person_ids, decision_ids, strict=True)
        ],
    )
    _entitlement_starts(connection, entitlement_ids, clients, decided_on, now)
    plan_ids = _insert_ids(
        connection,
        CarePlan,
        [
            {
                "entitlement_id": entitlement_id,
                "person_id": person_id,
                "provider_id": client["provider_id"],
                "preferred_caregiver_id": client.get("preferred_caregiver_id"),
                "weekdays": client["weekdays"],
                "window_start": client["window_start"],
                "window_end": client["window_end"],
                "starts_on": decided_on,
                "ends_on": None,
                "is_active": True,
            }
            for entitlement_id, person_id, client in zip(
                entitlement_ids, person_ids, clients, strict=True
            )
        ],
    )
    item_rows = [
        {"care_plan_id": plan_id, "service_item_id": item_ids[code]}
        for plan_id, client in zip(plan_ids, clients, strict=True)
        for code in client["items"]
    ]
    for start in range(0, len(item_rows), BATCH):
        connection.execute(insert(CarePlanItem), item_rows[start : start + BATCH])
    return CitySummary(
        day=day,
        providers=len(provider_ids),
        caregivers=len(caregiver_ids),
        beneficiaries=len(person_ids),
        care_plans=len(plan_ids),
        visits_due=due,
        by_district_kind=dict(
            Counter(c["kind"] for c in clients if day.isoweekday() in c["weekdays"])
        ),
    )


def _insert_ids(
    connection: Connection, model: type[Base], rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert `rows` in executemany batches; their new ids, in the order of `rows`."""
    table = model.__table__
    assert isinstance(table, Table)  # noqa: S101 - a mapped class of ours  # nosec B101
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids: list[int] = []
    for start in range(0, len(rows), BATCH):
        ids.extend(connection.scalars(statement, list(rows[start : start + BATCH])))
    return ids


def _staff(connection: Connection, seed: int) -> tuple[int, tuple[int, int]]:
    ids = _insert_ids(
        connection,
        User,
        [
            {
                "username": f"city-{seed}-{name}",
                "display_name": display,
                "password_hash": UNUSABLE_PASSWORD,
                "role": role,
                "provider_id": None,
                "is_enabled": True,
            }
            for name, display, role in (
                ("admin", "城市管理员", Role.ADMIN),
                ("assessor-1", "评估员 甲", Role.ASSESSOR),
                ("assessor-2", "评估员 乙", Role.ASSESSOR),
            )
        ],
    )
    return ids[0], (ids[1], ids[2])


def _provider_homes(count: int) -> list[str]:
    """Each provider's home district, in proportion to where beneficiaries live."""
    total = sum(DISTRICT_WEIGHTS.values())
    shares = {code: weight * count / total for code, weight in DISTRICT_WEIGHTS.items()}
    homes = {code: max(1, math.floor(share)) for code, share in shares.items()}
    by_remainder = sorted(
        shares, key=lambda code: shares[code] - math.floor(shares[code]), reverse=True
    )
    for code in by_remainder:
        if sum(homes.values()) >= count:
            break
        homes[code] += 1
    return [code for code, n in sorted(homes.items()) for _ in range(n)][:count]


def _served_districts(home: str, districts: dict[str, District]) -> list[str]:
    """An urban provider also serves the next urban district; a rural one its own county."""
    if districts[home].kind is DistrictKind.RURAL:
        return [home]
    urban = sorted(
        code for code, d in districts.items() if d.kind is DistrictKind.URBAN and code in CENTRES
    )
    return [home, urban[(urban.index(home) + 1) % len(urban)]]


def _caregivers(
    connection: Connection,
    rng: random.Random,
    clients: list[dict[str, Any]],
    provider_ids: list[int],
    total: int,
) -> list[int]:
    """Caregivers in proportion to each provider's clients, based near some of those clients."""
    by_provider: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for client in clients:
        by_provider[client["provider_id"]].append(client)
    counts = {p: max(2, round(total * len(by_provider[p]) / len(clients))) for p in provider_ids}
    largest = max(counts, key=lambda p: counts[p])
    counts[largest] += total - sum(counts.values())
    rows = []
    owners = []
    for provider_id in provider_ids:
        own = by_provider[provider_id]
        for k in range(counts[provider_id]):
            near = rng.choice(own)["home"] if own else CENTRES["320602"]
            lat, lon = _near(rng, near, 0.01)
            shift = SHIFTS[k % len(SHIFTS)]
            qualifications = [Qualification.DAILY_CARE.value]
            if k % 5 in (0, 2):
                qualifications.append(Qualification.NURSING.value)
            if k % 5 == 4:
                qualifications.append(Qualification.REHABILITATION.value)
            off = rng.randrange(1, 8)
            rows.append(
                {
                    "provider_id": provider_id,
                    "user_id": None,
                    "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                    "phone": f"139{rng.randrange(10**8):08d}",
                    "qualifications": qualifications,
                    "work_days": [d for d in range(1, 8) if d != off or k % 7 == 0],
                    "work_start": shift[0],
                    "work_end": shift[1],
                    "base_lat": lat,
                    "base_lon": lon,
                    "max_visits_per_day": rng.choice((6, 7, 8)),
                    "is_enabled": True,
                }
            )
            owners.append(provider_id)
    ids = _insert_ids(connection, Caregiver, rows)
    staff: dict[int, list[int]] = defaultdict(list)
    for caregiver_id, provider_id in zip(ids, owners, strict=True):
        staff[provider_id].append(caregiver_id)
    for client in clients:  # a third of the families name a preferred caregiver
        if rng.random() < 1 / 3:
            client["preferred_caregiver_id"] = rng.choice(staff[client["provider_id"]])
    return ids


def _person_row(
    rng: random.Random,
    protector: DataProtector,
    client: dict[str, Any],
    day: dt.date,
    seen: set[str],
) -> dict[str, Any]:
    """A registered person living at the client's home, with a unique valid ID number."""
    age = rng.choice(
        (rng.randint(3, 59), rng.randint(60, 105), rng.randint(70, 95), rng.randint(75, 100))
    )
    born_on = dt.date(day.year - age, rng.randint(1, 12), rng.randint(1, 28))
    # The sequence makes each ID number unique within (district, birth date).
    number = make_resident_id(client["district"], born_on, client["number"] % 1000)
    while True:
        index = protector.blind_index(number)
        if index not in seen:
            seen.add(index)
            break
        born_on += dt.timedelta(days=1)
        number = make_resident_id(client["district"], born_on, client["number"] % 1000)
    lat, lon = client["home"]
    return {
        "id_number_ciphertext": protector.encrypt(number),
        "id_number_index": index,
        "id_number_masked": mask_id_number(number),
        "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
        "sex": Sex.MALE if int(number[16]) % 2 else Sex.FEMALE,
        "born_on": born_on,
        "phone": f"138{rng.randrange(10**8):08d}",
        "address": f"{rng.choice(STREETS)}{rng.randint(1, 999)}号",
        "district_code": client["district"],
        "township": None,
        "home_lat": lat,
        "home_lon": lon,
        "household_type": HouseholdType.URBAN if client["kind"] == "urban" else HouseholdType.RURAL,
        "insurance_scheme": rng.choice(list(InsuranceScheme)),
        "insurance_status": InsuranceStatus.ACTIVE,
        "insured_from": dt.date(2012, 1, 1),
        "insured_until": None,
        "guardian_name": rng.choice(SURNAMES) + rng.choice(GIVEN),
        "guardian_phone": f"137{rng.randrange(10**8):08d}",
    }


def _entitlement_starts(
    connection: Connection,
    entitlement_ids: list[int],
    clients: list[dict[str, Any]],
    starts_on: dt.date,
    now: dt.datetime,
) -> None:
    """The START event of each entitlement (when the entitlement ledger's table exists)."""
    table = Base.metadata.tables.get("entitlement_events")
    if table is None:
        return
    rows = [
        {
            "entitlement_id": entitlement_id,
            "kind": "start",
            "occurs_on": starts_on,
            "care_setting": CareSetting.HOME_SERVICE.value,
            "provider_id": client["provider_id"],
            "recorded_at": now,
        }
        for entitlement_id, client in zip(entitlement_ids, clients, strict=True)
    ]
    for start in range(0, len(rows), BATCH):
        connection.execute(insert(table), rows[start : start + BATCH])


def _near(rng: random.Random, centre: Sequence[float], spread: float) -> tuple[float, float]:
    return (
        round(centre[0] + rng.uniform(-spread, spread), 6),
        round(centre[1] + rng.uniform(-spread, spread), 6),
    )
