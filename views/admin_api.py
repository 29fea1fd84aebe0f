"""Settings API for site admins (`/api/admin/...`) and space admins (`/api/spaces/{key}/settings`).

Context tokens only; every change is checked against Confluence as the user (never trusted from the browser) and
bound to the authenticated tenant, so no request can read or change another tenant's or space's settings.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import replace
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from flask import Blueprint, Response, current_app, jsonify, request

from confluence.client import Deadline
from errors import ForbiddenError, ValidationError
from identity import Identity, api_auth_required, current_identity
from mail.css_policy import css_problems
from mail.oauth.microsoft import certificate_problem
from mail.permissions import group_names, is_site_admin, is_space_admin
from mail.recipients import emails_for
from mail.render import MailContent, PageInfo, prepare_page, render_mail
from mail.transport import Envelope, MailServerError, SmtpServer, check_connection, deliver, host_problem
from models import SpaceSettings, TenantSettings, db
from models.settings_update import (
    Changes,
    apply_changes,
    google_key_left_behind,
    group_ids,
    merged_provider_values,
    microsoft_secret_left_behind,
    missing_provider_fields,
    provider_credential_given,
    read_changes,
    settings_as_dict,
)
from views.context import clients, mail_settings, tenant_settings
from views.errors import LOCALE_HEADER
from views.mail_server import (
    decrypted_secret,
    google_key_problem,
    google_server,
    microsoft_server,
    saved_microsoft_credential,
    smtp_server,
)
from views.messages import german_hint, german_message, wants_german
from views.ratelimit import enforce

bp = Blueprint("admin_api", __name__, url_prefix="/api")
P = ParamSpec("P")
R = TypeVar("R")

SPACE_KEY = re.compile(r"[A-Za-z0-9~_-]{1,255}")  # fullmatch: no trailing newline slips through


def _require_site_admin(identity: Identity) -> None:
    user_client, _ = clients(identity, budget=20)
    if not is_site_admin(user_client):
        raise ForbiddenError("Only Confluence administrators can change pagemail settings", code="not_site_admin")


def site_admin_api(view: Callable[P, R]) -> Callable[P, R]:
    """Context token, the admin rate limit and a site-admin check (as the user) before the view runs."""

    @functools.wraps(view)
    @api_auth_required
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        identity = current_identity()
        enforce("admin", identity)
        _require_site_admin(identity)
        return view(*args, **kwargs)

    return wrapper


GERMAN_OUTCOMES = {
    "Connected": "Verbunden",
    "Connected without encryption and without signing in": "Verbunden, ohne Verschlüsselung und ohne Anmeldung",
    "Connected without encryption": "Verbunden, aber ohne Verschlüsselung",
    "Connected without signing in": "Verbunden, aber ohne Anmeldung",
    "A test mail is on its way to you, sent without encryption and without signing in": (
        "Eine Test-E-Mail ist zu Ihnen unterwegs, gesendet ohne Verschlüsselung und ohne Anmeldung"
    ),
    "A test mail is on its way to you, sent without encryption": (
        "Eine Test-E-Mail ist zu Ihnen unterwegs, gesendet ohne Verschlüsselung"
    ),
    "A test mail is on its way to you, sent without signing in": (
        "Eine Test-E-Mail ist zu Ihnen unterwegs, gesendet ohne Anmeldung"
    ),
    "The mail server refused your address": "Der Mailserver hat Ihre Adresse abgelehnt",
    "A test mail is on its way to you": "Eine Test-E-Mail ist zu Ihnen unterwegs",
}


def _outcome(
    ok: bool,
    stage: str,
    message: str,
    code: str | None = None,
    details: Any = None,
    security: dict[str, bool] | None = None,
) -> Response:
    """The answer of *Test connection* / *Send me a test mail* (a 200 either way), in the page's language.

    A success also says how the connection went (`encrypted`, `authenticated`): "connected" alone would pass a
    plaintext, anonymous server off as a safe one.
    """
    german = wants_german(request.headers.get(LOCALE_HEADER))
    if german:
        message = german_message(code, message, details or {}) if code else GERMAN_OUTCOMES.get(message, message)
    body: dict[str, Any] = {"ok": ok, "stage": stage, "message": message}
    if code:
        body["code"] = code
    # Provider connections: the provider's own code (AADSTS…, unauthorized_client, 535 5.7.139) and a fix.
    if isinstance(details, dict) and details.get("providerError"):
        body["providerError"] = str(details["providerError"])
    if isinstance(details, dict) and details.get("hint"):
        body["hint"] = (german_hint(code or "") if german else None) or str(details["hint"])
    if security is not None:
        body.update(security)
    return jsonify(body)


def _with_caveats(message: str, encrypted: bool, authenticated: bool, joiner: str) -> str:
    """ "Connected" → "Connected without encryption and without signing in" (and the halves of it)."""
    parts = (("without encryption", encrypted), ("without signing in", authenticated))
    missing = [part for part, ok in parts if not ok]
    return f"{message}{joiner}{' and '.join(missing)}" if missing else message


def _tenant_host(identity: Identity) -> str | None:
    from urllib.parse import urlsplit

    return urlsplit(identity.tenant.base_url).hostname


def _settings_answer(identity: Identity, settings: TenantSettings) -> dict[str, Any]:
    names = (
        group_names(clients(identity, budget=20)[0], settings.allowed_group_ids or [])
        if (settings.allowed_group_ids)
        else {}
    )
    return settings_as_dict(settings, names)


@bp.get("/admin/settings")
@site_admin_api
def get_settings() -> Response:
    identity = current_identity()
    return jsonify(_settings_answer(identity, tenant_settings(identity)))


@bp.put("/admin/settings")
@site_admin_api
def put_settings() -> Response:
    identity = current_identity()
    allow_private = bool(current_app.config["SMTP_ALLOW_PRIVATE_HOSTS"])
    host = _tenant_host(identity)
    changes = read_changes(
        request.get_json(silent=True),
        css_check=lambda css: css_problems(css, host),
        host_check=lambda h: host_problem(h, allow_private),
        key_check=google_key_problem,
        certificate_check=certificate_problem,
    )
    settings = tenant_settings(identity)
    if _password_left_behind(settings, changes):
        # Refused rather than cleared silently: the admin learns that the password must be typed again.
        changes.errors["smtp.password"] = TYPE_AGAIN_FOR_ANOTHER_SERVER
    try:
        apply_changes(
            settings, changes, box=current_app.extensions["pagemail.secrets"], client_key=identity.tenant.client_key
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return jsonify(_settings_answer(identity, settings))


TYPE_AGAIN_FOR_ANOTHER_SERVER = "must be entered again for another host, port or username"


def _host_key(host: str | None) -> str:
    return (host or "").strip().lower()


def _bound_server(settings: TenantSettings) -> tuple[str, int, str]:
    """The host, port and username the stored password was saved for."""
    return _host_key(settings.smtp_host), settings.smtp_port, settings.smtp_username or ""


def _password_left_behind(settings: TenantSettings, changes: Changes) -> bool:
    """A change that would keep the stored password for another host, port or username (and brings no new one).

    A stored secret only ever goes where it was saved for, so such a change is refused: otherwise whoever can save
    settings could point the saved password at a server of their choice.
    """
    if not settings.smtp_password_encrypted or changes.password is not None or changes.clear_password:
        return False
    values = changes.values
    target = (
        _host_key(values.get("smtp_host", settings.smtp_host)),
        values.get("smtp_port", settings.smtp_port),
        values.get("smtp_username", settings.smtp_username) or "",
    )
    return target != _bound_server(settings)


def _saved_password(settings: TenantSettings, client_key: str) -> str:
    """The stored password, decrypted in memory (only called once its host, port and username match)."""
    stored = TenantSettings(
        smtp_mode="custom",
        smtp_host=settings.smtp_host or "saved",
        smtp_port=settings.smtp_port,
        smtp_security=settings.smtp_security,
        smtp_username=settings.smtp_username,
        smtp_password_encrypted=settings.smtp_password_encrypted,
    )
    server = smtp_server(stored, client_key)
    return server.password if server else ""


def _server_for_test(identity: Identity, body: Any) -> SmtpServer:
    """The saved server, or an unsaved one from the form.

    An unsaved server gets the saved password only when it is the host, port and username the password was saved
    for; for any other one the admin must type the password (400 `password_required`), so *Test connection* can't
    be used to send the saved password to a server of someone's choosing.
    """
    settings = tenant_settings(identity)
    smtp = body.get("smtp") if isinstance(body, dict) else None
    if isinstance(smtp, dict) and smtp.get("mode") == "default":
        default = smtp_server(TenantSettings(smtp_mode="default"), identity.tenant.client_key)
        if default is None:
            raise ValidationError("The operator has no default mail server", code="smtp_not_configured")
        return default
    if isinstance(smtp, dict) and smtp.get("mode") in ("microsoft365", "google"):
        return _provider_for_test(identity, settings, smtp)
    if not smtp:
        server = smtp_server(settings, identity.tenant.client_key, Deadline(TEST_BUDGET_SECONDS))
        if server is None:
            raise ValidationError("No mail server is configured", code="smtp_not_configured")
        return server
    allow_private = bool(current_app.config["SMTP_ALLOW_PRIVATE_HOSTS"])
    changes = read_changes(
        {"smtp": smtp}, css_check=lambda _css: [], host_check=lambda h: host_problem(h, allow_private)
    )
    if changes.errors:
        raise ValidationError(
            "Some mail server settings are not valid", code="invalid_settings", details={"fields": changes.errors}
        )
    values = changes.values
    host = values.get("smtp_host", settings.smtp_host)
    if not host:
        raise ValidationError(
            "Some mail server settings are not valid",
            code="invalid_settings",
            details={"fields": {"smtp.host": "is required for your own mail server"}},
        )
    if changes.password is not None:
        password = changes.password
    elif changes.clear_password or not settings.smtp_password_encrypted:
        password = ""
    elif _password_left_behind(settings, changes):
        raise ValidationError(
            "Enter the password again: the saved password is only used with the host, port and username "
            "it was saved for",
            code="password_required",
            details={"field": "smtp.password"},
        )
    else:
        password = _saved_password(settings, identity.tenant.client_key)
    return SmtpServer(
        host,
        values.get("smtp_port", settings.smtp_port),
        values.get("smtp_security", settings.smtp_security),
        values.get("smtp_username", settings.smtp_username),
        password,
        allow_private=allow_private,
        ca_file=current_app.config.get("SMTP_CA_FILE") or None,
        timeout=15,
    )


# Sentences, not secrets.
ENTER_SECRET_AGAIN = (
    "Enter the client secret again: the saved secret is only used with the tenant id and client id it was saved for"  # noqa: S105
)
ENTER_KEY_AGAIN = "Enter the service account key again: the saved key is only used with the mailbox it was saved for"
# Test connection waits for a throttled token endpoint only briefly: the admin is watching.
TEST_BUDGET_SECONDS = 20.0


def _invalid(fields: dict[str, str]) -> ValidationError:
    return ValidationError(
        "Some mail server settings are not valid", code="invalid_settings", details={"fields": fields}
    )


def _provider_for_test(identity: Identity, settings: TenantSettings, smtp: dict[str, Any]) -> SmtpServer:
    """An unsaved Microsoft 365 or Google Workspace connection from the form.

    The saved client secret (or certificate) is used only with the tenant id and client id it was saved for (400
    `secret_required` otherwise), so *Test connection* can't send it to another tenant's or app's token endpoint.
    """
    changes = read_changes(
        {"smtp": smtp},
        css_check=lambda _css: [],
        host_check=lambda _h: None,
        key_check=google_key_problem,
        certificate_check=certificate_problem,
    )
    if changes.errors:
        raise _invalid(changes.errors)
    mode, client_key = smtp["mode"], identity.tenant.client_key
    merged = merged_provider_values(settings, changes)
    missing = missing_provider_fields(mode, merged, provider_credential_given(settings, changes, mode))
    if missing:
        raise _invalid(missing)
    budget = Deadline(TEST_BUDGET_SECONDS)
    if mode == "microsoft365":
        tenant_id, client_id, mailbox = merged["ms_tenant_id"], merged["ms_client_id"], merged["ms_mailbox"]
        if changes.ms_client_secret is not None or changes.ms_certificate is not None:
            secret, certificate = changes.ms_client_secret or "", changes.ms_certificate or ""
        elif microsoft_secret_left_behind(settings, changes):
            raise ValidationError(
                ENTER_SECRET_AGAIN,
                code="secret_required",
                details={"field": "smtp.microsoft365.clientSecret"},
            )
        else:
            secret, certificate = saved_microsoft_credential(settings, client_key)
        return microsoft_server(tenant_id, client_id, mailbox, secret, client_key, budget, certificate)
    mailbox = merged["google_mailbox"]
    if changes.google_key is not None:
        key_text = changes.google_key
    elif google_key_left_behind(settings, changes):
        raise ValidationError(
            ENTER_KEY_AGAIN,
            code="secret_required",
            details={"field": "smtp.google.serviceAccountKey"},
        )
    else:
        key_text = decrypted_secret(settings.google_key_encrypted, client_key, TenantSettings.GOOGLE_KEY_FIELD)
    return google_server(mailbox, key_text, client_key, budget)


@bp.post("/admin/smtp/test")
@site_admin_api
def test_smtp() -> Response:
    identity = current_identity()
    server = _server_for_test(identity, request.get_json(silent=True) or {})
    try:
        check = check_connection(server)
    except MailServerError as error:
        return _outcome(False, error.stage, error.message, error.code, error.details)
    except ValidationError as error:
        return _outcome(False, "connect", error.message, error.code, error.details)
    stage = "auth" if check.authenticated else "tls" if check.encrypted else "connect"
    return _outcome(
        True,
        stage,
        _with_caveats("Connected", check.encrypted, check.authenticated, " "),
        security={
            "encrypted": check.encrypted,
            "authenticated": check.authenticated,
            "authOffered": check.auth_offered,
        },
    )


def _space_key(space_key: str) -> str:
    if not SPACE_KEY.fullmatch(space_key):
        raise ValidationError("Invalid space key", details={"field": "spaceKey"})
    return space_key


def _space_row(identity: Identity, space_key: str) -> SpaceSettings | None:
    return db.session.execute(
        db.select(SpaceSettings).where(
            SpaceSettings.tenant_id == identity.tenant.id, SpaceSettings.space_key == space_key
        )
    ).scalar_one_or_none()


def _space_answer(
    identity: Identity, row: SpaceSettings | None, settings: TenantSettings, can_change: bool | None = None
) -> dict[str, Any]:
    """The space's settings and, by name, who may send: the site's groups (when the site admin restricts sending)
    next to the space's own, so a refusal can name the groups instead of saying "certain groups"."""
    ids = list(row.group_ids or []) if row else []
    site_ids = list(settings.allowed_group_ids or []) if settings.permission_mode == "groups" else []
    wanted = list(dict.fromkeys(ids + site_ids))
    names = group_names(clients(identity, budget=20)[0], wanted) if wanted else {}
    answer: dict[str, Any] = {
        "enabled": row.enabled if row else True,
        "groups": [{"groupId": g, "name": names.get(g, "")} for g in ids],
        "globalEnforced": settings.enforce_in_all_spaces,
        "site": {
            "mode": settings.permission_mode,
            "groups": [{"groupId": g, "name": names.get(g, "")} for g in site_ids],
        },
    }
    if can_change is not None:
        answer["canChange"] = can_change
    return answer


