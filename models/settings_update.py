"""Validating and applying an admin's settings change: every field checked first, then all saved or nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email

from errors import ValidationError
from header_text import unsafe_header_text
from models.secrets import SecretBox
from models.settings import GROUP_ID, TenantSettings

HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$", re.IGNORECASE
)
DOMAIN = HOSTNAME
MAX_GROUPS = 100
MAX_DOMAINS = 100
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
SMTP_MODES = ("default", "custom", "microsoft365", "google")
MAX_SECRET_CHARS = 1024
ENTER_AGAIN_FOR_ANOTHER_APP = "must be entered again for another tenant id or client id"
ENTER_AGAIN_FOR_ANOTHER_MAILBOX = "must be entered again for another mailbox"
REQUIRED = {"microsoft365": "is required for Microsoft 365", "google": "is required for Google Workspace"}
# The fields each provider mode needs (form key → column); the credential is checked apart.
PROVIDER_FIELDS = {
    "microsoft365": (("tenantId", "ms_tenant_id"), ("clientId", "ms_client_id"), ("mailbox", "ms_mailbox")),
    "google": (("mailbox", "google_mailbox"),),
}
CREDENTIAL_FIELD = {"microsoft365": "smtp.microsoft365.clientSecret", "google": "smtp.google.serviceAccountKey"}


@dataclass
class Changes:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    password: str | None = None
    clear_password: bool = False
    ms_client_secret: str | None = None
    ms_certificate: str | None = None
    google_key: str | None = None
    clear_ms_credential: bool = False
    clear_google_key: bool = False


def group_ids(value: Any) -> list[str] | None:
    """`[{"groupId": …}]` (or plain ids) → distinct ids in order; None when it is not such a list."""
    if not isinstance(value, list) or len(value) > MAX_GROUPS:
        return None
    ids = [item.get("groupId") if isinstance(item, dict) else item for item in value]
    if not all(isinstance(i, str) and GROUP_ID.fullmatch(i) for i in ids):
        return None  # group ids are UUIDs; anything else could reach another REST path
    return list(dict.fromkeys(ids))


def settings_as_dict(settings: TenantSettings, group_names: dict[str, str] | None = None) -> dict[str, Any]:
    """The settings as the admin API shows them. Never the password: only whether one is set."""
    names = group_names or {}
    until = settings.debug_logging_until
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    active = until is not None and until > datetime.now(UTC)
    return {
        "mail": {
            "senderName": settings.sender_name,
            "senderAddress": settings.sender_address,
            "subjectPrefix": settings.subject_prefix,
            "replyTo": settings.reply_to_mode,
        },
        "layout": {
            "imageMode": settings.image_mode,
            "imageMaxSide": settings.image_max_side,
            "externalImages": settings.external_images,
            "headerText": settings.header_text,
            "buttonLabel": settings.button_label,
            "customCss": settings.custom_css,
        },
        "permissions": {
            "mode": settings.permission_mode,
            "groups": [{"groupId": g, "name": names.get(g, "")} for g in settings.allowed_group_ids or []],
            "enforceInAllSpaces": settings.enforce_in_all_spaces,
            "allowExternal": settings.allow_external,
            "allowedDomains": list(settings.allowed_domains or []),
            "maxRecipients": settings.max_recipients,
            "maxAttachmentBytes": settings.max_attachment_bytes,
            "confirmAbove": settings.confirm_recipients_above,
            "withoutAccess": settings.recipients_without_access,
        },
        "smtp": {
            "mode": settings.smtp_mode,
            "host": settings.smtp_host,
            "port": settings.smtp_port,
            "security": settings.smtp_security,
            "username": settings.smtp_username,
            "passwordSet": bool(settings.smtp_password_encrypted),
            "microsoft365": {
                "tenantId": settings.ms_tenant_id or "",
                "clientId": settings.ms_client_id or "",
                "mailbox": settings.ms_mailbox or "",
                "clientSecretSet": bool(settings.ms_client_secret_encrypted),
                "certificateSet": bool(settings.ms_certificate_encrypted),
            },
            "google": {
                "mailbox": settings.google_mailbox or "",
                "serviceAccountKeySet": bool(settings.google_key_encrypted),
                "serviceAccountEmail": settings.google_key_email or "",
            },
        },
        "debugLoggingUntil": until.isoformat() if active and until else None,
    }


class _Reader:
    def __init__(self, payload: dict[str, Any], changes: Changes) -> None:
        self.payload, self.changes = payload, changes

    def section(self, name: str) -> dict[str, Any]:
        value = self.payload.get(name, {})
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.changes.errors[name] = "must be an object"
            return {}
        return value

    def text(
        self,
        section: dict[str, Any],
        path: str,
        key: str,
        column: str,
        limit: int,
        *,
        one_line: bool = True,
        check: Callable[[str], str | None] | None = None,
    ) -> None:
        if key not in section:
            return
        value = section[key]
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.changes.errors[path] = "must be text"
        elif len(value) > limit:
            self.changes.errors[path] = f"must be at most {limit} characters"
        elif "\0" in value or (one_line and unsafe_header_text(value)):
            # One line, and no encoded words: these values go into mail headers (sender name, subject prefix).
            self.changes.errors[path] = "must be a single line of plain text"
        else:
            problem = check(value.strip()) if check else None
            if problem:
                self.changes.errors[path] = problem
            else:
                self.changes.values[column] = value.strip() if one_line else value

    def choice(self, section: dict[str, Any], path: str, key: str, column: str, options: tuple[str, ...]) -> None:
        if key in section:
            if section[key] in options:
                self.changes.values[column] = section[key]
            else:
                self.changes.errors[path] = f"must be one of {', '.join(options)}"

    def number(self, section: dict[str, Any], path: str, key: str, column: str, low: int, high: int) -> None:
        if key in section:
            value = section[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                self.changes.errors[path] = f"must be a whole number from {low} to {high}"
            else:
                self.changes.values[column] = value

    def flag(self, section: dict[str, Any], path: str, key: str, column: str) -> None:
        if key in section:
            if isinstance(section[key], bool):
                self.changes.values[column] = section[key]
            else:
                self.changes.errors[path] = "must be true or false"


def _email_problem(value: str) -> str | None:
    if not value:
        return None
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"is not a valid email address ({exc})"
    return None


def _mailbox_problem(value: str) -> str | None:
    """A provider mailbox: also the XOAUTH2 user name, which SMTP AUTH carries in ASCII only."""
    if not value:
        return None
    try:
        validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        return f"is not a valid email address ({exc})"
    return None


def _tenant_id_problem(value: str) -> str | None:
    if not value or GUID.fullmatch(value) or (DOMAIN.match(value) and "." in value):
        return None
    return "must be the directory (tenant) ID, a GUID, or a verified domain name of the tenant"


def _client_id_problem(value: str) -> str | None:
    return None if not value or GUID.fullmatch(value) else "must be the application (client) ID, a GUID"


def _secret(section: dict[str, Any], key: str, path: str, changes: Changes) -> str | None:
    """A write-only secret: None when absent or empty (the saved one stays)."""
    value = section.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_SECRET_CHARS or "\0" in value or value != value.strip():
        changes.errors[path] = f"must be text of at most {MAX_SECRET_CHARS} characters, without spaces around it"
        return None
    return value


def _clear_flag(section: dict[str, Any], key: str, path: str, changes: Changes) -> bool:
    """`clear…: true` removes a saved credential; false or absent keeps it."""
    value = section.get(key, False)
    if not isinstance(value, bool):
        changes.errors[path] = "must be true or false"
        return False
    return value


MICROSOFT_FIELDS = {
    "tenantId",
    "clientId",
    "mailbox",
    "clientSecret",
    "clientSecretSet",
    "certificate",
    "certificateSet",
    "clearCredential",
}
GOOGLE_FIELDS = {
    "mailbox",
    "serviceAccountKey",
    "serviceAccountKeySet",
    "serviceAccountEmail",
    "clearServiceAccountKey",
}


def _provider_section(r: _Reader, smtp: dict[str, Any], name: str, fields: set[str]) -> dict[str, Any] | None:
    """`smtp.<name>` when the request has it as an object; its unknown fields are errors."""
    if name not in smtp:
        return None
    section = smtp[name]
    if not isinstance(section, dict):
        r.changes.errors[f"smtp.{name}"] = "must be an object"
        return None
    for field_name in sorted(set(section) - fields):
        r.changes.errors[f"smtp.{name}.{field_name}"] = "is not a setting"
    return section


def _read_microsoft(r: _Reader, smtp: dict[str, Any], certificate_check: Callable[[str], str | None]) -> None:
    section = _provider_section(r, smtp, "microsoft365", MICROSOFT_FIELDS)
    if section is None:
        return
    base = "smtp.microsoft365"
    r.text(section, f"{base}.tenantId", "tenantId", "ms_tenant_id", 253, check=_tenant_id_problem)
    r.text(section, f"{base}.clientId", "clientId", "ms_client_id", 36, check=_client_id_problem)
    r.text(section, f"{base}.mailbox", "mailbox", "ms_mailbox", 254, check=_mailbox_problem)
    for column in ("ms_tenant_id", "ms_client_id"):
        if column in r.changes.values:
            r.changes.values[column] = r.changes.values[column].lower()
    r.changes.ms_client_secret = _secret(section, "clientSecret", f"{base}.clientSecret", r.changes)
    r.changes.clear_ms_credential = _clear_flag(section, "clearCredential", f"{base}.clearCredential", r.changes)
    certificate = section.get("certificate")
    if certificate is None or certificate == "":
        return
    problem = certificate_check(certificate) if isinstance(certificate, str) else "must be PEM text"
    if problem:
        r.changes.errors[f"{base}.certificate"] = problem
    elif r.changes.ms_client_secret is not None:
        r.changes.errors[f"{base}.certificate"] = "give either a client secret or a certificate, not both"
    else:
        r.changes.ms_certificate = certificate


def _read_google(r: _Reader, smtp: dict[str, Any], key_check: Callable[[str], str | None]) -> None:
    section = _provider_section(r, smtp, "google", GOOGLE_FIELDS)
    if section is None:
        return
    r.text(section, "smtp.google.mailbox", "mailbox", "google_mailbox", 254, check=_mailbox_problem)
    r.changes.clear_google_key = _clear_flag(
        section, "clearServiceAccountKey", "smtp.google.clearServiceAccountKey", r.changes
    )
    key = section.get("serviceAccountKey")
    if isinstance(key, dict):
        key = json.dumps(key)  # the parsed key file instead of its text
    if key is None or key == "":
        return
    problem = key_check(key) if isinstance(key, str) else "must be the JSON key file's content"
    if problem:
        r.changes.errors["smtp.google.serviceAccountKey"] = problem
        return
    r.changes.google_key = key


def key_client_email(key: str) -> str:
    """The service account's address in a (checked) key file."""
    try:
        info = json.loads(key)
    except ValueError:
        return ""
    return str(info.get("client_email") or "")[:254] if isinstance(info, dict) else ""


