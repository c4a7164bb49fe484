"""Entitlement events (moves, hospital stays, ends) and the benefit ledger computed from them.

The days are counted by the pure `careapp.eligibility.ledger`; this module loads the rows, turns
them into its values, refuses impossible events with a translated message and records each change
(audited, flushed, never committed: the view commits once).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from flask_babel import format_date, gettext
from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session, joinedload, selectinload

from careapp.core.clock import city_today
from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from careapp.eligibility import ledger, settlement
from careapp.eligibility.ledger import (
    DayStatus,
    EntitlementHistory,
    HospitalStay,
    LedgerError,
    Payee,
    Placement,
    RateTable,
    Segment,
)
from careapp.eligibility.rules import HOME_SERVICE, BenefitCategory, has_visit_budget
from careapp.eligibility.settlement import FlagState, Settlement, VisitClaim
from careapp.models.assessment import CareSetting
from careapp.models.claims import HOLDING_FLAG_STATUSES, ClaimFlag, ClaimFlagStatus
from careapp.models.eligibility import (
    Entitlement,
    EntitlementEvent,
    EntitlementEventKind,
    EntitlementStatus,
    PolicyVersion,
)
from careapp.models.people import Person
from careapp.models.providers import Provider, ServiceItem
from careapp.models.settlement import SettlementLine
from careapp.models.users import Role
from careapp.models.visit import CarePlan, Visit
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.eligibility import SETTING_PROVIDER_KINDS, care_plan_refusal
from careapp.services.i18n import Names
from careapp.services.policy import policy_version_name
from careapp.services.procedure import end_entitlement
from scheduling.visits import VisitStatus

NOTE_MAX = 200
# Ends an administrator records; the procedure itself ends with "reassessed" (a later round's
# decision) and "reassessment_overdue" (a confirmed overdue reminder).
END_REASONS = ("death", "insurance_ended", "moved_away", "below_threshold")


@dataclass(frozen=True)
class MoveInput:
    moved_on: dt.date
    care_setting: CareSetting
    provider_id: int | None
    note: str = ""


@dataclass(frozen=True)
class AdmissionInput:
    admitted_on: dt.date
    discharged_on: dt.date | None
    note: str = ""


@dataclass(frozen=True)
class EndInput:
    ends_on: dt.date  # the end date: not paid
    reason: str
    note: str = ""


@dataclass(frozen=True)
class MonthOfEntitlement:
    month: dt.date  # its first day
    segments: list[Segment]
    visits_paid: int = 0  # home-care visits settled (paid per visit)
    visits_fen: int = 0

    @property
    def amount_fen(self) -> int:
        return ledger.total_fen(self.segments) + self.visits_fen

    @property
    def paid_days(self) -> int:
        return sum(s.days for s in self.segments if s.is_paid)

    @property
    def suspended_days(self) -> int:
        return sum(s.days for s in self.segments if not s.is_paid)


@dataclass(frozen=True)
class EntitlementPage:
    entitlement: Entitlement
    events: list[EntitlementEvent]
    months: list[MonthOfEntitlement]  # newest first
    open_stay: EntitlementEvent | None
    providers: Mapping[int, str]
    is_active: bool
    versions: Mapping[int, str]  # policy version id -> its name
    can_find_provider: bool = False  # a home-care company's plan is possible (care_plan_refusal)


# --- loading -------------------------------------------------------------------------------


def _versions(session: Session) -> list[PolicyVersion]:
    """Every policy version with its rates, by effective date (two queries)."""
    return list(
        session.scalars(
            select(PolicyVersion)
            .options(selectinload(PolicyVersion.rates))
            .order_by(PolicyVersion.effective_on)
        )
    )


def rate_tables_of(versions: Iterable[PolicyVersion]) -> list[RateTable]:
    return [
        RateTable(
            version.id,
            version.effective_on,
            {(r.category.value, r.care_setting.value): r.daily_fen for r in version.rates},
        )
        for version in versions
    ]


def rate_tables(session: Session) -> list[RateTable]:
    """Every policy version's rates, by effective date (two queries)."""
    return rate_tables_of(_versions(session))


