"""Dispatch quality on the Solomon VRPTW benchmark (100 customers).

For every instance in the data folder it runs:

* ``dispatcher``: `scheduling.routing.RoutingDispatcher` through the `scheduling` interface
  (visits, caregivers' days, a Euclidean travel model; one Solomon time unit = one minute);
* ``pyvrp``: PyVRP called directly on the same instance with the same time budget;
* ``ortools`` (optional): OR-Tools' RoutingModel called directly with the same time budget.

Every solution is checked independently here in double precision (each customer once, vehicle
capacity, service start inside the window, back at the depot by its due date, fleet size) and its
distance is recomputed in double precision from the routes. Results are compared with the
best-known solutions: hierarchical (vehicles, then distance) and distance-only.

    .venv/bin/python benchmarks/solomon.py --seconds 10 --out /tmp/solomon.md

The instances and the best-known results (`best_known.csv`, `best_known_distance_only.csv`) are
all read from `--data`, by default `../shared/data/solomon` beside the repository.

Not a test: it takes 44 x 10 s per method.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import vrplib

# The shared data sets live beside the repository (../shared from its root), wherever it is.
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "solomon"
# Time ticks per Solomon unit inside the solvers; travel times are rounded UP to a tick, so a
# route feasible for the solver is feasible in double precision too.
TICKS = 60
SETS = ("C1", "C2", "R1", "R2", "RC1", "RC2")
SEED = 1
FAIRNESS = 0  # the dispatcher's fairness weight here (--fairness)


@dataclass(frozen=True)
class Instance:
    name: str
    coords: np.ndarray  # (n + 1, 2); row 0 is the depot
    demand: np.ndarray
    ready: np.ndarray
    due: np.ndarray
    service: np.ndarray
    capacity: int
    vehicles: int

    @property
    def group(self) -> str:
        return self.name[:-2]

    def distance(self, a: int, b: int) -> float:
        return math.dist(self.coords[a], self.coords[b])

    def ticks(self) -> np.ndarray:
        """Travel times in ticks (rounded up), the same for every method."""
        diff = self.coords[:, None, :] - self.coords[None, :, :]
        exact = np.sqrt((diff**2).sum(axis=2)) * TICKS
        return np.ceil(np.round(exact, 6)).astype(np.int64)


def load(path: Path) -> Instance:
    raw = vrplib.read_instance(str(path), instance_format="solomon")
    return Instance(
        name=str(raw["name"]),
        coords=np.asarray(raw["node_coord"], dtype=float),
        demand=np.asarray(raw["demand"], dtype=int),
        ready=np.asarray(raw["time_window"][:, 0], dtype=int),
        due=np.asarray(raw["time_window"][:, 1], dtype=int),
        service=np.asarray(raw["service_time"], dtype=int),
        capacity=int(raw["capacity"]),
        vehicles=int(raw["vehicles"]),
    )


Routes = list[list[int]]  # customer numbers 1..n per vehicle, in visiting order


def check(inst: Instance, routes: Routes) -> list[str]:
    """Every broken rule of a solution, in double precision; empty means feasible."""
    problems = []
    seen = sorted(c for route in routes for c in route)
    if seen != list(range(1, len(inst.coords))):
        problems.append("customers not served exactly once")
    if len([r for r in routes if r]) > inst.vehicles:
        problems.append("too many vehicles")
    for number, route in enumerate(routes):
        if sum(int(inst.demand[c]) for c in route) > inst.capacity:
            problems.append(f"route {number}: over capacity")
        clock, here = float(inst.ready[0]), 0
        for c in route:
            clock = max(clock + inst.distance(here, c), float(inst.ready[c]))
            if clock > inst.due[c] + 1e-9:
                problems.append(f"route {number}: customer {c} starts late")
            clock += float(inst.service[c])
            here = c
        if route and clock + inst.distance(here, 0) > inst.due[0] + 1e-9:
            problems.append(f"route {number}: back at the depot late")
    return problems


def total_distance(inst: Instance, routes: Routes) -> float:
    return sum(
        sum(inst.distance(a, b) for a, b in zip([0, *route], [*route, 0], strict=True))
        for route in routes
        if route
    )


# --- the methods ---------------------------------------------------------------------------


def solve_dispatcher(inst: Instance, seconds: float) -> Routes:
    """Through `scheduling`: caregivers at the depot, visits with loads, Euclidean travel."""
    from scheduling.routing import RoutingDispatcher
    from scheduling.travel import EuclideanTravel
    from scheduling.types import CaregiverDay, Location, VisitRequest

    zero = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def minute(value: float) -> dt.datetime:
        return zero + dt.timedelta(minutes=float(value))

    def place(i: int) -> Location:
        return Location(float(inst.coords[i][0]), float(inst.coords[i][1]))

    n = len(inst.coords) - 1
    visits = [
        VisitRequest(
            visit_id=c,
            window_start=minute(inst.ready[c]),
            window_end=minute(inst.due[c]),
            duration_minutes=int(inst.service[c]),
            required_qualifications=frozenset(),
            location=place(c),
            district_kind="plane",
            load=int(inst.demand[c]),
        )
        for c in range(1, n + 1)
    ]
    caregivers = [
        CaregiverDay(
            caregiver_id=k,
            qualifications=frozenset(),
            shift_start=minute(inst.ready[0]),
            shift_end=minute(inst.due[0]),
            base=place(0),
            max_visits=n,
            capacity=inst.capacity,
        )
        for k in range(1, inst.vehicles + 1)
    ]
    travel = EuclideanTravel(dt.timedelta(seconds=TICKS))  # one unit = one minute
    # Solomon has no fair-spread goal: with the default weight the dispatcher would trade
    # distance for routes of equal length (see docs/benchmarks.md).
    dispatcher = RoutingDispatcher(seconds, seed=SEED, travel=travel, fairness_weight=FAIRNESS)
    result = dispatcher.solve(visits, caregivers, {})
    if result.unassigned:
        print(f"  {inst.name}: dispatcher left {len(result.unassigned)} visits", file=sys.stderr)
    routes: dict[int, list[tuple[int, int]]] = {}
    for a in result.assignments:
        routes.setdefault(a.caregiver_id, []).append((a.route_order, a.visit_id))
    return [[v for _, v in sorted(stops)] for stops in routes.values()]


def pyvrp_data(inst: Instance):  # type: ignore[no-untyped-def]  # pyvrp is imported lazily
    import pyvrp

    n = len(inst.coords) - 1
    ticks = inst.ticks()
    locations = [pyvrp.Location(float(x), float(y)) for x, y in inst.coords]
    depot = pyvrp.Depot(0, tw_early=int(inst.ready[0]) * TICKS, tw_late=int(inst.due[0]) * TICKS)
    clients = [
        pyvrp.Client(
            location=c,
            delivery=[int(inst.demand[c])],
            service_duration=int(inst.service[c]) * TICKS,
            tw_early=int(inst.ready[c]) * TICKS,
            tw_late=int(inst.due[c]) * TICKS,
        )
        for c in range(1, n + 1)
    ]
    vehicle = pyvrp.VehicleType(
        num_available=inst.vehicles,
        capacity=[inst.capacity],
        tw_early=int(inst.ready[0]) * TICKS,
        tw_late=int(inst.due[0]) * TICKS,
    )
    return pyvrp.ProblemData(locations, clients, [depot], [vehicle], [ticks], [ticks])


def solve_pyvrp(inst: Instance, seconds: float) -> Routes:
    import pyvrp
    from pyvrp.stop import MaxRuntime

    result = pyvrp.solve(pyvrp_data(inst), MaxRuntime(seconds), seed=SEED, collect_stats=False)
    # Client activity idx counts clients from 0; customer numbers start at 1.
    return [
        [act.idx + 1 for act in route.schedule() if act.is_client()]
        for route in result.best.routes()
    ]


def solve_ortools(inst: Instance, seconds: float) -> Routes:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(inst.coords)
    ticks = inst.ticks()
    manager = pywrapcp.RoutingIndexManager(n, inst.vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)

    def arc(i: int, j: int) -> int:
        return int(ticks[manager.IndexToNode(i), manager.IndexToNode(j)])

    def transit(i: int, j: int) -> int:
        node = manager.IndexToNode(i)
        return int(inst.service[node]) * TICKS + int(ticks[node, manager.IndexToNode(j)])

    arc_cb = routing.RegisterTransitCallback(arc)
    routing.SetArcCostEvaluatorOfAllVehicles(arc_cb)
    time_cb = routing.RegisterTransitCallback(transit)
    horizon = int(inst.due[0]) * TICKS
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    clock = routing.GetDimensionOrDie("time")
    for node in range(1, n):
        index = manager.NodeToIndex(node)
        clock.CumulVar(index).SetRange(int(inst.ready[node]) * TICKS, int(inst.due[node]) * TICKS)
    for vehicle in range(inst.vehicles):
        clock.CumulVar(routing.Start(vehicle)).SetRange(0, horizon)
        clock.CumulVar(routing.End(vehicle)).SetRange(0, horizon)
    demand_cb = routing.RegisterUnaryTransitCallback(
        lambda i: int(inst.demand[manager.IndexToNode(i)])
    )
    routing.AddDimensionWithVehicleCapacity(
        demand_cb, 0, [inst.capacity] * inst.vehicles, True, "load"
    )
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return []
    routes = []
    for vehicle in range(inst.vehicles):
        index, route = solution.Value(routing.NextVar(routing.Start(vehicle))), []
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        routes.append(route)
    return routes


METHODS: dict[str, Callable[[Instance, float], Routes]] = {
    "dispatcher": solve_dispatcher,
    "pyvrp": solve_pyvrp,
    "ortools": solve_ortools,
}


# --- reporting -----------------------------------------------------------------------------


def best_known(data: Path, name: str) -> dict[str, tuple[int, float]]:
    """One best-known table of the data folder: instance -> (vehicles, distance)."""
    with (data / name).open(newline="") as handle:
        return {
            row["instance"]: (int(row["vehicles"]), float(row["distance"]))
            for row in csv.DictReader(handle)
        }


@dataclass(frozen=True)
class Outcome:
    instance: str
    method: str
    vehicles: int
    distance: float
    seconds: float
    problems: tuple[str, ...]


def gap(value: float, reference: float) -> float:
    return 100 * (value - reference) / reference


def report(
    outcomes: Sequence[Outcome], methods: Sequence[str], seconds: float, data: Path = DATA
) -> str:
    hier = best_known(data, "best_known.csv")
    dist = best_known(data, "best_known_distance_only.csv")
    lines = [
        f"Budget {seconds:g} s per instance and method, seed {SEED}, dispatcher fairness weight "
        f"{FAIRNESS}. "
        "Gaps in % of the best-known distance; `veh` = vehicles used (best-known in brackets).",
        "",
        "| instance | "
        + " | ".join(f"{m} veh | {m} dist | {m} gap (dist-only) | {m} ok" for m in methods)
        + " | BKS hier. | BKS dist-only |",
        "|---" * (4 * len(methods) + 3) + "|",
    ]
    by_key = {(o.instance, o.method): o for o in outcomes}
    names = sorted({o.instance for o in outcomes}, key=lambda n: (SETS.index(n[:-2]), n))
    for name in names:
        cells = []
        for m in methods:
            o = by_key[(name, m)]
            cells += [
                str(o.vehicles),
                f"{o.distance:.2f}",
                f"{gap(o.distance, dist[name][1]):+.2f}",
                "yes" if not o.problems else "NO: " + "; ".join(o.problems),
            ]
        lines.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {hier[name][0]} / {hier[name][1]:.2f} | {dist[name][0]} / {dist[name][1]:.2f} |"
        )
    lines += [
        "",
        "Per set: mean gap to the distance-only BKS, mean gap to the hierarchical BKS (its "
        "distance; vehicle counts differ), mean vehicles (BKS hier.), all feasible.",
        "",
        "| set | n | "
        + " | ".join(f"{m} gap dist-only | {m} gap hier. | {m} veh" for m in methods)
        + " | BKS veh (hier.) |",
        "|---" * (3 * len(methods) + 3) + "|",
    ]
    for group in (*SETS, "all"):
        members = [n for n in names if group in ("all", n[:-2])]
        if not members:
            continue
        cells = []
        for m in methods:
            every = [by_key[(n, m)] for n in members]
            rows = [o for o in every if not o.problems]  # means over feasible solutions only
            if not rows:
                cells += ["-", "-", "none feasible"]
                continue
            cells += [
                f"{statistics.mean(gap(o.distance, dist[o.instance][1]) for o in rows):+.2f}",
                f"{statistics.mean(gap(o.distance, hier[o.instance][1]) for o in rows):+.2f}",
                f"{statistics.mean(o.vehicles for o in rows):.1f}"
                + ("" if len(rows) == len(every) else f" ({len(every) - len(rows)} infeasible)"),
            ]
        lines.append(
            f"| {group} | {len(members)} | "
            + " | ".join(cells)
            + f" | {statistics.mean(hier[n][0] for n in members):.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    global FAIRNESS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--methods", default="dispatcher,pyvrp")
    parser.add_argument("--instances", nargs="*", help="names such as C101 (default: all)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, help="write the Markdown tables here too")
    parser.add_argument("--fairness", type=int, default=FAIRNESS, help="dispatcher's weight")
    args = parser.parse_args(argv)
    FAIRNESS = args.fairness
    methods = args.methods.split(",")
    paths = sorted(args.data.glob("*.txt"))
    if args.instances:
        paths = [p for p in paths if p.stem in args.instances]
    if not paths:
        parser.error(
            f"no Solomon instances (*.txt) in {args.data.resolve()}: pass --data with the folder "
            "holding them and their best_known*.csv (see ../shared/data/solomon/README.md)"
        )
    outcomes = []
    for path in paths:
        inst = load(path)
        for method in methods:
            began = time.perf_counter()
            routes = METHODS[method](inst, args.seconds)
            took = time.perf_counter() - began
            outcome = Outcome(
                inst.name,
                method,
                len([r for r in routes if r]),
                total_distance(inst, routes),
                took,
                tuple(check(inst, routes)),
            )
            outcomes.append(outcome)
            print(
                f"{inst.name:6} {method:10} veh {outcome.vehicles:3} dist {outcome.distance:9.2f}"
                f" {took:5.1f}s {'ok' if not outcome.problems else outcome.problems}",
                flush=True,
            )
    text = report(outcomes, methods, args.seconds, args.data)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