def read_changes(
    payload: Any,
    *,
    css_check: Callable[[str], list[str]],
    host_check: Callable[[str], str | None],
    key_check: Callable[[str], str | None] = lambda _key: "can't be checked here",
    certificate_check: Callable[[str], str | None] = lambda _pem: "can't be checked here",
) -> Changes:
    """Read a partial settings object; the CSS, mail-host and key policies come from mail/ (models imports no
    mail)."""
    changes = Changes()
    if not isinstance(payload, dict):
        raise ValidationError("The settings must be a JSON object")
    unknown = set(payload) - {"mail", "layout", "permissions", "smtp", "debugLoggingHours"}
    for name in unknown:
        changes.errors[name] = "is not a setting"
    r = _Reader(payload, changes)
    mail = r.section("mail")
    r.text(mail, "mail.senderName", "senderName", "sender_name", 120)
    r.text(mail, "mail.senderAddress", "senderAddress", "sender_address", 254, check=_email_problem)
    r.text(mail, "mail.subjectPrefix", "subjectPrefix", "subject_prefix", 60)
    r.choice(mail, "mail.replyTo", "replyTo", "reply_to_mode", ("sender", "none"))
    layout = r.section("layout")
    r.choice(layout, "layout.imageMode", "imageMode", "image_mode", ("original", "fit", "max_side"))
    r.number(layout, "layout.imageMaxSide", "imageMaxSide", "image_max_side", 100, 4000)
    r.choice(layout, "layout.externalImages", "externalImages", "external_images", ("link", "drop"))
    r.text(layout, "layout.headerText", "headerText", "header_text", 200)
    r.text(layout, "layout.buttonLabel", "buttonLabel", "button_label", 60)
    r.text(
        layout,
        "layout.customCss",
        "customCss",
        "custom_css",
        20_000,
        one_line=False,
        check=lambda css: "; ".join(css_check(css)) or None,
    )
    perms = r.section("permissions")
    r.choice(perms, "permissions.mode", "mode", "permission_mode", ("all", "groups"))
    r.flag(perms, "permissions.enforceInAllSpaces", "enforceInAllSpaces", "enforce_in_all_spaces")
    r.flag(perms, "permissions.allowExternal", "allowExternal", "allow_external")
    r.number(perms, "permissions.maxRecipients", "maxRecipients", "max_recipients", 1, 1000)
    r.number(perms, "permissions.maxAttachmentBytes", "maxAttachmentBytes", "max_attachment_bytes", 0, 50 * 1024 * 1024)
    r.number(perms, "permissions.confirmAbove", "confirmAbove", "confirm_recipients_above", 1, 10_000)
    r.choice(perms, "permissions.withoutAccess", "withoutAccess", "recipients_without_access", ("warn", "block"))
    if "groups" in perms:
        ids = group_ids(perms["groups"])
        if ids is None:
            changes.errors["permissions.groups"] = f"must be a list of at most {MAX_GROUPS} group ids"
        else:
            changes.values["allowed_group_ids"] = ids
    if "allowedDomains" in perms:
        domains = perms["allowedDomains"]
        if not isinstance(domains, list) or len(domains) > MAX_DOMAINS:
            changes.errors["permissions.allowedDomains"] = f"must be a list of at most {MAX_DOMAINS} domains"
        else:
            cleaned = [d.strip().lower().lstrip("@") for d in domains if isinstance(d, str) and d.strip()]
            bad = [d for d in cleaned if not DOMAIN.match(d)]
            if bad or len(cleaned) != len([d for d in domains if not (isinstance(d, str) and not d.strip())]):
                changes.errors["permissions.allowedDomains"] = "contains an invalid domain"
            else:
                changes.values["allowed_domains"] = list(dict.fromkeys(cleaned))
    smtp = r.section("smtp")
    r.choice(smtp, "smtp.mode", "mode", "smtp_mode", SMTP_MODES)
    r.text(smtp, "smtp.host", "host", "smtp_host", 253, check=lambda h: host_check(h) if h else None)
    r.number(smtp, "smtp.port", "port", "smtp_port", 1, 65535)
    r.choice(smtp, "smtp.security", "security", "smtp_security", ("starttls", "tls"))
    r.text(smtp, "smtp.username", "username", "smtp_username", 254)
    if "password" in smtp and smtp["password"] is not None:
        password = smtp["password"]
        if not isinstance(password, str) or len(password) > 1024 or "\0" in password:
            changes.errors["smtp.password"] = "must be text of at most 1024 characters"
        elif password:
            changes.password = password
    if smtp.get("clearPassword") is True:
        changes.clear_password = True
    _read_microsoft(r, smtp, certificate_check)
    _read_google(r, smtp, key_check)
    if "debugLoggingHours" in payload:
        hours = payload["debugLoggingHours"]
        if isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours <= 24:
            changes.errors["debugLoggingHours"] = "must be a whole number of hours from 0 (off) to 24"
        else:
            changes.values["debug_logging_until"] = (datetime.now(UTC) + timedelta(hours=hours)) if hours else None
    return changes