def history_of(entitlement: Entitlement, events: Iterable[EntitlementEvent]) -> EntitlementHistory:
    """The pure history of an entitlement from its events (rows from before the events existed,
    without a START event, start in the decision's setting; without an END event, they end the day
    after `ends_on`)."""
    placements: list[Placement] = []
    stays: list[HospitalStay] = []
    end_on: dt.date | None = None
    for event in sorted(events, key=lambda e: (e.occurs_on, e.id or 0)):
        if event.kind in (EntitlementEventKind.START, EntitlementEventKind.MOVE):
            assert event.care_setting is not None  # noqa: S101 - a check constraint holds it  # nosec B101
            placements.append(
                Placement(event.occurs_on, event.care_setting.value, event.provider_id)
            )
        elif event.kind is EntitlementEventKind.HOSPITAL_STAY:
            stays.append(HospitalStay(event.occurs_on, event.discharged_on))
        else:
            end_on = event.occurs_on
    if not placements or placements[0].on != entitlement.starts_on:
        placements.insert(
            0, Placement(entitlement.starts_on, entitlement.decision.care_setting.value)
        )
    if end_on is None and entitlement.ends_on is not None:
        end_on = entitlement.ends_on + dt.timedelta(days=1)
    return EntitlementHistory(
        category=entitlement.category,
        starts_on=entitlement.starts_on,
        placements=tuple(placements),
        stays=tuple(stays),
        end_on=end_on,
    )


def _load(session: Session, entitlement_id: int, *, lock: bool = False) -> Entitlement:
    query = (
        select(Entitlement)
        .where(Entitlement.id == entitlement_id)
        .options(
            selectinload(Entitlement.events).joinedload(EntitlementEvent.provider),
            joinedload(Entitlement.person).joinedload(Person.district),
            selectinload(Entitlement.decision),
        )
    )
    if lock:  # two administrators recording events at once: the second waits, then re-checks
        query = query.with_for_update(of=Entitlement).execution_options(populate_existing=True)
    entitlement = session.scalar(query)
    if entitlement is None:
        raise NotFoundError(gettext("No such entitlement."))
    return entitlement


# --- the entitlement page --------------------------------------------------------------------


def get_entitlement_page(
    session: Session, actor: Actor, entitlement_id: int, today: dt.date
) -> EntitlementPage:
    """An entitlement, its events and its ledger by month (up to today or its end)."""
    actor.require(Role.ADMIN)
    entitlement = _load(session, entitlement_id)
    events = list(entitlement.events)
    history = history_of(entitlement, events)
    versions = _versions(session)
    segments = ledger.benefit_segments(
        history, rate_tables_of(versions), entitlement.starts_on, ledger.month_bounds(today)[1]
    )
    by_month = ledger.split_by_month(segments)
    # The person's visits of these months (their budget is the person's, across companies).
    settled = settle_months(
        session,
        sorted(by_month),
        {month: {entitlement.id: pieces} for month, pieces in by_month.items()},
        person_id=entitlement.person_id,
    )
    months = []
    for month, pieces in sorted(by_month.items(), reverse=True):
        paid = _paid_visits(settled[month]).get(entitlement.id, {}).values()
        months.append(
            MonthOfEntitlement(
                month,
                pieces,
                visits_paid=sum(count for count, _ in paid),
                visits_fen=sum(fen for _, fen in paid),
            )
        )
    open_stay = next(
        (
            e
            for e in events
            if e.kind is EntitlementEventKind.HOSPITAL_STAY and e.discharged_on is None
        ),
        None,
    )
    providers = {e.provider.id: e.provider.name for e in events if e.provider is not None}
    return EntitlementPage(
        entitlement=entitlement,
        events=events,
        months=months,
        open_stay=open_stay,
        providers=providers,
        is_active=entitlement.status is EntitlementStatus.ACTIVE,
        versions={version.id: policy_version_name(version.name) for version in versions},
        can_find_provider=care_plan_refusal(entitlement) is None,
    )


