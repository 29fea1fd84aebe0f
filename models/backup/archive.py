"""The archive format: names, the manifest, and the sealed, compressed JSON-lines payload.

    archive  = seal_bytes(gzip(manifest line + payload), purpose="backup", name=<archive name>)
    payload  = per table, in dependency order: {"table", "columns": [[name, tag], ...]} then one
               {"table", "row": {...}} line per row (values typed by rowcodec)

The manifest inside the archive is the authority; a copy of it is stored next to the archive so
archives can be listed without decrypting them, and `verify` checks that copy against the inside.
Secrets in rows stay in their encrypted form: the backup never decrypts them.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
import secrets
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from models.backup.errors import ArchiveInvalid, ArchiveNotFound, BackupError
from models.backup.rowcodec import TAGS, decode_row, encode_row
from models.secrets import SecretBackendError, SecretError, SecretSealer

FORMAT = "pagemail-backup"
FORMAT_VERSION = 1
PURPOSE = "backup"
ARCHIVE_SUFFIX = ".pmbackup"
MANIFEST_SUFFIX = ".manifest.json"
_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
_NAME_RE = re.compile(r"pagemail-(\d{8}T\d{6}Z)-[0-9a-f]{8}\.pmbackup\Z")


# --- names -----------------------------------------------------------------------------------------


def new_archive_name(created_at: dt.datetime) -> str:
    # The random part keeps two backups made in the same second apart.
    stamp = created_at.astimezone(dt.UTC).strftime(_TIME_FORMAT)
    return f"pagemail-{stamp}-{secrets.token_hex(4)}{ARCHIVE_SUFFIX}"


def archive_time(name: str) -> dt.datetime | None:
    """When the archive was made, read from its name; None for names the backup did not make."""
    match = _NAME_RE.match(name)
    if not match:
        return None
    return dt.datetime.strptime(match.group(1), _TIME_FORMAT).replace(tzinfo=dt.UTC)


def manifest_name(archive_name: str) -> str:
    return archive_name.removesuffix(ARCHIVE_SUFFIX) + MANIFEST_SUFFIX


def archive_name_of(name: str) -> str:
    """The archive a name refers to: an archive name, or its manifest's name."""
    if name.endswith(MANIFEST_SUFFIX):
        name = name.removesuffix(MANIFEST_SUFFIX) + ARCHIVE_SUFFIX
    if not name.endswith(ARCHIVE_SUFFIX) or len(name) <= len(ARCHIVE_SUFFIX):
        raise ArchiveNotFound(f"{name!r} is not a backup archive name (they end in {ARCHIVE_SUFFIX})")
    return name


