"""Read a day's stored roster back with plain SQL and check it (`careapp validate-roster`).

Independent of the dispatcher and of the ORM models' behaviour: two SELECTs, the values turned
into `scheduling.stored_roster` inputs, the pure check. Used by the command and by
`benchmarks/city_day.py`; works on any database URL (SQLite or PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Integer, String, Time, text
from sqlalchemy.types import TypeEngine

from careapp.core.clock import city_datetime
from careapp.db import UTCDateTime
from scheduling.stored_roster import RosterCheck, StoredCaregiver, StoredVisit, check_stored_roster
from scheduling.types import Location

_VISITS_SQL = """
    SELECT v.id, v.provider_id, v.status, v.caregiver_id, v.window_start, v.window_end,
           v.duration_minutes, v.required_qualifications, v.planned_start, v.planned_end,
           v.route_order, v.travel_minutes, v.unassigned_reason,
           p.home_lat, p.home_lon, d.kind
    FROM visits AS v
    JOIN people AS p ON p.id = v.person_id
    JOIN districts AS d ON d.code = p.district_code
    WHERE v.visit_on = :day {provider_clause}
    ORDER BY v.id
    """
_VISITS_COLUMNS: dict[str, TypeEngine[Any]] = {
    "window_start": UTCDateTime(),
    "window_end": UTCDateTime(),
    "planned_start": UTCDateTime(),
    "planned_end": UTCDateTime(),
    "required_qualifications": JSON(),
    "kind": String(),
}
_CAREGIVERS_SQL = """
    SELECT c.id, c.provider_id, c.qualifications, c.work_days, c.work_start, c.work_end,
           c.base_lat, c.base_lon, c.max_visits_per_day, c.is_enabled
    FROM caregivers AS c
    WHERE c.id IN (
        SELECT v.caregiver_id FROM visits AS v
        WHERE v.visit_on = :day AND v.caregiver_id IS NOT NULL
          {provider_clause}
    )
    ORDER BY c.id
    """
_CAREGIVERS_COLUMNS: dict[str, TypeEngine[Any]] = {
    "qualifications": JSON(),
    "work_days": JSON(),
    "work_start": Time(),
    "work_end": Time(),
    "max_visits_per_day": Integer(),
}


@dataclass(frozen=True)
class StoredRosterReport:
    day: dt.date
    check: RosterCheck
    visits: int

    @property
    def violations(self) -> int:
        return len(self.check.violations)

    def lines(self, limit: int = 20) -> list[str]:
        check = self.check
        lines = [
            f"roster {self.day}: {self.visits} visits, {check.assigned} assigned, "
            f"{check.unassigned} unassigned",
        ]
        for reason, count in sorted(check.unassigned_by_reason.items()):
            lines.append(f"  unassigned {reason}: {count}")
        for status, count in sorted(check.other_statuses.items()):
            lines.append(f"  {status}: {count}")
        if not check.violations:
            lines.append("every hard rule holds")
            return lines
        lines.append(f"{self.violations} VIOLATIONS")
        for rule, count in sorted(check.violations_by_rule.items()):
            lines.append(f"  {rule}: {count}")
        for violation in check.violations[:limit]:
            lines.append(
                f"  {violation.rule} visit={violation.visit_id} caregiver={violation.caregiver_id}"
            )
        return lines


def load_stored_roster(
    connection: Connection, day: dt.date, provider_id: int | None = None
) -> tuple[list[StoredVisit], list[StoredCaregiver]]:
    clause = "" if provider_id is None else "AND v.provider_id = :provider_id"
    params: dict[str, object] = {"day": day}
    if provider_id is not None:
        params["provider_id"] = provider_id
    visits_sql = text(_VISITS_SQL.format(provider_clause=clause)).columns(**_VISITS_COLUMNS)
    caregivers_sql = text(_CAREGIVERS_SQL.format(provider_clause=clause)).columns(
        **_CAREGIVERS_COLUMNS
    )
    visits = [
        StoredVisit(
            visit_id=row.id,
            provider_id=row.provider_id,
            status=row.status,
            caregiver_id=row.caregiver_id,
            window_start=row.window_start,
            window_end=row.window_end,
            duration_minutes=row.duration_minutes,
            required_qualifications=frozenset(row.required_qualifications or ()),
            location=(
                Location(row.home_lat, row.home_lon)
                if row.home_lat is not None and row.home_lon is not None
                else None
            ),
            district_kind=row.kind,
            planned_start=row.planned_start,
            planned_end=row.planned_end,
            route_order=row.route_order,
            travel_minutes=row.travel_minutes,
            unassigned_reason=row.unassigned_reason,
        )
        for row in connection.execute(visits_sql, params)
    ]
    caregivers = [
        StoredCaregiver(
            caregiver_id=row.id,
            provider_id=row.provider_id,
            qualifications=frozenset(row.qualifications or ()),
            works_today=day.isoweekday() in (row.work_days or ()),
            shift_start=city_datetime(day, row.work_start),
            shift_end=city_datetime(day, row.work_end),
            base=Location(row.base_lat, row.base_lon),
            max_visits=row.max_visits_per_day,
            is_enabled=bool(row.is_enabled),
        )
        for row in connection.execute(caregivers_sql, params)
    ]
    return visits, caregivers


def check_stored_roster_on(
    connection: Connection,
    day: dt.date,
    speeds_kmh: Mapping[str, float],
    *,
    provider_id: int | None = None,
) -> StoredRosterReport:
    visits, caregivers = load_stored_roster(connection, day, provider_id)
    return StoredRosterReport(day, check_stored_roster(visits, caregivers, speeds_kmh), len(visits))


def check_stored_roster_db(
    engine: Engine,
    day: dt.date,
    speeds_kmh: Mapping[str, float],
    *,
    provider_id: int | None = None,
) -> StoredRosterReport:
    """Check the roster of `day` stored in the database behind `engine` (read only)."""
    with engine.connect() as connection:
        return check_stored_roster_on(connection, day, speeds_kmh, provider_id=provider_id)
