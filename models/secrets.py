"""Encryption at rest for tenant secrets (Connect shared secrets, SMTP passwords).

Envelope encryption: every `encrypt` call draws a fresh 256-bit data key, seals the value with
AES-256-GCM under it, and has the master key (a local key file, or an AWS KMS key) wrap the data
key. Both layers are bound to an encryption context naming the tenant and the field, so a token
copied to another row or column does not decrypt.

A token is one ASCII line that says how it was made:

    pm1.<provider>.<key>.<wrapped data key>.<nonce>.<ciphertext>

`provider` is `local` or `kms`; `key` is the local key's id (first 8 hex digits of its SHA-256)
or the KMS key ARN, so the right key is picked, a wrong key is reported as such, and
`needs_rotation` can tell old tokens from current ones. The binary parts are unpadded base64url.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "KmsKeyBox",
    "LocalKeyBox",
    "SecretBackendError",
    "SecretBox",
    "SecretError",
    "SecretKeyConfigError",
    "SecretSealer",
    "secret_box_from_config",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = "pm1"
CONTEXT_VERSION = 1
DEFAULT_KEY_FILE_NAME = "secrets.key"

_KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16
# Secrets are short; anything far larger is not one of our tokens, so refuse it before decoding.
_MAX_TOKEN_CHARS = 64 * 1024
_PROVIDER_RE = re.compile(r"[a-z0-9]{1,16}\Z")
# Key ids end up in the token, which is split on dots: they must never contain one.
_KEY_LABEL_RE = re.compile(r"[A-Za-z0-9:/_-]{1,2048}\Z")
_KMS_KEY_ARN_RE = re.compile(r"arn:[a-z0-9-]+:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+\Z")


class SecretError(Exception):
    """A secret could not be decrypted or sealed. Messages never carry secret material."""


class SecretKeyConfigError(SecretError):
    """The master key is missing, unreadable or malformed: configuration, not data."""


class SecretBackendError(SecretError):
    """The key service failed (unreachable, throttled, access denied): says nothing about the token."""


@runtime_checkable
class SecretBox(Protocol):
    def encrypt(self, plaintext: str, *, tenant: str, field: str) -> str: ...

    def decrypt(self, token: str, *, tenant: str, field: str) -> str: ...

    def needs_rotation(self, token: str) -> bool: ...


@runtime_checkable
class SecretSealer(Protocol):
    """Byte sealing for large payloads (backup archives), bound to a purpose and a name."""

    def seal_bytes(self, data: bytes, *, purpose: str, name: str) -> bytes: ...

    def open_bytes(self, sealed: bytes, *, purpose: str, name: str) -> bytes: ...

    def current_key_label(self) -> str: ...


def _check_context_part(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name} is not valid Unicode text") from None
    return value


def _kms_context(tenant: str, field: str) -> dict[str, str]:
    return {"tenant": _check_context_part("tenant", tenant), "field": _check_context_part("field", field)}


def _aad(tenant: str, field: str) -> bytes:
    # Canonical (sorted, compact, ASCII-escaped) so the same context always gives the same bytes.
    context = {**_kms_context(tenant, field), "v": CONTEXT_VERSION}
    return json.dumps(context, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str, part: str) -> bytes:
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise SecretError(f"malformed token: the {part} is not base64url") from None
    # Only the canonical spelling is accepted, so no change to a token goes unnoticed.
    if _b64encode(data) != text:
        raise SecretError(f"malformed token: the {part} is not canonical base64url")
    return data


@dataclass(frozen=True)
class _Token:
    provider: str
    key: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes

    def encode(self) -> str:
        parts = (self.wrapped_key, self.nonce, self.ciphertext)
        return ".".join([FORMAT_VERSION, self.provider, self.key, *(_b64encode(p) for p in parts)])

    @classmethod
    def parse(cls, token: object) -> _Token:
        if not isinstance(token, str) or not token:
            raise SecretError("malformed token: not a non-empty string")
        if len(token) > _MAX_TOKEN_CHARS:
            raise SecretError("malformed token: too long")
        parts = token.split(".")
        if len(parts) != 6 or parts[0] != FORMAT_VERSION:
            shape = f"{FORMAT_VERSION}.<provider>.<key>.<wrapped key>.<nonce>.<ciphertext>"
            raise SecretError(f"malformed token: expected {shape}")
        _, provider, key, wrapped, nonce, ciphertext = parts
        if not _PROVIDER_RE.match(provider) or not _KEY_LABEL_RE.match(key):
            raise SecretError("malformed token: bad provider or key segment")
        parsed = cls(
            provider=provider,
            key=key,
            wrapped_key=_b64decode(wrapped, "wrapped data key"),
            nonce=_b64decode(nonce, "nonce"),
            ciphertext=_b64decode(ciphertext, "ciphertext"),
        )
        if len(parsed.nonce) != _NONCE_BYTES or len(parsed.ciphertext) < _TAG_BYTES:
            raise SecretError("malformed token: nonce or ciphertext has the wrong length")
        return parsed


_NOT_FOR_THIS_CONTEXT = "token does not decrypt: it was tampered with, or sealed for another tenant or field"

# --- sealed bytes: the binary sibling of the token, for archives ----------------------------------
#
#     b"PMS1" | header length (4 bytes, big-endian) | header (canonical JSON) | AES-GCM ciphertext
#
# The header names provider, key, wrapped data key and nonce like a token does. The payload's
# AAD is the context followed by the header, so no byte of a sealed blob can change unnoticed.
_SEALED_MAGIC = b"PMS1"
_SEALED_HEADER_MAX = 16 * 1024
# AES-GCM in one piece: cryptography refuses more than 2**31 - 1 bytes per call.
_SEALED_MAX_BYTES = 2**31 - 1 - _TAG_BYTES
_HEADER_KEYS = ("provider", "key", "wrapped", "nonce")
_NOT_FOR_THIS_PURPOSE = (
    "sealed data does not decrypt: it was tampered with or truncated, or sealed for another purpose or name"
)


def _bytes_context(purpose: str, name: str) -> dict[str, str]:
    # Other keys than a token's context ("tenant", "field"), so the two kinds can never be confused.
    return {"purpose": _check_context_part("purpose", purpose), "name": _check_context_part("name", name)}


def _bytes_aad(context: Mapping[str, str]) -> bytes:
    canonical = {**context, "v": CONTEXT_VERSION}
    return json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _sealed_header(token: _Token) -> bytes:
    header = {
        "provider": token.provider,
        "key": token.key,
        "wrapped": _b64encode(token.wrapped_key),
        "nonce": _b64encode(token.nonce),
    }
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _parse_sealed(sealed: object) -> tuple[_Token, bytes]:
    """Split a sealed blob into its token parts (ciphertext included) and the raw header bytes."""
    if not isinstance(sealed, bytes | bytearray | memoryview):
        raise SecretError("sealed data must be bytes")
    blob = bytes(sealed)
    prefix = len(_SEALED_MAGIC) + 4
    if len(blob) < prefix or blob[: len(_SEALED_MAGIC)] != _SEALED_MAGIC:
        raise SecretError("not sealed data: the format marker is missing")
    header_length = int.from_bytes(blob[len(_SEALED_MAGIC) : prefix], "big")
    if header_length > _SEALED_HEADER_MAX or len(blob) < prefix + header_length + _TAG_BYTES:
        raise SecretError("malformed sealed data: truncated, or the header length is wrong")
    header_bytes = blob[prefix : prefix + header_length]
    try:
        header = json.loads(header_bytes.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise SecretError("malformed sealed data: the header is not JSON") from None
    if not isinstance(header, dict) or not all(isinstance(header.get(k), str) for k in _HEADER_KEYS):
        raise SecretError("malformed sealed data: the header lacks provider, key, wrapped key or nonce")
    if not _PROVIDER_RE.match(header["provider"]) or not _KEY_LABEL_RE.match(header["key"]):
        raise SecretError("malformed sealed data: bad provider or key")
    token = _Token(
        provider=header["provider"],
        key=header["key"],
        wrapped_key=_b64decode(header["wrapped"], "wrapped data key"),
        nonce=_b64decode(header["nonce"], "nonce"),
        ciphertext=blob[prefix + header_length :],
    )
    if len(token.nonce) != _NONCE_BYTES:
        raise SecretError("malformed sealed data: the nonce has the wrong length")
    return token, header_bytes


class _EnvelopeBox(ABC):
    """The data-key layer; subclasses only provide, wrap and unwrap data keys."""

    provider: ClassVar[str]

    @abstractmethod
    def _new_data_key(self, tenant: str, field: str, aad: bytes) -> tuple[str, bytes, bytes]:
        """Return (key label for the token, plaintext data key, wrapped data key)."""

    @abstractmethod
    def _open_data_key(self, token: _Token, tenant: str, field: str, aad: bytes) -> bytes:
        """Return the plaintext data key of `token`, or raise SecretError."""

    @abstractmethod
    def _current_key_label(self) -> str: ...

    def encrypt(self, plaintext: str, *, tenant: str, field: str) -> str:
        if not isinstance(plaintext, str):
            raise TypeError("plaintext must be a string")
        try:
            data = plaintext.encode("utf-8")
        except UnicodeEncodeError:
            # The codec's message quotes the offending character: never let it out.
            raise ValueError("plaintext is not valid Unicode text") from None
        aad = _aad(tenant, field)
        key_label, data_key, wrapped_key = self._new_data_key(tenant, field, aad)
        if len(data_key) != _KEY_BYTES or not _KEY_LABEL_RE.match(key_label):
            raise SecretBackendError(f"{self.provider} key provider returned an unusable data key")
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(nonce, data, aad)
        return _Token(self.provider, key_label, wrapped_key, nonce, ciphertext).encode()

    def decrypt(self, token: str, *, tenant: str, field: str) -> str:
        aad = _aad(tenant, field)
        parsed = _Token.parse(token)
        if parsed.provider != self.provider:
            raise SecretError(
                f"token was sealed by the '{parsed.provider}' key provider, but this box uses '{self.provider}'"
            )
        data_key = self._open_data_key(parsed, tenant, field, aad)
        if len(data_key) != _KEY_BYTES:
            raise SecretError("malformed token: the data key has the wrong length")
        try:
            return AESGCM(data_key).decrypt(parsed.nonce, parsed.ciphertext, aad).decode("utf-8")
        except (InvalidTag, UnicodeDecodeError):
            raise SecretError(_NOT_FOR_THIS_CONTEXT) from None

    def needs_rotation(self, token: str) -> bool:
        # A token of another provider counts as "not under the current key": it needs re-sealing too.
        parsed = _Token.parse(token)
        return parsed.provider != self.provider or parsed.key != self._current_key_label()

    def current_key_label(self) -> str:
        """The current master key as tokens name it (local key id or KMS key ARN); not secret."""
        return self._current_key_label()

    # Data keys for a context other than tenant + field (sealed bytes); same wrapping as tokens.
    @abstractmethod
    def _new_data_key_in(self, context: Mapping[str, str], aad: bytes) -> tuple[str, bytes, bytes]: ...

    @abstractmethod
    def _open_data_key_in(self, token: _Token, context: Mapping[str, str], aad: bytes) -> bytes: ...

    def seal_bytes(self, data: bytes, *, purpose: str, name: str) -> bytes:
        """Seal `data` under a fresh data key, bound to `purpose` and `name` (e.g. "backup", archive name)."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("data must be bytes")
        if len(data) > _SEALED_MAX_BYTES:
            raise ValueError("data is too large to seal in one piece (2 GiB at most)")
        context = _bytes_context(purpose, name)
        aad = _bytes_aad(context)
        key_label, data_key, wrapped_key = self._new_data_key_in(context, aad)
        if len(data_key) != _KEY_BYTES or not _KEY_LABEL_RE.match(key_label):
            raise SecretBackendError(f"{self.provider} key provider returned an unusable data key")
        nonce = os.urandom(_NONCE_BYTES)
        header = _sealed_header(_Token(self.provider, key_label, wrapped_key, nonce, b""))
        ciphertext = AESGCM(data_key).encrypt(nonce, bytes(data), aad + header)
        return _SEALED_MAGIC + len(header).to_bytes(4, "big") + header + ciphertext

    def open_bytes(self, sealed: bytes, *, purpose: str, name: str) -> bytes:
        """The data `seal_bytes` sealed for the same purpose and name; SecretError otherwise."""
        context = _bytes_context(purpose, name)
        aad = _bytes_aad(context)
        token, header = _parse_sealed(sealed)
        if token.provider != self.provider:
            raise SecretError(
                f"data was sealed by the '{token.provider}' key provider, but this box uses '{self.provider}'"
            )
        data_key = self._open_data_key_in(token, context, aad)
        if len(data_key) != _KEY_BYTES:
            raise SecretError("malformed sealed data: the data key has the wrong length")
        try:
            return AESGCM(data_key).decrypt(token.nonce, token.ciphertext, aad + header)
        except InvalidTag:
            raise SecretError(_NOT_FOR_THIS_PURPOSE) from None


