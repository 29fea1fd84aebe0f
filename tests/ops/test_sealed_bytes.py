"""Byte sealing for archives (models/secrets.py seal_bytes/open_bytes) under a local key file."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.secrets import LocalKeyBox, SecretError, SecretSealer

DATA = b"\x00binary \xff payload\n" * 1000
NAME = "pagemail-20250310T210000Z-0a1b2c3d.pmbackup"


@pytest.fixture
def box(tmp_path: Path) -> LocalKeyBox:
    return LocalKeyBox(tmp_path / "secrets.key")


def test_round_trip_with_a_fresh_data_key_each_time(box: LocalKeyBox) -> None:
    assert isinstance(box, SecretSealer)
    first = box.seal_bytes(DATA, purpose="backup", name=NAME)
    second = box.seal_bytes(DATA, purpose="backup", name=NAME)
    assert first != second and DATA[:20] not in first
    assert box.open_bytes(first, purpose="backup", name=NAME) == DATA
    assert box.open_bytes(box.seal_bytes(b"", purpose="backup", name=NAME), purpose="backup", name=NAME) == b""


@pytest.mark.parametrize(("purpose", "name"), [("export", NAME), ("backup", NAME.replace("0a1b", "0a1c"))])
def test_bound_to_purpose_and_name(box: LocalKeyBox, purpose: str, name: str) -> None:
    sealed = box.seal_bytes(DATA, purpose="backup", name=NAME)
    with pytest.raises(SecretError, match="another purpose or name"):
        box.open_bytes(sealed, purpose=purpose, name=name)


def test_every_region_is_protected(box: LocalKeyBox) -> None:
    sealed = box.seal_bytes(DATA, purpose="backup", name=NAME)
    header_end = 8 + int.from_bytes(sealed[4:8], "big")
    for position in (0, 5, 9, header_end - 3, header_end + 1, len(sealed) // 2, len(sealed) - 1):
        changed = bytearray(sealed)
        changed[position] ^= 0x04
        with pytest.raises(SecretError):
            box.open_bytes(bytes(changed), purpose="backup", name=NAME)
    for cut in (0, 7, header_end, len(sealed) - 1):
        with pytest.raises(SecretError):
            box.open_bytes(sealed[:cut], purpose="backup", name=NAME)


def test_another_key_is_named_and_a_previous_key_still_opens(box: LocalKeyBox, tmp_path: Path) -> None:
    sealed = box.seal_bytes(DATA, purpose="backup", name=NAME)
    stranger = LocalKeyBox(tmp_path / "other.key")
    with pytest.raises(SecretError, match=f"local key {box.key_id}"):
        stranger.open_bytes(sealed, purpose="backup", name=NAME)
    successor = LocalKeyBox(tmp_path / "other.key", previous_key_files=[tmp_path / "secrets.key"])
    assert successor.open_bytes(sealed, purpose="backup", name=NAME) == DATA
    assert successor.current_key_label() == stranger.key_id


def test_tokens_and_sealed_bytes_are_not_interchangeable(box: LocalKeyBox) -> None:
    token = box.encrypt("secret", tenant="backup", field=NAME)
    with pytest.raises(SecretError, match="format marker"):
        box.open_bytes(token.encode(), purpose="backup", name=NAME)


def test_bad_arguments(box: LocalKeyBox) -> None:
    with pytest.raises(TypeError):
        box.seal_bytes("text", purpose="backup", name=NAME)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        box.seal_bytes(DATA, purpose="", name=NAME)
    with pytest.raises(SecretError):
        box.open_bytes("text", purpose="backup", name=NAME)  # type: ignore[arg-type]
