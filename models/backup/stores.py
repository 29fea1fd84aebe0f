"""Where archives live: a local folder (development) or an S3 bucket with SSE-KMS (production).

Both stores hold flat objects by name (the archive and the manifest copy next to it); the
backup layer decides what the names mean. Configuration comes from the environment:
BACKUP_S3_BUCKET (+ BACKUP_S3_PREFIX, AWS_ENDPOINT_URL_S3, AWS_REGION / AWS_DEFAULT_REGION), else
BACKUP_DIR (default `<instance folder>/backups`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from models.backup.archive import archive_name_of
from models.backup.errors import ArchiveNotFound, StoreError


@dataclass(frozen=True)
class StoredObject:
    name: str
    size: int


class ArchiveStore(Protocol):
    def describe(self) -> str: ...

    def list_objects(self) -> list[StoredObject]: ...

    def read(self, name: str) -> bytes: ...

    def write(self, name: str, data: bytes) -> None: ...

    def delete(self, name: str) -> None: ...


def _check_name(name: str) -> str:
    # Names come from us or from the command line: never let one climb out of the folder or prefix.
    if not name or "/" in name or "\\" in name or name in {".", ".."} or name.startswith("."):
        raise StoreError(f"{name!r} is not a valid archive object name")
    return name


class LocalDirStore:
    """Archives in a folder: files mode 0600 in a folder mode 0700, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def describe(self) -> str:
        return str(self.directory)

    def list_objects(self) -> list[StoredObject]:
        try:
            entries = list(self.directory.iterdir())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"cannot list {self.directory}: {exc.strerror or exc}") from None
        found: list[StoredObject] = []
        for entry in entries:
            if entry.name.startswith("."):  # temporary files of a write in progress
                continue
            try:
                if entry.is_file():
                    found.append(StoredObject(entry.name, entry.stat().st_size))
            except FileNotFoundError:  # deleted meanwhile (a concurrent prune)
                continue
        return found

    def read(self, name: str) -> bytes:
        path = self.directory / _check_name(name)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise ArchiveNotFound(f"{path} does not exist") from None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None

    def write(self, name: str, data: bytes) -> None:
        path = self.directory / _check_name(name)
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkstemp creates the file 0600; the rename publishes it complete or not at all.
            fd, temp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.directory)
        except OSError as exc:
            raise StoreError(f"cannot write to {self.directory}: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, path)
            _fsync_directory(self.directory)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)

    def delete(self, name: str) -> None:
        path = self.directory / _check_name(name)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot delete {path}: {exc.strerror or exc}") from None


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # durability of the rename is a bonus where the OS allows it
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class S3Store:
    """Archives as objects under a prefix, encrypted at rest with SSE-KMS (on top of the client-side sealing).

    In a versioned bucket a delete leaves a delete marker; the bucket's lifecycle rules expire old versions.
    """

    def __init__(self, client: BaseClient, bucket: str, prefix: str = "", kms_key_id: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.kms_key_id = kms_key_id

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _call(self, operation: str, **params: Any) -> Any:
        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
            if code in {"NoSuchKey", "404", "NotFound"}:
                missing = str(params.get("Key", ""))[len(self.prefix) :]
                raise ArchiveNotFound(f"{self.describe()}{missing} does not exist") from None
            raise StoreError(f"S3 {operation} on bucket {self.bucket} failed: {code}") from None
        except BotoCoreError as exc:
            raise StoreError(f"S3 {operation} on bucket {self.bucket} failed: {type(exc).__name__}") from None

    def list_objects(self) -> list[StoredObject]:
        found: list[StoredObject] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"Prefix": self.prefix}
            if token:
                params["ContinuationToken"] = token
            page = self._call("list_objects_v2", **params)
            for item in page.get("Contents", []):
                name = str(item["Key"])[len(self.prefix) :]
                if name and "/" not in name:  # deeper "folders" belong to someone else
                    found.append(StoredObject(name, int(item.get("Size", 0))))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return found

    def read(self, name: str) -> bytes:
        answer = self._call("get_object", Key=self.prefix + _check_name(name))
        try:
            return bytes(answer["Body"].read())
        except (BotoCoreError, OSError) as exc:
            raise StoreError(f"reading {self.describe()}{name} failed: {type(exc).__name__}") from None

    def write(self, name: str, data: bytes) -> None:
        params: dict[str, Any] = {"ServerSideEncryption": "aws:kms"}
        if self.kms_key_id:
            params["SSEKMSKeyId"] = self.kms_key_id
        self._call(
            "put_object",
            Key=self.prefix + _check_name(name),
            Body=data,
            ContentType="application/octet-stream",
            **params,
        )

    def delete(self, name: str) -> None:
        self._call("delete_object", Key=self.prefix + _check_name(name))