# --- recording events ------------------------------------------------------------------------


def _describe(error: LedgerError, end_on: dt.date | None) -> str:
    day = format_date(error.day)
    messages = {
        ledger.NO_START_PLACEMENT: gettext(
            "The date is before the entitlement starts (%(day)s).", day=day
        ),
        ledger.ADMISSION_BEFORE_START: gettext(
            "The admission is before the entitlement starts.",
        ),
        ledger.PLACEMENTS_NOT_IN_ORDER: gettext(
            "A change of care setting is already recorded on %(day)s.", day=day
        ),
        ledger.NOT_A_MOVE: gettext(
            "On %(day)s the person is already in this care setting with this provider.", day=day
        ),
        ledger.EVENT_AFTER_END: gettext(
            "The entitlement ends on %(end)s: nothing can happen on or after its end (%(day)s).",
            end=format_date(end_on) if end_on else day,
            day=day,
        ),
        ledger.END_BEFORE_START: gettext(
            "The end (%(day)s) cannot be before the entitlement starts.", day=day
        ),
        ledger.DISCHARGE_BEFORE_ADMISSION: gettext(
            "The discharge (%(day)s) cannot be before the admission.", day=day
        ),
        ledger.STAYS_OVERLAP: gettext(
            "This hospital stay overlaps another one (%(day)s).", day=day
        ),
    }
    return messages.get(error.reason, gettext("These dates are not possible (%(day)s).", day=day))


def _check(history: EntitlementHistory, field_name: str) -> None:
    """Refuse the history with the new event in it (a translated message on `field_name`)."""
    ordered = EntitlementHistory(
        history.category,
        history.starts_on,
        tuple(sorted(history.placements, key=lambda p: p.on)),
        history.stays,
        history.end_on,
    )
    try:
        ledger.check_history(ordered)
    except LedgerError as error:
        raise InvalidInputError(_describe(error, history.end_on), field=field_name) from None


def _not_in_future(day: dt.date, today: dt.date, field_name: str) -> None:
    if day > today:
        raise InvalidInputError(
            gettext("The date cannot be later than today (%(day)s).", day=format_date(today)),
            field=field_name,
        )


def _clean_note(note: str) -> str | None:
    clean = note.strip()
    if len(clean) > NOTE_MAX:
        raise InvalidInputError(gettext("At most %(max)d characters.", max=NOTE_MAX), field="note")
    return clean or None


def _check_provider(
    session: Session, care_setting: CareSetting, provider_id: int | None
) -> int | None:
    """The provider a placement may name: an institution of the setting's kind (required for
    institution settings), a home-care company (optional, door-to-door service), none (cash)."""
    kind = SETTING_PROVIDER_KINDS.get(care_setting)
    if kind is None:
        if provider_id is not None:
            raise InvalidInputError(
                gettext("A cash subsidy at home has no provider."), field="provider_id"
            )
        return None
    if provider_id is None:
        if care_setting is CareSetting.HOME_SERVICE:
            return None
        raise InvalidInputError(
            gettext("Choose the institution the person moves into."), field="provider_id"
        )
    provider = session.get(Provider, provider_id)
    if provider is None or provider.kind is not kind:
        raise InvalidInputError(
            gettext("Choose a provider that runs this care setting."), field="provider_id"
        )
    return provider.id