# --- local key file ------------------------------------------------------------------------------


def _local_key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory; durability is a bonus
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _create_key_file(path: Path) -> None:
    """Create `path` with a fresh key, mode 0600, atomically; keep a key another process made first."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file with mode 0600, so the key is never readable by others.
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise SecretKeyConfigError(f"cannot create secrets key file {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64encode(AESGCM.generate_key(bit_length=256)) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # link() publishes the complete file under its name and, unlike rename, never replaces
            # a key that another worker created meanwhile (that key may already seal secrets).
            os.link(temp_name, path)
        except FileExistsError:
            return
        _fsync_directory(path.parent)
        log.info("created a new secrets key file at %s", path)
    except OSError as exc:
        raise SecretKeyConfigError(f"cannot create secrets key file {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)


def _read_key_file(path: Path, *, create: bool) -> bytes:
    if create and not path.exists():
        _create_key_file(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SecretKeyConfigError(
            f"secrets key file {path} does not exist (set SECRETS_KEY_FILE or SECRETS_KMS_KEY_ID)"
        ) from None
    except OSError as exc:
        raise SecretKeyConfigError(f"cannot read secrets key file {path}: {exc.strerror or exc}") from None
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != _KEY_BYTES:
        raise SecretKeyConfigError(f"secrets key file {path} does not hold a base64-encoded 256-bit key")
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            log.warning("secrets key file %s is accessible to group or others; it should be mode 0600", path)
    return key


class LocalKeyBox(_EnvelopeBox):
    """Development master key: a 256-bit key in a file (base64), created 0600 when missing.

    `previous_key_files` are older keys that still decrypt; new tokens are always sealed under
    `key_file`. With `create=False` (production) a missing key file is an error instead.
    """

    provider = "local"

    def __init__(self, key_file: Path, previous_key_files: Sequence[Path] = (), *, create: bool = True) -> None:
        current = _read_key_file(Path(key_file), create=create)
        self._key_id = _local_key_id(current)
        keys = {self._key_id: current}
        for previous_file in previous_key_files:
            key = _read_key_file(Path(previous_file), create=False)
            key_id = _local_key_id(key)
            if keys.setdefault(key_id, key) != key:
                raise SecretKeyConfigError(f"two different secrets key files share the key id {key_id}")
        self._masters = {key_id: AESGCM(key) for key_id, key in keys.items()}

    @property
    def key_id(self) -> str:
        """Id of the current key (not secret: 8 hex digits of the key's SHA-256)."""
        return self._key_id

    def _current_key_label(self) -> str:
        return self._key_id

    def _new_data_key(self, tenant: str, field: str, aad: bytes) -> tuple[str, bytes, bytes]:
        return self._new_data_key_in({"tenant": tenant, "field": field}, aad)

    def _open_data_key(self, token: _Token, tenant: str, field: str, aad: bytes) -> bytes:
        return self._unwrap(token, aad, ("token", "token"), _NOT_FOR_THIS_CONTEXT)

    def _new_data_key_in(self, context: Mapping[str, str], aad: bytes) -> tuple[str, bytes, bytes]:
        # The local wrap binds the data key through `aad`, which already carries the whole context.
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(_NONCE_BYTES)
        wrapped_key = nonce + self._masters[self._key_id].encrypt(nonce, data_key, aad)
        return self._key_id, data_key, wrapped_key

    def _open_data_key_in(self, token: _Token, context: Mapping[str, str], aad: bytes) -> bytes:
        return self._unwrap(token, aad, ("data", "sealed data"), _NOT_FOR_THIS_PURPOSE)

    def _unwrap(self, token: _Token, aad: bytes, names: tuple[str, str], mismatch: str) -> bytes:
        """Open a wrapped data key; `names` word the errors ("token" for secrets, "data" for sealed bytes)."""
        master = self._masters.get(token.key)
        if master is None:
            known = ", ".join(sorted(self._masters))
            raise SecretError(
                f"{names[0]} was sealed under local key {token.key}, but this box only has key(s) {known} "
                "(wrong SECRETS_KEY_FILE, or a rotated-out key missing from the previous keys)"
            )
        if len(token.wrapped_key) != _NONCE_BYTES + _KEY_BYTES + _TAG_BYTES:
            raise SecretError(f"malformed {names[1]}: the wrapped data key has the wrong length")
        nonce, wrapped = token.wrapped_key[:_NONCE_BYTES], token.wrapped_key[_NONCE_BYTES:]
        try:
            return master.decrypt(nonce, wrapped, aad)
        except InvalidTag:
            raise SecretError(mismatch) from None


# --- AWS KMS -------------------------------------------------------------------------------------


class _HideKmsPlaintext(logging.Filter):
    """botocore logs whole response bodies at DEBUG; KMS data-key responses carry the plaintext key."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str) or not record.msg.startswith("Response body"):
            return True
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        return not any(isinstance(a, bytes | str) and "Plaintext" in str(a) for a in args)


def _hide_kms_plaintext_from_debug_logs() -> None:
    parser_log = logging.getLogger("botocore.parsers")
    if not any(isinstance(f, _HideKmsPlaintext) for f in parser_log.filters):
        parser_log.addFilter(_HideKmsPlaintext())


def _kms_client(region: str | None = None, endpoint_url: str | None = None) -> BaseClient:
    # Bounded timeouts and retries: a slow KMS must fail a request, not hang a worker.
    config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 4, "mode": "standard"})
    try:
        # A session of its own: boto3's default session is not safe to share across threads.
        return boto3.session.Session().client(
            "kms", region_name=region or None, endpoint_url=endpoint_url or None, config=config
        )
    except BotoCoreError as exc:
        raise SecretKeyConfigError(f"cannot create the KMS client (set AWS_REGION): {exc}") from exc


class KmsKeyBox(_EnvelopeBox):
    """Production master key: an AWS KMS symmetric key (GenerateDataKey / Decrypt).

    `key_id` may be a key id, key ARN, alias name or alias ARN; tokens record the key ARN.
    `previous_key_ids` are older KMS keys whose tokens still decrypt (for moving to a new key).
    Needs kms:GenerateDataKey and kms:Decrypt, and kms:DescribeKey unless every id is a key ARN.
    """

    provider = "kms"

    def __init__(
        self,
        key_id: str,
        client: BaseClient | None = None,
        region: str | None = None,
        *,
        previous_key_ids: Sequence[str] = (),
    ) -> None:
        if not isinstance(key_id, str) or not key_id.strip():
            raise SecretKeyConfigError("SECRETS_KMS_KEY_ID is empty")
        self._key_id = key_id.strip()
        self._previous_key_ids = tuple(k.strip() for k in previous_key_ids if k.strip())
        self._client = client if client is not None else _kms_client(region)
        self._arns: dict[str, str] = {}  # configured id -> key ARN, resolved on first need
        _hide_kms_plaintext_from_debug_logs()

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, operation)(**params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
            if code == "InvalidCiphertextException":
                raise SecretError(f"KMS refused the wrapped data key: {_NOT_FOR_THIS_CONTEXT}") from None
            if code == "IncorrectKeyException":
                raise SecretError("KMS: the data key was sealed under a different KMS key") from None
            raise SecretBackendError(f"KMS {operation} failed: {code}") from exc
        except BotoCoreError as exc:
            raise SecretBackendError(f"KMS {operation} failed: {type(exc).__name__}") from exc

    def _arn_of(self, key_id: str) -> str:
        if _KMS_KEY_ARN_RE.match(key_id):
            return key_id
        if key_id not in self._arns:
            metadata = self._call("describe_key", KeyId=key_id).get("KeyMetadata", {})
            arn = metadata.get("Arn")
            if not isinstance(arn, str) or not _KEY_LABEL_RE.match(arn):
                raise SecretBackendError("KMS DescribeKey returned no usable key ARN")
            self._arns[key_id] = arn
        return self._arns[key_id]

    def _known_arns(self) -> Iterable[str]:
        return (self._arn_of(k) for k in (self._key_id, *self._previous_key_ids))

    def _current_key_label(self) -> str:
        return self._arn_of(self._key_id)

    def _new_data_key(self, tenant: str, field: str, aad: bytes) -> tuple[str, bytes, bytes]:
        answer = self._call(
            "generate_data_key",
            KeyId=self._key_id,
            KeySpec="AES_256",
            EncryptionContext=_kms_context(tenant, field),
        )
        arn, data_key = answer.get("KeyId"), answer.get("Plaintext")
        wrapped_key = answer.get("CiphertextBlob")
        if not isinstance(arn, str) or not isinstance(data_key, bytes) or not isinstance(wrapped_key, bytes):
            raise SecretBackendError("KMS GenerateDataKey returned an incomplete answer")
        # An alias may have been moved to another key: the answer says which key sealed this one.
        self._arns[self._key_id] = arn
        return arn, data_key, wrapped_key

    def _open_data_key(self, token: _Token, tenant: str, field: str, aad: bytes) -> bytes:
        if not any(token.key == arn for arn in self._known_arns()):  # stops at the first match
            raise SecretError(
                f"token was sealed under KMS key {token.key}, which is neither the configured key "
                "nor one of the previous keys"
            )
        # Naming the key makes KMS itself refuse a data key sealed under any other key.
        answer = self._call(
            "decrypt",
            CiphertextBlob=token.wrapped_key,
            EncryptionContext=_kms_context(tenant, field),
            KeyId=token.key,
        )
        if answer.get("KeyId") != token.key:
            raise SecretError("KMS: the data key was sealed under a different KMS key than the token names")
        data_key = answer.get("Plaintext")
        if not isinstance(data_key, bytes):
            raise SecretBackendError("KMS Decrypt returned no plaintext")
        return data_key

    def _new_data_key_in(self, context: Mapping[str, str], aad: bytes) -> tuple[str, bytes, bytes]:
        answer = self._call("generate_data_key", KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=dict(context))
        arn, data_key = answer.get("KeyId"), answer.get("Plaintext")
        wrapped_key = answer.get("CiphertextBlob")
        if not isinstance(arn, str) or not isinstance(data_key, bytes) or not isinstance(wrapped_key, bytes):
            raise SecretBackendError("KMS GenerateDataKey returned an incomplete answer")
        self._arns[self._key_id] = arn
        return arn, data_key, wrapped_key

    def _open_data_key_in(self, token: _Token, context: Mapping[str, str], aad: bytes) -> bytes:
        if not any(token.key == arn for arn in self._known_arns()):
            raise SecretError(
                f"data was sealed under KMS key {token.key}, which is neither the configured key "
                "nor one of the previous keys"
            )
        answer = self._call(
            "decrypt", CiphertextBlob=token.wrapped_key, EncryptionContext=dict(context), KeyId=token.key
        )
        data_key = answer.get("Plaintext")
        if answer.get("KeyId") != token.key or not isinstance(data_key, bytes):
            raise SecretError("KMS: the data key was sealed under a different KMS key than the data names")
        return data_key


# --- configuration -------------------------------------------------------------------------------


def _setting(config: Mapping[str, Any], name: str) -> str:
    value = config.get(name)
    return "" if value is None else str(value).strip()


def _setting_list(config: Mapping[str, Any], name: str) -> list[str]:
    value = config.get(name)
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return [item.strip() for item in items if item.strip()]


def secret_box_from_config(config: Mapping[str, Any]) -> SecretBox:
    """The secret box the configuration asks for: KMS when SECRETS_KMS_KEY_ID is set, else a key file.

    Optional, for rotation: SECRETS_PREVIOUS_KMS_KEY_IDS / SECRETS_PREVIOUS_KEY_FILES (comma-separated).
    The key file is created when missing, except with APP_ENV=production.
    """
    kms_key_id = _setting(config, "SECRETS_KMS_KEY_ID")
    if kms_key_id:
        region = _setting(config, "AWS_REGION") or _setting(config, "AWS_DEFAULT_REGION")
        # A local KMS endpoint (tests, development); unset means AWS itself.
        endpoint_url = _setting(config, "AWS_ENDPOINT_URL_KMS") or _setting(config, "AWS_ENDPOINT_URL")
        client = _kms_client(region=region or None, endpoint_url=endpoint_url or None)
        previous_ids = _setting_list(config, "SECRETS_PREVIOUS_KMS_KEY_IDS")
        return KmsKeyBox(kms_key_id, client=client, previous_key_ids=previous_ids)

    key_file = _setting(config, "SECRETS_KEY_FILE")
    if not key_file:
        instance_path = _setting(config, "INSTANCE_PATH")
        if not instance_path:
            raise SecretKeyConfigError("set SECRETS_KMS_KEY_ID or SECRETS_KEY_FILE (no INSTANCE_PATH either)")
        key_file = str(Path(instance_path) / DEFAULT_KEY_FILE_NAME)
    previous_files = [Path(p) for p in _setting_list(config, "SECRETS_PREVIOUS_KEY_FILES")]
    in_production = _setting(config, "APP_ENV").lower() == "production"
    return LocalKeyBox(Path(key_file), previous_key_files=previous_files, create=not in_production)
