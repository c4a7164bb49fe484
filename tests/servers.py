"""`careapp serve` as a real process tree for the tests: gunicorn's master and its workers on a
committed database of the test's own (a SQLite file, or a throwaway PostgreSQL database).

The server listens on a free port (`--port 0`); its access log (standard output) and error log
(standard error) go to files of the test's temporary folder.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from careapp.config import TestConfig
from careapp.db import Base, make_engine
from tests.conftest import ROOT
from tests.races import race_database

SERVE = "import sys; from careapp.cli import main; sys.argv[0] = 'careapp'; main()"
_LISTENING = re.compile(r"Listening at: (http://\S+)")
_BOOTED = re.compile(r"Booting worker with pid: (\d+)")
_ANSWERED_BY = re.compile(r"<(\d+)>$")


@contextmanager
def committed_database(database_url: str, tmp_path: Path, name: str) -> Iterator[Engine]:
    """A database with the schema whose committed rows every server process sees."""
    if database_url.startswith("postgresql"):
        with race_database(database_url, f"{name}_{os.getpid()}", 2) as engine:
            yield engine
        return
    engine = make_engine(f"sqlite+pysqlite:///{tmp_path / f'{name}.sqlite'}")
    Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    access_log: Path
    error_log: Path

    def booted_workers(self) -> list[int]:
        """Every worker the master has started, oldest first."""
        return [int(pid) for pid in _BOOTED.findall(self.error_log.read_text())]

    def access_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines()

    def answering_pids(self) -> set[int]:
        """The workers that wrote an access line (`%(p)s` ends each line)."""
        found = (_ANSWERED_BY.search(line) for line in self.access_lines())
        return {int(match.group(1)) for match in found if match}

    def wait_for_workers(self, count: int, timeout: float = 60) -> list[int]:
        """Wait until `count` workers were booted in all; their pids."""
        deadline = time.monotonic() + timeout
        while len(self.booted_workers()) < count:
            assert self.process.poll() is None, self.error_log.read_text()
            assert time.monotonic() < deadline, self.error_log.read_text()
            time.sleep(0.1)
        return self.booted_workers()


def server_environment(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a test server: the test keys, plain http, and `settings`."""
    return {
        **os.environ,
        "CAREAPP_DATABASE_URL": database_url,
        "CAREAPP_SECRET_KEY": str(TestConfig.SECRET_KEY),
        "CAREAPP_DATA_KEY": str(TestConfig.DATA_KEY),
        "CAREAPP_PLAIN_HTTP": "true",
        "CAREAPP_SIGNING_KEY_EPHEMERAL": "false",
        "PYTHONPATH": str(ROOT),
        **settings,
    }


@contextmanager
def serve(env: Mapping[str, str], tmp_path: Path, workers: int) -> Iterator[Server]:
    """`careapp serve --port 0 --workers N`; stopped with SIGTERM (then killed) afterwards."""
    access_log, error_log = tmp_path / "access.log", tmp_path / "error.log"
    with access_log.open("wb") as stdout, error_log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE, "serve", "--port", "0", "--workers", str(workers)],
            cwd=ROOT,
            env=dict(env),
            stdout=stdout,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while not (listening := _LISTENING.search(error_log.read_text())):
            assert process.poll() is None, f"careapp serve stopped: {error_log.read_text()}"
            assert time.monotonic() < deadline, error_log.read_text()
            time.sleep(0.1)
        yield Server(process, listening.group(1), access_log, error_log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
