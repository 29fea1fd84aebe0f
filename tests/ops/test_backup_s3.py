"""`flask backup ...` against a real S3 and KMS API over HTTP (moto's server mode, in-process)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from flask import Flask
from moto.server import ThreadedMotoServer

from models import db
from models.backup import S3Store, create_backup
from models.backup.archive import manifest_name
from models.backup.stores import s3_client
from tests.ops.conftest import PLAIN_MARKERS, all_rows, ops_app, populate, run

REGION = "eu-central-1"
BUCKET = "pagemail-backups-test"
PREFIX = "nightly"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Test credentials, no developer AWS configuration, a fresh KMS key and a versioned bucket."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_KMS",
        "AWS_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    session = boto3.session.Session()
    kms = session.client("kms", region_name=REGION, endpoint_url=moto_endpoint)
    s3 = session.client("s3", region_name=REGION, endpoint_url=moto_endpoint)
    key_arn = kms.create_key(Description="pagemail backup test key")["KeyMetadata"]["Arn"]
    bucket = f"{BUCKET}-{tmp_path.name[-8:].lower().replace('_', '-')}".strip("-")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return {"s3": s3, "key_arn": key_arn, "bucket": bucket, "endpoint": moto_endpoint}


def _s3_app(
    tmp_path: Path, aws: dict[str, Any], name: str, *, migrate: bool = True, prefix_in_config: bool = True
) -> Flask:
    settings = {
        "SECRETS_KMS_KEY_ID": aws["key_arn"],
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL_KMS": aws["endpoint"],
        "AWS_ENDPOINT_URL_S3": aws["endpoint"],
        "BACKUP_S3_BUCKET": aws["bucket"],
    }
    # BACKUP_S3_PREFIX is read from the process environment when the app config does not carry it.
    overrides = {"BACKUP_S3_PREFIX": PREFIX} if prefix_in_config else None
    return ops_app(tmp_path / name, migrate=migrate, overrides=overrides, **settings)


def _archive_keys(aws: dict[str, Any]) -> list[str]:
    listing = aws["s3"].list_objects_v2(Bucket=aws["bucket"], Prefix=f"{PREFIX}/")
    return sorted(o["Key"] for o in listing.get("Contents", []) if o["Key"].endswith(".pmbackup"))


def test_s3_and_kms_create_list_verify_restore(
    aws: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _s3_app(tmp_path, aws, "source")
    populate(source)

    created = run(source, "backup", "create")
    assert created.exit_code == 0, created.output
    assert f"s3://{aws['bucket']}/{PREFIX}/" in created.output
    [key] = _archive_keys(aws)
    name = key.rsplit("/", 1)[1]

    # Server-side encryption with the secrets' KMS key, on top of the client-side sealing.
    for object_key in (key, f"{PREFIX}/{manifest_name(name)}"):
        head = aws["s3"].head_object(Bucket=aws["bucket"], Key=object_key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == aws["key_arn"]
    body = aws["s3"].get_object(Bucket=aws["bucket"], Key=key)["Body"].read()
    for marker in PLAIN_MARKERS:
        assert marker.encode() not in body

    listed = run(source, "backup", "list")
    assert listed.exit_code == 0, listed.output
    assert name in listed.output and "tenant=3" in listed.output
    monkeypatch.setenv("BACKUP_S3_PREFIX", PREFIX)
    from_environment = _s3_app(tmp_path, aws, "lister", migrate=False, prefix_in_config=False)
    assert name in run(from_environment, "backup", "list").output

    for reference in (name, key, f"s3://{aws['bucket']}/{key}"):
        verified = run(source, "backup", "verify", reference)
        assert verified.exit_code == 0, (reference, verified.output)
        assert aws["key_arn"] in verified.output  # sealed under the KMS key

    target = _s3_app(tmp_path, aws, "target", migrate=False)
    restored = run(target, "backup", "restore", f"s3://{aws['bucket']}/{key}")
    assert restored.exit_code == 0, restored.output
    assert all_rows(target) == all_rows(source)


def test_s3_tampering_and_a_missing_object_are_refused(aws: dict[str, Any], tmp_path: Path) -> None:
    source = _s3_app(tmp_path, aws, "source")
    populate(source)
    assert run(source, "backup", "create").exit_code == 0
    [key] = _archive_keys(aws)
    body = bytearray(aws["s3"].get_object(Bucket=aws["bucket"], Key=key)["Body"].read())
    body[len(body) // 2] ^= 0x01
    aws["s3"].put_object(Bucket=aws["bucket"], Key=key, Body=bytes(body))

    tampered = run(source, "backup", "verify", key)
    assert tampered.exit_code != 0 and "does not decrypt" in tampered.output

    missing = run(source, "backup", "verify", "pagemail-20250101T000000Z-00000000.pmbackup")
    assert missing.exit_code != 0 and "does not exist" in missing.output


def test_s3_prune(aws: dict[str, Any], tmp_path: Path) -> None:
    source = _s3_app(tmp_path, aws, "source")
    days = [dt.datetime(2025, 5, day, hour, tzinfo=dt.UTC) for day in (1, 2, 3) for hour in (6, 18)]
    names: dict[dt.datetime, str] = {}
    with source.app_context():
        store = S3Store(s3_client({"AWS_ENDPOINT_URL_S3": aws["endpoint"]}), aws["bucket"], PREFIX)
        box, migrations = source.extensions["pagemail.secrets"], source.extensions["migrate"].directory
        for moment in days:
            names[moment] = create_backup(store, box, db.engine, db.metadata, migrations, now=moment).manifest.name
        db.session.remove()
    # Something else in the bucket, beside and below the prefix, is never touched.
    aws["s3"].put_object(Bucket=aws["bucket"], Key=f"{PREFIX}/deeper/{names[days[0]]}", Body=b"x")
    aws["s3"].put_object(Bucket=aws["bucket"], Key="other/readme.txt", Body=b"x")

    result = run(source, "backup", "prune", "--daily", "2", "--weekly", "0")
    assert result.exit_code == 0, result.output

    kept = {
        names[dt.datetime(2025, 5, 3, 18, tzinfo=dt.UTC)],
        names[dt.datetime(2025, 5, 2, 18, tzinfo=dt.UTC)],
    }
    assert {k.rsplit("/", 1)[1] for k in _archive_keys(aws) if k.count("/") == 1} == kept
    remaining = {o["Key"] for o in aws["s3"].list_objects_v2(Bucket=aws["bucket"])["Contents"]}
    assert {f"{PREFIX}/deeper/{names[days[0]]}", "other/readme.txt"} <= remaining
    assert {f"{PREFIX}/{manifest_name(n)}" for n in kept} <= remaining
    assert len([k for k in remaining if k.endswith(".manifest.json")]) == 2
    # A versioned bucket keeps the deleted archives as noncurrent versions (lifecycle rules expire them).
    versions = aws["s3"].list_object_versions(Bucket=aws["bucket"], Prefix=f"{PREFIX}/pagemail-")
    assert len(versions.get("DeleteMarkers", [])) == 8
