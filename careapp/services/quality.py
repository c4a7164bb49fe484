"""Monthly provider quality: count each provider's month, evaluate it, move its status.

`evaluate_provider_quality` is called by the `provider-quality` job on the first of each month
(for the month that ended) and by `careapp jobs run provider-quality --date ...`. The rules are
pure (`scheduling.quality`); this module counts, stores one `ProviderQualityEvaluation` per
provider and month (unique: a second run finds it and changes nothing), sets the provider's
status, writes audit rows and alerts the provider's manager of a warning, suspension or exit.

A later step (work orders) moves an exited provider's clients; `QualityOutcome.exited` lists
the providers that exited in this run, for it to pick up.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext
from sqlalchemy import String, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from careapp.core.clock import city_today
from careapp.core.errors import InvalidInputError
from careapp.models.providers import Provider
from careapp.models.quality import (
    AlertKind,
    Complaint,
    ComplaintStatus,
    ProviderAlert,
    ProviderQualityEvaluation,
)
from careapp.models.rating import SatisfactionRating
from careapp.models.visit import VerificationMethod, Visit
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from scheduling.months import month_of, next_month, previous_month
from scheduling.quality import (
    MonthFigures,
    ProviderStatus,
    QualityThresholds,
    StandingChange,
    next_standing,
    quality_problems,
)
from scheduling.ratings import SATISFIED_STARS
from scheduling.visits import VisitStatus

ALERT_KINDS = {
    StandingChange.WARNED: AlertKind.QUALITY_WARNING,
    StandingChange.SUSPENDED: AlertKind.QUALITY_SUSPENSION,
    StandingChange.EXITED: AlertKind.QUALITY_EXIT,
}
EMPTY_MONTH = MonthFigures(0, 0, 0, 0, 0, 0, 0)


@dataclass(frozen=True)
class QualityOutcome:
    month: dt.date
    evaluated: int
    already_evaluated: int
    failing: int
    changes: dict[str, int] = field(default_factory=dict)  # StandingChange value -> providers
    exited: tuple[int, ...] = ()

    @property
    def summary(self) -> str:
        changes = ", ".join(f"{k} {v}" for k, v in sorted(self.changes.items()))
        return (
            f"provider quality {self.month:%Y-%m}: {self.evaluated} evaluated, "
            f"{self.already_evaluated} already evaluated, {self.failing} failing"
            + (f" ({changes})" if changes else "")
        )


def thresholds_from_config(config: Any) -> QualityThresholds:
    """The thresholds configured in careapp.config (the two optional ones may be None)."""
    return QualityThresholds.from_percent(
        config["QUALITY_MIN_SATISFACTION_PERCENT"],
        config["QUALITY_MAX_MISSED_PERCENT"],
        config.get("QUALITY_MAX_COMPLAINTS_PER_100_VISITS"),
        config.get("QUALITY_MIN_PHONE_VERIFIED_PERCENT"),
    )


def month_figures(
    session: Session, month: dt.date, provider_ids: list[int] | None = None
) -> dict[int, MonthFigures]:
    """Provider id -> the figures of its home visits in `month` (a bounded number of queries)."""
    first, following = month_of(month), next_month(month_of(month))
    in_month = and_(Visit.visit_on >= first, Visit.visit_on < following)
    if provider_ids is not None:
        in_month = and_(in_month, Visit.provider_id.in_(provider_ids))

    def count_if(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    flags_text = cast(Visit.check_in_flags, String)
    completed = Visit.status == VisitStatus.COMPLETED
    # Visits from before `verification` existed count as phone-verified when checked in.
    on_phone = or_(
        Visit.verification == VerificationMethod.PHONE,
        and_(Visit.verification.is_(None), Visit.checked_in_at.is_not(None)),
    )
    rows = session.execute(
        select(
            Visit.provider_id,
            count_if(Visit.status != VisitStatus.CANCELLED),
            count_if(Visit.status == VisitStatus.COMPLETED),
            count_if(Visit.status == VisitStatus.MISSED),
            count_if(
                and_(Visit.checked_in_at.is_not(None), Visit.checked_in_at > Visit.window_end)
            ),
            count_if(
                and_(
                    Visit.checked_in_at.is_not(None),
                    Visit.check_in_flags.is_not(None),
                    flags_text.not_in(["[]", "null"]),
                )
            ),
            count_if(and_(completed, on_phone)),
            count_if(and_(completed, Visit.verification == VerificationMethod.MANUAL)),
        )
        .where(in_month)
        .group_by(Visit.provider_id)
    )
    counts = {row[0]: tuple(int(value) for value in row[1:]) for row in rows}
    ratings = {
        provider_id: (int(rated), int(satisfied))
        for provider_id, rated, satisfied in session.execute(
            select(
                Visit.provider_id,
                func.count(SatisfactionRating.id),
                count_if(SatisfactionRating.stars >= SATISFIED_STARS),
            )
            .join(SatisfactionRating, SatisfactionRating.visit_id == Visit.id)
            .where(in_month, Visit.status != VisitStatus.CANCELLED)
            .group_by(Visit.provider_id)
        )
    }
    received = and_(Complaint.received_on >= first, Complaint.received_on < following)
    if provider_ids is not None:
        received = and_(received, Complaint.provider_id.in_(provider_ids))
    complaints: dict[int, int] = {
        provider_id: int(number)
        for provider_id, number in session.execute(
            select(Complaint.provider_id, func.count(Complaint.id))
            .where(received, Complaint.status != ComplaintStatus.DISMISSED)
            .group_by(Complaint.provider_id)
        )
    }
    figures = {}
    for provider_id in set(counts) | set(ratings) | set(complaints):
        planned, completed_, missed, late, flagged, phone, manual = counts.get(
            provider_id, (0, 0, 0, 0, 0, 0, 0)
        )
        rated, satisfied = ratings.get(provider_id, (0, 0))
        figures[provider_id] = MonthFigures(
            planned,
            completed_,
            missed,
            late,
            rated,
            satisfied,
            flagged,
            complaints=complaints.get(provider_id, 0),
            phone_verified=phone,
            manual_entered=manual,
        )
    return figures


def evaluate_provider_quality(
    session: Session,
    actor: Actor,
    month: dt.date,
    now: dt.datetime,
    thresholds: QualityThresholds,
) -> QualityOutcome:
    """Evaluate every provider that has not exited for the month of `month` (once each).

    Raises InvalidInputError for a month that has not ended yet in the city, or when a later
    month was already evaluated (months are evaluated in order: each builds on the last).
    """
    month = month_of(month)
    if city_today(now) < next_month(month):
        raise InvalidInputError(
            gettext("A month can be evaluated only after it has ended (%(month)s).", month=month)
        )
    later = session.scalar(
        select(func.count())
        .select_from(ProviderQualityEvaluation)
        .where(ProviderQualityEvaluation.month > month)
    )
    if later:
        raise InvalidInputError(
            gettext("A later month has already been evaluated; months are evaluated in order.")
        )
    providers = list(
        session.scalars(
            select(Provider)
            .where(Provider.status != ProviderStatus.EXITED)
            .order_by(Provider.id)
            .with_for_update()
        )
    )
    done = set(
        session.scalars(
            select(ProviderQualityEvaluation.provider_id).where(
                ProviderQualityEvaluation.month == month
            )
        )
    )
    previous = select(
        ProviderQualityEvaluation.provider_id, ProviderQualityEvaluation.is_failing
    ).where(ProviderQualityEvaluation.month == previous_month(month))
    previous_failed: dict[int, bool] = {row[0]: row[1] for row in session.execute(previous)}
    todo = [p for p in providers if p.id not in done]
    figures = month_figures(session, month, [p.id for p in todo]) if todo else {}
    changes: Counter[str] = Counter()
    failing = 0
    exited = []
    for provider in todo:
        month_figs = figures.get(provider.id, EMPTY_MONTH)
        problems = quality_problems(month_figs, thresholds)
        decision = next_standing(
            provider.status, bool(problems), previous_failed.get(provider.id, False)
        )
        evaluation = ProviderQualityEvaluation(
            provider_id=provider.id,
            month=month,
            planned=month_figs.planned,
            completed=month_figs.completed,
            missed=month_figs.missed,
            late=month_figs.late,
            rated=month_figs.rated,
            satisfied=month_figs.satisfied,
            flagged_check_ins=month_figs.flagged_check_ins,
            complaints=month_figs.complaints,
            phone_verified=month_figs.phone_verified,
            manual_entered=month_figs.manual_entered,
            problems=list(problems),
            is_failing=bool(problems),
            status_before=provider.status,
            status_after=decision.after,
            thresholds=thresholds.in_force(),
            evaluated_at=now,
        )
        session.add(evaluation)
        session.flush()
        failing += bool(problems)
        detail: dict[str, Any] = {
            "month": month.isoformat(),
            "evaluation_id": evaluation.id,
            "planned": month_figs.planned,
            "completed": month_figs.completed,
            "missed": month_figs.missed,
            "late": month_figs.late,
            "rated": month_figs.rated,
            "satisfied": month_figs.satisfied,
            "flagged_check_ins": month_figs.flagged_check_ins,
            "complaints": month_figs.complaints,
            "phone_verified": month_figs.phone_verified,
            "manual_entered": month_figs.manual_entered,
            "problems": list(problems),
            "status_before": decision.before.value,
            "status_after": decision.after.value,
            "change": decision.change.value,
        }
        record_event(
            session,
            actor,
            "provider.quality_evaluated",
            "provider",
            provider.id,
            now=now,
            detail=detail,
        )
        if decision.change is StandingChange.UNCHANGED:
            continue
        changes[decision.change.value] += 1
        provider.status = decision.after
        record_event(
            session,
            actor,
            "provider.status_changed",
            "provider",
            provider.id,
            now=now,
            detail=detail,
        )
        alert_kind = ALERT_KINDS.get(decision.change)
        if alert_kind is not None:
            session.add(
                ProviderAlert(
                    provider_id=provider.id,
                    kind=alert_kind,
                    evaluation_id=evaluation.id,
                    raised_at=now,
                    detail=detail,
                )
            )
        if decision.change is StandingChange.EXITED:
            exited.append(provider.id)
    session.flush()
    return QualityOutcome(
        month, len(todo), len(providers) - len(todo), failing, dict(changes), tuple(exited)
    )