def record_move(
    session: Session, actor: Actor, entitlement_id: int, data: MoveInput, now: dt.datetime
) -> EntitlementEvent:
    """A change of care setting, re-rating the benefit from the day of the move."""
    user_id = actor.require(Role.ADMIN)
    entitlement = _load(session, entitlement_id, lock=True)
    _not_in_future(data.moved_on, city_today(now), "moved_on")
    provider_id = _check_provider(session, data.care_setting, data.provider_id)
    note = _clean_note(data.note)
    history = history_of(entitlement, entitlement.events)
    if data.moved_on <= entitlement.starts_on:
        raise InvalidInputError(
            gettext(
                "A move must come after the entitlement starts (%(day)s).",
                day=format_date(entitlement.starts_on),
            ),
            field="moved_on",
        )
    placement = Placement(data.moved_on, data.care_setting.value, provider_id)
    _check(
        EntitlementHistory(
            history.category,
            history.starts_on,
            (*history.placements, placement),
            history.stays,
            history.end_on,
        ),
        "moved_on",
    )
    event = EntitlementEvent(
        kind=EntitlementEventKind.MOVE,
        occurs_on=data.moved_on,
        care_setting=data.care_setting,
        provider_id=provider_id,
        note=note,
        recorded_by_id=user_id,
        recorded_at=now,
    )
    entitlement.events.append(event)
    session.flush()
    _follow_latest_setting(session, entitlement, data.moved_on)
    record_event(
        session,
        actor,
        "entitlement.move",
        "entitlement",
        entitlement.id,
        now=now,
        detail={
            "event_id": event.id,
            "moved_on": data.moved_on.isoformat(),
            "care_setting": data.care_setting.value,
            "provider_id": provider_id,
        },
    )
    return event


def _follow_latest_setting(session: Session, entitlement: Entitlement, moved_on: dt.date) -> None:
    """The entitlement shows its latest setting with that setting's rate; leaving home service
    ends the active care plans (no more home visits) the day before the move."""
    latest = max(
        (
            e
            for e in entitlement.events
            if e.kind in (EntitlementEventKind.START, EntitlementEventKind.MOVE)
        ),
        key=lambda e: e.occurs_on,
    )
    if latest.occurs_on != moved_on or latest.care_setting is None:
        return  # a move recorded late, before a later one: the current setting is unchanged
    table = ledger.version_on(rate_tables(session), moved_on)
    category = entitlement.category
    entitlement.care_setting = latest.care_setting
    entitlement.daily_rate_fen = table.rate(category, latest.care_setting.value)
    budget = session.get(PolicyVersion, table.version_id)
    entitlement.monthly_budget_fen = (
        budget.home_service_monthly_budget_fen
        if budget is not None and has_visit_budget(category, latest.care_setting.value)
        else None
    )
    if latest.care_setting is not CareSetting.HOME_SERVICE:
        for plan in session.scalars(
            select(CarePlan).where(
                CarePlan.entitlement_id == entitlement.id, CarePlan.is_active.is_(True)
            )
        ):
            plan.is_active = False
            plan.ends_on = max(plan.starts_on, moved_on - dt.timedelta(days=1))
    session.flush()


def record_hospital_stay(
    session: Session, actor: Actor, entitlement_id: int, data: AdmissionInput, now: dt.datetime
) -> EntitlementEvent:
    """An acute hospital stay (discharge date known, or still in hospital): the benefit is
    suspended from admission up to the day before discharge."""
    user_id = actor.require(Role.ADMIN)
    entitlement = _load(session, entitlement_id, lock=True)
    today = city_today(now)
    _not_in_future(data.admitted_on, today, "admitted_on")
    if data.discharged_on is not None:
        _not_in_future(data.discharged_on, today, "discharged_on")
    note = _clean_note(data.note)
    history = history_of(entitlement, entitlement.events)
    stay = HospitalStay(data.admitted_on, data.discharged_on)
    field_name = (
        "discharged_on"
        if data.discharged_on is not None and data.discharged_on < data.admitted_on
        else "admitted_on"
    )
    _check(
        EntitlementHistory(
            history.category,
            history.starts_on,
            history.placements,
            (*history.stays, stay),
            history.end_on,
        ),
        field_name,
    )
    event = EntitlementEvent(
        kind=EntitlementEventKind.HOSPITAL_STAY,
        occurs_on=data.admitted_on,
        discharged_on=data.discharged_on,
        note=note,
        recorded_by_id=user_id,
        recorded_at=now,
    )
    entitlement.events.append(event)
    session.flush()
    record_event(
        session,
        actor,
        "entitlement.hospital_stay",
        "entitlement",
        entitlement.id,
        now=now,
        detail={
            "event_id": event.id,
            "admitted_on": data.admitted_on.isoformat(),
            "discharged_on": data.discharged_on.isoformat() if data.discharged_on else None,
        },
    )
    return event


