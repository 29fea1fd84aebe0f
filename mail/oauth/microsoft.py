"""A Microsoft 365 token: Entra ID client credentials (app-only) through MSAL, scope Exchange Online.

The authority host is the operator's (`MICROSOFT_AUTHORITY_HOST`), never the tenant's input: only the tenant id is
theirs, and it is checked (a GUID or a domain name) before it becomes a path segment. Instance discovery is off, so
MSAL asks nobody but that host.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mail.oauth.errors import Throttled, TokenError, microsoft_failure
from mail.oauth.http import RecordingSession

SCOPE = "https://outlook.office365.com/.default"
MAX_CERTIFICATE_BYTES = 16 * 1024
PRIVATE_KEY_PEM = re.compile(r"-----BEGIN (RSA )?PRIVATE KEY-----.+?-----END (RSA )?PRIVATE KEY-----", re.DOTALL)
CERTIFICATE_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


@dataclass(frozen=True)
class MicrosoftApp:
    authority_host: str
    tenant_id: str
    client_id: str
    client_secret: str = field(default="", repr=False)
    certificate: str = field(default="", repr=False)  # PEM: the private key and its certificate

    @property
    def authority(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant_id}"

    def credential(self) -> str | dict[str, Any]:
        """MSAL's client credential: the secret, or a certificate (a signed assertion; its SHA-256 thumbprint)."""
        if not self.certificate:
            return self.client_secret
        key, certificate = PRIVATE_KEY_PEM.search(self.certificate), CERTIFICATE_PEM.search(self.certificate)
        if key is None or certificate is None:
            raise TokenError("oauth_certificate_invalid")
        return {"private_key": key.group(0), "public_certificate": certificate.group(0)}


def certificate_problem(text: str) -> str | None:
    """Why a pasted certificate credential can't be used, or None: one unencrypted RSA private key and the
    certificate of its public key (Entra ID takes RSA certificates), not expired."""
    if len(text.encode("utf-8")) > MAX_CERTIFICATE_BYTES:
        return f"must be at most {MAX_CERTIFICATE_BYTES // 1024} KB of PEM text"
    key_block, certificate_block = PRIVATE_KEY_PEM.search(text), CERTIFICATE_PEM.search(text)
    if key_block is None or certificate_block is None:
        return "must hold the private key and the certificate, both in PEM"
    try:
        key = serialization.load_pem_private_key(key_block.group(0).encode("ascii"), password=None)
        certificate = x509.load_pem_x509_certificate(certificate_block.group(0).encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        return "holds a private key or certificate that can't be read (an encrypted key must be decrypted first)"
    if not isinstance(key, rsa.RSAPrivateKey):
        return "must hold an RSA private key"
    if certificate.public_key().public_numbers() != key.public_key().public_numbers():
        return "holds a certificate of another key"
    if certificate.not_valid_after_utc <= datetime.now(UTC):
        return "holds a certificate that has expired"
    return None


def fetch_token(
    app: MicrosoftApp, ca_bundle: str | None = None, *, remaining: Callable[[], float]
) -> tuple[str, float]:
    """(access token, seconds it lives) or TokenError (Throttled for a 429)."""
    session = RecordingSession(ca_bundle, remaining)
    result: Any = {}
    try:
        try:
            client = msal.ConfidentialClientApplication(
                app.client_id,
                client_credential=app.credential(),
                authority=app.authority,
                http_client=session,
                instance_discovery=False,
                token_cache=msal.TokenCache(),  # MSAL's own cache dies with this object; ours is mail.oauth.cache
            )
        except ValueError:
            # MSAL says "the tenant's OpenID configuration was refused" in a ValueError; the recorded answer says
            # why. Any other ValueError is about the credential MSAL was handed.
            if session.last is None or session.last.status < 400:
                code = "oauth_certificate_invalid" if app.certificate else "oauth_secret_invalid"
                raise TokenError(code) from None
        else:
            result = client.acquire_token_for_client(scopes=[SCOPE])
    except requests.RequestException as exc:
        raise TokenError("oauth_unavailable", provider_error=type(exc).__name__) from None
    finally:
        session.close()
    token = result.get("access_token") if isinstance(result, dict) else None
    if isinstance(token, str) and token:
        return token, float(result.get("expires_in") or 3600)
    answer = session.last
    if answer is not None and answer.status == 429:
        raise Throttled(answer.retry_after)
    body = result if isinstance(result, dict) and result.get("error") else (answer.body if answer else None)
    raise microsoft_failure(body, answer.status if answer else None)
