"""Audit of claims: raise flags on visits that look wrong, and their review by an administrator.

A visit with an open or upheld flag is not paid (`HOLDING_FLAG_STATUSES`; settlement reads them).
The detectors are pure (`scheduling.claims`); this module loads what they need in a bounded
number of queries, inserts the flags that are missing (unique per visit and kind: auditing again
raises nothing new, and a flag already reviewed is never reopened) and audits each new flag.

The same person may work for two providers: caregivers whose ID numbers have the same blind index
are one worker, so their visits are compared with each other.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import ColumnElement, Select, case, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from careapp.core.clock import city_today, to_city
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from careapp.core.identity import mask_name
from careapp.models.claims import ClaimFlag, ClaimFlagStatus
from careapp.models.eligibility import Entitlement, EntitlementEvent, EntitlementEventKind
from careapp.models.providers import Caregiver, Provider
from careapp.models.users import Role, User
from careapp.models.visit import VerificationMethod, Visit
from careapp.security import DataProtector
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.registry import validate_id_number
from scheduling.claims import (
    DEFAULT_MAX_DISTANCE_M,
    DEFAULT_MAX_TRAVEL_SPEED_KMH,
    DEFAULT_MIN_DURATION_SHARE,
    DEFAULT_TRAVEL_TOLERANCE_M,
    AuditRules,
    ClaimFinding,
    ClaimFlagKind,
    ClaimVisit,
    Stay,
    audit_claims,
    distance_m,
    short_visit_detail,
    worker_key,
)
from scheduling.months import month_of, next_month
from scheduling.types import Location
from scheduling.visits import VisitStatus

# Visits that claim to have happened: checked in (and perhaps out) or entered by hand.
AUDITED_STATUSES = (VisitStatus.CHECKED_IN, VisitStatus.COMPLETED)
REVIEW_ROLES = (Role.ADMIN,)
MIN_NOTE_LENGTH = 4
MAX_NOTE_LENGTH = 500
MAX_PAGE_SIZE = 100
_INSERT_CHUNK = 500


@dataclass(frozen=True)
class ClaimAuditSettings:
    """The thresholds of the audit (from the configuration: `claim_audit_settings`)."""

    max_travel_speed_kmh: float = DEFAULT_MAX_TRAVEL_SPEED_KMH
    travel_tolerance_m: float = DEFAULT_TRAVEL_TOLERANCE_M
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M
    min_duration_share: float = DEFAULT_MIN_DURATION_SHARE

    @property
    def rules(self) -> AuditRules:
        return AuditRules(
            self.max_travel_speed_kmh,
            self.travel_tolerance_m,
            self.max_distance_m,
            self.min_duration_share,
        )


def claim_audit_settings(config: Mapping[str, Any]) -> ClaimAuditSettings:
    """CLAIM_MAX_TRAVEL_SPEED_KMH, CLAIM_TRAVEL_TOLERANCE_M, CHECK_IN_MAX_DISTANCE_M and
    CLAIM_MIN_DURATION_SHARE."""
    settings = ClaimAuditSettings(
        max_travel_speed_kmh=float(
            config.get("CLAIM_MAX_TRAVEL_SPEED_KMH", DEFAULT_MAX_TRAVEL_SPEED_KMH)
        ),
        travel_tolerance_m=float(
            config.get("CLAIM_TRAVEL_TOLERANCE_M", DEFAULT_TRAVEL_TOLERANCE_M)
        ),
        max_distance_m=float(config.get("CHECK_IN_MAX_DISTANCE_M", DEFAULT_MAX_DISTANCE_M)),
        min_duration_share=float(
            config.get("CLAIM_MIN_DURATION_SHARE", DEFAULT_MIN_DURATION_SHARE)
        ),
    )
    settings.rules  # noqa: B018 - fail fast on impossible thresholds (raises ValueError)
    return settings


@dataclass(frozen=True)
class ClaimAuditOutcome:
    visits_audited: int
    # (visit id, kind) of every flag raised by this audit; those that existed are not repeated.
    raised: tuple[tuple[int, ClaimFlagKind], ...] = ()
    first_day: dt.date | None = None
    last_day: dt.date | None = None

    @property
    def summary(self) -> str:
        days = f" {self.first_day}..{self.last_day}" if self.first_day and self.last_day else ""
        counts: dict[str, int] = {}
        for _visit_id, kind in self.raised:
            counts[kind.value] = counts.get(kind.value, 0) + 1
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
        return (
            f"claim audit{days}: {self.visits_audited} visits audited, "
            f"{len(self.raised)} flags raised" + (f" ({kinds})" if kinds else "")
        )


# --- caregivers' ID numbers ---------------------------------------------------------------


def record_caregiver_id_number(
    session: Session,
    actor: Actor,
    caregiver_id: int,
    raw: str,
    protector: DataProtector,
    now: dt.datetime,
) -> Caregiver:
    """Store a caregiver's ID number encrypted, with its blind index and masked form.

    Not unique: the same person may be a caregiver of two providers (that is what the audit of
    overlapping visits looks for). Administrators only.
    """
    actor.require(Role.ADMIN)
    caregiver = session.get(Caregiver, caregiver_id)
    if caregiver is None:
        raise NotFoundError(gettext("Not found."))
    resident = validate_id_number(actor, raw, today=city_today(now))
    caregiver.id_number_ciphertext = protector.encrypt(resident.number)
    caregiver.id_number_index = protector.blind_index(resident.number)
    caregiver.id_number_masked = resident.masked
    record_event(
        session,
        actor,
        "caregiver.id_number",
        "caregiver",
        caregiver.id,
        now=now,
        detail={"masked": resident.masked},
    )
    session.flush()
    return caregiver


# --- raising flags --------------------------------------------------------------------------


def audit_visits(
    session: Session,
    actor: Actor,
    visit_ids: Iterable[int],
    now: dt.datetime,
    settings: ClaimAuditSettings,
) -> ClaimAuditOutcome:
    """Audit these visits together with their workers' other visits of the same days.

    The worker is the caregiver and every caregiver sharing their ID-number blind index (the
    same person under another provider), so flags may also be raised on those other visits
    (the other side of an overlap, the next visit of a travel). Visits that are not checked
    in or completed are skipped. Six queries whatever the number of visits.
    """
    wanted = sorted(set(visit_ids))
    if not wanted:
        return ClaimAuditOutcome(0)
    targets = list(session.scalars(_audited_visits(Visit.id.in_(wanted))).unique())
    if not targets:
        return ClaimAuditOutcome(0)
    days = sorted({v.visit_on for v in targets})
    caregiver_ids = {v.caregiver_id for v in targets if v.caregiver_id is not None}
    indexes = {
        v.caregiver.id_number_index
        for v in targets
        if v.caregiver is not None and v.caregiver.id_number_index
    }
    if indexes:
        caregiver_ids |= set(
            session.scalars(select(Caregiver.id).where(Caregiver.id_number_index.in_(indexes)))
        )
    visits = {v.id: v for v in targets}
    if caregiver_ids:
        others = session.scalars(
            _audited_visits(Visit.caregiver_id.in_(caregiver_ids), Visit.visit_on.in_(days))
        ).unique()
        visits.update((v.id, v) for v in others)
    people = {v.person_id for v in visits.values()}
    stays = _stays(session, Entitlement.person_id.in_(people), days[0], days[-1])
    raised = _raise_flags(session, actor, list(visits.values()), stays, now, settings)
    return ClaimAuditOutcome(len(visits), raised)


def audit_days(
    session: Session,
    actor: Actor,
    first_day: dt.date,
    last_day: dt.date,
    now: dt.datetime,
    settings: ClaimAuditSettings,
) -> ClaimAuditOutcome:
    """Audit every checked-in or completed visit of these days (city dates), all providers."""
    if last_day < first_day:
        raise InvalidInputError(gettext("The last day cannot be before the first."), field="day")
    in_days = Visit.visit_on.between(first_day, last_day)
    visits = list(session.scalars(_audited_visits(in_days)).unique())
    people = (
        select(Visit.person_id).where(in_days, Visit.status.in_(AUDITED_STATUSES)).scalar_subquery()
    )
    stays = _stays(session, Entitlement.person_id.in_(people), first_day, last_day)
    raised = _raise_flags(session, actor, visits, stays, now, settings)
    return ClaimAuditOutcome(len(visits), raised, first_day, last_day)


def _audited_visits(*where: ColumnElement[bool]) -> Select[Visit]:
    return (
        select(Visit)
        .where(
            Visit.status.in_(AUDITED_STATUSES),
            Visit.checked_in_at.is_not(None),
            *where,
        )
        .options(joinedload(Visit.caregiver), joinedload(Visit.person))
    )


def _stays(
    session: Session, people: ColumnElement[bool], first_day: dt.date, last_day: dt.date
) -> list[Stay]:
    """The hospital stays of these people that touch the days (one query)."""
    rows = session.execute(
        select(Entitlement.person_id, EntitlementEvent.occurs_on, EntitlementEvent.discharged_on)
        .join(EntitlementEvent.entitlement)
        .where(
            people,
            EntitlementEvent.kind == EntitlementEventKind.HOSPITAL_STAY,
            EntitlementEvent.occurs_on <= last_day,
            or_(
                EntitlementEvent.discharged_on.is_(None),
                EntitlementEvent.discharged_on > first_day,
            ),
        )
    )
    return [Stay(person_id, admitted, discharged) for person_id, admitted, discharged in rows]


def _location(lat: float | None, lon: float | None) -> Location | None:
    return Location(lat, lon) if lat is not None and lon is not None else None


def claim_visit(visit: Visit) -> ClaimVisit:
    """The pure view of a visit (its caregiver and person loaded)."""
    assert visit.checked_in_at is not None  # noqa: S101 - only checked-in visits are audited  # nosec B101
    caregiver = visit.caregiver
    return ClaimVisit(
        visit_id=visit.id,
        worker=(
            worker_key(caregiver.id, caregiver.id_number_index)
            if caregiver is not None
            else f"visit:{visit.id}"
        ),
        caregiver_id=visit.caregiver_id,
        provider_id=visit.provider_id,
        person_id=visit.person_id,
        visit_on=visit.visit_on,
        checked_in_at=visit.checked_in_at,
        checked_out_at=visit.checked_out_at,
        check_in=_location(visit.check_in_lat, visit.check_in_lon),
        check_out=_location(visit.check_out_lat, visit.check_out_lon),
        home=_location(visit.person.home_lat, visit.person.home_lon),
        is_manual=visit.verification is VerificationMethod.MANUAL,
        check_in_flags=tuple(visit.check_in_flags or ()),
        planned_minutes=visit.duration_minutes,
    )


def short_visit(visit: Visit, settings: ClaimAuditSettings) -> dict[str, Any] | None:
    """The facts of the short_visit flag this checked-out visit raises (None: not short), for
    the caregiver's warning at check-out."""
    if visit.checked_in_at is None:
        return None
    return short_visit_detail(
        visit.duration_minutes,
        visit.checked_in_at,
        visit.checked_out_at,
        settings.min_duration_share,
    )


