"""Satisfaction ratings: the family's one-time link, and phone-survey results entered by staff."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext, lazy_gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from careapp.core.errors import (
    CareappError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from careapp.models.providers import Provider
from careapp.models.rating import RatingChannel, SatisfactionRating
from careapp.models.users import Role
from careapp.models.visit import Visit
from careapp.security import new_token, token_hash
from careapp.services.actor import Actor
from careapp.services.audit import record_event
from scheduling.months import next_month
from scheduling.ratings import (
    MAX_COMMENT_LENGTH,
    RatingProblem,
    SatisfactionTable,
    month_range,
    rating_problems,
    satisfaction_table,
)
from scheduling.visits import VisitStatus

MAX_REPORT_MONTHS = 24


class LinkExpiredError(CareappError):
    """The one-time rating link is past its expiry."""

    status_code = 410


def issue_rating_token(visit: Visit, now: dt.datetime, valid_for: dt.timedelta) -> str:
    """Give a visit the family's one-time rating link; returns the token (only its hash is
    stored). The link works until `now + valid_for`."""
    token = new_token()
    visit.rating_token_hash = token_hash(token)
    visit.rating_token_expires_at = now + valid_for
    return token


def rating_visit_for_token(session: Session, token: str, now: dt.datetime) -> Visit:
    """The completed visit a rating link belongs to, if the link can still be used.

    Unknown link → NotFoundError (404); already used or the visit already rated (e.g. by phone)
    → ConflictError (409); past its expiry → LinkExpiredError (410).
    """
    digest = token_hash(token)
    visit = session.scalar(
        select(Visit)
        .where(Visit.rating_token_hash == digest)
        .options(selectinload(Visit.provider), selectinload(Visit.caregiver))
    )
    if visit is None:
        used = session.scalar(
            select(SatisfactionRating.id).where(SatisfactionRating.token_hash == digest)
        )
        if used is not None:
            raise _already_rated()
        raise NotFoundError(
            gettext("This rating link is not valid. Please check that the whole address was used.")
        )
    if _rating_of(session, visit.id) is not None:
        raise _already_rated()
    expires_at = visit.rating_token_expires_at
    if expires_at is None or now >= expires_at:
        raise LinkExpiredError(
            gettext(
                "This rating link has expired. You can still tell us about the visit "
                "when our survey staff call you."
            )
        )
    return visit


def submit_rating(
    session: Session, token: str, stars: int, comment: str | None, now: dt.datetime
) -> SatisfactionRating:
    """Record the family's rating through the one-time link; the link stops working."""
    visit = rating_visit_for_token(session, token, now)
    clean_comment = _validated(stars, comment)
    rating = SatisfactionRating(
        visit_id=visit.id,
        stars=stars,
        comment=clean_comment,
        channel=RatingChannel.LINK,
        rated_at=now,
        token_hash=visit.rating_token_hash,
    )
    _insert_once(session, rating)
    visit.rating_token_hash = None
    session.flush()
    return rating


def get_visit_rating(
    session: Session, actor: Actor, visit_id: int
) -> tuple[Visit, SatisfactionRating | None]:
    """A visit for phone-survey staff, with its rating if it has one."""
    actor.require(
        Role.ADMIN, message=lazy_gettext("Only administrators enter phone-survey ratings.")
    )
    visit = session.scalar(
        select(Visit)
        .where(Visit.id == visit_id)
        .options(
            selectinload(Visit.person),
            selectinload(Visit.provider),
            selectinload(Visit.caregiver),
        )
    )
    if visit is None:
        raise NotFoundError(gettext("Visit not found."))
    return visit, _rating_of(session, visit.id)


