"""Roster exports: CSV for Excel, the caregiver's iCalendar feed, the PDF day sheet, the map."""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET

import icalendar
import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from careapp.core.clock import city_datetime
from careapp.core.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from careapp.models import AuditEvent, CalendarFeed, Caregiver, Provider, Role, User, Visit
from careapp.reports.spreadsheet import excel_csv, safe_cell
from careapp.security import token_hash
from careapp.services.actor import Actor
from careapp.services.rosters import (
    calendar_feed,
    caregiver_route_map,
    create_calendar_feed,
    day_sheet_pdf,
    has_calendar_feed,
    revoke_calendar_feed,
    roster_csv,
)
from careapp.web.labels import unassigned_reason_label, visit_status_label
from scheduling.visits import VisitStatus
from tests.factories import (
    NOW,
    TODAY,
    CaregiverFactory,
    CaregiverUserFactory,
    UserFactory,
    VisitFactory,
    actor_of,
    provider_care_plan,
)

DAY = TODAY + dt.timedelta(days=1)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return city_datetime(DAY, dt.time(hour, minute))


def booked(caregiver: Caregiver, start: dt.datetime, name: str = "张三丰") -> Visit:
    visit: Visit = VisitFactory(
        care_plan=provider_care_plan(caregiver.provider),
        visit_on=start.date(),
        caregiver=caregiver,
        planned_start=start,
        planned_end=start + dt.timedelta(minutes=60),
        route_order=1,
        travel_minutes=3,
        status=VisitStatus.ASSIGNED,
    )
    visit.person.name = name
    return visit


# --- CSV ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+86 138", "'+86 138"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("张三", "张三"),
        ("a=b", "a=b"),
        (None, ""),
        (-5, "-5"),
    ],
)
def test_safe_cell_neutralises_formula_cells(value: str | int | None, cell: str) -> None:
    assert safe_cell(value) == cell


def test_excel_csv_is_utf8_with_bom_and_crlf() -> None:
    body = excel_csv(["姓名"], [["张*"], ["=cmd"]])
    assert body.startswith(b"\xef\xbb\xbf")
    assert body.decode("utf-8-sig") == "姓名\r\n张*\r\n'=cmd\r\n"


def test_roster_csv_exports_masked_rows_for_excel_and_audits_it(
    db_session: Session, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider, name="+王护理")
    visit = booked(nurse, at(9, 0), name="=HYPERLINK(1)")
    left = VisitFactory(
        care_plan=provider_care_plan(provider), visit_on=DAY, unassigned_reason="no_time_in_window"
    )
    left.person.name = "李四"
    with force_locale("en"):
        body = roster_csv(
            db_session,
            actor_of(manager),
            DAY,
            DAY,
            NOW,
            status_label=visit_status_label,
            reason_label=unassigned_reason_label,
        )
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0].startswith("Date,Caregiver,Order,Start,End,Travel (min),Beneficiary,Area")
    assert lines[1].startswith(f"{DAY.isoformat()},'+王护理,1,09:00,10:00,3,'=************,")
    assert "Chongchuan District 和平桥街道" in lines[1]
    assert lines[2].startswith(f"{DAY.isoformat()},,,09:00,11:00,,李*,")
    assert "No qualified caregiver is free in the time window." in lines[2]
    for secret in (visit.person.id_number_masked, left.person.address, "李四", "13800000000"):
        assert secret not in text
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "roster.export_csv"))
    assert event is not None


def test_roster_csv_limits_the_span_and_the_role(
    db_session: Session, provider: Provider, manager: User
) -> None:
    with pytest.raises(InvalidInputError):
        roster_csv(
            db_session,
            actor_of(manager),
            DAY,
            DAY + dt.timedelta(days=31),
            NOW,
            status_label=visit_status_label,
            reason_label=unassigned_reason_label,
        )
    with pytest.raises(InvalidInputError):
        roster_csv(
            db_session,
            actor_of(manager),
            DAY,
            DAY - dt.timedelta(days=1),
            NOW,
            status_label=visit_status_label,
            reason_label=unassigned_reason_label,
        )
    admin = Actor(user_id=1, role=Role.ADMIN)
    with pytest.raises(PermissionDeniedError):
        roster_csv(
            db_session,
            admin,
            DAY,
            DAY,
            NOW,
            status_label=visit_status_label,
            reason_label=unassigned_reason_label,
        )


# --- iCalendar --------------------------------------------------------------------------------


def _events(feed: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(feed).walk("VEVENT"))


def test_calendar_feed_holds_the_caregivers_own_visits_in_city_time(
    db_session: Session, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider, name="王护理")
    visit = booked(nurse, at(9, 0))
    booked(CaregiverFactory(provider=provider), at(9, 0), name="别人")
    booked(nurse, city_datetime(DAY + dt.timedelta(days=90), dt.time(9)))  # too far ahead
    token = create_calendar_feed(db_session, actor_of(manager), nurse.id, NOW)
    assert db_session.scalar(select(CalendarFeed.token_hash)) == token_hash(token)
    with force_locale("zh"):
        feed = calendar_feed(db_session, token, NOW)
    calendar = icalendar.Calendar.from_ical(feed)
    [zone] = calendar.walk("VTIMEZONE")
    assert zone["TZID"] == "Asia/Shanghai"
    [event] = _events(feed)
    assert str(event["UID"]) == f"visit-{visit.id}@careapp"
    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert event.decoded("DTSTART") == at(9, 0)
    assert event.decoded("DTEND") == at(10, 0)
    assert str(event["SUMMARY"]) == "张** · 助浴"
    assert str(event["LOCATION"]) == "崇川区 和平桥街道"
    raw = feed.decode()
    for secret in ("张三丰", "别人", visit.person.address, visit.person.id_number_masked):
        assert secret not in raw
    assert "DTSTART;TZID=Asia/Shanghai:20261124T090000" in raw


