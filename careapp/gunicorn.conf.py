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
- Access log: `careapp.web.logs` filters gunicorn's loggers in every worker (`create_app`), so
  the rating link's and calendar feed's tokens and any `code=` query parameter are written
  `[token]`. The client address `%(h)s` is the one `CAREAPP_TRUSTED_PROXIES` allows (ProxyFix
  rewrites it in the request); gunicorn itself believes no forwarded header.
"""

from __future__ import annotations

import os
from typing import Any

from careapp.config import environment_config

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
access_log_format = '%(h)s - %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s" %(p)s'
# gunicorn's control socket (gunicornc) is not used: signals steer the server.
control_socket_disable = True


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