def microsoft_secret_left_behind(settings: TenantSettings, changes: Changes) -> bool:
    """A change of tenant id or client id that would keep the saved client secret or certificate (and brings no new
    one).

    The saved secret goes only to the app it was saved for: otherwise whoever can change settings could have it sent
    to another tenant's token endpoint under another app's name.
    """
    saved = settings.ms_client_secret_encrypted or settings.ms_certificate_encrypted
    if not saved or changes.ms_client_secret is not None or changes.ms_certificate is not None:
        return False
    if changes.clear_ms_credential:
        return False
    values = changes.values
    return (
        values.get("ms_tenant_id", settings.ms_tenant_id) != settings.ms_tenant_id
        or values.get("ms_client_id", settings.ms_client_id) != settings.ms_client_id
    )


def google_key_left_behind(settings: TenantSettings, changes: Changes) -> bool:
    """A change of mailbox that would keep the saved service account key (and brings no new one).

    Domain-wide delegation lets a key act as any user of the domain, so the saved key signs in only as the mailbox
    it was saved for: otherwise whoever can change settings could send as anyone in the organisation.
    """
    if not settings.google_key_encrypted or changes.google_key is not None or changes.clear_google_key:
        return False
    mailbox = changes.values.get("google_mailbox", settings.google_mailbox) or ""
    return mailbox.lower() != (settings.google_mailbox or "").lower()


