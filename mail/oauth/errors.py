"""What a provider's refusal means: a stable code, an English sentence, the provider's own code and a fix.

Token endpoints answer with their own codes (Entra: `AADSTS…` in `error_description` and `error_codes`; Google:
`error` and `error_description`), Exchange and Gmail with enhanced SMTP status codes. Each is mapped to one code the
admin page can explain; the provider's code travels along as `providerError` so support can look it up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mail.transport import MailServerError

AADSTS = re.compile(r"AADSTS(\d{5,8})")
ENHANCED_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")

# code → (message, hint). Messages are sentences without secrets or ids; the hint says what to change where.
FAILURES: dict[str, tuple[str, str]] = {
    "oauth_tenant_not_found": (
        "Microsoft does not know this tenant",
        "Check the Directory (tenant) ID or the tenant's verified domain in Entra ID → Overview",
    ),
    "oauth_client_not_found": (
        "This tenant has no application with this client ID",
        "Copy the Application (client) ID of the app registration in this tenant",
    ),
    "oauth_secret_invalid": (
        "Microsoft refused the client secret",
        "Paste the secret's Value (not its Secret ID) from Certificates & secrets, or create a new secret",
    ),
    "oauth_certificate_invalid": (
        "Microsoft refused the certificate",
        "Upload this certificate (its .cer) to the app registration's Certificates & secrets, or use a registered one",
    ),
    "oauth_secret_expired": (
        "The client secret has expired",
        "Create a new client secret in the app registration's Certificates & secrets and save it here",
    ),
    "oauth_consent_missing": (
        "The app is not allowed to send mail in this tenant",
        "Add the Office 365 Exchange Online permission SMTP.SendAsApp and grant admin consent",
    ),
    "oauth_app_disabled": (
        "The app is disabled in this tenant",
        "In Entra ID → Enterprise applications → the app → Properties, set Enabled for users to sign in to Yes; if "
        "Microsoft disabled it, register a new app",
    ),
    "oauth_exchange_missing": (
        "This tenant has no Exchange Online",
        "Check the Directory (tenant) ID: the mailbox's tenant needs an Exchange Online subscription",
    ),
    "oauth_delegation_missing": (
        "Google refused the service account for this mailbox: domain-wide delegation is not set up",
        "In the Admin console (Security → API controls → Domain-wide delegation) allow the service account's "
        "client ID the scope https://mail.google.com/",
    ),
    "oauth_key_invalid": (
        "Google refused the service account key",
        "The key was deleted or disabled; create a new JSON key for the service account and paste it here",
    ),
    "oauth_clock_skew": (
        "The provider refused the sign-in because this server's clock is off",
        "Ask the operator of pagemail to synchronise the server's clock (NTP); the signed request was outside its "
        "valid time range",
    ),
    "oauth_mailbox_unknown": (
        "The provider does not know this mailbox",
        "Enter the address of an existing mailbox in your Google Workspace domain",
    ),
    "oauth_rate_limited": (
        "The provider is throttling token requests; try again later",
        "Wait a minute and try again; many sends at once share one token",
    ),
    "oauth_unavailable": (
        "The provider's sign-in service could not be reached",
        "Try again later; if it persists, check that this server may reach the provider over https",
    ),
    "oauth_failed": (
        "The provider refused to issue a token",
        "Look up the provider error code shown with this message",
    ),
    "smtp_auth_disabled": (
        "SMTP AUTH is switched off for this mailbox or tenant",
        "In Exchange Online turn on Authenticated SMTP for the mailbox (and for the organisation)",
    ),
    "smtp_mailbox_not_authorized": (
        "The mail server refused the app for this mailbox",
        "Register the app's service principal in Exchange (New-ServicePrincipal) and give it FullAccess to the "
        "mailbox (Add-MailboxPermission); check the admin consent of SMTP.SendAsApp",
    ),
    "smtp_token_refused": (
        "The mail server refused the access token",
        "Check that the mailbox exists and may send mail over SMTP",
    ),
}


class TokenError(MailServerError):
    """Getting a token failed (stage `token`) or the mail server refused it (stage `auth`)."""

    def __init__(
        self, code: str, *, stage: str = "token", provider_error: str = "", details: Mapping[str, Any] | None = None
    ) -> None:
        message, hint = FAILURES[code]
        extra: dict[str, Any] = {"hint": hint, **(details or {})}
        if provider_error:
            extra["providerError"] = provider_error
        super().__init__(message, code=code, stage=stage, details=extra)
        self.provider_error = provider_error


class Throttled(TokenError):
    """A 429 from a token endpoint; `retry_after` seconds (None when the provider did not say)."""

    def __init__(self, retry_after: float | None) -> None:
        details = {"retryAfter": round(retry_after)} if retry_after is not None else {}
        super().__init__("oauth_rate_limited", provider_error="429", details=details)
        self.retry_after = retry_after


MICROSOFT_CODES = {
    "90002": "oauth_tenant_not_found",
    "900023": "oauth_tenant_not_found",  # a tenant id of the wrong shape
    "700016": "oauth_client_not_found",
    "7000215": "oauth_secret_invalid",
    "7000222": "oauth_secret_expired",
    "700027": "oauth_certificate_invalid",  # not registered, or an invalid signature
    "700024": "oauth_clock_skew",  # the client assertion is outside its valid time range: our clock
    "700023": "oauth_certificate_invalid",  # expired certificate on the app
    "65001": "oauth_consent_missing",
    "7000112": "oauth_app_disabled",  # "Application '<id>'(<name>) is disabled."
    "500011": "oauth_exchange_missing",  # "The resource principal named https://outlook.office365.com was not found"
    "501051": "oauth_consent_missing",  # app role not assigned
}


def microsoft_failure(body: Mapping[str, Any] | None, status: int | None) -> TokenError:
    """An Entra answer without an access token."""
    text = str((body or {}).get("error_description") or "")
    codes = [str(c) for c in (body or {}).get("error_codes") or [] if isinstance(c, int | str)]
    found = AADSTS.search(text)
    number = found.group(1) if found else (codes[0] if codes else "")
    if number:
        return TokenError(MICROSOFT_CODES.get(number, "oauth_failed"), provider_error=f"AADSTS{number}")
    if status is not None and status >= 500:
        return TokenError("oauth_unavailable", provider_error=str(status))
    error = str((body or {}).get("error") or "")[:60]
    return TokenError("oauth_failed", provider_error=error or (str(status) if status else ""))


def google_failure(body: Mapping[str, Any] | None, status: int | None) -> TokenError:
    """A Google token endpoint answer without an access token."""
    error = str((body or {}).get("error") or "")[:60]
    description = str((body or {}).get("error_description") or "").lower()
    if error == "unauthorized_client":
        return TokenError("oauth_delegation_missing", provider_error=error)
    if error == "invalid_grant" and ("short-lived" in description or "timeframe" in description):
        # "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe": our clock
        return TokenError("oauth_clock_skew", provider_error=error)
    if error == "invalid_grant" and ("email" in description or "user id" in description):
        return TokenError("oauth_mailbox_unknown", provider_error=error)
    if error in ("invalid_grant", "invalid_client"):
        # "Invalid JWT Signature." (a deleted or disabled key), "account not found" (a deleted service account)
        return TokenError("oauth_key_invalid", provider_error=error)
    if status is not None and status >= 500:
        return TokenError("oauth_unavailable", provider_error=str(status))
    return TokenError("oauth_failed", provider_error=error or (str(status) if status else ""))


def smtp_refusal(code: int, text: str) -> TokenError:
    """A refused `AUTH XOAUTH2` (after one renewed token), by Exchange's enhanced status code."""
    found = ENHANCED_STATUS.search(text)
    enhanced = found.group(1) if found else ""
    provider = f"{code} {enhanced}".strip()
    if enhanced == "5.7.139" or "smtpclientauthentication is disabled" in text.lower():
        return TokenError("smtp_auth_disabled", stage="auth", provider_error=provider)
    if enhanced == "5.7.3":
        return TokenError("smtp_mailbox_not_authorized", stage="auth", provider_error=provider)
    return TokenError("smtp_token_refused", stage="auth", provider_error=provider)