def record_phone_rating(
    session: Session,
    actor: Actor,
    visit_id: int,
    stars: int,
    comment: str | None,
    now: dt.datetime,
) -> SatisfactionRating:
    """Record a rating given to survey staff over the phone (one per visit, like the link)."""
    visit, existing = get_visit_rating(session, actor, visit_id)
    if visit.status is not VisitStatus.COMPLETED:
        raise ConflictError(gettext("Only a completed visit can be rated."))
    if existing is not None:
        raise _already_rated()
    clean_comment = _validated(stars, comment)
    rating = SatisfactionRating(
        visit_id=visit.id,
        stars=stars,
        comment=clean_comment,
        channel=RatingChannel.PHONE_SURVEY,
        rated_at=now,
        entered_by_id=actor.user_id,
    )
    _insert_once(session, rating)
    record_event(
        session,
        actor,
        "rating.phone_survey",
        "visit",
        visit.id,
        now=now,
        detail={"stars": stars},
    )
    session.flush()
    return rating


@dataclass(frozen=True)
class SatisfactionReport:
    table: SatisfactionTable[int]  # by provider id
    provider_names: dict[int, str]


def satisfaction_report(
    session: Session, actor: Actor, first: dt.date, last: dt.date
) -> SatisfactionReport:
    """The share of 4-5 star ratings by provider and by visit month (administrators; 2 queries).

    Ratings count in the month of their visit; cancelled visits are left out, as in the
    monthly quality evaluation.
    """
    actor.require(Role.ADMIN)
    months = month_range(first, last)
    if not months:
        raise InvalidInputError(
            gettext("The first month must not be after the last."), field="from"
        )
    if len(months) > MAX_REPORT_MONTHS:
        raise InvalidInputError(
            gettext("Choose at most %(count)d months.", count=MAX_REPORT_MONTHS), field="to"
        )
    following = next_month(months[-1])
    rows = session.execute(
        select(Visit.provider_id, Visit.visit_on, SatisfactionRating.stars, func.count())
        .join(SatisfactionRating, SatisfactionRating.visit_id == Visit.id)
        .where(
            Visit.visit_on >= months[0],
            Visit.visit_on < following,
            Visit.status != VisitStatus.CANCELLED,
        )
        .group_by(Visit.provider_id, Visit.visit_on, SatisfactionRating.stars)
        .order_by(Visit.provider_id)
    )
    table = satisfaction_table(
        ((provider_id, day, stars, int(count)) for provider_id, day, stars, count in rows), months
    )
    names: dict[int, str] = {}
    if table.providers:
        rows_by_id = session.execute(
            select(Provider.id, Provider.name).where(Provider.id.in_(table.providers))
        )
        names = {row.id: row.name for row in rows_by_id}
    ordered = tuple(sorted(table.providers, key=lambda pid: (names.get(pid, ""), pid)))
    return SatisfactionReport(SatisfactionTable(months, ordered, table.cells), names)


def _rating_of(session: Session, visit_id: int) -> SatisfactionRating | None:
    return session.scalar(select(SatisfactionRating).where(SatisfactionRating.visit_id == visit_id))


def _validated(stars: int, comment: str | None) -> str | None:
    """The comment to store; raises InvalidInputError for a rating that cannot be recorded."""
    clean_comment = (comment or "").strip() or None
    problems = rating_problems(stars, clean_comment)
    if RatingProblem.STARS_OUT_OF_RANGE in problems:
        raise InvalidInputError(gettext("Choose from 1 to 5 stars."), field="stars")
    if RatingProblem.COMMENT_TOO_LONG in problems:
        raise InvalidInputError(
            gettext("Keep the comment under %(count)d characters.", count=MAX_COMMENT_LENGTH),
            field="comment",
        )
    return clean_comment


def _insert_once(session: Session, rating: SatisfactionRating) -> None:
    """Insert the rating; the unique visit_id makes a concurrent second rating a conflict."""
    try:
        with session.begin_nested():
            session.add(rating)
    except IntegrityError as error:
        raise _already_rated() from error


def _already_rated() -> ConflictError:
    return ConflictError(gettext("This visit has already been rated. Thank you!"))
