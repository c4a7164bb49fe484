"""Data-key rotation: how long `careapp rotate-data-key` takes for a city's registry.

`--people` insured people (each with an encrypted ID number) in a throwaway database (a new
PostgreSQL database beside `--url`, or a temporary SQLite file). Per repeat and batch size:

- **read pass** (the baseline, same run): every value read in id order, batch by batch, and
  decrypted with the ring (`count_by_key`, what `--dry-run` does);
- **rotation**: every value re-encrypted under a new key, one committed batch at a time
  (`careapp.cli.data_keys.rotate_data_key`);
- **resumed, nothing left**: a second run over values already under the newest key (what a
  resumed run pays for the part already done).

Medians over `--repeats` repeats (each repeat adds a new key, so there is always a full
rotation to do).

    .venv/bin/python benchmarks/data_key_rotation.py --people 50000 --repeats 3 \
        --url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402 - after the path is set
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from careapp.cli.data_keys import rotate_data_key  # noqa: E402
from careapp.core.identity import make_resident_id, mask_id_number  # noqa: E402
from careapp.db import Base, make_engine  # noqa: E402
from careapp.models.people import (  # noqa: E402
    District,
    DistrictKind,
    HouseholdType,
    InsuranceScheme,
    InsuranceStatus,
    Person,
    Sex,
)
from careapp.security import DataProtector, new_data_key  # noqa: E402
from careapp.services.data_keys import count_by_key  # noqa: E402

NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def _populate(engine: Engine, protector: DataProtector, people: int) -> None:
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(
            District(code="320602", name_zh="崇川区", name_en="Chongchuan", kind=DistrictKind.URBAN)
        )
        session.flush()
        rows = []
        for n in range(people):
            born = dt.date(1930, 1, 1) + dt.timedelta(days=n // 400)
            number = make_resident_id("320602", born, n % 400 * 2 + 1)
            rows.append(
                {
                    "id_number_ciphertext": protector.encrypt(number),
                    "id_number_index": protector.blind_index(number),
                    "id_number_masked": mask_id_number(number),
                    "name": f"P{n}",
                    "sex": Sex.MALE,
                    "born_on": born,
                    "address": "x",
                    "district_code": "320602",
                    "household_type": HouseholdType.URBAN,
                    "insurance_scheme": InsuranceScheme.RESIDENT,
                    "insurance_status": InsuranceStatus.ACTIVE,
                    "insured_from": dt.date(2020, 1, 1),
                    "created_at": NOW,
                }
            )
            if len(rows) == 5000:
                session.execute(insert(Person), rows)
                rows = []
        if rows:
            session.execute(insert(Person), rows)
        session.commit()


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", default="500,2000")
    parser.add_argument("--url", help="a PostgreSQL server URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    current_key = new_data_key()
    first = DataProtector(current_key)
    index_key = first.index_key_setting()
    name = f"careapp_bench_rotation_{secrets.token_hex(4)}"
    admin: Engine | None = None
    if args.url:
        server = make_url(args.url)
        admin = make_engine(server.render_as_string(hide_password=False))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = server.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite+pysqlite:///{Path(tempfile.mkdtemp()) / 'rotation.sqlite'}"
    engine = make_engine(url)
    try:
        _populate(engine, first, args.people)
        results: dict[int, dict[str, list[float]]] = {}
        for _ in range(args.repeats):
            for size in (int(s) for s in args.batch_sizes.split(",")):
                key = new_data_key()
                ring = DataProtector(f"{key},{current_key}", index_key)
                times = results.setdefault(size, {"read": [], "rotate": [], "again": []})
                with Session(engine) as session:
                    times["read"].append(
                        _timed(lambda s=session, r=ring, b=size: count_by_key(s, r, batch_size=b))
                    )
                    session.rollback()
                    times["rotate"].append(
                        _timed(lambda s=session, r=ring, b=size: rotate_data_key(
                            s, r, batch_size=b, echo=lambda _line: None))
                    )  # fmt: skip
                    times["again"].append(
                        _timed(lambda s=session, r=ring, b=size: rotate_data_key(
                            s, r, batch_size=b, echo=lambda _line: None))
                    )  # fmt: skip
                current_key = key
        backend = engine.dialect.name
        print(f"{args.people} people, {backend}, median of {args.repeats}\n")
        print(
            "| batch | read pass (baseline) | rotation | rotation / read | values/s rotated "
            "| resumed, nothing left |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        for size, times in results.items():
            read, rotate = statistics.median(times["read"]), statistics.median(times["rotate"])
            again = statistics.median(times["again"])
            print(
                f"| {size} | {read:.2f} s | {rotate:.2f} s | {rotate / read:.1f} | "
                f"{args.people / rotate:,.0f} | {again:.2f} s |"
            )
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
