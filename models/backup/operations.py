"""The five backup operations: create, list, verify, restore, prune (the CLI is a thin layer over these)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Engine

from models.backup.archive import (
    MANIFEST_SUFFIX,
    Manifest,
    TableDump,
    archive_name_of,
    archive_time,
    build_archive,
    manifest_differences,
    manifest_name,
    new_archive_name,
    open_archive,
    parse_sidecar,
)
from models.backup.errors import ArchiveInvalid, ArchiveNotFound, BackupError, RestoreRefused
from models.backup.export import read_snapshot
from models.backup.restore import insert_tables, prepare_schema
from models.backup.retention import archives_to_keep
from models.backup.stores import ArchiveStore
from models.secrets import SecretSealer


@dataclass(frozen=True)
class CreatedArchive:
    manifest: Manifest
    size: int
    location: str


@dataclass(frozen=True)
class ArchiveInfo:
    name: str
    created_at: dt.datetime
    size: int
    manifest: Manifest | None  # the copy next to the archive; None if missing or unreadable
    problem: str | None = None


@dataclass(frozen=True)
class VerifiedArchive:
    manifest: Manifest
    tables: list[TableDump]
    sidecar_present: bool


@dataclass(frozen=True)
class RestoredArchive:
    manifest: Manifest
    schema_created: bool
    schema_is_current: bool  # False: `flask db upgrade` brings the restored data to this release's schema


@dataclass(frozen=True)
class PruneResult:
    kept: list[str]
    deleted: list[str]


def _migration_heads(migrations_dir: str) -> set[str]:
    return set(ScriptDirectory(migrations_dir).get_heads())


def _is_known_revision(migrations_dir: str, revision: str) -> bool:
    try:
        return ScriptDirectory(migrations_dir).get_revision(revision) is not None
    except CommandError:
        return False


def create_backup(
    store: ArchiveStore,
    sealer: SecretSealer,
    engine: Engine,
    metadata: sa.MetaData,
    migrations_dir: str,
    *,
    now: dt.datetime | None = None,
) -> CreatedArchive:
    """Export every table from one snapshot, seal it, and store the archive and its manifest copy."""
    snapshot = read_snapshot(engine, metadata, _migration_heads(migrations_dir))
    created_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    name = new_archive_name(created_at)
    sealed, manifest = build_archive(
        snapshot.tables,
        name=name,
        created_at=created_at,
        schema_revision=snapshot.schema_revision,
        source_database=snapshot.source_database,
        sealer=sealer,
    )
    # Archive first: a manifest copy never points at an archive that is not there.
    store.write(name, sealed)
    store.write(manifest_name(name), manifest.sidecar_bytes())
    return CreatedArchive(manifest=manifest, size=len(sealed), location=store.describe())


def list_backups(store: ArchiveStore) -> list[ArchiveInfo]:
    """Archives newest first, described by the manifest copies (nothing is decrypted)."""
    objects = store.list_objects()
    names = {o.name for o in objects}
    infos: list[ArchiveInfo] = []
    for stored in objects:
        created_at = archive_time(stored.name)
        if created_at is None:
            continue
        manifest: Manifest | None = None
        problem: str | None = None
        if manifest_name(stored.name) not in names:
            problem = "manifest copy missing"
        else:
            try:
                manifest = parse_sidecar(store.read(manifest_name(stored.name)))
            except BackupError as exc:
                problem = str(exc)
        infos.append(ArchiveInfo(stored.name, created_at, stored.size, manifest, problem))
    return sorted(infos, key=lambda info: (info.created_at, info.name), reverse=True)


def verify_backup(store: ArchiveStore, name: str, sealer: SecretSealer) -> VerifiedArchive:
    """Decrypt, decompress, check checksum and row counts, parse every row; no database is touched."""
    sealed = store.read(name)
    manifest, tables = open_archive(sealed, name=name, sealer=sealer)
    try:
        sidecar = store.read(manifest_name(name))
    except ArchiveNotFound:
        return VerifiedArchive(manifest, tables, sidecar_present=False)
    differences = manifest_differences(parse_sidecar(sidecar), manifest)
    if differences:
        raise ArchiveInvalid(
            "the manifest next to the archive does not match the one inside it "
            f"(differs in: {', '.join(differences)}); it was edited or belongs to another archive"
        )
    return VerifiedArchive(manifest, tables, sidecar_present=True)


def restore_backup(
    store: ArchiveStore,
    name: str,
    sealer: SecretSealer,
    engine: Engine,
    migrations_dir: str,
    upgrade: Callable[[str], None],
) -> RestoredArchive:
    """Verify the archive, then load it into an empty database at the archive's schema revision."""
    verified = verify_backup(store, name, sealer)
    revision = verified.manifest.schema_revision
    if not _is_known_revision(migrations_dir, revision):
        raise RestoreRefused(
            f"the archive's schema revision {revision} is unknown to this version of pagemail "
            "(restore it with the release that made it, or a later one)"
        )
    schema_created = prepare_schema(engine, revision, upgrade)
    insert_tables(engine, verified.tables)
    return RestoredArchive(verified.manifest, schema_created, revision in _migration_heads(migrations_dir))


def prune_backups(store: ArchiveStore, *, daily: int, weekly: int, dry_run: bool = False) -> PruneResult:
    """Keep the newest archive of each of the last `daily` days and `weekly` ISO weeks; delete the rest."""
    if daily <= 0 and weekly <= 0:
        raise BackupError("refusing to prune with --daily 0 and --weekly 0: that would delete every archive")
    objects = store.list_objects()
    names = {o.name for o in objects}
    archives = [(o.name, created) for o in objects if (created := archive_time(o.name)) is not None]
    keep = archives_to_keep(archives, daily=daily, weekly=weekly)
    newest_first = [name for name, _ in sorted(archives, key=lambda a: (a[1], a[0]), reverse=True)]
    doomed = [name for name in newest_first if name not in keep]
    # Manifest copies whose archive is gone (an interrupted prune) go too.
    orphans = [
        o.name
        for o in objects
        if o.name.endswith(MANIFEST_SUFFIX)
        and archive_time(archive_name_of(o.name)) is not None
        and archive_name_of(o.name) not in names
    ]
    if not dry_run:
        for name in doomed:
            store.delete(name)
            if manifest_name(name) in names:
                store.delete(manifest_name(name))
        for orphan in orphans:
            store.delete(orphan)
    return PruneResult(kept=[n for n in newest_first if n in keep], deleted=doomed)