def record_discharge(
    session: Session,
    actor: Actor,
    entitlement_id: int,
    event_id: int,
    discharged_on: dt.date,
    now: dt.datetime,
) -> EntitlementEvent:
    """The discharge of an open hospital stay: the discharge day is paid again."""
    actor.require(Role.ADMIN)
    entitlement = _load(session, entitlement_id, lock=True)
    event = next((e for e in entitlement.events if e.id == event_id), None)
    if event is None or event.kind is not EntitlementEventKind.HOSPITAL_STAY:
        raise NotFoundError(gettext("No such hospital stay."))
    if event.discharged_on is not None:
        raise ConflictError(gettext("This hospital stay already has its discharge date."))
    _not_in_future(discharged_on, city_today(now), "discharged_on")
    history = history_of(entitlement, entitlement.events)
    stays = tuple(
        HospitalStay(s.admitted_on, discharged_on) if s.admitted_on == event.occurs_on else s
        for s in history.stays
    )
    _check(
        EntitlementHistory(
            history.category, history.starts_on, history.placements, stays, history.end_on
        ),
        "discharged_on",
    )
    event.discharged_on = discharged_on
    session.flush()
    record_event(
        session,
        actor,
        "entitlement.discharge",
        "entitlement",
        entitlement.id,
        now=now,
        detail={"event_id": event.id, "discharged_on": discharged_on.isoformat()},
    )
    return event


def record_end(
    session: Session, actor: Actor, entitlement_id: int, data: EndInput, now: dt.datetime
) -> Entitlement:
    """End the entitlement on the date of death, of the end of insurance, of moving away or of a
    re-assessment below the threshold (that day is not paid); its care plans end with it."""
    actor.require(Role.ADMIN)
    entitlement = _load(session, entitlement_id, lock=True)
    if entitlement.status is not EntitlementStatus.ACTIVE:
        raise ConflictError(gettext("This entitlement has already ended."))
    if data.reason not in END_REASONS:
        raise InvalidInputError(gettext("Choose why the entitlement ends."), field="reason")
    _not_in_future(data.ends_on, city_today(now), "ends_on")
    note = _clean_note(data.note)
    history = history_of(entitlement, entitlement.events)
    _check(
        EntitlementHistory(
            history.category, history.starts_on, history.placements, history.stays, data.ends_on
        ),
        "ends_on",
    )
    end_entitlement(session, actor, entitlement, data.ends_on, data.reason, now)
    if note is not None:
        entitlement.events[-1].note = note  # the END event just appended
        session.flush()
    return entitlement


# --- the month's ledger ----------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerLine:
    """One entitlement's days in the month for one payee (an institution, the company, the
    beneficiary): a move mid-month gives two lines."""

    entitlement_id: int
    person_id: int
    person_name: str
    district_code: str
    district_names: Names
    category: BenefitCategory
    payee: Payee
    provider_id: int | None
    provider_name: str | None
    segments: list[Segment]
    # Home care paid per visit: the settled visits of the month by this company (see
    # `careapp.eligibility.settlement`); 0 on every other line.
    visits_paid: int = 0
    visits_fen: int = 0

    @property
    def paid_days(self) -> int:
        return sum(s.days for s in self.segments if s.is_paid)

    @property
    def suspended_days(self) -> int:
        return sum(s.days for s in self.segments if s.status is DayStatus.SUSPENDED)

    @property
    def amount_fen(self) -> int:
        return ledger.total_fen(self.segments) + self.visits_fen


@dataclass(frozen=True)
class PayeeTotal:
    payee: Payee
    provider_id: int | None
    name: str | None  # the provider's name (None: the beneficiaries, or not recorded)
    paid_days: int
    suspended_days: int
    amount_fen: int


