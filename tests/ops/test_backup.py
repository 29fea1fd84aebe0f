"""`flask backup ...` on real databases and a folder: SQLite <-> PostgreSQL round trips, refusals, prune."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask import Flask

from models import Tenant, db
from models.backup import LocalDirStore, create_backup
from models.backup.archive import PURPOSE, manifest_name
from models.secrets import LocalKeyBox
from tests.ops.conftest import (
    PLAIN_MARKERS,
    SHARED_SECRETS,
    all_rows,
    only_archive,
    ops_app,
    populate,
    run,
    table_names,
)


def _head(app: Flask) -> str:
    return ScriptDirectory(app.extensions["migrate"].directory).get_current_head() or ""


@pytest.fixture
def source(tmp_path: Path) -> Flask:
    app = ops_app(tmp_path / "source", BACKUP_DIR=str(tmp_path / "backups"))
    populate(app)
    return app


@pytest.fixture
def archive(source: Flask, tmp_path: Path) -> Path:
    result = run(source, "backup", "create")
    assert result.exit_code == 0, result.output
    return only_archive(tmp_path / "backups")


def _target(tmp_path: Path, name: str, **env: str) -> Flask:
    """An app on a brand-new SQLite file (no tables), same key file and backup folder as the source."""
    return ops_app(
        tmp_path / name,
        migrate=False,
        SECRETS_KEY_FILE=str(tmp_path / "source" / "secrets.key"),
        BACKUP_DIR=str(tmp_path / "backups"),
        **env,
    )


# --- the round trip -------------------------------------------------------------------------------


def test_round_trip_from_sqlite_to_postgresql(source: Flask, tmp_path: Path, pg_url: str) -> None:
    backups = tmp_path / "backups"
    created = run(source, "backup", "create")
    assert created.exit_code == 0, created.output
    archive = only_archive(backups)
    assert archive.name in created.output and "tenant=3" in created.output

    # The archive and its manifest copy: private files, written completely, nothing left over.
    sidecar = backups / manifest_name(archive.name)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600
    assert sorted(p.name for p in backups.iterdir()) == sorted([archive.name, sidecar.name])

    manifest = json.loads(sidecar.read_text())
    assert manifest["schema_revision"] == _head(source)
    assert manifest["source_database"] == "sqlite"
    assert manifest["name"] == archive.name
    assert manifest["key_id"] == source.extensions["pagemail.secrets"].key_id
    source_rows = all_rows(source)
    assert {t["name"]: t["rows"] for t in manifest["tables"]} == {n: len(r) for n, r in source_rows.items()}
    assert [t["name"] for t in manifest["tables"]] == ["tenant", "space_settings", "tenant_settings"]

    # Encrypted client-side: no table content is readable in the archive or in the manifest copy.
    raw = archive.read_bytes()
    for marker in (*PLAIN_MARKERS, *SHARED_SECRETS, "pm1.local"):
        assert marker.encode() not in raw
        assert marker not in sidecar.read_text()

    listed = run(source, "backup", "list")
    assert listed.exit_code == 0, listed.output
    assert archive.name in listed.output and "tenant=3" in listed.output and _head(source) in listed.output

    verified = run(source, "backup", "verify", str(archive))
    assert verified.exit_code == 0, verified.output
    assert f"OK {archive.name}" in verified.output

    target = _target(tmp_path, "target", DATABASE_URL=pg_url)
    restored = run(target, "backup", "restore", archive.name)
    assert restored.exit_code == 0, restored.output
    assert "schema created" in restored.output

    assert all_rows(target) == source_rows

    with target.app_context():
        box = target.extensions["pagemail.secrets"]
        tenants = db.session.execute(db.select(Tenant).order_by(Tenant.id)).scalars().all()
        # Secrets travelled in their encrypted form and still open with the same key.
        assert {
            t.client_key: box.decrypt(t.shared_secret_encrypted, tenant=t.client_key, field=Tenant.SHARED_SECRET_FIELD)
            for t in tenants
        } == SHARED_SECRETS
        # The sequence was moved past the restored ids: a new install gets the next id.
        highest = max(t.id for t in tenants)
        fresh = Tenant(client_key="site-new", base_url="https://n.atlassian.net/wiki", shared_secret_encrypted="x")
        db.session.add(fresh)
        db.session.commit()
        assert fresh.id == highest + 1
        db.session.remove()

    again = run(target, "backup", "restore", archive.name)
    assert again.exit_code != 0
    assert "not empty" in again.output


def test_a_postgresql_snapshot_restores_into_sqlite(tmp_path: Path, pg_url: str) -> None:
    source = ops_app(tmp_path / "source", DATABASE_URL=pg_url, BACKUP_DIR=str(tmp_path / "backups"))
    populate(source)
    created = run(source, "backup", "create")
    assert created.exit_code == 0, created.output
    archive = only_archive(tmp_path / "backups")
    assert json.loads(archive.with_name(manifest_name(archive.name)).read_text())["source_database"] == "postgresql"

    target = _target(tmp_path, "target")
    restored = run(target, "backup", "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert all_rows(target) == all_rows(source)


def test_restore_into_a_migrated_but_empty_sqlite_database(archive: Path, source: Flask, tmp_path: Path) -> None:
    target = _target(tmp_path, "target")
    with target.app_context():
        from flask_migrate import upgrade

        upgrade()
    result = run(target, "backup", "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert "schema was in place" in result.output
    assert all_rows(target) == all_rows(source)


def test_restore_into_a_non_empty_database_is_refused_and_changes_nothing(archive: Path, tmp_path: Path) -> None:
    target = _target(tmp_path, "target")
    with target.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.session.add(
            Tenant(client_key="already-here", base_url="https://x.atlassian.net", shared_secret_encrypted="x")
        )
        db.session.commit()
        db.session.remove()
    before = all_rows(target)

    result = run(target, "backup", "restore", archive.name)

    assert result.exit_code != 0
    assert "not empty" in result.output and "tenant" in result.output
    assert all_rows(target) == before


def test_verify_touches_no_database(archive: Path, tmp_path: Path) -> None:
    # Any use of this database would fail: its folder does not exist.
    unreachable = f"sqlite:///{tmp_path / 'no-such-folder' / 'db.sqlite'}"
    app = _target(tmp_path, "elsewhere", DATABASE_URL=unreachable)
    result = run(app, "backup", "verify", str(archive))
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "no-such-folder").exists()


def test_archives_can_be_named_by_path_name_or_manifest(archive: Path, source: Flask) -> None:
    for reference in (
        str(archive),
        archive.name,
        manifest_name(archive.name),
        str(archive.with_name(manifest_name(archive.name))),
    ):
        result = run(source, "backup", "verify", reference)
        assert result.exit_code == 0, (reference, result.output)


def test_unknown_archives_are_a_clear_error(source: Flask, tmp_path: Path) -> None:
    for reference in (
        "pagemail-20250101T000000Z-00000000.pmbackup",
        str(tmp_path / "nope.pmbackup"),
        "notes.txt",
    ):
        result = run(source, "backup", "verify", reference)
        assert result.exit_code != 0
        assert "Error:" in result.output and "Traceback" not in result.output


def test_list_shows_newest_first_and_an_empty_folder_says_so(source: Flask, tmp_path: Path) -> None:
    assert "no backups in" in run(source, "backup", "list").output
    with source.app_context():
        store = LocalDirStore(tmp_path / "backups")
        box, migrations = source.extensions["pagemail.secrets"], source.extensions["migrate"].directory
        older = create_backup(
            store, box, db.engine, db.metadata, migrations, now=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        )
        newer = create_backup(
            store, box, db.engine, db.metadata, migrations, now=dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
        )
        db.session.remove()
    (tmp_path / "backups" / manifest_name(older.manifest.name)).unlink()

    output = run(source, "backup", "list").output

    assert output.index(newer.manifest.name) < output.index(older.manifest.name)
    assert "2025-02-01 00:00:00 UTC" in output
    assert "manifest copy missing" in output


# --- refusals: tampering, truncation, wrong key, renaming -----------------------------------------


def _refused(app: Flask, archive: Path, *needles: str) -> str:
    result = run(app, "backup", "verify", str(archive))
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, result.output
    return result.output


@pytest.mark.parametrize("where", ["header", "middle", "last"])
def test_a_flipped_byte_is_refused(archive: Path, source: Flask, tmp_path: Path, where: str) -> None:
    data = bytearray(archive.read_bytes())
    position = {"header": 20, "middle": len(data) // 2, "last": len(data) - 1}[where]
    data[position] ^= 0x01
    archive.write_bytes(bytes(data))

    _refused(source, archive, "Error:")

    # restore verifies first: the target database is not even given a schema.
    target = _target(tmp_path, "target")
    result = run(target, "backup", "restore", str(archive))
    assert result.exit_code != 0
    assert table_names(target) == set()


def test_a_flipped_ciphertext_byte_says_the_archive_does_not_decrypt(archive: Path, source: Flask) -> None:
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x80
    archive.write_bytes(bytes(data))
    _refused(source, archive, "does not decrypt")


@pytest.mark.parametrize("keep", [0, 10, 200, -1])
def test_a_truncated_archive_is_refused(archive: Path, source: Flask, keep: int) -> None:
    data = archive.read_bytes()
    archive.write_bytes(data[:keep] if keep >= 0 else data[: len(data) // 2])
    _refused(source, archive, "Error:")


def test_an_edited_manifest_copy_is_refused(archive: Path, source: Flask) -> None:
    sidecar = archive.with_name(manifest_name(archive.name))
    manifest = json.loads(sidecar.read_text())
    manifest["tables"][0]["rows"] += 1
    sidecar.write_text(json.dumps(manifest))
    _refused(source, archive, "does not match", "tables")


def test_a_manifest_copy_of_another_archive_is_refused(archive: Path, source: Flask, tmp_path: Path) -> None:
    assert run(source, "backup", "create").exit_code == 0
    other = next(p for p in (tmp_path / "backups").glob("*.pmbackup") if p != archive)
    shutil.copyfile(other.with_name(manifest_name(other.name)), archive.with_name(manifest_name(archive.name)))
    _refused(source, archive, "does not match", "name")


def test_an_unreadable_manifest_copy_is_refused(archive: Path, source: Flask) -> None:
    archive.with_name(manifest_name(archive.name)).write_text("{not json")
    _refused(source, archive, "not JSON")


def test_a_missing_manifest_copy_is_a_warning_only(archive: Path, source: Flask) -> None:
    archive.with_name(manifest_name(archive.name)).unlink()
    result = run(source, "backup", "verify", str(archive))
    assert result.exit_code == 0, result.output
    assert "manifest copy next to the archive is missing" in result.stderr


def test_another_key_is_refused_and_the_old_key_as_previous_opens_it(archive: Path, tmp_path: Path) -> None:
    other_key = tmp_path / "other.key"
    stranger = ops_app(tmp_path / "stranger", migrate=False, SECRETS_KEY_FILE=str(other_key))
    output = _refused(stranger, archive, "does not decrypt", "local key")
    assert "SECRETS_KEY_FILE" in output

    rotated = ops_app(
        tmp_path / "rotated",
        migrate=False,
        SECRETS_KEY_FILE=str(other_key),
        SECRETS_PREVIOUS_KEY_FILES=str(tmp_path / "source" / "secrets.key"),
    )
    assert run(rotated, "backup", "verify", str(archive)).exit_code == 0


def test_a_renamed_archive_does_not_open(archive: Path, source: Flask) -> None:
    renamed = archive.with_name("pagemail-20200101T000000Z-0badc0de.pmbackup")
    archive.rename(renamed)
    _refused(source, renamed, "does not decrypt", "renamed")


def _reseal(archive: Path, box: LocalKeyBox, change: Callable[[list[bytes]], None]) -> None:
    """Decrypt with the right key, change the content, seal again: only the content checks can catch it."""
    plain = gzip.decompress(box.open_bytes(archive.read_bytes(), purpose=PURPOSE, name=archive.name))
    lines = plain.split(b"\n")
    change(lines)
    archive.write_bytes(box.seal_bytes(gzip.compress(b"\n".join(lines)), purpose=PURPOSE, name=archive.name))


def _fix_checksum(lines: list[bytes]) -> None:
    import hashlib

    manifest = json.loads(lines[0])
    payload = b"\n".join(lines[1:])
    manifest["payload_sha256"], manifest["payload_bytes"] = hashlib.sha256(payload).hexdigest(), len(payload)
    lines[0] = json.dumps(manifest).encode()


def _row_line(lines: list[bytes], table: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(f'{{"table":"{table}","row"'.encode()))


def test_content_not_matching_the_checksum_is_refused(archive: Path, source: Flask) -> None:
    box = source.extensions["pagemail.secrets"]
    _reseal(archive, box, lambda lines: lines.pop(_row_line(lines, "space_settings")))
    _refused(source, archive, "checksum")


def test_row_counts_not_matching_the_manifest_are_refused(archive: Path, source: Flask) -> None:
    def drop_a_row(lines: list[bytes]) -> None:
        lines.pop(_row_line(lines, "space_settings"))
        _fix_checksum(lines)

    _reseal(archive, source.extensions["pagemail.secrets"], drop_a_row)
    _refused(source, archive, "row counts")


def test_every_row_is_parsed_with_its_type(archive: Path, source: Flask) -> None:
    def break_a_type(lines: list[bytes]) -> None:
        index = _row_line(lines, "tenant")
        record = json.loads(lines[index])
        record["row"]["enabled"] = "yes"
        lines[index] = json.dumps(record).encode()
        _fix_checksum(lines)

    _reseal(archive, source.extensions["pagemail.secrets"], break_a_type)
    output = _refused(source, archive, "column enabled", "bool")
    assert "yes" not in output  # the value itself is never echoed


# --- configuration and create refusals -----------------------------------------------------------


def test_create_refuses_a_database_without_schema(tmp_path: Path) -> None:
    app = ops_app(tmp_path, migrate=False)
    result = run(app, "backup", "create")
    assert result.exit_code != 0
    assert "no schema" in result.output
    assert not (tmp_path / "backups").exists()


def test_backup_dir_defaults_to_the_instance_folder(tmp_path: Path) -> None:
    app = ops_app(tmp_path, BACKUP_DIR="", overrides={"INSTANCE_PATH": str(tmp_path / "instance")})
    assert run(app, "backup", "create").exit_code == 0
    assert len(list((tmp_path / "instance" / "backups").glob("*.pmbackup"))) == 1


# --- prune -----------------------------------------------------------------------------------------


PRUNE_TIMES = {
    "mon-10-late": dt.datetime(2025, 3, 10, 21, 0, tzinfo=dt.UTC),  # ISO week 11
    "mon-10-early": dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.UTC),
    "sun-09": dt.datetime(2025, 3, 9, 12, 0, tzinfo=dt.UTC),  # week 10
    "sat-08-late": dt.datetime(2025, 3, 8, 20, 0, tzinfo=dt.UTC),
    "sat-08-early": dt.datetime(2025, 3, 8, 8, 0, tzinfo=dt.UTC),
    "wed-05": dt.datetime(2025, 3, 5, 10, 0, tzinfo=dt.UTC),
    "sun-02": dt.datetime(2025, 3, 2, 10, 0, tzinfo=dt.UTC),  # week 9
    "thu-feb-20": dt.datetime(2025, 2, 20, 10, 0, tzinfo=dt.UTC),  # week 8
    "mon-feb-10": dt.datetime(2025, 2, 10, 10, 0, tzinfo=dt.UTC),  # week 7
}
# --daily 3: the newest of 10th, 9th, 8th March; --weekly 4: weeks 11 and 10 are covered by those, + 9 and 8.
PRUNE_KEPT = {"mon-10-late", "sun-09", "sat-08-late", "sun-02", "thu-feb-20"}


def _archives_at_times(app: Flask, directory: Path) -> dict[str, str]:
    names: dict[str, str] = {}
    with app.app_context():
        box, migrations = app.extensions["pagemail.secrets"], app.extensions["migrate"].directory
        for label, moment in PRUNE_TIMES.items():
            created = create_backup(LocalDirStore(directory), box, db.engine, db.metadata, migrations, now=moment)
            names[label] = created.manifest.name
        db.session.remove()
    return names


def test_prune_keeps_the_newest_of_each_day_and_week(source: Flask, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    names = _archives_at_times(source, backups)
    (backups / "notes.txt").write_text("not an archive")

    dry = run(source, "backup", "prune", "--daily", "3", "--weekly", "4", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "kept 5, would delete 4" in dry.output
    assert len(list(backups.glob("*.pmbackup"))) == len(PRUNE_TIMES)

    result = run(source, "backup", "prune", "--daily", "3", "--weekly", "4")
    assert result.exit_code == 0, result.output
    assert "kept 5, deleted 4" in result.output

    expected = {names[label] for label in PRUNE_KEPT}
    assert {p.name for p in backups.glob("*.pmbackup")} == expected
    assert {p.name for p in backups.glob("*.manifest.json")} == {manifest_name(n) for n in expected}
    assert (backups / "notes.txt").exists()

    # Pruning again with the same policy changes nothing.
    assert "deleted 0" in run(source, "backup", "prune", "--daily", "3", "--weekly", "4").output


def test_prune_defaults_and_refusal_to_delete_everything(source: Flask, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    names = _archives_at_times(source, backups)

    refused = run(source, "backup", "prune", "--daily", "0", "--weekly", "0")
    assert refused.exit_code != 0 and "every archive" in refused.output
    assert run(source, "backup", "prune", "--daily", "-1").exit_code != 0

    # Defaults 7 days and 4 weeks: all 7 days that have archives keep their newest one.
    assert run(source, "backup", "prune").exit_code == 0
    kept = {p.name for p in backups.glob("*.pmbackup")}
    assert kept == {names[label] for label in PRUNE_TIMES if label not in {"mon-10-early", "sat-08-early"}}


def test_archive_files_are_private_even_with_a_permissive_umask(source: Flask, tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        assert run(source, "backup", "create").exit_code == 0
    finally:
        os.umask(previous)
    archive = only_archive(tmp_path / "backups")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "backups").stat().st_mode) & 0o077 == 0
