"""Commands of the certificates: the seal's key, and batch printing of a week's decisions."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import click
from flask.cli import with_appcontext


@click.command("create-signing-key")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write signing-key.pem and signing-cert.pem (default: the instance folder).",
)
@click.option("--name", default=None, help="The signer's name in the certificate.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing key (old prints stay valid only against the old certificate).",
)
def create_signing_key_command(directory: Path | None, name: str | None, force: bool) -> None:
    """Create the seal's private key and self-signed certificate (never commit them)."""
    from flask import current_app

    from careapp.reports.seal import SIGNER_NAME, create_signing_key

    target = directory or Path(current_app.instance_path)
    try:
        files = create_signing_key(target, common_name=name or SIGNER_NAME, overwrite=force)
    except FileExistsError as error:
        raise click.ClickException(f"{error}; use --force to replace it") from error
    click.echo(f"created {files.key_path} (mode 0600) and {files.cert_path}")
    click.echo("set, e.g. in instance/careapp.env:")
    click.echo(f"  CAREAPP_SIGNING_KEY_PATH={files.key_path.resolve()}")
    click.echo(f"  CAREAPP_SIGNING_CERT_PATH={files.cert_path.resolve()}")


@click.command("print-decisions")
@click.option(
    "--week",
    "week",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="A day of the week to print (YYYY-MM-DD); the week runs Monday to Sunday.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the sealed PDF.",
)
@click.option(
    "--as",
    "username",
    default=None,
    help="The administrator who issues the documents (default: the first administrator).",
)
@click.option(
    "--base-url",
    default=None,
    help="Public host the QR codes point to (default: PUBLIC_BASE_URL).",
)
@with_appcontext
def print_decisions_command(
    week: dt.datetime, out: Path, username: str | None, base_url: str | None
) -> None:
    """Print every decision of a week (notices and benefit certificates) as ONE sealed PDF."""
    from flask import current_app
    from sqlalchemy import select

    from careapp import db
    from careapp.core.clock import utcnow
    from careapp.core.errors import CareappError
    from careapp.jobs.print_batches import abandoned_after, run_print_batch
    from careapp.models.certificate import PrintBatch
    from careapp.models.users import Role, User
    from careapp.services.actor import Actor
    from careapp.services.certificates import certificate_signer
    from careapp.services.print_batches import request_print_batch

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the real app behind the proxy
    public_url = base_url or app.config.get("PUBLIC_BASE_URL")
    if not public_url:
        raise click.ClickException(
            "set PUBLIC_BASE_URL (CAREAPP_PUBLIC_BASE_URL) or --base-url: the QR codes must "
            "point to the public verification page"
        )
    session = db.session()
    query = select(User).where(User.role == Role.ADMIN, User.is_enabled.is_(True))
    if username:
        query = query.where(User.username == username)
    admin = session.scalars(query.order_by(User.id).limit(1)).first()
    if admin is None:
        raise click.ClickException(f"no active administrator {username or ''}".strip())
    actor = Actor(user_id=admin.id, role=admin.role, address="cli")
    try:
        signer = certificate_signer(app.config)
        batch = request_print_batch(
            session, actor, week.date(), utcnow(), abandoned_after=abandoned_after(app)
        )
        session.commit()
    except CareappError as error:
        session.rollback()
        raise click.ClickException(error.message) from error
    batch_id, total = batch.id, batch.total
    click.echo(
        f"printing {total} decisions of the week from {batch.week_starts_on} as {admin.username}"
    )
    with click.progressbar(length=total, label="decisions", show_pos=True) as bar:
        printed = 0

        def advance(done: int) -> None:
            nonlocal printed
            bar.update(done - printed)
            printed = done

        completed = run_print_batch(app, batch_id, actor, signer, public_url, on_progress=advance)
    session.expire_all()
    finished = session.get(PrintBatch, batch_id)
    if not completed or finished is None or not finished.file_path:
        reason = finished.error if finished is not None else None
        raise click.ClickException(f"the batch failed: {reason}")
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(finished.file_path, out)
    click.echo(f"wrote {out} (batch {batch_id}, {finished.total} decisions, sealed)")