@dataclass
class MonthLedger:
    month: dt.date
    lines: list[LedgerLine] = field(default_factory=list)
    versions: dict[int, str] = field(default_factory=dict)  # policy version id -> its name
    # The month's home-care visits, each with its outcome and amount (the per-visit lines' sums).
    settlement: Settlement = field(default_factory=Settlement)

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def visits_fen(self) -> int:
        return sum(line.visits_fen for line in self.lines)

    @property
    def per_visit_days(self) -> int:
        return sum(line.paid_days for line in self.lines if line.payee is Payee.PER_VISIT)

    def by(self, key: str) -> list[tuple[str, int, int]]:
        """(key, paid days, amount) per category, care_setting or district (its code), the
        largest amount first."""
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for line in self.lines:
            for segment in line.segments:
                value = {
                    "category": line.category.value,
                    "care_setting": segment.care_setting,
                    "district": line.district_code,
                }[key]
                if segment.is_paid:
                    totals[value][0] += segment.days
                totals[value][1] += segment.amount_fen
            if line.visits_fen:
                value = {
                    "category": line.category.value,
                    "care_setting": HOME_SERVICE,  # visits are paid only in home service
                    "district": line.district_code,
                }[key]
                totals[value][1] += line.visits_fen
        return sorted(
            ((value, days, amount) for value, (days, amount) in totals.items()),
            key=lambda row: (-row[2], row[0]),
        )

    def district_names(self) -> dict[str, Names]:
        """District code -> its names, for the districts of the lines."""
        return {line.district_code: line.district_names for line in self.lines}

    def payees(self) -> list[PayeeTotal]:
        """Totals per provider (institutions, home-care companies) and for the beneficiaries."""
        grouped: dict[tuple[Payee, int | None], list[LedgerLine]] = defaultdict(list)
        for line in self.lines:
            provider = None if line.payee is Payee.BENEFICIARY else line.provider_id
            grouped[(line.payee, provider)].append(line)
        order = {Payee.INSTITUTION: 0, Payee.PER_VISIT: 1, Payee.BENEFICIARY: 2}
        return [
            PayeeTotal(
                payee,
                provider,
                lines[0].provider_name if payee is not Payee.BENEFICIARY else None,
                sum(line.paid_days for line in lines),
                sum(line.suspended_days for line in lines),
                sum(line.amount_fen for line in lines),
            )
            for (payee, provider), lines in sorted(
                grouped.items(),
                key=lambda item: (order[item[0][0]], item[1][0].provider_name or ""),
            )
        ]


def _entitlements_between(session: Session, first: dt.date, last: dt.date) -> list[Entitlement]:
    """Entitlements with a day between `first` and `last`, their events, people and providers
    (a fixed number of queries whatever their count)."""
    return list(
        session.scalars(
            select(Entitlement)
            .where(_overlapping(first, last))
            .options(
                selectinload(Entitlement.events).joinedload(EntitlementEvent.provider),
                joinedload(Entitlement.person).joinedload(Person.district),
                selectinload(Entitlement.decision),
            )
            .order_by(Entitlement.id)
        )
    )


def _overlapping(first: dt.date, last: dt.date) -> ColumnElement[bool]:
    """Entitlements with a benefit day between `first` and `last`."""
    return and_(
        Entitlement.starts_on <= last,
        or_(Entitlement.ends_on.is_(None), Entitlement.ends_on >= first),
    )


