"""Services of satisfaction ratings: the one-time link and phone-survey entry."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careapp.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from careapp.models import AuditEvent, RatingChannel, SatisfactionRating, Visit
from careapp.security import token_hash
from careapp.services import ratings as ratings_service
from careapp.services.actor import Actor
from careapp.services.ratings import (
    LinkExpiredError,
    get_visit_rating,
    rating_visit_for_token,
    record_phone_rating,
    submit_rating,
)
from careapp.services.visits import check_in, check_out
from scheduling.visits import VisitStatus
from tests.factories import NOW, CaregiverUserFactory, UserFactory, actor_of, caregiver_visit

WEEK = dt.timedelta(days=7)
LATER = NOW + dt.timedelta(days=1)


def completed_visit(session: Session) -> tuple[Visit, str]:
    """A visit checked in and out through the services, and its plain rating token."""
    caregiver = CaregiverUserFactory()
    assert caregiver.user is not None
    actor = actor_of(caregiver.user)
    visit = caregiver_visit(caregiver)
    check_in(session, actor, visit.id, 32.0, 120.86, None, NOW)
    token = check_out(session, actor, visit.id, ["bathing"], None, None, None, NOW, valid_for=WEEK)
    return visit, token


def rating_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(SatisfactionRating))


def test_rating_visit_for_token_finds_the_visit(db_session: Session) -> None:
    visit, token = completed_visit(db_session)
    assert rating_visit_for_token(db_session, token, LATER) is visit


def test_rating_visit_for_token_unknown_is_not_found(db_session: Session) -> None:
    completed_visit(db_session)
    with pytest.raises(NotFoundError) as caught:
        rating_visit_for_token(db_session, "no-such-token", LATER)
    assert caught.value.status_code == 404


def test_rating_visit_for_token_expires(db_session: Session) -> None:
    _visit, token = completed_visit(db_session)
    rating_visit_for_token(db_session, token, NOW + WEEK - dt.timedelta(seconds=1))
    with pytest.raises(LinkExpiredError) as caught:
        rating_visit_for_token(db_session, token, NOW + WEEK)
    assert caught.value.status_code == 410
    assert caught.value.message


def test_rating_visit_for_token_without_expiry_is_expired(db_session: Session) -> None:
    visit, token = completed_visit(db_session)
    visit.rating_token_expires_at = None
    with pytest.raises(LinkExpiredError):
        rating_visit_for_token(db_session, token, LATER)


def test_submit_rating_records_once_and_the_link_stops_working(db_session: Session) -> None:
    visit, token = completed_visit(db_session)

    rating = submit_rating(db_session, token, 5, "  护理员很细心  ", LATER)

    assert rating.visit_id == visit.id
    assert rating.stars == 5
    assert rating.comment == "护理员很细心"
    assert rating.channel is RatingChannel.LINK
    assert rating.rated_at == LATER
    assert rating.entered_by_id is None
    assert visit.rating_token_hash is None
    assert rating.token_hash == token_hash(token)

    with pytest.raises(ConflictError) as caught:
        submit_rating(db_session, token, 1, None, LATER)
    assert caught.value.status_code == 409
    assert rating_count(db_session) == 1
    assert db_session.scalar(select(SatisfactionRating.stars)) == 5


def test_submit_rating_after_expiry_writes_nothing(db_session: Session) -> None:
    visit, token = completed_visit(db_session)
    with pytest.raises(LinkExpiredError):
        submit_rating(db_session, token, 5, None, NOW + WEEK + dt.timedelta(minutes=1))
    assert rating_count(db_session) == 0
    assert visit.rating_token_hash == token_hash(token)


def test_submit_rating_with_an_unknown_token_is_not_found(db_session: Session) -> None:
    with pytest.raises(NotFoundError):
        submit_rating(db_session, "unknown", 5, None, LATER)
    assert rating_count(db_session) == 0


@pytest.mark.parametrize(
    ("stars", "comment", "field"),
    [(0, None, "stars"), (6, None, "stars"), (4, "好" * 501, "comment")],
)
def test_submit_rating_refuses_bad_input_and_writes_nothing(
    db_session: Session, stars: int, comment: str | None, field: str
) -> None:
    visit, token = completed_visit(db_session)
    with pytest.raises(InvalidInputError) as caught:
        submit_rating(db_session, token, stars, comment, LATER)
    assert caught.value.field == field
    assert rating_count(db_session) == 0
    assert visit.rating_token_hash == token_hash(token)  # the family can try again


def test_submit_rating_blank_comment_is_none(db_session: Session) -> None:
    _visit, token = completed_visit(db_session)
    assert submit_rating(db_session, token, 3, "   ", LATER).comment is None


def test_submit_rating_race_is_a_conflict_backed_by_the_unique_visit(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request rated the visit between our check and our insert."""
    visit, token = completed_visit(db_session)
    db_session.add(
        SatisfactionRating(
            visit_id=visit.id, stars=2, channel=RatingChannel.PHONE_SURVEY, rated_at=NOW
        )
    )
    db_session.flush()
    monkeypatch.setattr(ratings_service, "_rating_of", lambda _session, _visit_id: None)

    with pytest.raises(ConflictError):
        submit_rating(db_session, token, 5, None, LATER)

    assert db_session.scalars(select(SatisfactionRating.stars)).all() == [2]
    assert visit.rating_token_hash == token_hash(token)  # the session is still usable


