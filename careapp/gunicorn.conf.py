# ruff: noqa: N999 - gunicorn's conventional file name, loaded by path, never imported
"""gunicorn's settings for careapp, the one web server of production and of the demo.

`careapp serve [--host --port --workers]` loads this file (again on SIGHUP) and serves
`careapp.create_app()`; plain gunicorn can use it too:
`gunicorn -c careapp/gunicorn.conf.py 'careapp:create_app()'`. The figures come from
`careapp.config` (`CAREAPP_WEB_*`, docs/operations.md, "Serving").

- Workers: processes of `gthread` workers, a few threads each. The pages are short and wait
  mostly on the database, which threads overlap; a slow client (a tablet on a poor link, with
  no buffering proxy in front as in `make run`) holds one thread, not a whole process; and the
  worker's heartbeat runs in its main loop, so a long request (a dispatch started from
  /dispatch, until the job queue takes it) is not killed by `timeout` — that only catches a
  worker whose main loop is stuck.
- No `preload_app`: each worker builds its own app after the fork, so no database engine,
  connection or thread crosses a fork, and SIGHUP loads new code. (`post_fork` still drops a
  preloaded app's pool in the worker, should anyone turn preloading on.)
- Graceful: SIGHUP starts new workers, then stops the old ones; SIGTERM stops; a stopping
  worker finishes its requests, and the print batches running in its threads, within
  `graceful_timeout`. SIGINT or SIGQUIT stop at once.
- Access log: `careapp.web.logs` filters gunicorn's loggers in every process (`create_app`
  in the workers, `CareappLogger` in the master too), so the rating link's and calendar feed's
  tokens and any `code=` query parameter are written `[token]`. Each line names the request's
  id (the `X-Request-ID` response header, the `request_id` of the app's log lines). The client
  address `%(h)s` is the one `CAREAPP_TRUSTED_PROXIES` allows (ProxyFix rewrites it in the
  request); gunicorn itself believes no forwarded header.
- Error log: gunicorn's own lines (master and workers) are written as the app's
  (`configure_logging`: JSON lines, or text, per CAREAPP_LOG_FORMAT), so standard error is
  one format.
- Metrics: the workers count in prometheus_client's multiprocess mode, in the directory
  PROMETHEUS_MULTIPROC_DIR (`careapp serve` makes a private one when it is unset); the master
  empties it when it starts, but for the files of processes still running (never on SIGHUP:
  the new workers count on), and a worker's live gauges go with it when it exits
  (`child_exit`). /metrics adds up the files of every process.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

from careapp.config import environment_config
from careapp.web.logs import RedactTokens, RequestIdFilter, configure_logging, make_formatter

_settings = environment_config()


def _workers(configured: int) -> int:
    return configured if configured > 0 else min(2 * (os.cpu_count() or 1) + 1, 8)


bind = _settings["WEB_BIND"]
workers = _workers(int(_settings["WEB_WORKERS"]))
worker_class = "gthread"
threads = int(_settings["WEB_THREADS"])
timeout = int(_settings["WEB_TIMEOUT"])
graceful_timeout = int(_settings["WEB_GRACEFUL_TIMEOUT"])
max_requests = int(_settings["WEB_MAX_REQUESTS"])
max_requests_jitter = max_requests // 10
# Behind a proxy that keeps connections to the app open (nginx `keepalive`), a little longer
# than gunicorn's 2 s; a kept-alive connection waits in the worker's loop, not in a thread.
keepalive = 5
preload_app = False
proc_name = "careapp"

# HTTP limits (gunicorn's defaults, stated): a request line of at most 4094 bytes, 100 header
# fields of at most 8190 bytes each. A longer one is refused with 400 before the app sees it.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Forwarded headers: the app alone reads them (ProxyFix, CAREAPP_TRUSTED_PROXIES hops).
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""

# Logs: errors to standard error, one access line per request, without secrets. `%(u)s`
# (a Basic-auth user) is left out; `%(p)s` names the worker that answered.
errorlog = "-"
loglevel = "info"
accesslog = _settings["WEB_ACCESS_LOG"] or None
# `%({x-request-id}o)s`: the request's id, as the app sent it in its X-Request-ID header.
access_log_format = (
    '%(h)s - %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s" %({x-request-id}o)s %(p)s'
)
# gunicorn's control socket (gunicornc) is not used: signals steer the server.
control_socket_disable = True


class CareappLogger(Logger):
    """gunicorn's logger, its error log in the app's format (CAREAPP_LOG_FORMAT, read again on
    each SIGHUP) and both logs without secret tokens. With no LOG_FORMAT (the app then leaves
    logging alone) gunicorn's own format stays."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        settings = environment_config()
        log_format = settings.get("LOG_FORMAT")
        if log_format:
            configure_logging(str(log_format), settings.get("LOG_LEVEL") or "INFO")
            for handler in self.error_log.handlers:
                handler.setFormatter(make_formatter(str(log_format)))
        for handler in (*self.error_log.handlers, *self.access_log.handlers):
            for kind in (RedactTokens, RequestIdFilter):
                if not any(isinstance(existing, kind) for existing in handler.filters):
                    handler.addFilter(kind())


logger_class = CareappLogger


def _multiprocess_dir() -> Path | None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(directory) if directory else None


_PID_OF_FILE = re.compile(r"_(\d+)\.db$")  # counter_<pid>.db, gauge_livesum_<pid>.db, ...


def on_starting(server: Any) -> None:
    """The master starts (not on SIGHUP, where the new workers count on): the files of processes
    no longer running (an earlier run's workers) are removed, those of a live process sharing
    the directory (`careapp scheduler run` on this machine) are kept."""
    directory = _multiprocess_dir()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        found = _PID_OF_FILE.search(path.name)
        if found is None or not _running(int(found.group(1))):
            path.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def child_exit(server: Any, worker: Any) -> None:
    """A worker has exited (in the master): its live gauges are no longer added up."""
    directory = _multiprocess_dir()
    if directory is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, str(directory))


def post_fork(server: Any, worker: Any) -> None:
    """In a new worker: forget a preloaded app's pooled connections (they belong to the
    master) without closing them for it."""
    app = getattr(server.app, "callable", None)
    engine = getattr(app, "extensions", {}).get("careapp.engine")
    if engine is not None:
        engine.dispose(close=False)


def worker_int(worker: Any) -> None:
    """SIGINT or SIGQUIT: the worker stops at once (worker_exit waits for nothing)."""
    worker.careapp_stop_now = True


def worker_abort(worker: Any) -> None:
    """SIGABRT (the worker timed out): it stops at once too."""
    worker.careapp_stop_now = True


def worker_exit(server: Any, worker: Any) -> None:
    """A worker stopping gracefully lets its print batches finish, within graceful_timeout."""
    if getattr(worker, "careapp_stop_now", False):
        return
    from careapp.jobs.print_batches import wait_for_print_batches

    left = wait_for_print_batches(float(worker.cfg.graceful_timeout))
    if left:
        server.log.warning(
            "worker %s stops with print batches unfinished (%s): they show as abandoned and "
            "can be restarted",
            worker.pid,
            ", ".join(left),
        )
