"""One city day: from the database through the dispatcher back to the database, measured.

For each database asked for (a throwaway PostgreSQL database it creates and drops, and/or a
temporary SQLite file) it:

1. builds the schema and writes the city with the seeded generator (`careapp.demo.city`: 40
   providers, 3,000 caregivers, care plans making 10,000 home visits due on the day);
2. turns the care plans into the day's visits (`generate_visits`) and commits;
3. dispatches the day through the real service (`careapp.services.dispatch.dispatch_visits`)
   and commits, timing the phases: **load** (read visits, caregivers and history, build the
   solver's input), **solve** (the dispatcher), **store** (write assignments, route order,
   travel and reasons, the run and its audit row, commit);
4. checks the stored roster with the INDEPENDENT validator
   (`careapp.services.roster_check`: plain SQL, every hard rule) and counts the visits assigned
   and unassigned by reason.

With ``--workers N`` (N > 1) the service itself solves each day's providers in N processes
(`scheduling.parallel`, the `DISPATCH_WORKERS` setting of the nightly job); the phases are then
not split, only the dispatch total is measured.

    .venv/bin/python benchmarks/city_day.py --database postgresql --database sqlite \
        --dispatcher routing --time-limit 3 --workers 2 --out /tmp/city_day.md

Not a test. Peak memory is the process's maxrss (and its pool children's) from getrusage;
``--tracemalloc`` adds the Python heap peak (slower).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from careapp import create_app
from careapp.config import Config
from scheduling.types import (
    CaregiverDay,
    DispatchResult,
    VisitRequest,
)

CITY_TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SPEEDS = dict(Config.TRAVEL_SPEED_KMH)


# -- dispatchers -----------------------------------------------------------------------------


def make_dispatcher(name: str, time_limit: float | None, seed: int) -> Any:
    """The dispatcher to measure: "greedy", or "routing" (the routing solver, when present)."""
    dispatch = importlib.import_module("scheduling.dispatch")
    if name == "greedy":
        return dispatch.GreedyDispatcher()
    routing = importlib.import_module("scheduling.routing")
    service = importlib.import_module("careapp.services.dispatch")
    options: dict[str, Any] = {"seed": getattr(service, "DISPATCH_SEED", seed)}
    patience = getattr(service, "DISPATCH_PATIENCE_ITERATIONS", None)
    if patience is not None:  # as the service builds it (stop early when no better roster)
        options["patience"] = patience
    return routing.RoutingDispatcher(time_limit, **options)


class TimedDispatcher:
    """Wraps a dispatcher and records when each solve started and ended."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[float, float, int]] = []
        self.cpu_s = 0.0  # process CPU time inside solve()

    def solve(
        self,
        visits: Sequence[VisitRequest],
        caregivers: Sequence[CaregiverDay],
        speeds_kmh: Mapping[str, float],
    ) -> DispatchResult:
        started, cpu = time.perf_counter(), time.process_time()
        result: DispatchResult = self.inner.solve(visits, caregivers, speeds_kmh)
        self.calls.append((started, time.perf_counter(), len(visits)))
        self.cpu_s += time.process_time() - cpu
        return result


# -- databases -------------------------------------------------------------------------------


@dataclass
class Throwaway:
    url: str
    drop: Any  # callable


def throwaway_database(kind: str, admin_url: str, keep: bool) -> Throwaway:
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="careapp-city-"))
        path = folder / "city.sqlite"

        def drop_file() -> None:
            if not keep:
                for file in folder.iterdir():
                    file.unlink()
                folder.rmdir()

        return Throwaway(f"sqlite+pysqlite:///{path}", drop_file)
    name = f"careapp_city_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop_database() -> None:
        if not keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return Throwaway(url, drop_database)


# -- the run ---------------------------------------------------------------------------------


