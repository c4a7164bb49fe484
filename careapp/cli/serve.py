"""`careapp serve`: the production web server, gunicorn, with careapp/gunicorn.conf.py.

One process tree: this process becomes gunicorn's master (arbiter) and forks the workers, each
of which builds its own app (`careapp.create_app()`). Signals to the master: SIGHUP reloads
(the settings file again, new workers on the new code, then the old ones stop gracefully),
SIGTERM stops gracefully (requests in flight are answered), SIGINT (Ctrl+C) stops at once;
TTIN/TTOU add or remove a worker. `careapp run` (Flask's development server) stays for
development.

Metrics: the workers count in prometheus_client's multiprocess mode, which a process takes up
when it first imports prometheus_client, so PROMETHEUS_MULTIPROC_DIR is set before this command
builds its app (and before gunicorn forks the workers, who inherit it): the operator's
directory, else a private temporary one, removed when the server stops. `careapp serve` is a
command of the group itself (careapp.cli), found without building an app; run as the app's
command (`flask --app careapp serve`), prometheus_client is imported already and each worker
counts alone unless PROMETHEUS_MULTIPROC_DIR was set beforehand.
"""

from __future__ import annotations

import os
import runpy
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import ScriptInfo
from gunicorn.app.base import BaseApplication

CONFIG_FILE = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000


class CareappServer(BaseApplication):
    """gunicorn on careapp: the settings of CONFIG_FILE, then `overrides` (the command line)."""

    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        self.overrides = dict(overrides or {})
        super().__init__()

    def load_config(self) -> None:
        settings = runpy.run_path(str(CONFIG_FILE))
        settings.update(self.overrides)
        for name, value in settings.items():
            if name in self.cfg.settings and value is not None:
                self.cfg.set(name, value)

    def load(self) -> Flask:
        from careapp import create_app

        return create_app()


def command_line_settings(
    host: str | None, port: int | None, workers: int | None
) -> dict[str, Any]:
    """The settings the command line overrides: the address (either half defaults to
    127.0.0.1:8000) and the number of workers."""
    overrides: dict[str, Any] = {}
    if host is not None or port is not None:
        host = host or DEFAULT_HOST
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 address
        overrides["bind"] = [f"{host}:{DEFAULT_PORT if port is None else port}"]
    if workers is not None:
        overrides["workers"] = workers
    return overrides


@click.command("serve")
@click.option("--host", help="address to listen on (default: CAREAPP_WEB_BIND, 127.0.0.1:8000)")
@click.option("--port", type=click.IntRange(0, 65535), help="port to listen on")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="worker processes (default: CAREAPP_WEB_WORKERS, else two per core plus one, ≤ 8)",
)
def serve_command(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the app with gunicorn (careapp/gunicorn.conf.py) until stopped: SIGHUP reloads,
    SIGTERM stops gracefully, Ctrl+C stops at once."""
    private, master = multiprocess_dir(), os.getpid()
    try:
        # This app checks the configuration; the workers build their own. This process
        # keeps no database connection across the fork.
        app = click.get_current_context().ensure_object(ScriptInfo).load_app()
        app.extensions["careapp.engine"].dispose()
        CareappServer(command_line_settings(host, port, workers)).run()
    finally:
        # A worker leaves through here too (gunicorn ends it with SystemExit): the master alone
        # removes the directory, once the server has stopped.
        if private is not None and os.getpid() == master:
            shutil.rmtree(private, ignore_errors=True)


def multiprocess_dir() -> str | None:
    """Set PROMETHEUS_MULTIPROC_DIR to a private temporary directory unless the operator set
    it; the private one (to remove at the end), or None."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    if "prometheus_client" in sys.modules:  # too late: this process counts in its own memory
        click.echo(
            "careapp serve: set PROMETHEUS_MULTIPROC_DIR beforehand for /metrics to add up "
            "the workers' counts",
            err=True,
        )
        return None
    private = tempfile.mkdtemp(prefix="careapp-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = private
    return private
