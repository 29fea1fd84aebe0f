"""Retrying a split send that was only partly delivered, without sending anyone the page twice.

The answer of such a send carries a sealed token: the addresses that did not get the mail, encrypted and bound to
the tenant, the user and the page (the browser holds it but can't read it). A send with that token goes to those
addresses only — after resolving the recipients afresh, so the admin's current rules still apply.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

from errors import ValidationError
from models.secrets import SecretBox, SecretError

FIELD = "send_retry"
LIFETIME_SECONDS = 3600


@dataclass(frozen=True)
class RetrySeal:
    box: SecretBox
    tenant_key: str

    def seal(self, account_id: str, content_id: str, addresses: Iterable[str]) -> str:
        payload = {
            "u": account_id,
            "c": content_id,
            "e": int(time.time()) + LIFETIME_SECONDS,
            "a": sorted({a.lower() for a in addresses}),
        }
        return self.box.encrypt(json.dumps(payload), tenant=self.tenant_key, field=FIELD)

    def open(self, token: str, account_id: str, content_id: str) -> set[str]:
        """The addresses a retry may go to; a token of another user, page or tenant, or an old one, is refused."""
        try:
            payload = json.loads(self.box.decrypt(token, tenant=self.tenant_key, field=FIELD))
        except (SecretError, ValueError):
            raise _invalid() from None
        if not isinstance(payload, dict) or payload.get("u") != account_id or payload.get("c") != content_id:
            raise _invalid()
        if not isinstance(payload.get("e"), int) or payload["e"] < time.time():
            raise ValidationError(
                "This retry has expired; send the page again", code="retry_expired", details={"field": "retry"}
            )
        addresses = payload.get("a")
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise _invalid()
        return set(addresses)


def _invalid() -> ValidationError:
    return ValidationError("This retry is not valid for this page", code="retry_invalid", details={"field": "retry"})