def cpu_seconds() -> float:
    """User + system CPU of this process and of its waited-for children so far."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def maxrss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


@dataclass
class Measurement:
    database: str
    dispatcher: str
    time_limit: float | None
    workers: int
    seed: int
    day: str
    seed_s: float = 0.0
    generate_s: float = 0.0
    load_s: float = 0.0
    solve_s: float = 0.0
    solve_cpu_s: float = 0.0
    store_s: float = 0.0
    dispatch_total_s: float = 0.0
    dispatch_cpu_s: float = 0.0  # CPU of this process and its pool children during dispatch
    validate_s: float = 0.0
    maxrss_mb: float = 0.0
    children_maxrss_mb: float = 0.0
    tracemalloc_peak_mb: float | None = None
    providers: int = 0
    caregivers: int = 0
    care_plans: int = 0
    visits: int = 0
    assigned: int = 0
    unassigned_by_reason: dict[str, int] = field(default_factory=dict)
    violations: int = 0
    violations_by_rule: dict[str, int] = field(default_factory=dict)
    largest_provider_visits: int = 0


def run(kind: str, args: argparse.Namespace) -> Measurement:
    from careapp import db
    from careapp.db import Base
    from careapp.demo.city import CitySize, seed_city
    from careapp.jobs.scheduled import SCHEDULER_ACTOR
    from careapp.models import DispatchRun, Visit
    from careapp.security import DataProtector, new_data_key
    from careapp.services.dispatch import dispatch_visits, generate_visits
    from careapp.services.roster_check import check_stored_roster_db

    day = args.day
    # The nightly run: 01:00 in the city on the day before.
    now = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(1), tzinfo=CITY_TZ)
    measurement = Measurement(
        kind, args.dispatcher, args.time_limit, args.workers, args.seed, day.isoformat()
    )
    target = throwaway_database(kind, args.pg_admin_url, args.keep)
    try:
        os.environ["CAREAPP_DATABASE_URL"] = target.url

        class BenchConfig(Config):
            SECRET_KEY = "benchmark"  # noqa: S105 - a throwaway database's app
            DATA_KEY = new_data_key()
            DATABASE_URL = target.url

        app = create_app(BenchConfig)
        engine = app.extensions["careapp.engine"]
        Base.metadata.create_all(engine)
        started = time.perf_counter()
        with engine.begin() as connection:
            summary = seed_city(
                connection,
                DataProtector(BenchConfig.DATA_KEY),
                day=day,
                now=now,
                size=CitySize(args.providers, args.caregivers, args.visits),
                seed=args.seed,
            )
        measurement.seed_s = time.perf_counter() - started
        measurement.providers = summary.providers
        measurement.caregivers = summary.caregivers
        measurement.care_plans = summary.care_plans
        print(f"[{kind}] seeded in {measurement.seed_s:.1f} s: {summary}", flush=True)

        with app.app_context():
            session = db.session()
            started = time.perf_counter()
            generate_visits(session, day, day)
            session.commit()
            measurement.generate_s = time.perf_counter() - started
            measurement.visits = (
                session.scalar(select(func.count()).select_from(Visit).where(Visit.visit_on == day))
                or 0
            )
            session.close()

        if args.tracemalloc:
            tracemalloc.start()
        cpu_before = cpu_seconds()
        if args.workers > 1:
            _dispatch_with_workers(
                app, day, now, args, measurement, dispatch_visits, SCHEDULER_ACTOR
            )
        else:
            _dispatch_in_process(app, day, now, args, measurement, dispatch_visits, SCHEDULER_ACTOR)
        measurement.dispatch_cpu_s = cpu_seconds() - cpu_before
        if args.tracemalloc:
            measurement.tracemalloc_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        measurement.maxrss_mb = maxrss_mb()
        measurement.children_maxrss_mb = maxrss_mb(resource.RUSAGE_CHILDREN)

        with app.app_context():
            run_row = db.session().scalars(select(DispatchRun).order_by(DispatchRun.id)).all()[-1]
            print(
                f"[{kind}] dispatch run {run_row.id}: {run_row.visits_assigned} assigned, "
                f"{run_row.visits_unassigned} unassigned (the service's own count)",
                flush=True,
            )
        started = time.perf_counter()
        report = check_stored_roster_db(engine, day, SPEEDS)
        measurement.validate_s = time.perf_counter() - started
        measurement.assigned = report.check.assigned
        measurement.unassigned_by_reason = report.check.unassigned_by_reason
        measurement.violations = report.violations
        measurement.violations_by_rule = report.check.violations_by_rule
        for line in report.lines():
            print(f"[{kind}] {line}", flush=True)
        m = measurement
        print(
            f"[{kind}] generate {m.generate_s:.1f} s, load {m.load_s:.1f} s, "
            f"solve {m.solve_s:.1f} s (cpu {m.solve_cpu_s:.1f} s), store {m.store_s:.1f} s, "
            f"dispatch total {m.dispatch_total_s:.1f} s (cpu {m.dispatch_cpu_s:.1f} s), "
            f"validate {m.validate_s:.1f} s, "
            f"maxrss {m.maxrss_mb:.0f} MB (children {m.children_maxrss_mb:.0f} MB)",
            flush=True,
        )
        engine.dispose()
    finally:
        target.drop()
    return measurement


def _dispatch_in_process(
    app: Any,
    day: dt.date,
    now: dt.datetime,
    args: argparse.Namespace,
    measurement: Measurement,
    dispatch_visits: Any,
    actor: Any,
) -> None:
    from careapp import db

    timed = TimedDispatcher(make_dispatcher(args.dispatcher, args.time_limit, args.seed))
    with app.app_context():
        session = db.session()
        started = time.perf_counter()
        dispatch_visits(session, actor, day, day, now, SPEEDS, dispatcher=timed)
        session.commit()
        finished = time.perf_counter()
        session.close()
    calls = timed.calls
    measurement.dispatch_total_s = finished - started
    measurement.solve_s = sum(end - begin for begin, end, _ in calls)
    measurement.solve_cpu_s = timed.cpu_s
    measurement.load_s = (calls[0][0] if calls else finished) - started
    measurement.store_s = measurement.dispatch_total_s - measurement.load_s - measurement.solve_s
    measurement.largest_provider_visits = max((n for _, _, n in calls), default=0)


def _dispatch_with_workers(
    app: Any,
    day: dt.date,
    now: dt.datetime,
    args: argparse.Namespace,
    measurement: Measurement,
    dispatch_visits: Any,
    actor: Any,
) -> None:
    """The service's own pool (`workers=`), as the nightly job runs it: phases are not split."""
    from careapp import db

    dispatcher = make_dispatcher(args.dispatcher, args.time_limit, args.seed)
    with app.app_context():
        session = db.session()
        started = time.perf_counter()
        dispatch_visits(
            session, actor, day, day, now, SPEEDS, dispatcher=dispatcher, workers=args.workers
        )
        session.commit()
        measurement.dispatch_total_s = time.perf_counter() - started
        session.close()