@bp.get("/spaces/<space_key>/settings")
@api_auth_required
def get_space_settings(space_key: str) -> Response:
    identity = current_identity()
    enforce("admin", identity)
    space_key = _space_key(space_key)
    user_client, _ = clients(identity, budget=20)
    # Asking for the space as the user also proves the user can see it (404 otherwise); its operations say whether
    # the user administers it, so the page can be read-only from the start instead of after a refused save.
    can_change = is_space_admin(user_client, space_key)
    settings = tenant_settings(identity)
    return jsonify(_space_answer(identity, _space_row(identity, space_key), settings, can_change))


@bp.put("/spaces/<space_key>/settings")
@api_auth_required
def put_space_settings(space_key: str) -> Response:
    identity = current_identity()
    enforce("admin", identity)
    space_key = _space_key(space_key)
    user_client, _ = clients(identity, budget=20)
    if not is_space_admin(user_client, space_key):
        current = _space_answer(identity, _space_row(identity, space_key), tenant_settings(identity), False)
        raise ForbiddenError(
            "Only space admins can change pagemail settings for this space",
            code="not_space_admin",
            details={"current": current},
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or set(body) - {"enabled", "groups"}:
        raise ValidationError('Send {"enabled": bool, "groups": [{"groupId"}]}', details={"field": "body"})
    errors: dict[str, str] = {}
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        errors["enabled"] = "must be true or false"
    ids: list[str] | None = None
    if "groups" in body:  # absent: keep the stored groups
        ids = group_ids(body["groups"])
        if ids is None:
            errors["groups"] = "must be a list of at most 100 group ids"
    settings = tenant_settings(identity)
    if ids and settings.enforce_in_all_spaces:
        errors["groups"] = "the site admin enforces the global permissions in all spaces"
    if errors:
        # The current settings come along: who may send (by name), and whether the site admin enforces them now.
        current = _space_answer(identity, _space_row(identity, space_key), settings, True)
        raise ValidationError(
            "Some settings are not valid; nothing was saved",
            code="invalid_settings",
            details={"fields": errors, "current": current},
        )
    row = _space_row(identity, space_key)
    if row is None:
        row = SpaceSettings(tenant_id=identity.tenant.id, space_key=space_key, group_ids=[])
        db.session.add(row)
    row.enabled = enabled
    if ids is not None:
        row.group_ids = ids
    db.session.commit()
    return jsonify(_space_answer(identity, row, settings, True))


@bp.post("/admin/smtp/test-mail")
@site_admin_api
def send_test_mail() -> Response:
    """*Send me a test mail*: a short mail to the admin's own address through the (saved or unsaved) server."""
    identity = current_identity()
    server = _server_for_test(identity, request.get_json(silent=True) or {})
    _, app_client = clients(identity, budget=30)
    assert identity.account_id is not None
    address = emails_for(app_client, [identity.account_id]).get(identity.account_id)
    if not address:
        raise ValidationError("Confluence has no email address for you", code="no_email")
    settings = tenant_settings(identity)
    sender = (
        (server.username if server.oauth is not None else "")  # providers send only as their mailbox
        or settings.sender_address
        or current_app.config.get("SMTP_DEFAULT_FROM")
        or "pagemail@localhost"
    )
    message = EmailMessage()
    message["From"] = formataddr((settings.sender_name or "pagemail", sender))
    message["To"] = address
    message["Subject"] = "pagemail test mail"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="pagemail.local")
    message.set_content("This is a test mail from pagemail. Your mail server settings work.\n")
    try:
        refused = deliver(server, [Envelope(message, sender, [address])])
    except MailServerError as error:
        return _outcome(False, error.stage, error.message, error.code, error.details)
    if refused:
        return _outcome(False, "RCPT", "The mail server refused your address")
    # deliver() fails unless TLS and the sign-in (when there is a username) worked, so the settings tell.
    encrypted, authenticated = server.security in ("starttls", "tls"), bool(server.username or server.oauth)
    return _outcome(
        True,
        "sent",
        _with_caveats("A test mail is on its way to you", encrypted, authenticated, ", sent "),
        security={"encrypted": encrypted, "authenticated": authenticated},
    )


