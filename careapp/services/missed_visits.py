"""Missed visits: not checked in by the end of the window plus a grace period.

`mark_missed_visits` is called by the `missed-visits` job (and `careapp jobs run missed-visits`).
Each visit that became missed alerts its provider's manager once (a `ProviderAlert` shown on
the roster page) and writes an audit row. A visit already missed is not looked at again, so a
second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.models.quality import AlertKind, ProviderAlert
from careapp.models.visit import Visit
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from scheduling.visits import MISSABLE_STATES, VisitStatus, is_missed

_MISSABLE = tuple(MISSABLE_STATES)


@dataclass(frozen=True)
class MissedVisitsOutcome:
    first_day: dt.date
    last_day: dt.date
    marked: int
    alerts: int
    by_provider: dict[int, int] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        days = (
            f"{self.first_day}"
            if self.first_day == self.last_day
            else f"{self.first_day}..{self.last_day}"
        )
        providers = ", ".join(f"provider {p}: {n}" for p, n in sorted(self.by_provider.items()))
        return f"missed visits {days}: {self.marked} marked missed, {self.alerts} alerts raised" + (
            f" ({providers})" if providers else ""
        )


def mark_missed_visits(
    session: Session,
    actor: Actor,
    first_day: dt.date,
    last_day: dt.date,
    now: dt.datetime,
    grace_minutes: int,
) -> MissedVisitsOutcome:
    """Mark the visits of these days whose window ended `grace_minutes` before `now` and that
    are still waiting for a check-in as missed; alert each provider's manager once per visit.

    The rows are locked (PostgreSQL), so a caregiver's check-in at the same moment either
    lands first (and the visit is no longer missable) or sees the visit missed.
    """
    cutoff = now - dt.timedelta(minutes=grace_minutes)
    visits = list(
        session.scalars(
            select(Visit)
            .where(
                Visit.visit_on >= first_day,
                Visit.visit_on <= last_day,
                Visit.status.in_(_MISSABLE),
                Visit.window_end <= cutoff,
            )
            # The order dispatch locks visits in, so the two do not deadlock on visits.
            .order_by(Visit.visit_on, Visit.provider_id, Visit.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    visits = [v for v in visits if is_missed(v.status, v.window_end, now, grace_minutes)]
    alerted = set(
        session.scalars(
            select(ProviderAlert.visit_id).where(
                ProviderAlert.kind == AlertKind.MISSED_VISIT,
                ProviderAlert.visit_id.in_([v.id for v in visits]),
            )
        )
    )
    by_provider: Counter[int] = Counter()
    alerts = 0
    for visit in visits:
        previous = visit.status
        visit.status = VisitStatus.MISSED
        by_provider[visit.provider_id] += 1
        detail = {
            "visit_on": visit.visit_on.isoformat(),
            "window_end": visit.window_end.isoformat(),
            "caregiver_id": visit.caregiver_id,
            "previous_status": previous.value,
            "grace_minutes": grace_minutes,
        }
        if visit.id not in alerted:
            session.add(
                ProviderAlert(
                    provider_id=visit.provider_id,
                    kind=AlertKind.MISSED_VISIT,
                    visit_id=visit.id,
                    raised_at=now,
                    detail=detail,
                )
            )
            alerts += 1
        record_event(session, actor, "visit.missed", "visit", visit.id, now=now, detail=detail)
    session.flush()
    return MissedVisitsOutcome(first_day, last_day, len(visits), alerts, dict(by_provider))
