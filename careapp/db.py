"""Database: the declarative base, the engine and a request-scoped session (plain SQLAlchemy 2)."""

from __future__ import annotations

import datetime as dt
import enum
import threading
from typing import Annotated, Any

from flask import Flask, current_app, g
from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    create_engine,
    event,
    func,
)
from sqlalchemy import (
    Enum as SAEnum,
)
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware datetime stored as UTC on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC datetime is required")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _enum_values(enum_cls: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in enum_cls]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
        enum.Enum: SAEnum(enum.Enum, native_enum=False, values_callable=_enum_values, length=32),
    }


# Shared column aliases.
intpk = Annotated[
    int, mapped_column(Integer().with_variant(BigInteger(), "postgresql"), primary_key=True)
]
created_at = Annotated[dt.datetime, mapped_column(UTCDateTime(), server_default=func.now())]
str40 = Annotated[str, mapped_column(String(40))]
str100 = Annotated[str, mapped_column(String(100))]
str200 = Annotated[str, mapped_column(String(200))]


# How long a SQLite transaction waits for the write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_SECONDS = 30


class _WriteTurn:
    """One transaction at a time per process on SQLite, the others of the process queued here.

    SQLite's busy handler polls (sleeps and retries), so with dozens of waiting threads some
    starve past the busy timeout while the others come and go; threads blocked on this lock are
    woken in turn instead, and only one per process polls for the file's write lock.
    A thread that already holds the turn (a second connection of its own) does not queue for it,
    and a turn never taken within the busy timeout is waited for at the file as before.
    """

    KEY = "careapp.sqlite_write_turn"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def take(self, info: dict[Any, Any]) -> None:
        if self._owner == threading.get_ident():
            return
        if self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_SECONDS):
            self._owner = threading.get_ident()
            info[self.KEY] = True

    def give_back(self, info: dict[Any, Any] | None) -> None:
        if info is not None and info.pop(self.KEY, False):
            self._owner = None
            self._lock.release()


def _configure_sqlite(engine: Engine) -> None:
    """Make pysqlite honour transactions and SAVEPOINTs, enforce foreign keys, and let several
    processes write to one file.

    Every transaction begins IMMEDIATE: it takes the write lock up front, waiting for it up to
    the busy timeout. A deferred transaction that reads and then writes (an audited page, a
    login) cannot wait instead: in WAL mode, when another connection has written since its
    read, the upgrade fails at once with "database is locked", whatever the busy timeout. The
    price: transactions run one at a time (queued per process by `_WriteTurn`).
    """
    turn = _WriteTurn()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # First, so that switching to WAL waits for a busy file too.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        turn.take(conn.info)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            turn.give_back(conn.info)
            raise

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn: Connection) -> None:
        turn.give_back(conn.info)

    # A connection returned or dropped with its transaction open gives the turn back too.
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        turn.give_back(record.info if record is not None else None)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: Any, _exception: Any) -> None:
        turn.give_back(record.info)


def make_engine(url: str, echo: bool = False) -> Engine:
    engine = create_engine(url, echo=echo, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"], echo=app.config["DATABASE_ECHO"])
    app.extensions["careapp.engine"] = engine
    app.extensions["careapp.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def session() -> Session:
    """The session of the current app context (a request, a CLI command or a job)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["careapp.sessionmaker"]()
    db_session: Session = g.db_session
    return db_session


def engine() -> Engine:
    eng: Engine = current_app.extensions["careapp.engine"]
    return eng


def _close_session(_exc: BaseException | None) -> None:
    db_session: Session | None = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()