SAMPLE_PAGE = Path(__file__).resolve().parent.parent / "templates" / "mail" / "sample_page.html"
SAMPLE_TITLE = "Quarterly planning"


def _sample_body(title: str) -> str:
    """The sample page's body as Confluence's export_view gives it: without the page title.

    The mail chrome already shows the title (linked, above the content); the sample file opens with the same
    heading, which would show it twice.
    """
    html = SAMPLE_PAGE.read_text(encoding="utf-8")
    leading = re.match(r"\s*<h1\b[^>]*>(.*?)</h1>\s*", html, re.DOTALL)
    if leading and re.sub(r"<[^>]+>|\s+", " ", leading.group(1)).strip() == title:
        return html[leading.end() :]
    return html


@bp.post("/admin/preview")
@site_admin_api
def layout_preview() -> Response:
    """The live preview: a sample page through the real renderer with the (unsaved) layout of the form."""
    identity = current_identity()
    body = request.get_json(silent=True)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ValidationError("The settings must be a JSON object", details={"field": "body"})
    host = _tenant_host(identity)
    changes = read_changes(
        {k: v for k, v in body.items() if k in ("layout", "mail")},
        css_check=lambda css: css_problems(css, host),
        host_check=lambda _h: None,
    )
    if changes.errors:
        raise ValidationError(
            "Some settings are not valid", code="invalid_settings", details={"fields": changes.errors}
        )
    settings = tenant_settings(identity)
    current = mail_settings(settings)
    values = changes.values
    layout = replace(
        current.layout, **{key: values[column] for key, column in LAYOUT_COLUMNS.items() if column in values}
    )
    prefix = values.get("subject_prefix", settings.subject_prefix)
    base = identity.tenant.base_url
    page = PageInfo(
        content_id="1",
        title=SAMPLE_TITLE,
        web_url=f"{base}/spaces/DEMO/pages/1",
        base_url=base,
        space_key="DEMO",
    )
    prepared = prepare_page(_sample_body(SAMPLE_TITLE), page, layout)
    locale = (request.headers.get("X-Pagemail-Locale") or "en")[:10]
    rendered = render_mail(
        prepared,
        page,
        MailContent(sender_name="Alex Example", message="Have a look!", locale=locale),
        layout,
        f"{prefix} {SAMPLE_TITLE}".strip(),
        {},
    )
    return jsonify({"subject": rendered.subject, "html": rendered.html, "text": rendered.text})


LAYOUT_COLUMNS = {
    "header_text": "header_text",
    "button_label": "button_label",
    "custom_css": "custom_css",
    "image_mode": "image_mode",
    "image_max_side": "image_max_side",
    "external_images": "external_images",
}