def _lines(
    entitlement: Entitlement,
    segments: Sequence[Segment],
    providers: Mapping[int, str],
    visits: Mapping[int, tuple[int, int]] | None = None,
) -> list[LedgerLine]:
    """The entitlement's lines of one month; `visits` (provider id -> visits paid, fen) are its
    settled home-care visits: each company paid gets its per-visit line (the per-visit days go to
    the company the placement names, else to the paid company with the lowest id)."""
    grouped: dict[tuple[Payee, int | None], list[Segment]] = defaultdict(list)
    for segment in segments:
        provider = None if segment.payee is Payee.BENEFICIARY else segment.provider_id
        grouped[(segment.payee, provider)].append(segment)
    paid: dict[tuple[Payee, int | None], tuple[int, int]] = {}
    for provider_id, figures in sorted((visits or {}).items()):
        key = (Payee.PER_VISIT, provider_id)
        if key not in grouped and (Payee.PER_VISIT, None) in grouped:
            grouped[key] = grouped.pop((Payee.PER_VISIT, None))  # these days go to this company
        grouped.setdefault(key, [])
        paid[key] = figures
    person = entitlement.person
    return [
        LedgerLine(
            entitlement_id=entitlement.id,
            person_id=person.id,
            person_name=person.name,
            district_code=person.district_code,
            district_names=Names(person.district.name_zh, person.district.name_en),
            category=entitlement.category,
            payee=payee,
            provider_id=provider,
            provider_name=providers.get(provider) if provider is not None else None,
            segments=pieces,
            visits_paid=paid.get((payee, provider), (0, 0))[0],
            visits_fen=paid.get((payee, provider), (0, 0))[1],
        )
        for (payee, provider), pieces in grouped.items()
    ]


def ledgers_for_months(session: Session, months: Sequence[dt.date]) -> dict[dt.date, MonthLedger]:
    """The ledger of each month (first days, in order): every entitlement's days of the month
    per payee. The months' totals are the fund's benefit expenditure."""
    if not months:
        return {}
    first = ledger.month_bounds(min(months))[0]
    last = ledger.month_bounds(max(months))[1]
    versions = _versions(session)
    tables = rate_tables_of(versions)
    names = {version.id: policy_version_name(version.name) for version in versions}
    result = {month: MonthLedger(month, versions=names) for month in months}
    entitlements = _entitlements_between(session, first, last)
    pieces_by_month: dict[dt.date, dict[int, list[Segment]]] = defaultdict(dict)
    for entitlement in entitlements:
        segments = ledger.benefit_segments(
            history_of(entitlement, entitlement.events), tables, first, last
        )
        for month, pieces in ledger.split_by_month(segments).items():
            pieces_by_month[month][entitlement.id] = pieces
    settled = settle_months(session, months, pieces_by_month)
    for month, found in settled.items():
        result[month].settlement = found
    provider_names = _provider_names(session)
    paid = {month: _paid_visits(found) for month, found in settled.items()}
    for entitlement in entitlements:
        for month in months:
            found_pieces = pieces_by_month[month].get(entitlement.id)
            visits = paid[month].get(entitlement.id, {})
            if found_pieces is not None or visits:
                result[month].lines.extend(
                    _lines(entitlement, found_pieces or [], provider_names, visits)
                )
    return result


def _paid_visits(settled: Settlement) -> dict[int, dict[int, tuple[int, int]]]:
    """Entitlement id -> provider id -> (visits paid, fen) of a month's settlement."""
    result: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    for (entitlement_id, provider_id), figures in settled.paid_by().items():
        result[entitlement_id][provider_id] = figures
    return result


def _provider_names(session: Session) -> dict[int, str]:
    return {row[0]: row[1] for row in session.execute(select(Provider.id, Provider.name))}


# --- the month's home-care visits, settled -------------------------------------------------------