def provider_credential_given(settings: TenantSettings, changes: Changes, mode: str) -> bool:
    """Whether `mode` would have a credential: a new one, or the saved one not being removed."""
    if mode == "microsoft365":
        if changes.ms_client_secret is not None or changes.ms_certificate is not None:
            return True
        saved = settings.ms_client_secret_encrypted or settings.ms_certificate_encrypted
        return bool(saved) and not changes.clear_ms_credential
    if mode == "google":
        if changes.google_key is not None:
            return True
        return bool(settings.google_key_encrypted) and not changes.clear_google_key
    return True


def missing_provider_fields(mode: str, values: Mapping[str, Any], has_credential: bool) -> dict[str, str]:
    """The fields a Microsoft 365 or Google Workspace connection lacks (`values` by column), by field path."""
    if mode not in PROVIDER_FIELDS:
        return {}
    missing = {f"smtp.{mode}.{key}": REQUIRED[mode] for key, column in PROVIDER_FIELDS[mode] if not values.get(column)}
    if not has_credential:
        missing[CREDENTIAL_FIELD[mode]] = REQUIRED[mode]
    return missing


def merged_provider_values(settings: TenantSettings, changes: Changes) -> dict[str, Any]:
    """The provider columns as they would be after `changes`."""
    columns = ("smtp_mode", "ms_tenant_id", "ms_client_id", "ms_mailbox", "google_mailbox")
    return {c: getattr(settings, c) for c in columns} | changes.values


