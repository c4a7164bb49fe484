"""Command line: `careapp ...` (or `flask --app careapp ...`), one module per topic.

serve (the web server, gunicorn), database (init-db, grant-app-role), demo (seed-demo,
simulate, seed-city), scheduler (scheduler, jobs, dispatch, reassessment-reminders), rosters
(validate-roster), certificates (create-signing-key, print-decisions), settlement (settle),
users (create-user, reset-password), two_factor (reset-two-factor), data_keys
(generate-data-key, rotate-data-key); secrets is run before the app exists
(`python -m careapp.cli.secrets PATH`).
"""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from careapp.cli.serve import serve_command


def register_cli(app: Flask) -> None:
    from careapp.cli import (
        certificates,
        data_keys,
        database,
        demo,
        rosters,
        scheduler,
        serve,
        settlement,
        two_factor,
        users,
    )

    for command in (
        serve.serve_command,
        database.init_db,
        database.grant_app_role_command,
        demo.seed_demo_command,
        demo.simulate_command,
        demo.seed_city_command,
        scheduler.scheduler_group,
        scheduler.jobs_group,
        scheduler.dispatch_command,
        scheduler.reminders_command,
        rosters.validate_roster_command,
        certificates.create_signing_key_command,
        certificates.print_decisions_command,
        settlement.settle_command,
        users.create_user_command,
        users.reset_password_command,
        two_factor.reset_two_factor_command,
        data_keys.rotate_data_key_command,
        data_keys.generate_data_key_command,
    ):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from careapp import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def cli() -> None:
    """careapp: long-term care insurance."""


# `careapp serve` is found without building the app first (the other commands are the app's):
# it sets PROMETHEUS_MULTIPROC_DIR before anything imports prometheus_client (careapp.cli.serve).
cli.add_command(serve_command)


def main() -> None:
    cli(prog_name="careapp", args=sys.argv[1:])
