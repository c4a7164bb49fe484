"""The administrators' visit list: every visit of the city, filtered by person, provider,
caregiver, date and status, a page at a time, with what the phone survey needs (is it rated?).

Names are masked as on the claim pages; a page is one query for its rows (people, providers and
caregivers eager-loaded, the rating joined) plus one for the provider choices.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from careapp.core.identity import mask_name
from careapp.models.people import Person
from careapp.models.providers import Caregiver, Provider
from careapp.models.rating import SatisfactionRating
from careapp.models.users import Role
from careapp.models.visit import Visit
from careapp.services.actor import Actor
from scheduling.visits import VisitStatus

MAX_PAGE_SIZE = 100


class RatingFilter(enum.StrEnum):
    """Whether the visit has a satisfaction rating (a phone survey looks for TO_RATE)."""

    TO_RATE = "to_rate"  # completed and not yet rated
    RATED = "rated"


@dataclass(frozen=True)
class VisitFilter:
    person_name: str | None = None  # part of the beneficiary's name
    provider_id: int | None = None
    caregiver_name: str | None = None  # part of the caregiver's name
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    status: VisitStatus | None = None
    rating: RatingFilter | None = None


@dataclass(frozen=True)
class VisitRow:
    visit: Visit
    beneficiary_name: str  # masked
    caregiver_name: str | None  # masked
    provider_name: str
    rating_stars: int | None

    @property
    def can_rate_by_phone(self) -> bool:
        """The phone-survey form would accept a rating (completed, not rated yet)."""
        return self.visit.status is VisitStatus.COMPLETED and self.rating_stars is None


@dataclass(frozen=True)
class VisitPage:
    rows: list[VisitRow]
    offset: int
    limit: int
    has_more: bool


def search_visits(
    session: Session,
    actor: Actor,
    filters: VisitFilter,
    *,
    offset: int = 0,
    limit: int = 50,
) -> VisitPage:
    """Visits matching every filter given, the latest first (administrators only)."""
    actor.require(Role.ADMIN)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    offset = max(0, offset)
    query = select(Visit, SatisfactionRating.stars).outerjoin(
        SatisfactionRating, SatisfactionRating.visit_id == Visit.id
    )
    if filters.person_name:
        query = query.where(
            Visit.person.has(Person.name.contains(filters.person_name, autoescape=True))
        )
    if filters.provider_id is not None:
        query = query.where(Visit.provider_id == filters.provider_id)
    if filters.caregiver_name:
        query = query.where(
            Visit.caregiver.has(Caregiver.name.contains(filters.caregiver_name, autoescape=True))
        )
    if filters.first_day is not None:
        query = query.where(Visit.visit_on >= filters.first_day)
    if filters.last_day is not None:
        query = query.where(Visit.visit_on <= filters.last_day)
    if filters.status is not None:
        query = query.where(Visit.status == filters.status)
    if filters.rating is RatingFilter.TO_RATE:
        query = query.where(Visit.status == VisitStatus.COMPLETED, SatisfactionRating.id.is_(None))
    elif filters.rating is RatingFilter.RATED:
        query = query.where(SatisfactionRating.id.is_not(None))
    query = (
        query.options(
            joinedload(Visit.person), joinedload(Visit.provider), joinedload(Visit.caregiver)
        )
        .order_by(Visit.visit_on.desc(), Visit.window_start.desc(), Visit.id.desc())
        .offset(offset)
        .limit(limit + 1)
    )
    found = session.execute(query).all()
    rows = [
        VisitRow(
            visit=visit,
            beneficiary_name=mask_name(visit.person.name),
            caregiver_name=mask_name(visit.caregiver.name) if visit.caregiver else None,
            provider_name=visit.provider.name,
            rating_stars=stars,
        )
        for visit, stars in found[:limit]
    ]
    return VisitPage(rows=rows, offset=offset, limit=limit, has_more=len(found) > limit)


def visit_filter_providers(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """The providers the list can be filtered by."""
    actor.require(Role.ADMIN)
    rows = session.execute(select(Provider.id, Provider.name).order_by(Provider.name, Provider.id))
    return [(provider_id, name) for provider_id, name in rows]