# -- report ----------------------------------------------------------------------------------


def markdown(measurements: list[Measurement]) -> str:
    lines = [
        "| database | dispatcher | workers | visits | load s | solve s (cpu) | store s | "
        "dispatch total s (cpu) | maxrss MB (children) | assigned | unassigned by reason "
        "| violations |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in measurements:
        budget = (
            f" {m.time_limit:g} s/provider" if m.time_limit and m.dispatcher != "greedy" else ""
        )
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(m.unassigned_by_reason.items())) or "—"
        lines.append(
            f"| {m.database} | {m.dispatcher}{budget} | {m.workers} | {m.visits} | "
            f"{m.load_s:.1f} | {m.solve_s:.1f} ({m.solve_cpu_s:.1f}) | {m.store_s:.1f} | "
            f"{m.dispatch_total_s:.1f} ({m.dispatch_cpu_s:.1f}) | "
            f"{m.maxrss_mb:.0f} ({m.children_maxrss_mb:.0f}) | "
            f"{m.assigned} | {reasons} | {m.violations} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database", action="append", choices=("postgresql", "sqlite"), default=None
    )
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN)
    parser.add_argument("--dispatcher", choices=("greedy", "routing"), default="routing")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="seconds per provider (routing only); default: the service's",
    )
    parser.add_argument("--workers", type=int, default=1, help="processes solving providers")
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--day", type=dt.date.fromisoformat, default=dt.date(2026, 12, 1))
    parser.add_argument("--providers", type=int, default=40)
    parser.add_argument("--caregivers", type=int, default=3_000)
    parser.add_argument("--visits", type=int, default=10_000)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    parser.add_argument("--out", type=Path, help="append the Markdown table here")
    parser.add_argument("--json", type=Path, help="write the measurements as JSON here")
    args = parser.parse_args(argv)
    if args.time_limit is None and args.dispatcher == "routing":
        routing = importlib.import_module("scheduling.routing")
        args.time_limit = getattr(routing, "DEFAULT_TIME_LIMIT_SECONDS", 5.0)
    measurements = [run(kind, args) for kind in (args.database or ["postgresql"])]
    table = markdown(measurements)
    print(table)
    if args.out:
        with args.out.open("a", encoding="utf-8") as out:
            out.write(table + "\n")
    if args.json:
        args.json.write_text(json.dumps([asdict(m) for m in measurements], indent=2))
    return 1 if any(m.violations for m in measurements) else 0


if __name__ == "__main__":
    sys.exit(main())