def test_calendar_feed_keeps_a_visits_uid_when_it_moves(
    db_session: Session, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider)
    visit = booked(nurse, at(9, 0))
    token = create_calendar_feed(db_session, actor_of(manager), nurse.id, NOW)
    before = _events(calendar_feed(db_session, token, NOW))
    visit.planned_start, visit.planned_end = at(14, 0), at(15, 0)
    db_session.flush()
    after = _events(calendar_feed(db_session, token, NOW + dt.timedelta(hours=1)))
    assert [str(e["UID"]) for e in before] == [str(e["UID"]) for e in after]
    assert after[0].decoded("DTSTART") == at(14, 0)


def test_calendar_links_are_revocable_and_a_new_one_replaces_the_old(
    db_session: Session, provider: Provider, manager: User
) -> None:
    nurse = CaregiverFactory(provider=provider)
    first = create_calendar_feed(db_session, actor_of(manager), nurse.id, NOW)
    second = create_calendar_feed(db_session, actor_of(manager), nurse.id, NOW)
    assert first != second
    with pytest.raises(NotFoundError):
        calendar_feed(db_session, first, NOW)
    assert calendar_feed(db_session, second, NOW).startswith(b"BEGIN:VCALENDAR")
    assert has_calendar_feed(db_session, actor_of(manager), nurse.id)
    assert revoke_calendar_feed(db_session, actor_of(manager), nurse.id, NOW) == 1
    assert not has_calendar_feed(db_session, actor_of(manager), nurse.id)
    with pytest.raises(NotFoundError):
        calendar_feed(db_session, second, NOW)
    with pytest.raises(NotFoundError):
        calendar_feed(db_session, "never-issued", NOW)


def test_a_caregiver_manages_their_own_calendar_link_only(
    db_session: Session, provider: Provider
) -> None:
    nurse = CaregiverUserFactory(provider=provider)
    colleague = CaregiverFactory(provider=provider)
    me = actor_of(nurse.user)
    token = create_calendar_feed(db_session, me, nurse.id, NOW)
    assert b"BEGIN:VTIMEZONE" in calendar_feed(db_session, token, NOW)  # empty, still zoned
    with pytest.raises(NotFoundError):
        create_calendar_feed(db_session, me, colleague.id, NOW)
    stranger = UserFactory(manager=True)  # another company's manager
    with pytest.raises(NotFoundError):
        revoke_calendar_feed(db_session, actor_of(stranger), nurse.id, NOW)
    with pytest.raises(PermissionDeniedError):
        create_calendar_feed(db_session, Actor(user_id=1, role=Role.ADMIN), nurse.id, NOW)


# --- PDF day sheet and map ------------------------------------------------------------------


def _pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_day_sheet_pdf_prints_each_route_with_chinese_names(
    db_session: Session, provider: Provider, manager: User
) -> None:
    wang = CaregiverFactory(provider=provider, name="王护理")
    li = CaregiverFactory(provider=provider, name="李护理")
    booked(wang, at(9, 0), name="张三丰")
    VisitFactory(care_plan=provider_care_plan(provider), visit_on=DAY).person.name = "赵六"
    with force_locale("zh"):
        company = day_sheet_pdf(
            db_session,
            actor_of(manager),
            DAY,
            None,
            NOW,
            status_label=visit_status_label,
            reason_label=unassigned_reason_label,
        )
        one = day_sheet_pdf(
            db_session,
            actor_of(manager),
            DAY,
            wang.id,
            NOW,
            status_label=visit_status_label,
            reason_label=unassigned_reason_label,
        )
    assert company.startswith(b"%PDF")
    text = _pdf_text(company)
    for expected in ("王护理", "李护理", "张三丰", "赵六", "崇川居家照护", "09:00–10:00"):
        assert expected in text
    assert len(PdfReader(io.BytesIO(company)).pages) == 3  # 王, 李, unassigned
    single = _pdf_text(one)
    assert "王护理" in single
    assert "李护理" not in single
    assert li.name not in single
    with pytest.raises(NotFoundError):
        day_sheet_pdf(
            db_session,
            actor_of(manager),
            DAY,
            CaregiverFactory().id,
            NOW,
            status_label=visit_status_label,
            reason_label=unassigned_reason_label,
        )


def test_caregiver_route_map_is_wellformed_svg_for_own_company_only(
    db_session: Session, provider: Provider, manager: User
) -> None:
    nurse = CaregiverUserFactory(provider=provider, name="王护理")
    booked(nurse, at(9, 0))
    booked(nurse, at(11, 0))
    svg = caregiver_route_map(db_session, actor_of(manager), nurse.id, DAY)
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(list(root.iter("{http://www.w3.org/2000/svg}circle"))) == 2
    assert caregiver_route_map(db_session, actor_of(nurse.user), nurse.id, DAY) == svg
    with pytest.raises(NotFoundError):
        caregiver_route_map(db_session, actor_of(UserFactory(manager=True)), nurse.id, DAY)
    other = CaregiverUserFactory(provider=provider)
    with pytest.raises(NotFoundError):
        caregiver_route_map(db_session, actor_of(other.user), nurse.id, DAY)
