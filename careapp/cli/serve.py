"""`careapp serve`: the production web server, gunicorn, with careapp/gunicorn.conf.py.

One process tree: this process becomes gunicorn's master (arbiter) and forks the workers, each
of which builds its own app (`careapp.create_app()`). Signals to the master: SIGHUP reloads
(the settings file again, new workers on the new code, then the old ones stop gracefully),
SIGTERM stops gracefully (requests in flight are answered), SIGINT (Ctrl+C) stops at once;
TTIN/TTOU add or remove a worker. `careapp run` (Flask's development server) stays for
development.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
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
@with_appcontext
def serve_command(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the app with gunicorn (careapp/gunicorn.conf.py) until stopped: SIGHUP reloads,
    SIGTERM stops gracefully, Ctrl+C stops at once."""
    # The app of this command checked the configuration; the workers build their own. This
    # process keeps no database connection across the fork.
    current_app.extensions["careapp.engine"].dispose()
    CareappServer(command_line_settings(host, port, workers)).run()
