"""Command line: `careapp ...` (or `flask --app careapp ...`)."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup


def register_cli(app: Flask) -> None:
    from careapp.cli.commands import register_commands

    register_commands(app)


def _create_app() -> Flask:
    from careapp import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def cli() -> None:
    """careapp: long-term care insurance."""


def main() -> None:
    cli(prog_name="careapp", args=sys.argv[1:])