CLEAR_WHILE_ACTIVE = "can't remove the saved credential while it is the mail connection in use"
CLEAR_WITH_NEW = "can't remove the saved credential and enter a new one at once"


def _check_clear(changes: Changes, mode: str, path: str, clear: bool, new_given: bool, active_mode: str) -> None:
    """Removing a saved credential is refused while its mode sends mail (nothing could sign in) or with a new one."""
    if clear and active_mode == mode:
        changes.errors.setdefault(path, CLEAR_WHILE_ACTIVE)
    elif clear and new_given:
        changes.errors.setdefault(path, CLEAR_WITH_NEW)


def _check_provider(settings: TenantSettings, changes: Changes) -> None:
    merged = merged_provider_values(settings, changes)
    mode = merged["smtp_mode"]
    if microsoft_secret_left_behind(settings, changes):
        changes.errors.setdefault("smtp.microsoft365.clientSecret", ENTER_AGAIN_FOR_ANOTHER_APP)
    if google_key_left_behind(settings, changes):
        changes.errors.setdefault("smtp.google.serviceAccountKey", ENTER_AGAIN_FOR_ANOTHER_MAILBOX)
    new_ms = changes.ms_client_secret is not None or changes.ms_certificate is not None
    _check_clear(
        changes, "microsoft365", "smtp.microsoft365.clearCredential", changes.clear_ms_credential, new_ms, mode
    )
    new_key = changes.google_key is not None
    _check_clear(changes, "google", "smtp.google.clearServiceAccountKey", changes.clear_google_key, new_key, mode)
    # A refused removal is the one error about the credential (not also "is required").
    refused_clear = (mode == "microsoft365" and changes.clear_ms_credential) or (
        mode == "google" and changes.clear_google_key
    )
    has_credential = refused_clear or provider_credential_given(settings, changes, mode)
    for path, problem in missing_provider_fields(mode, merged, has_credential).items():
        changes.errors.setdefault(path, problem)


def apply_changes(settings: TenantSettings, changes: Changes, *, box: SecretBox, client_key: str) -> None:
    """All or nothing: refuses with per-field errors before touching the row."""
    merged = {c: getattr(settings, c) for c in ("smtp_mode", "smtp_host")} | changes.values
    if merged["smtp_mode"] == "custom" and not merged["smtp_host"]:
        changes.errors.setdefault("smtp.host", "is required for your own mail server")
    _check_provider(settings, changes)
    if changes.errors:
        raise ValidationError(
            "Some settings are not valid; nothing was saved",
            code="invalid_settings",
            details={"fields": changes.errors},
        )
    for column, value in changes.values.items():
        setattr(settings, column, value)
    if changes.clear_password:
        settings.smtp_password_encrypted = None
    if changes.password is not None:
        settings.smtp_password_encrypted = box.encrypt(
            changes.password, tenant=client_key, field=TenantSettings.SMTP_PASSWORD_FIELD
        )
    if changes.ms_client_secret is not None:
        settings.ms_client_secret_encrypted = box.encrypt(
            changes.ms_client_secret, tenant=client_key, field=TenantSettings.MS_CLIENT_SECRET_FIELD
        )
        settings.ms_certificate_encrypted = None  # the credential saved last is the one used
    if changes.ms_certificate is not None:
        settings.ms_certificate_encrypted = box.encrypt(
            changes.ms_certificate, tenant=client_key, field=TenantSettings.MS_CERTIFICATE_FIELD
        )
        settings.ms_client_secret_encrypted = None
    if changes.google_key is not None:
        settings.google_key_encrypted = box.encrypt(
            changes.google_key, tenant=client_key, field=TenantSettings.GOOGLE_KEY_FIELD
        )
        settings.google_key_email = key_client_email(changes.google_key)
    if changes.clear_ms_credential:
        settings.ms_client_secret_encrypted = None
        settings.ms_certificate_encrypted = None
    if changes.clear_google_key:
        settings.google_key_encrypted = None
        settings.google_key_email = ""
