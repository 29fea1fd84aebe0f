"""Microsoft 365 and Google Workspace as the sandbox plays them: a registered Entra app, a Google service account,
the tokens their token endpoints issued, and the trouble tests switch on.

Demo credentials are fixed (the Entra app) or kept across restarts under `instance/` for `make run` (the service
account's private key), so a connection saved in the app keeps working. Everything here is invented and local.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sandbox.bearer_tokens import BearerGrant, TokenStore
from sandbox.mailcatcher import HangUp

# The demo Entra tenant and its registered app (client credentials, SMTP.SendAsApp granted for one mailbox).
ENTRA_TENANT_ID = "5b1c6e3a-8f2d-4c7b-9a1e-3d4f5a6b7c8d"
ENTRA_TENANT_DOMAIN = "pagemail-demo.onmicrosoft.com"
ENTRA_CLIENT_ID = "0f4e2a9c-7b1d-4e6f-8a3c-5d2e1f0a9b8c"
ENTRA_CLIENT_SECRET = "Sbx8Q~demo.client-secret.pagemail-sandbox"
ENTRA_APP_NAME = "pagemail sandbox mailer"
MICROSOFT_MAILBOX = f"mailer@{ENTRA_TENANT_DOMAIN}"
# A mailbox that exists in the tenant but was never given to the app (Exchange answers 535 5.7.3 for it).
MICROSOFT_OTHER_MAILBOX = f"someone@{ENTRA_TENANT_DOMAIN}"
MICROSOFT_SCOPE = "https://outlook.office365.com/.default"

GOOGLE_DOMAIN = "pagemail-demo.example"
GOOGLE_MAILBOX = f"mailer@{GOOGLE_DOMAIN}"
GOOGLE_OTHER_MAILBOX = f"someone@{GOOGLE_DOMAIN}"
GOOGLE_CLIENT_EMAIL = "pagemail-mailer@pagemail-demo.iam.gserviceaccount.com"
GOOGLE_CLIENT_ID = "104857600000000000001"
GOOGLE_KEY_ID = "5a1d2c3b4e5f60718293a4b5c6d7e8f901234567"
GOOGLE_SCOPE = "https://mail.google.com/"

TOKEN_LIFETIME = 3599  # as both providers issue them
TROUBLES = frozenset(
    {
        "secret_expired",  # AADSTS7000222
        "secret_revoked",  # AADSTS7000215 for the right secret too
        "consent_missing",  # AADSTS65001
        "delegation_missing",  # Google unauthorized_client
        "key_revoked",  # Google invalid_grant "Invalid JWT Signature."
        "clock_skew",  # the app's clock is off: AADSTS700024, Google's "Token must be a short-lived token"
        "smtp_auth_disabled",  # Exchange 535 5.7.139 for the mailbox
        "mailbox_not_authorized",  # Exchange 535 5.7.3: the app has no access to the mailbox
        "smtp_auth_busy",  # 454 4.7.0 for every XOAUTH2 sign-in: a temporary failure, the token stays good
        "hang_up_after_refusal",  # the mail server closes the connection after a refused token
    }
)


@dataclass
class MailProviders:
    """The providers' side of the sandbox (one per sandbox)."""

    key_file: Path | None = None
    tokens: TokenStore = field(default_factory=TokenStore)
    token_lifetime: int = TOKEN_LIFETIME
    troubles: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _private_key: rsa.RSAPrivateKey | None = field(default=None, repr=False)
    _app_certificate: tuple[rsa.RSAPrivateKey, x509.Certificate] | None = field(default=None, repr=False)

    # -- credentials -----------------------------------------------------------------------------

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._private_key is None:
                self._private_key = _load_or_create_key(self.key_file)
            return self._private_key

    @property
    def app_certificate(self) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        """The certificate credential registered on the demo Entra app (and its private key)."""
        with self._lock:
            if self._app_certificate is None:
                folder = self.key_file.parent if self.key_file else None
                key = _load_or_create_key(folder / "entra-app-key.pem" if folder else None)
                self._app_certificate = (key, self_signed_certificate(key))
            return self._app_certificate

    def app_certificate_pem(self) -> str:
        """What the admin pastes: the private key and the certificate, PEM."""
        key, certificate = self.app_certificate
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii") + certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def private_key_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")

    def service_account_key(self, token_uri: str) -> str:
        """The JSON key file an admin downloads from Google Cloud, pointing at this sandbox's token endpoint."""
        return json.dumps(
            {
                "type": "service_account",
                "project_id": "pagemail-demo",
                "private_key_id": GOOGLE_KEY_ID,
                "private_key": self.private_key_pem(),
                "client_email": GOOGLE_CLIENT_EMAIL,
                "client_id": GOOGLE_CLIENT_ID,
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": token_uri,
                "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
                "universe_domain": "googleapis.com",
            },
            indent=2,
        )

    def demo(self, tls_url: str) -> dict[str, Any]:
        """What `make run`'s admin pastes into pagemail's settings (and what tests save)."""
        return {
            "microsoft365": {
                "authorityHost": tls_url,
                "tenantId": ENTRA_TENANT_ID,
                "tenantDomain": ENTRA_TENANT_DOMAIN,
                "clientId": ENTRA_CLIENT_ID,
                "clientSecret": ENTRA_CLIENT_SECRET,
                "certificate": self.app_certificate_pem(),
                "certificateThumbprint": self.app_certificate[1].fingerprint(hashes.SHA256()).hex().upper(),
                "mailbox": MICROSOFT_MAILBOX,
                "otherMailbox": MICROSOFT_OTHER_MAILBOX,
            },
            "google": {
                "mailbox": GOOGLE_MAILBOX,
                "otherMailbox": GOOGLE_OTHER_MAILBOX,
                "serviceAccountEmail": GOOGLE_CLIENT_EMAIL,
                "serviceAccountKey": self.service_account_key(f"{tls_url}/google/token"),
            },
            "troubles": sorted(self.troubles),
            "tokenLifetime": self.token_lifetime,
        }

    # -- trouble ---------------------------------------------------------------------------------

    def configure(self, payload: Any) -> None:
        """`{"trouble": name}` adds trouble, `{"tokenLifetime": s}` sets the lifetime of new tokens,
        `{"revokeTokens": true}` forgets every token issued so far (ValueError when invalid)."""
        if not isinstance(payload, dict) or not set(payload) <= {"trouble", "tokenLifetime", "revokeTokens"}:
            raise ValueError('send {"trouble": name}, {"tokenLifetime": seconds} or {"revokeTokens": true}')
        trouble = payload.get("trouble")
        if trouble is not None and trouble not in TROUBLES:
            raise ValueError(f"trouble must be one of {', '.join(sorted(TROUBLES))}")
        lifetime = payload.get("tokenLifetime")
        if lifetime is not None and (isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime < 1):
            raise ValueError("tokenLifetime must be a whole number of seconds, at least 1")
        with self._lock:
            if trouble:
                self.troubles.add(trouble)
            if lifetime:
                self.token_lifetime = lifetime
        if payload.get("revokeTokens") is True:
            self.tokens.revoke_all()

    def reset(self) -> None:
        with self._lock:
            self.troubles.clear()
            self.token_lifetime = TOKEN_LIFETIME

    def has(self, trouble: str) -> bool:
        with self._lock:
            return trouble in self.troubles

    # -- tokens ----------------------------------------------------------------------------------

    def issue(self, subject: str, scope: str, issuer: str) -> tuple[str, int]:
        lifetime = self.token_lifetime
        return self.tokens.issue(subject, frozenset({scope}), issuer, lifetime=lifetime), lifetime

    def grant(self, token: str) -> BearerGrant | None:
        return self.tokens.lookup(token)

    def smtp_verdict(self, user: str, token: str) -> str | None:
        """None when `AUTH XOAUTH2` as `user` with `token` is accepted, else the server's reply (535 …)."""
        if self.has("smtp_auth_busy"):
            return "454 4.7.0 Temporary authentication failure"
        verdict = self._verdict(user, token)
        if verdict is not None and self.has("hang_up_after_refusal"):
            return HangUp(verdict)
        return verdict

    def _verdict(self, user: str, token: str) -> str | None:
        grant = self.tokens.lookup(token)
        if grant is None:
            return "535 5.7.3 Authentication unsuccessful"
        mailbox = user.strip().lower()
        if grant.client_key.startswith("entra:"):
            if mailbox not in (MICROSOFT_MAILBOX, MICROSOFT_OTHER_MAILBOX):
                return "535 5.7.3 Authentication unsuccessful"
            if self.has("smtp_auth_disabled"):
                return (
                    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. "
                    "Visit https://aka.ms/smtp_auth_disabled for more information."
                )
            if mailbox != MICROSOFT_MAILBOX or self.has("mailbox_not_authorized"):
                return "535 5.7.3 Authentication unsuccessful"
            return None
        if grant.client_key.startswith("google:") and grant.account_id == mailbox:
            return None
        return "535 5.7.8 Username and Password not accepted."


def _load_or_create_key(key_file: Path | None) -> rsa.RSAPrivateKey:
    if key_file is not None and key_file.is_file():
        loaded = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if isinstance(loaded, rsa.RSAPrivateKey):
            return loaded
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_file is not None:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return key


def self_signed_certificate(
    key: rsa.RSAPrivateKey, common_name: str = "pagemail sandbox mailer", days: int = 365
) -> x509.Certificate:
    """A self-signed certificate, as `New-SelfSignedCertificate` makes for an app registration."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