def visit_claims_between(
    session: Session, first: dt.date, last: dt.date, person_id: int | None = None
) -> tuple[list[VisitClaim], dict[int, int | None]]:
    """Every visit from `first` to `last` as settlement sees it, and each visit's monthly budget
    (visit id -> fen): a fixed number of queries."""
    prices = {
        row[0]: row[1]
        for row in session.execute(select(ServiceItem.code, ServiceItem.unit_price_fen))
    }
    rows = session.execute(
        select(
            Visit.id,
            Visit.person_id,
            CarePlan.entitlement_id,
            Visit.provider_id,
            Provider.kind,
            Visit.visit_on,
            Visit.window_start,
            Visit.status,
            Visit.done_item_codes,
            Entitlement.monthly_budget_fen,
        )
        .join(CarePlan, CarePlan.id == Visit.care_plan_id)
        .join(Entitlement, Entitlement.id == CarePlan.entitlement_id)
        .join(Provider, Provider.id == Visit.provider_id)
        .where(Visit.visit_on >= first, Visit.visit_on <= last)
        .where(Visit.person_id == person_id if person_id is not None else true())
    ).all()
    flags: dict[int, FlagState] = {}
    for visit_id, status in session.execute(
        select(ClaimFlag.visit_id, ClaimFlag.status)
        .join(Visit, Visit.id == ClaimFlag.visit_id)
        .where(
            Visit.visit_on >= first,
            Visit.visit_on <= last,
            ClaimFlag.status.in_(HOLDING_FLAG_STATUSES),
            Visit.person_id == person_id if person_id is not None else true(),
        )
    ):
        if status is ClaimFlagStatus.UPHELD or flags.get(visit_id) is None:
            flags[visit_id] = (
                FlagState.UPHELD if status is ClaimFlagStatus.UPHELD else FlagState.OPEN
            )
    claims = [
        VisitClaim(
            visit_id=row.id,
            person_id=row.person_id,
            entitlement_id=row.entitlement_id,
            provider_id=row.provider_id,
            provider_kind=row.kind.value,
            visit_on=row.visit_on,
            window_start=row.window_start,
            is_completed=row.status is VisitStatus.COMPLETED,
            value_fen=sum(prices.get(code, 0) for code in row.done_item_codes or ()),
            flag=flags.get(row.id, FlagState.NONE),
        )
        for row in rows
    ]
    return claims, {row.id: row.monthly_budget_fen for row in rows}


def paid_by_statements(
    session: Session, first: dt.date, last: dt.date, person_id: int | None = None
) -> dict[int, int]:
    """Visit id -> what issued statements paid for it (visits from `first` to `last`)."""
    rows = session.execute(
        select(SettlementLine.visit_id, func.sum(SettlementLine.amount_fen))
        .join(Visit, Visit.id == SettlementLine.visit_id)
        .where(Visit.visit_on >= first, Visit.visit_on <= last)
        .where(Visit.person_id == person_id if person_id is not None else true())
        .group_by(SettlementLine.visit_id)
    )
    return {row[0]: int(row[1]) for row in rows if row[0] is not None}


def settle_months(
    session: Session,
    months: Sequence[dt.date],
    segments: Mapping[dt.date, Mapping[int, Sequence[Segment]]],
    person_id: int | None = None,
) -> dict[dt.date, Settlement]:
    """Each month's settlement of home-care visits (`segments`: month -> entitlement id -> its
    ledger segments of that month), what issued statements paid kept as paid; `person_id`: only
    that person's visits (an entitlement's page)."""
    if not months:
        return {}
    first = ledger.month_bounds(min(months))[0]
    last = ledger.month_bounds(max(months))[1]
    claims, budgets = visit_claims_between(session, first, last, person_id)
    already = paid_by_statements(session, first, last, person_id)
    by_month: dict[dt.date, list[VisitClaim]] = defaultdict(list)
    for claim in claims:
        by_month[claim.visit_on.replace(day=1)].append(claim)
    result: dict[dt.date, Settlement] = {}
    for month in months:
        own = by_month.get(month, [])
        person_budget: dict[int, int | None] = {}
        for claim in own:
            budget = budgets[claim.visit_id]
            if budget is not None:
                earlier = person_budget.get(claim.person_id)
                person_budget[claim.person_id] = budget if earlier is None else max(earlier, budget)
            else:
                person_budget.setdefault(claim.person_id, None)
        result[month] = settlement.settle_visits(
            own, segments.get(month, {}), person_budget, already
        )
    return result


def month_ledger(session: Session, actor: Actor, month: dt.date) -> MonthLedger:
    """The month's ledger per beneficiary and per provider (administrators)."""
    actor.require(Role.ADMIN)
    found = ledgers_for_months(session, [month.replace(day=1)])[month.replace(day=1)]
    found.lines.sort(key=lambda line: (line.person_name, line.entitlement_id, line.payee.value))
    return found