def test_record_phone_rating_by_survey_staff(db_session: Session, admin_actor: Actor) -> None:
    visit, token = completed_visit(db_session)

    rating = record_phone_rating(db_session, admin_actor, visit.id, 4, "电话回访：满意", LATER)

    assert rating.channel is RatingChannel.PHONE_SURVEY
    assert rating.entered_by_id == admin_actor.user_id
    assert rating.token_hash is None
    assert get_visit_rating(db_session, admin_actor, visit.id) == (visit, rating)
    audit = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "rating.phone_survey"))
    assert audit is not None
    assert audit.object_id == visit.id
    # The family's link now says "already rated" instead of recording a second rating.
    with pytest.raises(ConflictError):
        rating_visit_for_token(db_session, token, LATER)
    with pytest.raises(ConflictError):
        record_phone_rating(db_session, admin_actor, visit.id, 5, None, LATER)
    assert rating_count(db_session) == 1


def test_record_phone_rating_only_for_completed_visits(
    db_session: Session, admin_actor: Actor
) -> None:
    visit = caregiver_visit(CaregiverUserFactory())
    with pytest.raises(ConflictError):
        record_phone_rating(db_session, admin_actor, visit.id, 4, None, LATER)
    assert visit.status is VisitStatus.ASSIGNED
    assert rating_count(db_session) == 0


def test_record_phone_rating_refuses_bad_stars(db_session: Session, admin_actor: Actor) -> None:
    visit, _token = completed_visit(db_session)
    with pytest.raises(InvalidInputError):
        record_phone_rating(db_session, admin_actor, visit.id, 7, None, LATER)
    assert rating_count(db_session) == 0


def test_record_phone_rating_unknown_visit(db_session: Session, admin_actor: Actor) -> None:
    with pytest.raises(NotFoundError):
        record_phone_rating(db_session, admin_actor, 10**9, 4, None, LATER)


@pytest.mark.parametrize("trait", ["manager", "assessor", "caregiver"])
def test_record_phone_rating_is_for_admins_only(db_session: Session, trait: str) -> None:
    visit, _token = completed_visit(db_session)
    staff = actor_of(UserFactory(**{trait: True}))
    with pytest.raises(PermissionDeniedError):
        record_phone_rating(db_session, staff, visit.id, 4, None, LATER)
    assert rating_count(db_session) == 0
