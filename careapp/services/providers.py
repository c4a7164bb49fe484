"""Providers' quality pages and an administrator lifting a suspension.

The monthly evaluation (careapp.services.quality) warns, suspends and exits providers; only an
administrator brings a suspended provider back (`lift_suspension`, with a reason). The pages read
a provider's evaluations, status history (evaluations and lifts), alerts and complaints with a
bounded number of queries; a manager reads only their own provider.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from careapp.models.providers import Provider
from careapp.models.quality import (
    COMPLAINT_SUMMARY_LENGTH,
    Complaint,
    ProviderAlert,
    ProviderQualityEvaluation,
    SuspensionLift,
)
from careapp.models.users import Role
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from careapp.services.complaints import provider_complaints
from scheduling.quality import ProviderStatus
from scheduling.quality import lift_suspension as lift_rule

REASON_MAX = COMPLAINT_SUMMARY_LENGTH


@dataclass(frozen=True)
class ProviderRow:
    provider: Provider
    last: ProviderQualityEvaluation | None  # the latest month evaluated


@dataclass(frozen=True)
class StatusStep:
    """One change of a provider's status, from a monthly evaluation or an administrator's lift."""

    at: dt.datetime
    before: ProviderStatus
    after: ProviderStatus
    month: dt.date | None  # the month evaluated (None for a lift)
    reason: str | None  # a lift's reason
    by: str | None  # who lifted


@dataclass(frozen=True)
class ProviderQuality:
    provider: Provider
    evaluations: list[ProviderQualityEvaluation]  # newest month first
    history: list[StatusStep]  # newest first
    lifts: list[SuspensionLift]
    alerts: list[ProviderAlert]
    complaints: list[Complaint]


def list_providers(session: Session, actor: Actor) -> list[ProviderRow]:
    """Every provider with its districts and its latest evaluation (administrators; 3 queries)."""
    actor.require(Role.ADMIN)
    providers = list(
        session.scalars(
            select(Provider).options(selectinload(Provider.districts)).order_by(Provider.name)
        )
    )
    latest = (
        select(
            ProviderQualityEvaluation.provider_id,
            func.max(ProviderQualityEvaluation.month).label("month"),
        )
        .group_by(ProviderQualityEvaluation.provider_id)
        .subquery()
    )
    evaluations = {
        e.provider_id: e
        for e in session.scalars(
            select(ProviderQualityEvaluation).join(
                latest,
                (ProviderQualityEvaluation.provider_id == latest.c.provider_id)
                & (ProviderQualityEvaluation.month == latest.c.month),
            )
        )
    }
    return [ProviderRow(p, evaluations.get(p.id)) for p in providers]


def provider_quality(
    session: Session, actor: Actor, provider_id: int, months: int = 36
) -> ProviderQuality:
    """A provider's quality record: an administrator's, or the provider's own manager's."""
    if not (
        actor.is_role(Role.ADMIN)
        or (actor.is_role(Role.PROVIDER_MANAGER) and actor.provider_id == provider_id)
    ):
        raise NotFoundError(gettext("Provider not found."))
    provider = session.scalar(
        select(Provider).where(Provider.id == provider_id).options(selectinload(Provider.districts))
    )
    if provider is None:
        raise NotFoundError(gettext("Provider not found."))
    evaluations = list(
        session.scalars(
            select(ProviderQualityEvaluation)
            .where(ProviderQualityEvaluation.provider_id == provider_id)
            .order_by(ProviderQualityEvaluation.month.desc())
            .limit(months)
        )
    )
    lifts = list(
        session.scalars(
            select(SuspensionLift)
            .where(SuspensionLift.provider_id == provider_id)
            .options(selectinload(SuspensionLift.lifted_by))
            .order_by(SuspensionLift.lifted_at.desc())
        )
    )
    alerts = list(
        session.scalars(
            select(ProviderAlert)
            .where(ProviderAlert.provider_id == provider_id)
            .order_by(ProviderAlert.raised_at.desc(), ProviderAlert.id.desc())
            .limit(50)
        )
    )
    complaints = provider_complaints(session, actor, provider_id)
    return ProviderQuality(
        provider, evaluations, status_history(evaluations, lifts), lifts, alerts, complaints
    )


def status_history(
    evaluations: list[ProviderQualityEvaluation], lifts: list[SuspensionLift]
) -> list[StatusStep]:
    """Every change of status, newest first: evaluations that moved it, and lifts."""
    steps = [
        StatusStep(e.evaluated_at, e.status_before, e.status_after, e.month, None, None)
        for e in evaluations
        if e.status_before is not e.status_after
    ]
    steps += [
        StatusStep(
            lift.lifted_at,
            ProviderStatus.SUSPENDED,
            ProviderStatus.ACTIVE,
            None,
            lift.reason,
            lift.lifted_by.display_name if lift.lifted_by else None,
        )
        for lift in lifts
    ]
    return sorted(steps, key=lambda step: step.at, reverse=True)


def lift_suspension(
    session: Session, actor: Actor, provider_id: int, reason: str, now: dt.datetime
) -> SuspensionLift:
    """An administrator lifts a provider's suspension (suspended → active), giving the reason."""
    admin_id = actor.require(Role.ADMIN)
    clean = (reason or "").strip()
    if not clean:
        raise InvalidInputError(
            gettext("Give the reason for lifting the suspension."), field="reason"
        )
    if len(clean) > REASON_MAX:
        raise InvalidInputError(
            gettext("Keep it under %(count)d characters.", count=REASON_MAX), field="reason"
        )
    provider = session.scalar(select(Provider).where(Provider.id == provider_id).with_for_update())
    if provider is None:
        raise NotFoundError(gettext("Provider not found."))
    if provider.status is not ProviderStatus.SUSPENDED:
        raise ConflictError(gettext("Only a suspended provider can have its suspension lifted."))
    decision = lift_rule(provider.status)
    provider.status = decision.after
    lift = SuspensionLift(
        provider_id=provider.id, lifted_at=now, lifted_by_id=admin_id, reason=clean
    )
    session.add(lift)
    session.flush()
    detail = {
        "status_before": decision.before.value,
        "status_after": decision.after.value,
        "change": decision.change.value,
        "lift_id": lift.id,
        "reason": clean,
    }
    record_event(
        session, actor, "provider.suspension_lifted", "provider", provider.id, now=now,
        detail=detail,
    )  # fmt: skip
    record_event(
        session, actor, "provider.status_changed", "provider", provider.id, now=now,
        detail=detail,
    )  # fmt: skip
    return lift
