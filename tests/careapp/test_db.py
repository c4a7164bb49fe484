"""The SQLite engine: IMMEDIATE transactions, queued per process, never left holding the turn."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from careapp.db import make_engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite+pysqlite:///{tmp_path / 'turn.sqlite'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def _begin_in_another_thread(engine: Engine) -> float:
    """Seconds another thread of this process waited to begin (and write) a transaction."""
    waited: list[float] = []

    def other() -> None:
        start = time.monotonic()
        with engine.begin() as connection:
            waited.append(time.monotonic() - start)
            connection.execute(text("INSERT INTO t VALUES (2)"))

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    return waited[0]


def test_a_transaction_holds_the_write_lock_from_begin_and_others_wait_for_it(
    sqlite_engine: Engine,
) -> None:
    waiting: list[float] = []
    with sqlite_engine.connect() as first:
        first.begin()
        first.execute(text("SELECT count(*) FROM t"))  # a read only; the lock is held anyway
        thread = threading.Thread(
            target=lambda: waiting.append(_begin_in_another_thread(sqlite_engine))
        )
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive()  # queued behind the open transaction
        first.execute(text("INSERT INTO t VALUES (1)"))  # the read-then-write never fails
        first.commit()
    thread.join(timeout=60)
    assert waiting[0] >= 0.4
    with sqlite_engine.connect() as check:
        assert check.scalar(text("SELECT count(*) FROM t")) == 2


def test_a_connection_closed_with_its_transaction_open_gives_the_turn_back(
    sqlite_engine: Engine,
) -> None:
    first = sqlite_engine.connect()
    first.begin()
    first.close()  # no commit, no explicit rollback

    assert _begin_in_another_thread(sqlite_engine) < 5


def test_a_thread_holding_the_turn_does_not_queue_behind_itself(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as first:
        first.begin()
        started = time.monotonic()
        with sqlite_engine.connect() as second:
            second.connection.driver_connection.execute("PRAGMA busy_timeout = 100")
            with pytest.raises(OperationalError, match="database is locked"):
                second.begin()  # the file's lock is the first's: refused, not a 30 s wait
        assert time.monotonic() - started < 5
        first.rollback()