def _raise_flags(
    session: Session,
    actor: Actor,
    visits: Sequence[Visit],
    stays: Sequence[Stay],
    now: dt.datetime,
    settings: ClaimAuditSettings,
) -> tuple[tuple[int, ClaimFlagKind], ...]:
    findings = audit_claims([claim_visit(v) for v in visits], stays, settings.rules)
    raised: list[tuple[int, ClaimFlagKind]] = []
    for start in range(0, len(findings), _INSERT_CHUNK):
        for flag_id, visit_id, kind in _insert_missing(
            session, findings[start : start + _INSERT_CHUNK], now
        ):
            record_event(
                session,
                actor,
                "claim_flag.raise",
                "claim_flag",
                flag_id,
                now=now,
                detail={"visit_id": visit_id, "kind": kind.value},
            )
            raised.append((visit_id, kind))
    session.flush()
    return tuple(sorted(raised, key=lambda r: (r[0], r[1].value)))


def _insert_missing(
    session: Session, findings: Sequence[ClaimFinding], now: dt.datetime
) -> list[tuple[int, int, ClaimFlagKind]]:
    """Insert the flags not there yet, in one statement; (id, visit id, kind) of the new ones.

    ON CONFLICT DO NOTHING on the unique (visit, kind): a flag in any status stays as it is,
    and two audits at once (a check-out and the nightly job) cannot fail each other.
    """
    if not findings:
        return []
    rows = [
        {
            "visit_id": finding.visit_id,
            "kind": finding.kind,
            "detail": dict(finding.detail),
            "raised_at": now,
            "status": ClaimFlagStatus.OPEN,
        }
        for finding in findings
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(ClaimFlag)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["visit_id", "kind"])
        .returning(ClaimFlag.id, ClaimFlag.visit_id, ClaimFlag.kind)
    )
    return [(row[0], row[1], row[2]) for row in session.execute(statement)]


