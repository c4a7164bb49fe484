"""Alerts to a provider's manager: missed visits and quality steps, newest first.

The roster page shows them through `templates/alerts/_provider_alerts.html`; the provider always
comes from the actor, so a manager never sees another company's alerts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.core.clock import to_city
from careapp.core.errors import NotFoundError
from careapp.models.quality import AlertKind, ProviderAlert
from careapp.models.users import Role
from careapp.services.actor import Actor
from careapp.services.audit import record_event


@dataclass(frozen=True)
class AlertRow:
    alert_id: int
    kind: AlertKind
    raised_at: dt.datetime  # city time
    message: str
    visit_id: int | None


def alert_message(alert: ProviderAlert) -> str:
    detail = alert.detail or {}
    if alert.kind is AlertKind.MISSED_VISIT:
        return gettext(
            "A visit on %(day)s was not checked in and is marked missed; please reschedule it.",
            day=detail.get("visit_on", ""),
        )
    if alert.kind is AlertKind.WORK_ORDER_OFFER:
        return gettext(
            "A new client is offered to you (work order %(order)s); answer by %(day)s.",
            order=detail.get("work_order_id", ""),
            day=detail.get("deadline_on", ""),
        )
    month = str(detail.get("month", ""))[:7]
    messages = {
        AlertKind.QUALITY_WARNING: gettext(
            "Quality warning for %(month)s: the month failed the quality thresholds.", month=month
        ),
        AlertKind.QUALITY_SUSPENSION: gettext(
            "Suspended after two failing months (%(month)s): no new clients.", month=month
        ),
        AlertKind.QUALITY_EXIT: gettext(
            "Exited the scheme after a further failing month (%(month)s).", month=month
        ),
    }
    return messages[alert.kind]


def open_provider_alerts(session: Session, actor: Actor, limit: int = 20) -> tuple[AlertRow, ...]:
    """The newest unacknowledged alerts of the actor's provider (none for other roles)."""
    if not actor.is_role(Role.PROVIDER_MANAGER) or actor.provider_id is None:
        return ()
    alerts = session.scalars(
        select(ProviderAlert)
        .where(
            ProviderAlert.provider_id == actor.provider_id,
            ProviderAlert.acknowledged_at.is_(None),
        )
        .order_by(ProviderAlert.raised_at.desc(), ProviderAlert.id.desc())
        .limit(limit)
    )
    return tuple(
        AlertRow(a.id, a.kind, to_city(a.raised_at), alert_message(a), a.visit_id) for a in alerts
    )


def acknowledge_alert(session: Session, actor: Actor, alert_id: int, now: dt.datetime) -> None:
    """The manager has seen the alert: it leaves the roster page (kept for the record)."""
    provider_id = actor.require_provider()
    alert = session.scalar(
        select(ProviderAlert)
        .where(ProviderAlert.id == alert_id, ProviderAlert.provider_id == provider_id)
        .with_for_update()
    )
    if alert is None:  # another company's alert is as unknown as a made-up one
        raise NotFoundError(gettext("Not found."))
    if alert.acknowledged_at is not None:
        return
    alert.acknowledged_at = now
    alert.acknowledged_by_id = actor.user_id
    record_event(session, actor, "acknowledge", "provider_alert", alert.id, now=now)
