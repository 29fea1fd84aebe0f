"""Secrets at rest: envelope encryption under a local key file and under a real KMS API (moto server)."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from models.secrets import (
    KmsKeyBox,
    LocalKeyBox,
    SecretBackendError,
    SecretBox,
    SecretError,
    SecretKeyConfigError,
    secret_box_from_config,
)

TENANT = "8f0b3e7a-5c1d-4d2e-9a6b-1f2e3d4c5b6a"
OTHER_TENANT = "0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a"
FIELD = "tenant.shared_secret"
OTHER_FIELD = "settings.smtp_password"
SECRET = "jIr3QkzKWbIg1TqX-shared-secret"
REGION = "eu-central-1"
OTHER_CONTEXTS = [(OTHER_TENANT, FIELD), (TENANT, OTHER_FIELD)]

PLAINTEXTS = [
    "",
    SECRET,
    "Pässwörter für Grüße: 密码 🔑 ∑ — ok",
    "dots.and\nnew lines\tand\x00nul",
    "x" * 10_000,
]

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _segments(token: str) -> list[str]:
    return token.split(".")


def _tamper(token: str, index: int) -> str:
    """Change one character of one segment, keeping the token well formed."""
    parts = _segments(token)
    segment = parts[index]
    if index == 0:
        parts[index] = "pm2"
    elif index == 1:
        parts[index] = "locbl" if segment == "local" else "kmz"
    else:
        # Position 0 of a base64url segment uses all six bits, so the decoded bytes really change;
        # for the key segment, any other character names another key.
        pos = 0 if index >= 3 else len(segment) - 1
        replacement = B64URL[(B64URL.index(segment[pos]) + 1) % len(B64URL)]
        if index == 2 and not replacement.isalnum():
            replacement = "0" if segment[pos] != "0" else "1"
        parts[index] = segment[:pos] + replacement + segment[pos + 1 :]
    assert parts[index] != segment
    return ".".join(parts)


def _assert_no_secret(exc: pytest.ExceptionInfo[BaseException], *secrets: str) -> None:
    text = f"{exc.value!s} {exc.value!r}"
    for secret in secrets:
        if secret:
            assert secret not in text


# --- local key file ------------------------------------------------------------------------------


@pytest.fixture
def box(tmp_path: Path) -> LocalKeyBox:
    return LocalKeyBox(tmp_path / "keys" / "current.key")


@pytest.mark.parametrize("plaintext", PLAINTEXTS, ids=["empty", "ascii", "unicode", "control", "long"])
def test_local_round_trip(box: LocalKeyBox, plaintext: str) -> None:
    token = box.encrypt(plaintext, tenant=TENANT, field=FIELD)

    assert token.isascii() and token.isprintable()
    assert token.startswith(f"pm1.local.{box.key_id}.")
    assert len(_segments(token)) == 6
    if len(plaintext) > 3:
        assert plaintext not in token
    assert box.decrypt(token, tenant=TENANT, field=FIELD) == plaintext
    assert box.needs_rotation(token) is False


def test_local_box_satisfies_the_protocol(box: LocalKeyBox) -> None:
    assert isinstance(box, SecretBox)


def test_every_encryption_uses_a_fresh_data_key_and_nonce(box: LocalKeyBox) -> None:
    first = box.encrypt(SECRET, tenant=TENANT, field=FIELD)
    second = box.encrypt(SECRET, tenant=TENANT, field=FIELD)

    for index in (3, 4, 5):  # wrapped key, nonce, ciphertext
        assert _segments(first)[index] != _segments(second)[index]
    assert box.decrypt(first, tenant=TENANT, field=FIELD) == SECRET
    assert box.decrypt(second, tenant=TENANT, field=FIELD) == SECRET


@pytest.mark.parametrize(("tenant", "field"), OTHER_CONTEXTS, ids=["tenant", "field"])
def test_local_token_is_bound_to_tenant_and_field(box: LocalKeyBox, tenant: str, field: str) -> None:
    token = box.encrypt(SECRET, tenant=TENANT, field=FIELD)

    with pytest.raises(SecretError, match="another tenant or field") as exc:
        box.decrypt(token, tenant=tenant, field=field)
    _assert_no_secret(exc, SECRET)


def test_context_cannot_be_shifted_between_tenant_and_field(box: LocalKeyBox) -> None:
    # An encoding that merely concatenated tenant and field would let these collide.
    token = box.encrypt(SECRET, tenant="a", field="b.c")

    with pytest.raises(SecretError):
        box.decrypt(token, tenant="a.b", field="c")


@pytest.mark.parametrize("index", range(6), ids=["version", "provider", "key", "wrapped", "nonce", "data"])
def test_local_tampered_segment_is_refused(box: LocalKeyBox, index: int) -> None:
    token = box.encrypt(SECRET, tenant=TENANT, field=FIELD)

    with pytest.raises(SecretError) as exc:
        box.decrypt(_tamper(token, index), tenant=TENANT, field=FIELD)
    _assert_no_secret(exc, SECRET)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: "",
        lambda t: "pm1",
        lambda t: "not a token at all",
        lambda t: t + ".extra",
        lambda t: t[:-1],
        lambda t: t[:-4],
        lambda t: t + "A",
        lambda t: t + "==",
        lambda t: t.replace("-", "+").replace("_", "/") if ("-" in t or "_" in t) else t + "+",
        lambda t: t.replace(".", ". ", 1),
        lambda t: t[:20] + "ü" + t[21:],
        lambda t: t + "A" * 70_000,
        lambda t: None,
        lambda t: t.encode(),
    ],
)
def test_malformed_tokens_are_refused_with_secret_error(box: LocalKeyBox, mangle: Any) -> None:
    token = box.encrypt(SECRET, tenant=TENANT, field=FIELD)

    with pytest.raises(SecretError):
        box.decrypt(mangle(token), tenant=TENANT, field=FIELD)


def test_wrong_key_file_is_named_in_the_error(tmp_path: Path) -> None:
    box_a = LocalKeyBox(tmp_path / "a.key")
    box_b = LocalKeyBox(tmp_path / "b.key")
    assert box_a.key_id != box_b.key_id
    token = box_a.encrypt(SECRET, tenant=TENANT, field=FIELD)

    with pytest.raises(SecretError) as exc:
        box_b.decrypt(token, tenant=TENANT, field=FIELD)
    assert box_a.key_id in str(exc.value) and box_b.key_id in str(exc.value)
    _assert_no_secret(exc, SECRET, (tmp_path / "a.key").read_text().strip())


def test_rotation_decrypts_old_tokens_and_seals_new_ones_under_the_current_key(tmp_path: Path) -> None:
    old_file, new_file = tmp_path / "old.key", tmp_path / "new.key"
    old_box = LocalKeyBox(old_file)
    old_token = old_box.encrypt(SECRET, tenant=TENANT, field=FIELD)

    rotating = LocalKeyBox(new_file, previous_key_files=[old_file])

    assert rotating.needs_rotation(old_token) is True
    assert rotating.decrypt(old_token, tenant=TENANT, field=FIELD) == SECRET
    plaintext = rotating.decrypt(old_token, tenant=TENANT, field=FIELD)
    new_token = rotating.encrypt(plaintext, tenant=TENANT, field=FIELD)
    assert _segments(new_token)[2] == rotating.key_id != old_box.key_id
    assert rotating.needs_rotation(new_token) is False
    assert old_box.needs_rotation(new_token) is True
    with pytest.raises(SecretError):
        old_box.decrypt(new_token, tenant=TENANT, field=FIELD)
    # Once the old key is dropped from the list, its tokens no longer decrypt.
    with pytest.raises(SecretError, match=old_box.key_id):
        LocalKeyBox(new_file).decrypt(old_token, tenant=TENANT, field=FIELD)


def test_previous_key_files_must_exist_and_are_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "gone.key"

    with pytest.raises(SecretKeyConfigError, match=r"gone\.key"):
        LocalKeyBox(tmp_path / "current.key", previous_key_files=[missing])
    assert not missing.exists()


def test_listing_the_current_key_as_previous_is_harmless(tmp_path: Path) -> None:
    key_file = tmp_path / "current.key"
    box = LocalKeyBox(key_file, previous_key_files=[key_file])

    assert box.decrypt(box.encrypt(SECRET, tenant=TENANT, field=FIELD), tenant=TENANT, field=FIELD) == SECRET


def test_missing_key_file_is_created_0600_with_a_256_bit_key(tmp_path: Path) -> None:
    key_file = tmp_path / "instance" / "secrets.key"

    box = LocalKeyBox(key_file)

    assert key_file.stat().st_mode & 0o777 == 0o600
    key = base64.b64decode(key_file.read_text().strip(), validate=True)
    assert len(key) == 32
    assert box.key_id == hashlib.sha256(key).hexdigest()[:8]
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["secrets.key"]  # no temp files left
    token = box.encrypt(SECRET, tenant=TENANT, field=FIELD)
    reopened = LocalKeyBox(key_file)
    assert reopened.key_id == box.key_id
    assert reopened.decrypt(token, tenant=TENANT, field=FIELD) == SECRET


def test_existing_key_file_is_used_and_never_replaced(tmp_path: Path) -> None:
    key = os.urandom(32)
    key_file = tmp_path / "secrets.key"
    key_file.write_bytes(base64.b64encode(key) + b"\n")
    key_file.chmod(0o600)

    box = LocalKeyBox(key_file)

    assert box.key_id == hashlib.sha256(key).hexdigest()[:8]
    assert base64.b64decode(key_file.read_bytes()) == key


def test_workers_creating_the_key_file_at_once_agree_on_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "instance" / "secrets.key"
    workers = 8
    barrier = threading.Barrier(workers)
    key_ids: list[str] = []
    errors: list[BaseException] = []

    def start_worker() -> None:
        try:
            barrier.wait(timeout=60)
            key_ids.append(LocalKeyBox(key_file).key_id)
        except BaseException as exc:  # reported below; a thread can't fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=start_worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(key_ids) == workers and len(set(key_ids)) == 1
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["secrets.key"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "256-bit"),
        (b"not base64 at all!\n", "256-bit"),
        (base64.b64encode(os.urandom(16)) + b"\n", "256-bit"),
        (os.urandom(32), "256-bit"),
    ],
    ids=["empty", "garbage", "128-bit", "raw-bytes"],
)
def test_malformed_key_file_is_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    key_file = tmp_path / "secrets.key"
    key_file.write_bytes(content)

    with pytest.raises(SecretKeyConfigError, match=message) as exc:
        LocalKeyBox(key_file)
    assert str(key_file) in str(exc.value)


def test_missing_key_file_without_create_is_a_clear_error(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets.key"

    with pytest.raises(SecretKeyConfigError, match="does not exist"):
        LocalKeyBox(key_file, create=False)
    assert not key_file.exists()


def test_unreadable_key_file_is_a_clear_error(tmp_path: Path) -> None:
    as_directory = tmp_path / "secrets.key"
    as_directory.mkdir()

    with pytest.raises(SecretKeyConfigError, match="cannot read secrets key file"):
        LocalKeyBox(as_directory)


def test_key_file_readable_by_others_is_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key_file = tmp_path / "secrets.key"
    key_file.write_bytes(base64.b64encode(os.urandom(32)))
    key_file.chmod(0o644)

    with caplog.at_level(logging.WARNING, logger="models.secrets"):
        LocalKeyBox(key_file)

    assert any("0600" in record.getMessage() for record in caplog.records)


def test_bad_arguments_are_refused_without_echoing_the_plaintext(box: LocalKeyBox) -> None:
    with pytest.raises(TypeError):
        box.encrypt(SECRET.encode(), tenant=TENANT, field=FIELD)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tenant"):
        box.encrypt(SECRET, tenant="", field=FIELD)
    with pytest.raises(ValueError, match="field"):
        box.decrypt("pm1.x", tenant=TENANT, field="")
    with pytest.raises(ValueError) as exc:
        box.encrypt("lone surrogate \ud800 here", tenant=TENANT, field=FIELD)
    assert "\ud800" not in str(exc.value) and "surrogate" not in str(exc.value)


def test_needs_rotation_refuses_malformed_tokens(box: LocalKeyBox) -> None:
    with pytest.raises(SecretError):
        box.needs_rotation("pm1.local.nonsense")


def test_from_config_uses_a_key_file_in_the_instance_folder(tmp_path: Path) -> None:
    box = secret_box_from_config({"INSTANCE_PATH": str(tmp_path)})

    assert isinstance(box, LocalKeyBox)
    assert (tmp_path / "secrets.key").stat().st_mode & 0o777 == 0o600
    assert box.decrypt(box.encrypt(SECRET, tenant=TENANT, field=FIELD), tenant=TENANT, field=FIELD) == SECRET


def test_from_config_prefers_secrets_key_file_and_reads_previous_keys(tmp_path: Path) -> None:
    old_box = LocalKeyBox(tmp_path / "old.key")
    old_token = old_box.encrypt(SECRET, tenant=TENANT, field=FIELD)
    config = {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRETS_KEY_FILE": str(tmp_path / "configured.key"),
        "SECRETS_PREVIOUS_KEY_FILES": f" {tmp_path / 'old.key'} , ",
        "SECRETS_KMS_KEY_ID": "  ",
    }

    box = secret_box_from_config(config)

    assert (tmp_path / "configured.key").exists() and not (tmp_path / "instance").exists()
    assert box.needs_rotation(old_token) is True
    assert box.decrypt(old_token, tenant=TENANT, field=FIELD) == SECRET


def test_from_config_never_creates_a_key_in_production(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyConfigError, match="does not exist"):
        secret_box_from_config({"INSTANCE_PATH": str(tmp_path), "APP_ENV": "production"})
    assert not (tmp_path / "secrets.key").exists()


def test_from_config_without_any_key_location_is_a_clear_error() -> None:
    with pytest.raises(SecretKeyConfigError, match="SECRETS_KEY_FILE"):
        secret_box_from_config({})


# --- AWS KMS, over HTTP against moto's server ----------------------------------------------------


@pytest.fixture(scope="module")
def kms_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # Keep a developer's own AWS configuration out of the test.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def kms(kms_endpoint: str, aws_env: None) -> Any:
    return boto3.session.Session().client("kms", region_name=REGION, endpoint_url=kms_endpoint)


def _new_kms_key(kms: Any) -> str:
    return kms.create_key(Description="pagemail test key")["KeyMetadata"]["Arn"]


def test_kms_round_trip(kms: Any) -> None:
    key_arn = _new_kms_key(kms)
    box = KmsKeyBox(key_arn, client=kms)

    for plaintext in PLAINTEXTS:
        token = box.encrypt(plaintext, tenant=TENANT, field=FIELD)
        assert token.startswith(f"pm1.kms.{key_arn}.") and token.isascii()
        assert len(_segments(token)) == 6
        assert box.decrypt(token, tenant=TENANT, field=FIELD) == plaintext
        assert box.needs_rotation(token) is False
    assert isinstance(box, SecretBox)


def test_kms_box_configured_by_alias_decrypts_and_knows_its_key(kms: Any) -> None:
    key_arn = _new_kms_key(kms)
    kms.create_alias(AliasName="alias/pagemail-secrets-alias-test", TargetKeyId=key_arn)
    token = KmsKeyBox(key_arn, client=kms).encrypt(SECRET, tenant=TENANT, field=FIELD)

    by_alias = KmsKeyBox("alias/pagemail-secrets-alias-test", client=kms)

    assert by_alias.needs_rotation(token) is False
    assert by_alias.decrypt(token, tenant=TENANT, field=FIELD) == SECRET


@pytest.mark.parametrize(("tenant", "field"), OTHER_CONTEXTS, ids=["tenant", "field"])
def test_kms_refuses_another_encryption_context(kms: Any, tenant: str, field: str) -> None:
    box = KmsKeyBox(_new_kms_key(kms), client=kms)
    token = box.encrypt(SECRET, tenant=TENANT, field=FIELD)

    with pytest.raises(SecretError, match="KMS refused") as exc:
        box.decrypt(token, tenant=tenant, field=field)
    assert not isinstance(exc.value, SecretBackendError)
    _assert_no_secret(exc, SECRET)


def test_a_second_kms_key_cannot_decrypt(kms: Any) -> None:
    first_arn, second_arn = _new_kms_key(kms), _new_kms_key(kms)
    token = KmsKeyBox(first_arn, client=kms).encrypt(SECRET, tenant=TENANT, field=FIELD)
    second = KmsKeyBox(second_arn, client=kms)

    with pytest.raises(SecretError, match=first_arn):
        second.decrypt(token, tenant=TENANT, field=FIELD)
    # Relabelling the token with the second key does not help: KMS says which key really sealed it.
    relabelled = token.replace(first_arn, second_arn)
    with pytest.raises(SecretError, match="different KMS key"):
        second.decrypt(relabelled, tenant=TENANT, field=FIELD)


@pytest.mark.parametrize("index", range(6), ids=["version", "provider", "key", "wrapped", "nonce", "data"])
def test_kms_tampered_segment_is_refused(kms: Any, index: int) -> None:
    box = KmsKeyBox(_new_kms_key(kms), client=kms)
    token = box.encrypt(SECRET, tenant=TENANT, field=FIELD)

    with pytest.raises(SecretError) as exc:
        box.decrypt(_tamper(token, index), tenant=TENANT, field=FIELD)
    _assert_no_secret(exc, SECRET)


def test_kms_rotation_to_a_new_key(kms: Any) -> None:
    old_arn, new_arn = _new_kms_key(kms), _new_kms_key(kms)
    old_token = KmsKeyBox(old_arn, client=kms).encrypt(SECRET, tenant=TENANT, field=FIELD)

    box = KmsKeyBox(new_arn, client=kms, previous_key_ids=[old_arn])

    assert box.needs_rotation(old_token) is True
    new_token = box.encrypt(box.decrypt(old_token, tenant=TENANT, field=FIELD), tenant=TENANT, field=FIELD)
    assert box.needs_rotation(new_token) is False
    assert box.decrypt(new_token, tenant=TENANT, field=FIELD) == SECRET


def test_tokens_of_the_other_provider_are_refused_and_flagged_for_rotation(kms: Any, tmp_path: Path) -> None:
    local = LocalKeyBox(tmp_path / "secrets.key")
    remote = KmsKeyBox(_new_kms_key(kms), client=kms)
    local_token = local.encrypt(SECRET, tenant=TENANT, field=FIELD)
    kms_token = remote.encrypt(SECRET, tenant=TENANT, field=FIELD)

    with pytest.raises(SecretError, match="'local'"):
        remote.decrypt(local_token, tenant=TENANT, field=FIELD)
    with pytest.raises(SecretError, match="'kms'"):
        local.decrypt(kms_token, tenant=TENANT, field=FIELD)
    assert remote.needs_rotation(local_token) is True
    assert local.needs_rotation(kms_token) is True


def test_unreachable_kms_is_a_backend_error(aws_env: None) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = boto3.session.Session().client(
        "kms",
        region_name=REGION,
        endpoint_url=f"http://127.0.0.1:{port}",
        config=Config(retries={"max_attempts": 1}, connect_timeout=10),
    )
    key_arn = f"arn:aws:kms:{REGION}:123456789012:key/00000000-0000-0000-0000-000000000000"
    box = KmsKeyBox(key_arn, client=client)

    with pytest.raises(SecretBackendError, match="KMS"):
        box.encrypt(SECRET, tenant=TENANT, field=FIELD)


def test_unknown_kms_key_is_a_backend_error(kms: Any) -> None:
    box = KmsKeyBox("alias/pagemail-does-not-exist", client=kms)

    with pytest.raises(SecretBackendError, match="NotFound"):
        box.encrypt(SECRET, tenant=TENANT, field=FIELD)


def test_from_config_builds_a_kms_box_for_a_local_endpoint(kms: Any, kms_endpoint: str) -> None:
    key_arn = _new_kms_key(kms)
    kms.create_alias(AliasName="alias/pagemail-secrets-config-test", TargetKeyId=key_arn)
    config = {
        "SECRETS_KMS_KEY_ID": "alias/pagemail-secrets-config-test",
        "SECRETS_KEY_FILE": "/nonexistent/must-not-be-used.key",
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL_KMS": kms_endpoint,
    }

    box = secret_box_from_config(config)

    assert isinstance(box, KmsKeyBox)
    token = box.encrypt(SECRET, tenant=TENANT, field=FIELD)
    assert token.startswith(f"pm1.kms.{key_arn}.")
    assert KmsKeyBox(key_arn, client=kms).decrypt(token, tenant=TENANT, field=FIELD) == SECRET


def test_kms_data_keys_and_secrets_stay_out_of_debug_logs(kms: Any, caplog: pytest.LogCaptureFixture) -> None:
    key_arn = _new_kms_key(kms)
    kms.create_alias(AliasName="alias/pagemail-secrets-log-test", TargetKeyId=key_arn)
    sealer = KmsKeyBox(key_arn, client=kms)
    reader = KmsKeyBox("alias/pagemail-secrets-log-test", client=kms)  # will ask DescribeKey

    with caplog.at_level(logging.DEBUG):
        token = sealer.encrypt(SECRET, tenant=TENANT, field=FIELD)
        assert reader.decrypt(token, tenant=TENANT, field=FIELD) == SECRET

    messages = [record.getMessage() for record in caplog.records]
    # botocore did log at DEBUG (so the check below is not vacuous) ...
    assert any(message.startswith("Response body") for message in messages)
    # ... but not the responses that carry plaintext data keys, and never the secret.
    assert not any("Plaintext" in message for message in messages)
    assert not any(SECRET in message for message in messages)
