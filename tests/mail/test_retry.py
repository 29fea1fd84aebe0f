"""The sealed retry of a partly delivered send: readable only by its tenant, user and page, and only for a while."""

from __future__ import annotations

from pathlib import Path

import pytest

from errors import ValidationError
from mail import retry
from mail.retry import RetrySeal
from models.secrets import LocalKeyBox


def test_a_retry_opens_only_for_its_tenant_user_and_page(tmp_path: Path) -> None:
    box = LocalKeyBox(tmp_path / "k.key")
    token = RetrySeal(box, "tenant-a").seal("user-1", "42", ["A@x.example", "b@x.example"])
    assert "x.example" not in token
    assert RetrySeal(box, "tenant-a").open(token, "user-1", "42") == {"a@x.example", "b@x.example"}
    for tenant, user, page in (("tenant-b", "user-1", "42"), ("tenant-a", "user-2", "42"), ("tenant-a", "user-1", "7")):
        with pytest.raises(ValidationError) as caught:
            RetrySeal(box, tenant).open(token, user, page)
        assert caught.value.code == "retry_invalid"


def test_an_old_retry_has_expired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seal = RetrySeal(LocalKeyBox(tmp_path / "k.key"), "t")
    monkeypatch.setattr(retry, "LIFETIME_SECONDS", -1)
    token = seal.seal("u", "1", ["a@x.example"])
    with pytest.raises(ValidationError) as caught:
        seal.open(token, "u", "1")
    assert caught.value.code == "retry_expired"