# --- manifest --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    name: str
    created_at: dt.datetime
    schema_revision: str
    source_database: str
    tables: tuple[tuple[str, int], ...]  # (table, row count) in restore order
    payload_sha256: str
    payload_bytes: int
    key_id: str
    format_version: int = FORMAT_VERSION

    @property
    def row_counts(self) -> dict[str, int]:
        return dict(self.tables)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "name": self.name,
            "created_at": self.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "schema_revision": self.schema_revision,
            "source_database": self.source_database,
            "tables": [{"name": name, "rows": rows} for name, rows in self.tables],
            "payload_sha256": self.payload_sha256,
            "payload_bytes": self.payload_bytes,
            "compression": "gzip",
            "key_id": self.key_id,
        }

    def sidecar_bytes(self) -> bytes:
        """The copy stored next to the archive (readable, not secret: names, counts, hashes)."""
        return (json.dumps(self.as_json(), indent=2, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: object, what: str = "manifest") -> Manifest:
        try:
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError("not a pagemail backup manifest")
            version = data["format_version"]
            if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
                raise ValueError("made by a newer pagemail (unknown format version)")
            tables = tuple((_text(t["name"]), _count(t["rows"])) for t in data["tables"])
            created_at = dt.datetime.strptime(_text(data["created_at"]), "%Y-%m-%dT%H:%M:%SZ")
            return cls(
                name=_text(data["name"]),
                created_at=created_at.replace(tzinfo=dt.UTC),
                schema_revision=_text(data["schema_revision"]),
                source_database=_text(data["source_database"]),
                tables=tables,
                payload_sha256=_text(data["payload_sha256"]),
                payload_bytes=_count(data["payload_bytes"]),
                key_id=_text(data["key_id"]),
                format_version=version,
            )
        except (KeyError, TypeError, ValueError) as exc:
            detail = str(exc) if isinstance(exc, ValueError) else "a field is missing or has the wrong type"
            raise ArchiveInvalid(f"the {what} is unreadable: {detail}") from None


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("expected text")
    return value


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError("expected a count")
    return value


def parse_sidecar(data: bytes) -> Manifest:
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ArchiveInvalid("the manifest next to the archive is not JSON") from None
    return Manifest.from_json(parsed, "manifest next to the archive")


def manifest_differences(outer: Manifest, inner: Manifest) -> list[str]:
    """The fields in which the copy next to the archive differs from the manifest inside it."""
    outer_json, inner_json = outer.as_json(), inner.as_json()
    return sorted(k for k in outer_json.keys() | inner_json.keys() if outer_json.get(k) != inner_json.get(k))


# --- tables ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableDump:
    """One table: column names with their type tags (in table order), and its rows as Python values."""

    name: str
    columns: dict[str, str]
    rows: list[dict[str, Any]] = field(default_factory=list)


def _line(obj: object) -> bytes:
    # JSON escapes "\n" inside strings, so every record is exactly one line.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"


def _payload(tables: Iterable[TableDump]) -> bytes:
    lines: list[bytes] = []
    for table in tables:
        lines.append(_line({"table": table.name, "columns": [[n, t] for n, t in table.columns.items()]}))
        lines.extend(_line({"table": table.name, "row": encode_row(row, table.columns)}) for row in table.rows)
    return b"".join(lines)


def build_archive(
    tables: list[TableDump],
    *,
    name: str,
    created_at: dt.datetime,
    schema_revision: str,
    source_database: str,
    sealer: SecretSealer,
) -> tuple[bytes, Manifest]:
    """The sealed archive and its manifest."""
    try:
        payload = _payload(tables)
    except (TypeError, ValueError) as exc:  # e.g. a float NaN, or a JSON column holding a non-JSON value
        raise BackupError(f"a row cannot be written as JSON: {type(exc).__name__}") from None
    manifest = Manifest(
        name=name,
        created_at=created_at,
        schema_revision=schema_revision,
        source_database=source_database,
        tables=tuple((t.name, len(t.rows)) for t in tables),
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        payload_bytes=len(payload),
        key_id=sealer.current_key_label(),
    )
    inner = _line(manifest.as_json()) + payload
    try:
        sealed = sealer.seal_bytes(gzip.compress(inner, compresslevel=6, mtime=0), purpose=PURPOSE, name=name)
    except SecretError as exc:
        raise BackupError(f"the archive could not be encrypted: {exc}") from None
    return sealed, manifest


def open_archive(sealed: bytes, *, name: str, sealer: SecretSealer) -> tuple[Manifest, list[TableDump]]:
    """Decrypt, decompress, check the checksum and row counts, and parse every row."""
    try:
        compressed = sealer.open_bytes(sealed, purpose=PURPOSE, name=name)
    except SecretBackendError as exc:
        raise BackupError(f"the key service failed, the archive was not checked: {exc}") from None
    except SecretError as exc:
        raise ArchiveInvalid(
            f"the archive does not decrypt ({exc}); it was damaged, truncated or changed, made with another "
            "key, or renamed (an archive only opens under the name it was made with)"
        ) from None
    try:
        plain = gzip.decompress(compressed)
    except (OSError, EOFError, zlib.error):
        raise ArchiveInvalid("the archive decrypts but its content is not valid gzip") from None
    head, _, payload = plain.partition(b"\n")
    try:
        manifest = Manifest.from_json(json.loads(head.decode("utf-8")), "manifest inside the archive")
    except (UnicodeDecodeError, ValueError):
        raise ArchiveInvalid("the manifest inside the archive is not JSON") from None
    if manifest.name != name:
        raise ArchiveInvalid("the manifest inside the archive names another archive")
    if len(payload) != manifest.payload_bytes or hashlib.sha256(payload).hexdigest() != manifest.payload_sha256:
        raise ArchiveInvalid("the archive's data does not match the checksum in its manifest")
    return manifest, _parse_payload(payload, manifest)


def _parse_payload(payload: bytes, manifest: Manifest) -> list[TableDump]:
    tables: list[TableDump] = []
    lines = payload.split(b"\n")
    if lines[-1] != b"":
        raise ArchiveInvalid("the archive's data does not end with a complete line")
    for number, raw in enumerate(lines[:-1], start=2):  # line 1 is the manifest
        where = f"line {number}"
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ArchiveInvalid(f"{where} of the archive is not JSON") from None
        if not isinstance(record, dict) or not isinstance(record.get("table"), str):
            raise ArchiveInvalid(f"{where} of the archive is not a table or row record")
        if "columns" in record:
            tables.append(TableDump(record["table"], _columns(record["columns"], where)))
        elif isinstance(record.get("row"), dict) and tables and tables[-1].name == record["table"]:
            table = tables[-1]
            table.rows.append(decode_row(record["row"], table.columns, f"{where} (table {table.name})"))
        else:
            raise ArchiveInvalid(f"{where} of the archive is a row outside its table's section")
    found = tuple((t.name, len(t.rows)) for t in tables)
    if found != manifest.tables:
        raise ArchiveInvalid("the archive's tables or row counts differ from its manifest")
    return tables


def _columns(value: object, where: str) -> dict[str, str]:
    pairs = value if isinstance(value, list) else None
    if not pairs or not all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and p[1] in TAGS for p in pairs
    ):
        raise ArchiveInvalid(f"{where} of the archive has an unreadable column list")
    columns = {name: tag for name, tag in pairs}
    if len(columns) != len(pairs):
        raise ArchiveInvalid(f"{where} of the archive names a column twice")
    return columns
