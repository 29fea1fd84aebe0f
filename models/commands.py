"""Operator commands: `flask --app app backup create|list|verify|restore|prune` and `secrets rotate`.

Configured by the environment only (no prompts), so they run the same by hand, from cron and in CI.
Output names archives, tables and counts; never secrets, row values or the database URL.
"""

from __future__ import annotations

import os
from collections import ChainMap
from collections.abc import Mapping
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade

from models import db
from models.backup import (
    BackupError,
    create_backup,
    list_backups,
    locate_archive,
    prune_backups,
    restore_backup,
    store_from_config,
    verify_backup,
)
from models.backup.archive import Manifest
from models.key_rotation import RotationError, rotate_secrets
from models.secrets import SecretError, SecretSealer

backup_cli = AppGroup("backup", help="Encrypted database backups (BACKUP_DIR, or BACKUP_S3_BUCKET on S3).")
secrets_cli = AppGroup("secrets", help="Secrets encryption keys.")


def register_commands(app: Flask) -> None:
    """Add the `backup` and `secrets` command groups to the app's CLI."""
    app.cli.add_command(backup_cli)
    app.cli.add_command(secrets_cli)


def _settings() -> Mapping[str, Any]:
    # Settings the app config does not carry (BACKUP_S3_PREFIX) come straight from the environment.
    return ChainMap(current_app.config, os.environ)  # type: ignore[arg-type]


def _sealer() -> SecretSealer:
    box = current_app.extensions["pagemail.secrets"]
    if not isinstance(box, SecretSealer):
        raise click.ClickException("the configured secret box cannot seal archives")
    return box


def _migrations_dir() -> str:
    return str(current_app.extensions["migrate"].directory)


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


def _rows(manifest: Manifest) -> str:
    return " ".join(f"{name}={rows}" for name, rows in manifest.tables)


def _fail(exc: Exception) -> click.ClickException:
    if isinstance(exc, sa.exc.SQLAlchemyError):
        # Driver messages may quote row values or connection details: name the class only.
        return click.ClickException(f"the database failed: {type(exc).__name__}")
    return click.ClickException(str(exc))


@backup_cli.command("create")
def backup_create() -> None:
    """Export every table from one snapshot into a new encrypted archive."""
    try:
        created = create_backup(store_from_config(_settings()), _sealer(), db.engine, db.metadata, _migrations_dir())
    except (BackupError, SecretError, sa.exc.SQLAlchemyError) as exc:
        raise _fail(exc) from None
    manifest = created.manifest
    click.echo(
        f"created {manifest.name} in {created.location} ({_size(created.size)}, "
        f"schema {manifest.schema_revision}, key {manifest.key_id})"
    )
    click.echo(f"  rows: {_rows(manifest)}")


@backup_cli.command("list")
def backup_list() -> None:
    """Archives, newest first, with date, size, schema revision and row counts."""
    try:
        store = store_from_config(_settings())
        archives = list_backups(store)
    except BackupError as exc:
        raise _fail(exc) from None
    if not archives:
        click.echo(f"no backups in {store.describe()}")
        return
    click.echo(f"{len(archives)} backup(s) in {store.describe()}, newest first:")
    for info in archives:
        created = info.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        if info.manifest is None:
            details = f"({info.problem})"
        else:
            details = f"schema {info.manifest.schema_revision}  {_rows(info.manifest)}"
        click.echo(f"{info.name}  {created}  {_size(info.size):>10}  {details}")


@backup_cli.command("verify")
@click.argument("archive")
def backup_verify(archive: str) -> None:
    """Decrypt and check ARCHIVE completely (a path, s3://bucket/key, or a name from `backup list`)."""
    try:
        store, name = locate_archive(archive, _settings())
        verified = verify_backup(store, name, _sealer())
    except (BackupError, SecretError, sa.exc.SQLAlchemyError) as exc:
        raise _fail(exc) from None
    manifest = verified.manifest
    if not verified.sidecar_present:
        click.echo("warning: the manifest copy next to the archive is missing (the archive itself is fine)", err=True)
    click.echo(
        f"OK {manifest.name}: created {manifest.created_at:%Y-%m-%d %H:%M:%S} UTC, "
        f"schema {manifest.schema_revision}, key {manifest.key_id}, sha256 {manifest.payload_sha256[:16]}…"
    )
    click.echo(f"  rows: {_rows(manifest)} (all parsed, counts and checksum match)")


@backup_cli.command("restore")
@click.argument("archive")
def backup_restore(archive: str) -> None:
    """Load ARCHIVE into the (empty) database, after verifying it."""
    try:
        store, name = locate_archive(archive, _settings())
        restored = restore_backup(
            store, name, _sealer(), db.engine, _migrations_dir(), lambda revision: upgrade(revision=revision)
        )
    except (BackupError, SecretError, sa.exc.SQLAlchemyError) as exc:
        raise _fail(exc) from None
    manifest = restored.manifest
    schema = "schema created" if restored.schema_created else "schema was in place"
    click.echo(f"restored {manifest.name} at schema {manifest.schema_revision} ({schema})")
    click.echo(f"  rows: {_rows(manifest)}")
    if not restored.schema_is_current:
        click.echo("next: `flask --app app db upgrade` brings the schema up to this release")


@backup_cli.command("prune")
@click.option("--daily", default=7, show_default=True, type=click.IntRange(min=0), help="Days to keep.")
@click.option("--weekly", default=4, show_default=True, type=click.IntRange(min=0), help="ISO weeks to keep.")
@click.option("--dry-run", is_flag=True, help="Only show what would be deleted.")
def backup_prune(daily: int, weekly: int, dry_run: bool) -> None:
    """Keep the newest archive of each of the last DAILY days and WEEKLY ISO weeks; delete the rest."""
    try:
        result = prune_backups(store_from_config(_settings()), daily=daily, weekly=weekly, dry_run=dry_run)
    except BackupError as exc:
        raise _fail(exc) from None
    verb = "would delete" if dry_run else "deleted"
    for name in result.kept:
        click.echo(f"{'keep':<12}  {name}")
    for name in result.deleted:
        click.echo(f"{verb:<12}  {name}")
    click.echo(f"kept {len(result.kept)}, {verb} {len(result.deleted)}")


@secrets_cli.command("rotate")
@click.option("--dry-run", is_flag=True, help="Check and count, change nothing.")
def secrets_rotate(dry_run: bool) -> None:
    """Re-encrypt every secret not yet under the current key (tenant shared secrets, SMTP passwords)."""
    box = current_app.extensions["pagemail.secrets"]
    try:
        results = rotate_secrets(db.session, box, dry_run=dry_run)
    except (RotationError, SecretError, sa.exc.SQLAlchemyError) as exc:
        raise click.ClickException(f"{_fail(exc).message}; nothing was changed") from None
    verb = "would re-encrypt" if dry_run else "re-encrypted"
    for result in results:
        line = f"{result.label}: {verb} {result.rotated}, already current {result.current} (of {result.total})"
        if result.changed_meanwhile:
            line += f", {result.changed_meanwhile} replaced by the app meanwhile"
        click.echo(line)
