"""`careapp generate-data-key` and `careapp rotate-data-key`: a new data key, and every encrypted
value re-encrypted under it in short batches while the app serves (docs/operations.md, "Rotating
the data key")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from careapp.security import DataProtector

DEFAULT_BATCH_SIZE = 500


@dataclass
class Rotation:
    """What a run did, per column: rows scanned and values re-encrypted."""

    scanned: dict[str, int] = field(default_factory=dict)
    rotated: dict[str, int] = field(default_factory=dict)
    batches: int = 0

    def detail(self, *, finished: bool) -> dict[str, object]:
        return {
            "finished": finished,
            "batches": self.batches,
            "scanned": dict(self.scanned),
            "rotated": dict(self.rotated),
        }


def rotate_data_key(
    session: Session,
    protector: DataProtector,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    echo: Callable[[str], None] = click.echo,
) -> Rotation:
    """Re-encrypt every encrypted column under the newest key, one committed batch at a time,
    then record one audit event with the counts. A failure rolls back its batch only, records
    the counts so far (`finished: false`) and is raised: a second run resumes, since values
    already under the newest key are skipped."""
    from careapp.core.clock import utcnow
    from careapp.services import data_keys
    from careapp.services.actor import Actor
    from careapp.services.audit import record_event

    run = Rotation()
    actor = Actor(user_id=None, role=None, address="cli")
    try:
        for column in data_keys.ENCRYPTED_COLUMNS:
            run.scanned[column.name] = run.rotated[column.name] = 0
            after_id = 0
            while True:
                batch = data_keys.rotate_batch(
                    session, protector, column, after_id=after_id, batch_size=batch_size
                )
                session.commit()
                if batch.last_id is None:
                    break
                after_id = batch.last_id
                run.batches += 1
                run.scanned[column.name] += batch.scanned
                run.rotated[column.name] += batch.rotated
                echo(
                    f"{column.name}: {run.scanned[column.name]} rows scanned, "
                    f"{run.rotated[column.name]} re-encrypted"
                )
    except BaseException:  # also Ctrl-C: the batches so far are kept, and audited
        session.rollback()
        try:
            record_event(
                session, actor, "data_key.rotate", "data_key", None, now=utcnow(),
                detail=run.detail(finished=False),
            )  # fmt: skip
            session.commit()
        except Exception:  # the database itself is gone: the first error says why
            session.rollback()
        raise
    record_event(
        session, actor, "data_key.rotate", "data_key", None, now=utcnow(),
        detail=run.detail(finished=True),
    )  # fmt: skip
    session.commit()
    return run


@click.command("rotate-data-key")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Rows per transaction.",
)
@click.option(
    "--dry-run", is_flag=True, help="Only count the values under the newest and older keys."
)
@with_appcontext
def rotate_data_key_command(batch_size: int, dry_run: bool) -> None:
    """Re-encrypt every ID number and TOTP secret under the newest key of CAREAPP_DATA_KEY, in
    batches, while the app serves; run it again to resume. Audited."""
    from careapp import db
    from careapp.security import protector
    from careapp.services.data_keys import DataKeyRotationError, count_by_key

    session = db.session()
    if dry_run:
        counts = count_by_key(session, protector(), batch_size=batch_size)
        session.rollback()
        for name, count in counts.items():
            click.echo(
                f"{name}: {count.current} under the newest key, {count.stale} under older "
                f"keys, {count.unreadable} unreadable"
            )
        if any(count.unreadable for count in counts.values()):
            raise click.ClickException("some values are under no key of CAREAPP_DATA_KEY")
        return
    try:
        run = rotate_data_key(session, protector(), batch_size=batch_size)
    except DataKeyRotationError as error:
        raise click.ClickException(f"{error}; stopped (the batches before it are kept)") from None
    total = sum(run.rotated.values())
    click.echo(
        f"done: {total} values re-encrypted under the newest key; once every process runs "
        "with it, the older keys may be removed from CAREAPP_DATA_KEY"
    )


@click.command("generate-data-key")
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Put the new key first in this file's CAREAPP_DATA_KEY (and pin CAREAPP_INDEX_KEY) "
    "instead of printing it.",
)
@with_appcontext
def generate_data_key_command(env_file: Path | None) -> None:
    """A new data key: printed, or added at the head of the ring in an env file."""
    from flask import current_app

    from careapp.cli.secrets import add_data_key
    from careapp.security import new_data_key, protector

    if env_file is None:
        click.echo(new_data_key())
        if not current_app.config.get("INDEX_KEY"):
            click.echo(
                "Put it first in CAREAPP_DATA_KEY (new,old) and set the lookup index's key, "
                "which must not change, wherever the keys are kept:\n"
                f"CAREAPP_INDEX_KEY={protector().index_key_setting()}",
                err=True,
            )
        return
    try:
        count = add_data_key(env_file)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"{env_file}: a new data key heads CAREAPP_DATA_KEY ({count} keys); restart every "
        "process with it, then run `careapp rotate-data-key`"
    )