# --- configuration ---------------------------------------------------------------------------------


def _setting(config: Mapping[str, Any], name: str) -> str:
    value = config.get(name)
    return "" if value is None else str(value).strip()


def s3_client(config: Mapping[str, Any]) -> BaseClient:
    region = _setting(config, "AWS_REGION") or _setting(config, "AWS_DEFAULT_REGION")
    endpoint = _setting(config, "AWS_ENDPOINT_URL_S3") or _setting(config, "AWS_ENDPOINT_URL")
    # Archives can be large and S3 slow: longer reads than KMS, bounded retries all the same.
    client_config = Config(connect_timeout=10, read_timeout=120, retries={"max_attempts": 5, "mode": "standard"})
    try:
        return boto3.session.Session().client(
            "s3", region_name=region or None, endpoint_url=endpoint or None, config=client_config
        )
    except BotoCoreError as exc:
        raise StoreError(f"cannot create the S3 client (set AWS_REGION): {type(exc).__name__}") from None


def store_from_config(config: Mapping[str, Any]) -> ArchiveStore:
    """The configured store: S3 when BACKUP_S3_BUCKET is set, else the BACKUP_DIR folder."""
    bucket = _setting(config, "BACKUP_S3_BUCKET")
    if bucket:
        return S3Store(
            s3_client(config),
            bucket,
            prefix=_setting(config, "BACKUP_S3_PREFIX"),
            kms_key_id=_setting(config, "SECRETS_KMS_KEY_ID"),
        )
    directory = _setting(config, "BACKUP_DIR")
    if not directory:
        instance = _setting(config, "INSTANCE_PATH")
        if not instance:
            raise StoreError("set BACKUP_DIR or BACKUP_S3_BUCKET")
        directory = str(Path(instance) / "backups")
    return LocalDirStore(Path(directory))


def locate_archive(reference: str, config: Mapping[str, Any]) -> tuple[ArchiveStore, str]:
    """The store and archive name for a command-line reference.

    Accepted: an `s3://bucket/key` URL, a file path, or a name as `backup list` shows it (in the
    configured store; with S3 the key including BACKUP_S3_PREFIX works too). A manifest's name or
    path stands for its archive.
    """
    reference = reference.strip()
    if not reference:
        raise ArchiveNotFound("no archive given")
    if reference.startswith("s3://"):
        parts = urlsplit(reference)
        key = parts.path.lstrip("/")
        if not parts.netloc or not key:
            raise ArchiveNotFound(f"{reference!r} is not an s3://bucket/key URL")
        prefix, _, name = key.rpartition("/")
        store = S3Store(s3_client(config), parts.netloc, prefix, _setting(config, "SECRETS_KMS_KEY_ID"))
        return store, archive_name_of(name)
    path = Path(reference)
    if path.is_file():
        return LocalDirStore(path.resolve().parent), archive_name_of(path.name)
    configured = store_from_config(config)
    if isinstance(configured, S3Store) and reference.startswith(configured.prefix):
        name = reference[len(configured.prefix) :]
        if "/" not in name:
            return configured, archive_name_of(name)
    if "/" in reference or os.sep in reference:
        raise ArchiveNotFound(f"{reference} does not exist")
    return configured, archive_name_of(reference)