# --- review ---------------------------------------------------------------------------------


class ReviewDecision(enum.StrEnum):
    CLEAR = "clear"  # accepted: the visit can be paid
    UPHOLD = "uphold"  # refused: the visit is never paid


def review_claim_flag(
    session: Session,
    actor: Actor,
    flag_id: int,
    decision: ReviewDecision,
    note: str | None,
    now: dt.datetime,
) -> ClaimFlag:
    """Clear or uphold an open flag, with the reviewer's note; a reviewed flag stays reviewed.

    The flag's row is locked, so of two administrators deciding at once one gets ConflictError.
    """
    actor.require(*REVIEW_ROLES)
    text = (note or "").strip()
    if len(text) < MIN_NOTE_LENGTH:
        raise InvalidInputError(
            gettext("Say why (at least %(count)d characters).", count=MIN_NOTE_LENGTH),
            field="note",
        )
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidInputError(
            gettext("Keep the note under %(count)d characters.", count=MAX_NOTE_LENGTH),
            field="note",
        )
    flag = session.scalar(
        select(ClaimFlag)
        .where(ClaimFlag.id == flag_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if flag is None:
        raise NotFoundError(gettext("Not found."))
    if flag.status is not ClaimFlagStatus.OPEN:
        raise ConflictError(gettext("This flag has already been reviewed."))
    flag.status = (
        ClaimFlagStatus.CLEARED if decision is ReviewDecision.CLEAR else ClaimFlagStatus.UPHELD
    )
    flag.reviewed_at = now
    flag.reviewed_by_id = actor.user_id
    flag.review_note = text
    record_event(
        session,
        actor,
        f"claim_flag.{flag.status.value}",
        "claim_flag",
        flag.id,
        now=now,
        detail={"visit_id": flag.visit_id, "kind": flag.kind.value, "note": text},
    )
    session.flush()
    return flag


# --- reading flags --------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagFilter:
    status: ClaimFlagStatus | None = None
    kind: ClaimFlagKind | None = None
    provider_id: int | None = None
    month: dt.date | None = None  # any day of the month of the visits


@dataclass(frozen=True)
class FlagRow:
    """A flag with what its pages show of the visit (names masked)."""

    flag: ClaimFlag
    caregiver_name: str | None
    beneficiary_name: str
    provider_name: str


@dataclass(frozen=True)
class FlagPage:
    rows: list[FlagRow]
    offset: int
    limit: int
    has_more: bool


@dataclass(frozen=True)
class FlagDetail:
    row: FlagRow
    caregiver_id_masked: str | None
    checked_in_at: dt.datetime | None  # city time
    checked_out_at: dt.datetime | None
    window_start: dt.datetime
    window_end: dt.datetime
    check_in_distance_m: int | None  # from the home
    check_out_distance_m: int | None
    other_flags: list[ClaimFlag]  # of the same visit
    reviewer_name: str | None
    can_review: bool


def _row(flag: ClaimFlag) -> FlagRow:
    visit = flag.visit
    return FlagRow(
        flag=flag,
        caregiver_name=mask_name(visit.caregiver.name) if visit.caregiver else None,
        beneficiary_name=mask_name(visit.person.name),
        provider_name=visit.provider.name,
    )


def _with_visit() -> tuple[Any, ...]:
    return (
        joinedload(ClaimFlag.visit).joinedload(Visit.caregiver),
        joinedload(ClaimFlag.visit).joinedload(Visit.person),
        joinedload(ClaimFlag.visit).joinedload(Visit.provider),
    )


def list_claim_flags(
    session: Session,
    actor: Actor,
    filters: FlagFilter,
    *,
    offset: int = 0,
    limit: int = 50,
) -> FlagPage:
    """Flags, open ones first, then the newest; a manager sees only their provider's visits."""
    own = actor.provider_scope()
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    offset = max(0, offset)
    query = select(ClaimFlag).join(ClaimFlag.visit)
    if own is not None:
        query = query.where(Visit.provider_id == own)
    elif filters.provider_id is not None:
        query = query.where(Visit.provider_id == filters.provider_id)
    if filters.status is not None:
        query = query.where(ClaimFlag.status == filters.status)
    if filters.kind is not None:
        query = query.where(ClaimFlag.kind == filters.kind)
    if filters.month is not None:
        first = month_of(filters.month)
        following = next_month(first)
        query = query.where(Visit.visit_on >= first, Visit.visit_on < following)
    query = (
        query.options(*_with_visit())
        .order_by(
            case((ClaimFlag.status == ClaimFlagStatus.OPEN, 0), else_=1),
            Visit.visit_on.desc(),
            ClaimFlag.id.desc(),
        )
        .offset(offset)
        .limit(limit + 1)
    )
    flags = list(session.scalars(query).unique())
    return FlagPage(
        rows=[_row(flag) for flag in flags[:limit]],
        offset=offset,
        limit=limit,
        has_more=len(flags) > limit,
    )


def flag_filter_providers(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """The providers an administrator may filter by (a manager sees only their own: none)."""
    if actor.provider_scope() is not None:
        return []
    rows = session.execute(select(Provider.id, Provider.name).order_by(Provider.name, Provider.id))
    return [(provider_id, name) for provider_id, name in rows]


def get_claim_flag(session: Session, actor: Actor, flag_id: int) -> FlagDetail:
    """One flag with its visit's facts; another provider's flag is NotFoundError for a manager."""
    own = actor.provider_scope()
    flag = session.scalar(select(ClaimFlag).where(ClaimFlag.id == flag_id).options(*_with_visit()))
    if flag is None or (own is not None and flag.visit.provider_id != own):
        raise NotFoundError(gettext("Not found."))
    visit = flag.visit
    others = list(
        session.scalars(
            select(ClaimFlag)
            .where(ClaimFlag.visit_id == visit.id, ClaimFlag.id != flag.id)
            .order_by(ClaimFlag.id)
        )
    )
    reviewer = None
    if flag.reviewed_by_id is not None:
        user = session.get(User, flag.reviewed_by_id)
        reviewer = user.display_name if user else None
    home = _location(visit.person.home_lat, visit.person.home_lon)
    return FlagDetail(
        row=_row(flag),
        caregiver_id_masked=visit.caregiver.id_number_masked if visit.caregiver else None,
        checked_in_at=to_city(visit.checked_in_at) if visit.checked_in_at else None,
        checked_out_at=to_city(visit.checked_out_at) if visit.checked_out_at else None,
        window_start=to_city(visit.window_start),
        window_end=to_city(visit.window_end),
        check_in_distance_m=check_in_distance_m(visit),
        check_out_distance_m=_metres(home, _location(visit.check_out_lat, visit.check_out_lon)),
        other_flags=others,
        reviewer_name=reviewer,
        can_review=actor.is_role(*REVIEW_ROLES) and flag.status is ClaimFlagStatus.OPEN,
    )


def check_in_distance_m(visit: Visit) -> int | None:
    """How far from the home the visit was checked in, in whole metres (its person loaded);
    None without a check-in position or without the home's coordinates."""
    return _metres(
        _location(visit.person.home_lat, visit.person.home_lon),
        _location(visit.check_in_lat, visit.check_in_lon),
    )


def _metres(home: Location | None, position: Location | None) -> int | None:
    if home is None or position is None:
        return None
    return round(distance_m(home, position))
