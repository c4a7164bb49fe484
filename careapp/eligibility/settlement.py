"""Monthly settlement of home-care visits (pure): which visit is paid, how much, and why not.

Severe care at home is paid to the home-care company per visit, not per day: "services worth up
to 1,200 yuan a month, paid to the company per visit". For one beneficiary and one month:

- a visit is payable when it was completed, by a home-care company (a volunteer's visit is
  recorded like a paid one but never settled), has no claim flag that holds it (open: held until
  reviewed; upheld: refused), and falls on a day the ledger pays per visit for the visit's
  entitlement (a day suspended by a hospital stay, or outside the entitlement, is not);
- its value is the sum of the unit prices of the service items actually done;
- the beneficiary's monthly budget caps the month across every company (a company that exits
  mid-month splits the month): visits in chronological order (day, window start, id) are paid in
  full until the budget, the visit that crosses it is paid the remainder, later ones nothing.

Statements already issued are never changed: what they paid for a visit (`already_paid`) stays
paid and uses the budget first; what is payable and not yet paid fills the room that is left, in
chronological order. So a visit held at the first statement and cleared later is paid by a
supplementary statement, and the month never pays more than the budget.

Money is integer fen.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from careapp.eligibility.ledger import DayStatus, Payee, Segment

HOME_CARE = "home_care"  # the provider kind whose visits are paid
VOLUNTEER = "volunteer"  # the provider kind whose visits are never paid


class Outcome(enum.StrEnum):
    """What settlement made of one visit."""

    PAID = "paid"  # paid in full or, for the visit that reaches the budget, in part
    HELD_FLAG = "held_flag"  # an open claim flag: held until an administrator reviews it
    REJECTED_FLAG = "rejected_flag"  # an upheld claim flag: never paid
    IN_HOSPITAL = "in_hospital"  # the benefit was suspended that day (a hospital stay)
    NOT_BENEFIT_DAY = "not_benefit_day"  # outside the entitlement, or not a per-visit day
    OVER_BUDGET = "over_budget"  # the month's budget was used up by earlier visits
    NO_BUDGET = "no_budget"  # the entitlement carries no monthly budget
    VOLUNTEER = "volunteer"  # a volunteer's visit: recorded, never settled
    NOT_HOME_CARE = "not_home_care"  # a provider that is not a home-care company
    NOT_COMPLETED = "not_completed"  # missed, cancelled or never checked out


class FlagState(enum.StrEnum):
    NONE = "none"  # no flag, or every flag cleared
    OPEN = "open"
    UPHELD = "upheld"


@dataclass(frozen=True)
class VisitClaim:
    """One visit of the month, as settlement sees it."""

    visit_id: int
    person_id: int
    entitlement_id: int
    provider_id: int
    provider_kind: str  # ProviderKind value
    visit_on: dt.date
    window_start: dt.datetime
    is_completed: bool
    value_fen: int  # the unit prices of the items done, summed
    flag: FlagState = FlagState.NONE

    @property
    def order(self) -> tuple[dt.date, dt.datetime, int]:
        return (self.visit_on, self.window_start, self.visit_id)


@dataclass(frozen=True)
class VisitLine:
    claim: VisitClaim
    outcome: Outcome
    amount_fen: int  # what the month pays for this visit, all statements together
    already_paid_fen: int = 0  # what statements issued before paid for it

    @property
    def new_fen(self) -> int:
        """What is still to be paid (a supplementary statement's amount)."""
        return self.amount_fen - self.already_paid_fen

    @property
    def is_held(self) -> bool:
        return self.outcome is Outcome.HELD_FLAG


@dataclass(frozen=True)
class Settlement:
    lines: list[VisitLine] = field(default_factory=list)

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    def paid_by(self) -> dict[tuple[int, int], tuple[int, int]]:
        """(entitlement id, provider id) -> (visits paid, fen)."""
        totals: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
        for line in self.lines:
            if line.amount_fen:
                key = (line.claim.entitlement_id, line.claim.provider_id)
                totals[key][0] += 1
                totals[key][1] += line.amount_fen
        return {key: (count, fen) for key, (count, fen) in totals.items()}

    def for_provider(self, provider_id: int) -> list[VisitLine]:
        return [line for line in self.lines if line.claim.provider_id == provider_id]


def day_outcome(segments: Sequence[Segment], day: dt.date) -> Outcome | None:
    """None if the entitlement pays `day` per visit; else why a visit that day is not paid."""
    for segment in segments:
        if segment.first <= day <= segment.last:
            if segment.status is DayStatus.SUSPENDED:
                return Outcome.IN_HOSPITAL
            return None if segment.payee is Payee.PER_VISIT else Outcome.NOT_BENEFIT_DAY
    return Outcome.NOT_BENEFIT_DAY


def refusal(claim: VisitClaim, segments: Sequence[Segment]) -> Outcome | None:
    """Why the visit cannot be paid whatever the budget (None: it is payable)."""
    if not claim.is_completed:
        return Outcome.NOT_COMPLETED
    if claim.provider_kind == VOLUNTEER:
        return Outcome.VOLUNTEER
    if claim.provider_kind != HOME_CARE:
        return Outcome.NOT_HOME_CARE
    if claim.flag is FlagState.UPHELD:
        return Outcome.REJECTED_FLAG
    if claim.flag is FlagState.OPEN:
        return Outcome.HELD_FLAG
    return day_outcome(segments, claim.visit_on)


def settle_visits(
    claims: Sequence[VisitClaim],
    segments: Mapping[int, Sequence[Segment]],
    budgets: Mapping[int, int | None],
    already_paid: Mapping[int, int] | None = None,
) -> Settlement:
    """Settle one month's visits.

    `segments`: entitlement id -> its ledger segments of the month; `budgets`: person id -> the
    monthly budget in fen (None: none); `already_paid`: visit id -> fen statements issued before
    paid for it. Every claim gets one line, in chronological order.
    """
    paid_before = already_paid or {}
    by_person: dict[int, list[VisitClaim]] = defaultdict(list)
    for claim in claims:
        by_person[claim.person_id].append(claim)
    lines: list[VisitLine] = []
    for person_id, own in by_person.items():
        own.sort(key=lambda c: c.order)
        budget = budgets.get(person_id)
        room = None if budget is None else budget - sum(paid_before.get(c.visit_id, 0) for c in own)
        for claim in own:
            before = paid_before.get(claim.visit_id, 0)
            reason = refusal(claim, segments.get(claim.entitlement_id, ()))
            if reason is not None or room is None:
                outcome = reason or Outcome.NO_BUDGET
                # Money already paid stays paid: an issued statement never changes.
                lines.append(VisitLine(claim, Outcome.PAID if before else outcome, before, before))
                continue
            extra = max(0, min(claim.value_fen - before, room))
            room -= extra
            amount = before + extra
            outcome = Outcome.PAID if amount > 0 or claim.value_fen == 0 else Outcome.OVER_BUDGET
            lines.append(VisitLine(claim, outcome, amount, before))
    lines.sort(key=lambda line: (line.claim.order, line.claim.person_id))
    return Settlement(lines)
