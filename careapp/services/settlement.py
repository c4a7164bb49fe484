"""Monthly settlement per provider: statements issued from the ledger, and their reconciliation.

The money comes from the month's benefit ledger (`careapp.services.ledger`): its institution
lines (bed-days at daily rates) and its per-visit lines (the settled home-care visits, see
`careapp.eligibility.settlement`). A statement pays what the ledger owes a provider for the month
minus what earlier statements of that month paid it, so the statements of a month always add up
to the ledger once everything is issued, to the fen. Statements are never changed: a visit held
at the main statement and cleared later is paid by a supplementary statement.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext, lazy_gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from careapp.core.check_codes import format_check_code
from careapp.core.clock import city_today
from careapp.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from careapp.core.identity import mask_name
from careapp.eligibility import ledger as ledger_rules
from careapp.eligibility.ledger import Payee
from careapp.eligibility.settlement import Outcome, VisitLine
from careapp.models.certificate import CertificateKind
from careapp.models.people import Person
from careapp.models.providers import Provider, ServiceItem
from careapp.models.settlement import SettlementLine, SettlementStatement, StatementLineKind
from careapp.models.users import Role
from careapp.models.visit import Visit
from careapp.reports.statement import StatementData, StatementRow
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.certificates import new_certificate, verify_url
from careapp.services.ledger import LedgerLine, MonthLedger, ledgers_for_months

BED_DAYS = "bed_days"  # the outcome stored on a bed-days line


def _month_ledger(session: Session, month: dt.date) -> MonthLedger:
    first = month.replace(day=1)
    return ledgers_for_months(session, [first])[first]


# --- what is owed, what was paid ------------------------------------------------------------------


@dataclass
class ProviderDue:
    """One provider's month: the ledger's lines and visits, and what statements already paid."""

    provider_id: int
    name: str
    visits: list[VisitLine] = field(default_factory=list)
    beds: list[LedgerLine] = field(default_factory=list)  # institution lines of the ledger
    per_visit_fen: int = 0  # the ledger's per-visit lines for this provider
    paid_beds: dict[int, tuple[int, int]] = field(default_factory=dict)  # entitlement -> days, fen
    statements_fen: int = 0  # what the month's statements paid this provider

    @property
    def ledger_fen(self) -> int:
        return self.per_visit_fen + sum(line.amount_fen for line in self.beds)

    @property
    def difference_fen(self) -> int:
        """The ledger minus the statements: 0 once everything is issued."""
        return self.ledger_fen - self.statements_fen

    @property
    def held(self) -> list[VisitLine]:
        return [line for line in self.visits if line.outcome is Outcome.HELD_FLAG]

    def new_visit_lines(self) -> list[VisitLine]:
        return [line for line in self.visits if line.new_fen != 0]

    def new_bed_lines(self) -> list[tuple[LedgerLine, int, int]]:
        """(line, days, fen) still to pay (negative if the ledger went down since)."""
        result = []
        for line in self.beds:
            days, fen = self.paid_beds.get(line.entitlement_id, (0, 0))
            result.append((line, line.paid_days - days, line.amount_fen - fen))
        return result

    @property
    def has_something_new(self) -> bool:
        return bool(self.new_visit_lines()) or any(fen for _, _, fen in self.new_bed_lines())


def providers_due(session: Session, month: dt.date) -> dict[int, ProviderDue]:
    """Every provider with a visit, a ledger line or a statement in the month."""
    return _dues(session, _month_ledger(session, month.replace(day=1)))


def _dues(session: Session, found: MonthLedger) -> dict[int, ProviderDue]:
    first = found.month
    names = {row[0]: row[1] for row in session.execute(select(Provider.id, Provider.name))}
    dues: dict[int, ProviderDue] = {}

    def due(provider_id: int) -> ProviderDue:
        if provider_id not in dues:
            dues[provider_id] = ProviderDue(provider_id, names.get(provider_id, ""))
        return dues[provider_id]

    for visit in found.settlement.lines:
        due(visit.claim.provider_id).visits.append(visit)
    for line in found.lines:
        if line.provider_id is None:
            continue
        if line.payee is Payee.INSTITUTION:
            due(line.provider_id).beds.append(line)
        elif line.payee is Payee.PER_VISIT:
            due(line.provider_id).per_visit_fen += line.visits_fen
    for provider_id, entitlement_id, days, fen in session.execute(
        select(
            SettlementStatement.provider_id,
            SettlementLine.entitlement_id,
            func.sum(SettlementLine.days),
            func.sum(SettlementLine.amount_fen),
        )
        .join(SettlementStatement, SettlementStatement.id == SettlementLine.statement_id)
        .where(
            SettlementStatement.month == first, SettlementLine.kind == StatementLineKind.BED_DAYS
        )
        .group_by(SettlementStatement.provider_id, SettlementLine.entitlement_id)
    ):
        due(provider_id).paid_beds[entitlement_id] = (int(days), int(fen))
    for provider_id, total in session.execute(
        select(SettlementStatement.provider_id, func.sum(SettlementStatement.total_fen))
        .where(SettlementStatement.month == first)
        .group_by(SettlementStatement.provider_id)
    ):
        due(provider_id).statements_fen = int(total)
    return dues


# --- issuing ------------------------------------------------------------------------------------


def issue_statement(
    session: Session, actor: Actor, provider_id: int, month: dt.date, now: dt.datetime
) -> SettlementStatement:
    """Issue the provider's statement for the month (after the month ended): the main one, or a
    supplementary one paying what changed since (a cleared flag, a late ledger change).
    ConflictError when there is nothing new to settle."""
    actor.require(Role.ADMIN, message=lazy_gettext("Only an administrator can settle a month."))
    first = _ended_month(month, now)
    provider = session.get(Provider, provider_id, with_for_update=True)
    if provider is None:
        raise NotFoundError(gettext("No such provider."))
    due = providers_due(session, first).get(provider_id)
    statement = _issue(session, actor, provider, first, due, now) if due is not None else None
    if statement is None:
        raise ConflictError(gettext("There is nothing new to settle for this provider and month."))
    return statement


def _ended_month(month: dt.date, now: dt.datetime) -> dt.date:
    first = month.replace(day=1)
    if ledger_rules.month_bounds(first)[1] >= city_today(now):
        raise ConflictError(gettext("A month is settled only after it has ended."))
    return first


def _issue(
    session: Session,
    actor: Actor,
    provider: Provider,
    first: dt.date,
    due: ProviderDue,
    now: dt.datetime,
) -> SettlementStatement | None:
    """The next statement of the provider's month, or None if it would pay nothing new (and,
    for the main statement, hold nothing either)."""
    user_id = actor.require(
        Role.ADMIN, message=lazy_gettext("Only an administrator can settle a month.")
    )
    sequence = 1 + (
        session.scalar(
            select(func.max(SettlementStatement.sequence)).where(
                SettlementStatement.provider_id == provider.id, SettlementStatement.month == first
            )
        )
        or 0
    )
    lines = _statement_lines(session, due, sequence)
    visits = [line for line in lines if line.kind is StatementLineKind.VISIT]
    beds = [line for line in lines if line.kind is StatementLineKind.BED_DAYS]
    held = [line for line in visits if line.outcome == Outcome.HELD_FLAG.value]
    if not any(line.amount_fen for line in lines) and (sequence > 1 or not held):
        return None
    certificate = new_certificate(session, actor, CertificateKind.SETTLEMENT_STATEMENT, now)
    statement = SettlementStatement(
        number=certificate.number,
        certificate_id=certificate.id,
        provider_id=provider.id,
        month=first,
        sequence=sequence,
        provider_name=provider.name,
        visits_paid=sum(1 for line in visits if line.amount_fen > 0),
        visits_paid_fen=sum(line.amount_fen for line in visits),
        visits_held=len(held),
        visits_held_fen=sum(line.value_fen for line in held),
        bed_days=sum(line.days for line in beds),
        bed_days_fen=sum(line.amount_fen for line in beds),
        total_fen=sum(line.amount_fen for line in lines),
        issued_at=now,
        issued_by_id=user_id,
        lines=lines,
    )
    session.add(statement)
    session.flush()
    record_event(
        session,
        actor,
        "settlement.issue",
        "settlement_statement",
        statement.id,
        now=now,
        detail={
            "number": statement.number,
            "provider_id": provider.id,
            "month": first.isoformat(),
            "sequence": sequence,
            "total_fen": statement.total_fen,
        },
    )
    return statement


def _statement_lines(session: Session, due: ProviderDue, sequence: int) -> list[SettlementLine]:
    """The main statement lists every completed visit and every resident; a supplementary one
    only what changes money, and the visits still held."""
    visits = [
        line
        for line in due.visits
        if line.outcome is not Outcome.NOT_COMPLETED
        and (sequence == 1 or line.new_fen != 0 or line.outcome is Outcome.HELD_FLAG)
    ]
    beds = [item for item in due.new_bed_lines() if sequence == 1 or item[2] != 0]
    person_ids = {line.claim.person_id for line in visits} | {line.person_id for line, _, _ in beds}
    people = {
        person.id: person
        for person in session.scalars(select(Person).where(Person.id.in_(person_ids)))
    }
    names = {
        row[0]: row[1] for row in session.execute(select(ServiceItem.code, ServiceItem.name_zh))
    }
    codes = {
        row[0]: row[1]
        for row in session.execute(
            select(Visit.id, Visit.done_item_codes).where(
                Visit.id.in_([line.claim.visit_id for line in visits])
            )
        )
    }
    result: list[SettlementLine] = []
    for line in visits:
        person = people[line.claim.person_id]
        done = list(codes.get(line.claim.visit_id) or ())
        result.append(
            SettlementLine(
                position=len(result) + 1,
                kind=StatementLineKind.VISIT,
                visit_id=line.claim.visit_id,
                entitlement_id=line.claim.entitlement_id,
                person_id=person.id,
                person_name_masked=mask_name(person.name),
                id_number_masked=person.id_number_masked,
                visit_on=line.claim.visit_on,
                item_codes=",".join(done)[:300],
                item_names_zh="、".join(names.get(code, code) for code in done)[:300],
                days=0,
                value_fen=line.claim.value_fen,
                amount_fen=line.new_fen,
                outcome=line.outcome.value,
            )
        )
    for bed_line, days, fen in sorted(beds, key=lambda item: item[0].entitlement_id):
        person = people[bed_line.person_id]
        result.append(
            SettlementLine(
                position=len(result) + 1,
                kind=StatementLineKind.BED_DAYS,
                visit_id=None,
                entitlement_id=bed_line.entitlement_id,
                person_id=person.id,
                person_name_masked=mask_name(person.name),
                id_number_masked=person.id_number_masked,
                visit_on=None,
                item_codes=None,
                item_names_zh=None,
                days=days,
                value_fen=bed_line.amount_fen,
                amount_fen=fen,
                outcome=BED_DAYS,
            )
        )
    return result


def issue_month_statements(
    session: Session, actor: Actor, month: dt.date, now: dt.datetime
) -> list[SettlementStatement]:
    """Issue every provider's statement for the month where there is something to settle (the
    main statement, or a supplementary one); a second run issues nothing new.

    One provider's statement does not change another's figures (what a statement pays is what
    the settlement already gave those visits), so the month is computed once under the locks."""
    actor.require(Role.ADMIN, message=lazy_gettext("Only an administrator can settle a month."))
    first = _ended_month(month, now)
    # Lock the providers (in id order) before reading what their statements paid, then read the
    # month again: an issue running at the same time has committed by then, and is seen.
    candidates = sorted(providers_due(session, first))
    providers = {
        provider.id: provider
        for provider in session.scalars(
            select(Provider)
            .where(Provider.id.in_(candidates))
            .order_by(Provider.id)
            .with_for_update()
        )
    }
    dues = {key: due for key, due in providers_due(session, first).items() if key in providers}
    issued = []
    for provider_id, due in sorted(dues.items()):
        statement = _issue(session, actor, providers[provider_id], first, due, now)
        if statement is not None:
            issued.append(statement)
    return issued


# --- reconciliation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReconciliationRow:
    provider_id: int
    name: str
    ledger_fen: int
    statements_fen: int
    held: list[VisitLine]
    statements: list[SettlementStatement]

    @property
    def difference_fen(self) -> int:
        return self.ledger_fen - self.statements_fen


@dataclass(frozen=True)
class Reconciliation:
    month: dt.date
    rows: list[ReconciliationRow]
    ledger_total_fen: int  # the whole month's ledger (cash to beneficiaries included)
    beneficiaries_fen: int  # the ledger's cash paid to beneficiaries (no statement)
    is_month_over: bool

    @property
    def providers_ledger_fen(self) -> int:
        return sum(row.ledger_fen for row in self.rows)

    @property
    def statements_fen(self) -> int:
        return sum(row.statements_fen for row in self.rows)

    @property
    def difference_fen(self) -> int:
        return self.providers_ledger_fen - self.statements_fen


def reconcile_month(
    session: Session, actor: Actor, month: dt.date, now: dt.datetime
) -> Reconciliation:
    """Per provider: the ledger's amount, the statements' amounts and the difference (0 once
    everything is issued), with the visits still held (administrators)."""
    actor.require(Role.ADMIN, message=lazy_gettext("Only an administrator can settle a month."))
    first = month.replace(day=1)
    found = _month_ledger(session, first)
    dues = _dues(session, found)
    by_provider: dict[int, list[SettlementStatement]] = defaultdict(list)
    for statement in _statements(session, month=first):
        by_provider[statement.provider_id].append(statement)
    rows = [
        ReconciliationRow(
            due.provider_id,
            due.name,
            due.ledger_fen,
            due.statements_fen,
            due.held,
            by_provider.get(due.provider_id, []),
        )
        for due in sorted(dues.values(), key=lambda d: (d.name, d.provider_id))
        if due.visits or due.beds or due.statements_fen or due.provider_id in by_provider
    ]
    return Reconciliation(
        month=first,
        rows=rows,
        ledger_total_fen=found.total_fen,
        beneficiaries_fen=sum(
            line.amount_fen for line in found.lines if line.payee is Payee.BENEFICIARY
        ),
        is_month_over=ledger_rules.month_bounds(first)[1] < city_today(now),
    )


# --- reading and downloading ----------------------------------------------------------------------


def _statements(
    session: Session, *, month: dt.date | None = None, provider_id: int | None = None
) -> list[SettlementStatement]:
    query = select(SettlementStatement).order_by(
        SettlementStatement.month.desc(),
        SettlementStatement.provider_name,
        SettlementStatement.sequence,
    )
    if month is not None:
        query = query.where(SettlementStatement.month == month)
    if provider_id is not None:
        query = query.where(SettlementStatement.provider_id == provider_id)
    return list(session.scalars(query))


def list_statements(
    session: Session, actor: Actor, month: dt.date | None = None
) -> list[SettlementStatement]:
    """Statements an administrator sees (all), or a provider's manager (their provider's)."""
    return _statements(session, month=month, provider_id=actor.provider_scope())


def get_statement(
    session: Session, actor: Actor, statement_id: int, now: dt.datetime, *, purpose: str = "read"
) -> SettlementStatement:
    """One statement with its lines, for an administrator or its provider's manager (audited:
    `purpose` is "read", "pdf" or "csv")."""
    statement = session.get(
        SettlementStatement, statement_id, options=[selectinload(SettlementStatement.lines)]
    )
    allowed = actor.is_role(Role.ADMIN) or (
        actor.is_role(Role.PROVIDER_MANAGER)
        and statement is not None
        and actor.provider_id == statement.provider_id
    )
    if not allowed:
        if actor.is_role(Role.ADMIN, Role.PROVIDER_MANAGER):
            raise NotFoundError(gettext("No such statement."))  # never say it exists
        raise PermissionDeniedError(gettext("You do not have permission to do this."))
    if statement is None:
        raise NotFoundError(gettext("No such statement."))
    action = "read" if purpose == "read" else "settlement.download"
    record_event(
        session,
        actor,
        action,
        "settlement_statement",
        statement.id,
        now=now,
        detail={"number": statement.number, "format": purpose},
    )
    return statement


def statement_data(statement: SettlementStatement, base_url: str) -> StatementData:
    """What the PDF and the CSV print (stored data only: a statement never changes)."""
    return StatementData(
        number=statement.number,
        provider_name=statement.provider_name,
        month=statement.month,
        sequence=statement.sequence,
        issued_on=city_today(statement.issued_at),
        visits_paid=statement.visits_paid,
        visits_paid_fen=statement.visits_paid_fen,
        visits_held=statement.visits_held,
        visits_held_fen=statement.visits_held_fen,
        bed_days=statement.bed_days,
        bed_days_fen=statement.bed_days_fen,
        total_fen=statement.total_fen,
        rows=tuple(
            StatementRow(
                person_name_masked=line.person_name_masked,
                id_number_masked=line.id_number_masked,
                kind=line.kind.value,
                visit_on=line.visit_on,
                item_codes=line.item_codes or "",
                item_names_zh=line.item_names_zh or "",
                days=line.days,
                value_fen=line.value_fen,
                amount_fen=line.amount_fen,
                outcome=line.outcome,
            )
            for line in statement.lines
        ),
        verify_url=verify_url(base_url, statement.number, statement.certificate.check_code),
        check_code=format_check_code(statement.certificate.check_code),
    )
