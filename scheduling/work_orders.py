"""Pure rules of work orders: who may be offered a client, in what order, and until when.

Eligible: a home-care company that is active or warned (suspended and exited companies get no
new clients), serves the beneficiary's district, has capacity (its clients are fewer than its
enabled caregivers times `clients_per_caregiver`) and has not been offered this order before.

The family's choice is offered first when it is eligible. Otherwise a **fair rotation weighted by
quality** picks the next company: each eligible company has a weight, its last satisfaction
share (4-5 star ratings / ratings) or a neutral weight without ratings, halved while it is
warned, and never below `min_weight`; the next company is picked by Tijdeman's chairman
assignment rule (see `rotation_pick`), so that among the same companies each one's count of
rotation offers stays strictly within one of its weighted share after every offer.

Deadlines are counted in working days (Monday to Friday, less public holidays): an offer made on
day D is due by the end of the Nth working day after D (city time).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from fractions import Fraction

from assessments.procedure import next_working_day
from scheduling.quality import ProviderStatus

SERVING = (ProviderStatus.ACTIVE, ProviderStatus.WARNED)


class Ineligibility(enum.Enum):
    NOT_HOME_CARE = "not_home_care"
    NOT_SERVING = "not_serving"  # suspended or exited
    OTHER_DISTRICT = "other_district"
    FULL = "full"
    ALREADY_OFFERED = "already_offered"


@dataclass(frozen=True)
class RotationRules:
    clients_per_caregiver: int = 8
    neutral_weight: Fraction = Fraction(19, 20)  # a company without ratings yet
    warned_factor: Fraction = Fraction(1, 2)
    min_weight: Fraction = Fraction(1, 20)


@dataclass(frozen=True)
class Candidate:
    """A provider as the rules see it."""

    provider_id: int
    is_home_care: bool
    standing: ProviderStatus
    districts: frozenset[str]
    caregivers: int  # enabled caregivers
    clients: int  # active care plans plus pending offers
    rated: int = 0  # ratings in its last evaluated month
    satisfied: int = 0  # of which 4-5 stars
    rotation_offers: int = 0  # rotation offers made to it so far (all orders)


@dataclass(frozen=True)
class Choice:
    provider_id: int
    is_family_choice: bool


def ineligibility(
    candidate: Candidate,
    district: str,
    already_offered: Collection[int],
    rules: RotationRules,
) -> Ineligibility | None:
    """Why `candidate` may not be offered this order (None: it may)."""
    if not candidate.is_home_care:
        return Ineligibility.NOT_HOME_CARE
    if candidate.standing not in SERVING:
        return Ineligibility.NOT_SERVING
    if district not in candidate.districts:
        return Ineligibility.OTHER_DISTRICT
    if candidate.provider_id in already_offered:
        return Ineligibility.ALREADY_OFFERED
    if candidate.clients >= candidate.caregivers * rules.clients_per_caregiver:
        return Ineligibility.FULL
    return None


def weight(candidate: Candidate, rules: RotationRules) -> Fraction:
    """The company's quality weight in the rotation."""
    base = (
        Fraction(candidate.satisfied, candidate.rated) if candidate.rated else rules.neutral_weight
    )
    if candidate.standing is ProviderStatus.WARNED:
        base *= rules.warned_factor
    return max(base, rules.min_weight)


def rotation_pick(candidates: Sequence[Candidate], rules: RotationRules) -> int | None:
    """The next company of the weighted rotation (Tijdeman's chairman assignment rule).

    With k companies of shares λ (weight / total weight) and n = the offers so far + 1, a
    company's next offer may come once it is at least 1 − B behind its share (B = 1 − 1/(2k−2)),
    and must come before it falls more than B behind; among those whose next offer may come, the
    one whose deadline is earliest is chosen (ties: the smaller id). Among a fixed set of
    companies this keeps every company's count within B (< 1) of its share at every step
    (R. Tijdeman, "The chairman assignment problem", Discrete Math. 32, 1980). Counts carried over
    from a different set of companies may fit no window: then the one furthest behind its share.
    """
    if not candidates:
        return None
    weights = {c.provider_id: weight(c, rules) for c in candidates}
    total_weight = sum(weights.values(), Fraction(0))
    after = sum(c.rotation_offers for c in candidates) + 1
    share = {c.provider_id: weights[c.provider_id] / total_weight for c in candidates}
    bound = 1 - Fraction(1, 2 * len(candidates) - 2) if len(candidates) > 1 else Fraction(0)
    due = [
        (math.floor((c.rotation_offers + bound) / share[c.provider_id]), c.provider_id)
        for c in candidates
        if c.rotation_offers + 1 - bound <= share[c.provider_id] * after
    ]
    if due:
        return min(due)[1]

    def behind(c: Candidate) -> tuple[Fraction, int]:
        return (share[c.provider_id] * after - c.rotation_offers, -c.provider_id)

    return max(candidates, key=behind).provider_id


def next_offer(
    candidates: Sequence[Candidate],
    district: str,
    already_offered: Collection[int],
    family_choice: int | None,
    rules: RotationRules,
) -> Choice | None:
    """Whom to offer the order next: the family's choice when eligible, else the rotation."""
    eligible = [c for c in candidates if ineligibility(c, district, already_offered, rules) is None]
    if family_choice is not None and any(c.provider_id == family_choice for c in eligible):
        return Choice(family_choice, True)
    picked = rotation_pick(eligible, rules)
    return None if picked is None else Choice(picked, False)


def add_working_days(
    day: dt.date, working_days: int, holidays: Collection[dt.date] = ()
) -> dt.date:
    """The `working_days`-th working day after `day` (`day` itself does not count)."""
    if working_days < 1:
        raise ValueError("a deadline is at least one working day")
    for _ in range(working_days):
        day = next_working_day(day, holidays)
    return day


def offer_deadline_day(
    offered_on: dt.date, working_days: int, holidays: Collection[dt.date] = ()
) -> dt.date:
    """The last day (city) to answer an offer made on `offered_on`; it ends at midnight."""
    return add_working_days(offered_on, working_days, holidays)
