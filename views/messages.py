"""German texts for the API's error messages, keyed by the stable error code (English stays in the code).

Each catalog entry is one of:
- a tuple of templates, tried in order: the first whose `{names}` are all in the error's details wins;
- a mapping English message → German, for codes raised with several fixed messages (an unknown one stays English);
- None: the English message carries a value (a server reply, a status, an address) that the error's details don't
  hold, so a German text would lose it; such a code answers in English.
Templates take their values only from `details` (never from secrets or tokens).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mail.recipients import MAX_GROUP_MEMBERS

Entry = tuple[str, ...] | Mapping[str, str] | None

GERMAN: dict[str, Entry] = {
    # errors.py defaults: raised with many different messages, so only the fixed ones are translated.
    "bad_request": None,
    "unauthorized": {
        "token expired": "Die Anmeldung ist abgelaufen; bitte laden Sie die Seite neu.",
        "not authenticated": "Sie sind nicht angemeldet.",
        "a signed-in user is required": "Dafür müssen Sie angemeldet sein.",
        "missing Authorization: JWT header": "Die Anfrage enthält keine Anmeldung.",
        "missing Authorization header": "Die Anfrage enthält keine Anmeldung.",
        "this site has not installed the Forge app": "Diese Site hat die Forge-App nicht installiert.",
        "invocation token expired": "Die Anmeldung ist abgelaufen; bitte laden Sie die Seite neu.",
        "invocation token is for another installation": "Die Anmeldung gehört zu einer anderen Installation.",
        "invalid token": "Die Anmeldung ist ungültig; bitte laden Sie die Seite neu.",
        "this site has uninstalled the app": "Diese Site hat pagemail deinstalliert.",
        "unknown or disabled tenant": "Diese Site ist unbekannt oder deaktiviert.",
    },
    "forbidden": None,
    "not_found": {
        "no such lifecycle event": "Dieses Lifecycle-Ereignis gibt es nicht.",
        "unknown tenant": "Diese Site ist unbekannt.",
    },
    "invalid_request": {
        "The request body must be a JSON object": "Der Inhalt der Anfrage muss ein JSON-Objekt sein.",
        "The settings must be a JSON object": "Die Einstellungen müssen ein JSON-Objekt sein.",
        "contentId must be a Confluence page id": "contentId muss die ID einer Confluence-Seite sein.",
        "invalid attachment id": "Ungültige Anhang-ID.",
        "Invalid space key": "Ungültiger Bereichsschlüssel.",
        "lifecycle body must be a JSON object": "Der Lifecycle-Inhalt muss ein JSON-Objekt sein.",
        "lifecycle eventType does not match the callback": "Der eventType passt nicht zum Lifecycle-Aufruf.",
    },
    "upstream_unavailable": None,
    "rate_limited": ("Zu viele Anfragen; bitte warten Sie einen Moment und versuchen Sie es erneut.",),
    # Access
    "not_site_admin": ("Nur Confluence-Administratoren können die pagemail-Einstellungen ändern.",),
    "not_space_admin": ("Nur Bereichsadministratoren können die pagemail-Einstellungen dieses Bereichs ändern.",),
    "space_disabled": ("pagemail ist in diesem Bereich ausgeschaltet.",),
    "not_in_allowed_groups": (
        "Ihr Site-Admin erlaubt nur Mitgliedern dieser Gruppen, Seiten als E-Mail zu senden: {groups}.",
        "Ihr Site-Admin erlaubt nur Mitgliedern bestimmter Gruppen, Seiten als E-Mail zu senden.",
    ),
    "not_in_space_groups": (
        "Der Bereichsadmin erlaubt nur Mitgliedern dieser Gruppen, Seiten aus diesem Bereich zu senden: {groups}.",
        "Der Bereichsadmin erlaubt nur Mitgliedern bestimmter Gruppen, Seiten aus diesem Bereich zu senden.",
    ),
    "page_not_found": ("Diese Seite gibt es nicht, oder Sie dürfen sie nicht sehen.",),
    "internal_error": ("Bei uns ist etwas schiefgegangen. Bitte versuchen Sie es erneut.",),
    "database_unavailable": (
        "Der Dienst ist ausgelastet oder seine Datenbank nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.",
    ),
    "invalid_id": ("Eine ID in der Anfrage ist ungültig.",),
    "nested_too_deeply": ("Die Anfrage ist zu tief verschachtelt.",),
    "retry_invalid": ("Diese Wiederholung gilt nicht für diese Seite.",),
    "retry_expired": ("Diese Wiederholung ist abgelaufen; senden Sie die Seite erneut.",),
    "nothing_to_retry": ("Alle, für die diese E-Mail bestimmt war, haben sie erhalten.",),
    "action_too_large": ("Dafür wären mehr als {maxCalls} Aufrufe an Confluence nötig; wählen Sie weniger Empfänger.",),
    # Send request
    "no_recipients": ("Fügen Sie mindestens einen Empfänger hinzu.",),
    "no_deliverable_recipients": ("Keiner der Empfänger hat eine E-Mail-Adresse, die Confluence uns verwenden lässt.",),
    "header_injection": ("{label_de} darf nur eine Zeile Text sein.", "'{field}' darf nur eine Zeile Text sein."),
    "text_invalid": ("{label_de} muss Text sein.",),
    "text_too_long": ("{label_de} darf höchstens {limit_de} Zeichen lang sein (jetzt {length_de}).",),
    "too_many_recipients": (
        "{label_de} kann höchstens {limit_de} Empfänger enthalten.",
        "Eine E-Mail kann an höchstens {limit_de} Empfänger gehen; diese erreichte {length_de}.",
    ),
    "invalid_recipient": ("Ein Empfänger in {label_de} ist weder Person noch Gruppe noch E-Mail-Adresse.",),
    "invalid_email": ("{email} ist keine gültige E-Mail-Adresse: {problem_de}.",),
    "external_not_allowed": ("Das Senden an externe E-Mail-Adressen ist auf dieser Site nicht erlaubt.",),
    "domain_not_allowed": ("E-Mails an {domain} sind auf dieser Site nicht erlaubt (erlaubt: {allowed}).",),
    "group_too_large": ("Eine Gruppe hat mehr als {max_group_members} Mitglieder; wählen Sie kleinere Gruppen.",),
    "attachment_not_found": ("Einige der gewählten Anhänge sind nicht auf dieser Seite.",),
    "attachments_too_large": (
        "Die Anhänge sind zusammen {total_mb} MB groß; die Grenze liegt bei {limit_mb} MB.",
        "Die Anhänge sind größer als erlaubt.",
    ),
    "attachment_too_large": ("Der Anhang ist größer als erlaubt.",),
    "no_excerpt": ("Diese Seite hat keinen Auszug.",),
    "confirmation_required": (
        "Diese E-Mail geht an {recipients} Empfänger; bitte bestätigen Sie, dass Sie sie senden möchten.",
    ),
    "recipients_cannot_view": (
        "{count} Empfänger können diese Seite in Confluence nicht öffnen; Ihr Site-Admin erlaubt nicht, "
        "sie ihnen zu senden.",
    ),
    # Admin
    "invalid_settings": {
        "Some mail server settings are not valid": "Einige Mailserver-Einstellungen sind ungültig.",
        "Some settings are not valid; nothing was saved": (
            "Einige Einstellungen sind ungültig; nichts wurde gespeichert."
        ),
        "Some settings are not valid": "Einige Einstellungen sind ungültig.",
    },
    "no_email": ("Confluence hat keine E-Mail-Adresse für Sie.",),
    "password_required": (
        "Geben Sie das Passwort erneut ein: Das gespeicherte Passwort wird nur mit dem Host, dem Port und dem "
        "Benutzernamen verwendet, für die es gespeichert wurde.",
    ),
    "smtp_not_configured": {
        "The operator has no default mail server": "Der Betreiber hat keinen Standard-Mailserver.",
        "The Microsoft 365 mail connection has no saved credential; ask your site admin to enter it again": (
            "Die Microsoft-365-Mailverbindung hat keine gespeicherte Anmeldeinformation; bitten Sie Ihren Site-Admin, "
            "sie erneut einzugeben."
        ),
        "The Google Workspace mail connection has no saved credential; ask your site admin to enter it again": (
            "Die Google-Workspace-Mailverbindung hat keine gespeicherte Anmeldeinformation; bitten Sie Ihren "
            "Site-Admin, sie erneut einzugeben."
        ),
        "No mail server is configured": "Es ist kein Mailserver eingerichtet.",
        "No mail server is configured for this site; ask your site admin": (
            "Für diese Site ist kein Mailserver eingerichtet; fragen Sie Ihren Site-Admin."
        ),
    },
    "smtp_password_unreadable": (
        "Das gespeicherte Mailserver-Passwort kann nicht gelesen werden; geben Sie es in den Einstellungen erneut ein.",
    ),
    # Mail server
    "smtp_failed": None,
    "smtp_unreachable": (
        "Den Namen des Mailservers {host} kennt das DNS nicht.",
        "Der Mailserver ist nicht erreichbar ({reason}).",
    ),
    "smtp_host_forbidden": (
        "Der Mailserver-Host zeigt auf eine private, Loopback- oder Link-Local-Adresse; das ist nicht erlaubt.",
    ),
    "smtp_security_invalid": {
        "Unknown mail server security mode": "Unbekannte Sicherheitsart für den Mailserver.",
        "Mail servers must use STARTTLS or TLS": "Mailserver müssen STARTTLS oder TLS verwenden.",
    },
    "smtp_tls": (
        "Eine sichere Verbindung zum Mailserver ist fehlgeschlagen ({reason}).",
        "Der Mailserver bietet kein STARTTLS an.",
    ),
    "smtp_auth": {
        "The mail server refused the username or password": (
            "Der Mailserver hat den Benutzernamen oder das Passwort abgelehnt."
        ),
        "The mail server does not support authentication on this connection": (
            "Der Mailserver unterstützt auf dieser Verbindung keine Anmeldung."
        ),
        "The mailbox address or the access token can't be sent in an XOAUTH2 sign-in (printable ASCII only)": (
            "Die Postfachadresse oder das Zugriffstoken kann nicht in einer XOAUTH2-Anmeldung gesendet werden (nur "
            "druckbares ASCII)."
        ),
    },
    "smtp_timeout": ("Der Mailserver hat nicht rechtzeitig geantwortet.",),
    "smtp_too_large": ("Die E-Mail ist zu groß für den Mailserver (Antwort {smtpCode}).",),
    "smtp_refused": ("Der Mailserver hat die E-Mail abgelehnt: {smtpCode} {reply}",),
    "smtp_disconnected": ("Der Mailserver hat die Verbindung während des Sendens getrennt.",),
    "smtp_temporary": {
        "The mail server refused the mail temporarily; try again later": (
            "Der Mailserver hat die E-Mail vorübergehend abgelehnt; versuchen Sie es später erneut."
        ),
        "The mail server refused the mail temporarily and closed the connection; try again later": (
            "Der Mailserver hat die E-Mail vorübergehend abgelehnt und die Verbindung getrennt; versuchen Sie es "
            "später erneut."
        ),
        "The mail server refused the sign-in temporarily; try again later": (
            "Der Mailserver hat die Anmeldung vorübergehend abgelehnt; versuchen Sie es später erneut."
        ),
    },
    # Microsoft 365 and Google Workspace (mail/oauth/errors.py)
    "secret_required": {
        (
            "Enter the client secret again: the saved secret is only used with the tenant id and client id it was "
            "saved for"
        ): (
            "Geben Sie das Client-Geheimnis erneut ein: Das gespeicherte Geheimnis wird nur mit der Mandanten-ID und "
            "der Client-ID verwendet, für die es gespeichert wurde."
        ),
        "Enter the service account key again: the saved key is only used with the mailbox it was saved for": (
            "Geben Sie den Schlüssel des Dienstkontos erneut ein: Der gespeicherte Schlüssel wird nur mit dem "
            "Postfach verwendet, für das er gespeichert wurde."
        ),
    },
    "oauth_secret_unreadable": (
        "Das gespeicherte Geheimnis der Mailverbindung kann nicht gelesen werden; geben Sie es in den Einstellungen "
        "erneut ein.",
    ),
    "oauth_tenant_not_found": ("Microsoft kennt diesen Mandanten nicht.",),
    "oauth_client_not_found": ("Dieser Mandant hat keine Anwendung mit dieser Client-ID.",),
    "oauth_secret_invalid": ("Microsoft hat das Client-Geheimnis abgelehnt.",),
    "oauth_secret_expired": ("Das Client-Geheimnis ist abgelaufen.",),
    "oauth_certificate_invalid": ("Microsoft hat das Zertifikat abgelehnt.",),
    "oauth_consent_missing": ("Die App darf in diesem Mandanten keine E-Mails senden.",),
    "oauth_app_disabled": ("Die App ist in diesem Mandanten deaktiviert.",),
    "oauth_exchange_missing": ("Dieser Mandant hat kein Exchange Online.",),
    "oauth_delegation_missing": (
        "Google hat das Dienstkonto für dieses Postfach abgelehnt: Die domainweite Delegierung ist nicht eingerichtet.",
    ),
    "oauth_key_invalid": ("Google hat den Schlüssel des Dienstkontos abgelehnt.",),
    "oauth_clock_skew": ("Der Anbieter hat die Anmeldung abgelehnt, weil die Uhr dieses Servers falsch geht.",),
    "oauth_mailbox_unknown": ("Der Anbieter kennt dieses Postfach nicht.",),
    "oauth_rate_limited": ("Der Anbieter drosselt die Token-Anfragen; versuchen Sie es später erneut.",),
    "oauth_unavailable": ("Der Anmeldedienst des Anbieters ist nicht erreichbar.",),
    "oauth_failed": ("Der Anbieter hat kein Token ausgestellt.",),
    "smtp_auth_disabled": ("SMTP AUTH ist für dieses Postfach oder diesen Mandanten ausgeschaltet.",),
    "smtp_mailbox_not_authorized": ("Der Mailserver hat die App für dieses Postfach abgelehnt.",),
    "smtp_token_refused": ("Der Mailserver hat das Zugriffstoken abgelehnt.",),
    # Confluence and Atlassian
    "confluence_unavailable": {
        "the Atlassian authorization server is unreachable": "Der Atlassian-Autorisierungsserver ist nicht erreichbar.",
        "Confluence broke off a download": "Confluence hat einen Download abgebrochen.",
        "Confluence sent a redirect without a location": "Confluence hat eine Weiterleitung ohne Ziel gesendet.",
        "Confluence redirected to an unsupported URL": "Confluence hat auf eine nicht unterstützte URL weitergeleitet.",
        "Confluence redirected too often": "Confluence hat zu oft weitergeleitet.",
        "Confluence is unreachable": "Confluence ist nicht erreichbar.",
    },
    "confluence_timeout": ("Confluence hat nicht rechtzeitig geantwortet.",),
    "confluence_not_found": ("Confluence konnte es nicht finden, oder Sie dürfen es nicht sehen.",),
    "confluence_forbidden": ("Confluence erlaubt Ihnen das nicht.",),
    "confluence_unauthorized": ("Confluence hat die Zugangsdaten der App abgelehnt.",),
    "confluence_rate_limited": ("Confluence ist ausgelastet (Ratenbegrenzung); versuchen Sie es gleich noch einmal.",),
    "confluence_bad_request": None,  # carries the HTTP status, which details don't hold
    "confluence_bad_answer": {
        "Confluence sent a page in an unexpected shape": "Confluence hat eine Seite in unerwarteter Form gesendet.",
        "Confluence sent an unreadable answer": "Confluence hat eine unlesbare Antwort gesendet.",
    },
    "impersonation_failed": {
        "the Atlassian authorization server sent an unreadable answer": (
            "Der Atlassian-Autorisierungsserver hat eine unlesbare Antwort gesendet."
        ),
    },
    "install_keys_unreachable": ("Der Connect-Schlüsselserver ist nicht erreichbar.",),
    "install_keys_unavailable": None,  # carries the HTTP status
    "install_keys_invalid": ("Der Connect-Schlüsselserver hat einen unlesbaren Schlüssel gesendet.",),
}

# werkzeug's own HTTP errors (their default descriptions only; see views/errors.py).
GERMAN_HTTP: dict[str, str] = {
    "bad_request": "Die Anfrage ist ungültig.",
    "unauthorized": "Sie sind nicht angemeldet.",
    "forbidden": "Das ist nicht erlaubt.",
    "not_found": "Diese Adresse gibt es nicht.",
    "method_not_allowed": "Diese Methode ist für diese Adresse nicht erlaubt.",
    "request_entity_too_large": "Die Anfrage ist zu groß.",
    "unsupported_media_type": "Dieses Datenformat wird nicht unterstützt.",
    "too_many_requests": "Zu viele Anfragen; bitte warten Sie einen Moment.",
    "internal_server_error": "Bei uns ist etwas schiefgegangen. Bitte versuchen Sie es erneut.",
}

# The one-line fixes that come with provider failures (mail/oauth/errors.py FAILURES), by code.
GERMAN_HINTS: dict[str, str] = {
    "oauth_tenant_not_found": (
        "Prüfen Sie die Verzeichnis-ID (Mandanten-ID) oder die verifizierte Domain des Mandanten unter Entra ID → "
        "Übersicht"
    ),
    "oauth_client_not_found": "Kopieren Sie die Anwendungs-ID (Client-ID) der App-Registrierung in diesem Mandanten",
    "oauth_secret_invalid": (
        "Fügen Sie den Wert des Geheimnisses (nicht seine Geheimnis-ID) aus „Zertifikate & Geheimnisse“ ein, oder "
        "erstellen Sie ein neues Geheimnis"
    ),
    "oauth_certificate_invalid": (
        "Laden Sie dieses Zertifikat (seine .cer-Datei) unter „Zertifikate & Geheimnisse“ der App-Registrierung hoch, "
        "oder verwenden Sie ein registriertes"
    ),
    "oauth_secret_expired": (
        "Erstellen Sie unter „Zertifikate & Geheimnisse“ der App-Registrierung ein neues Client-Geheimnis und "
        "speichern Sie es hier"
    ),
    "oauth_consent_missing": (
        "Fügen Sie die Berechtigung SMTP.SendAsApp von Office 365 Exchange Online hinzu und erteilen Sie die "
        "Administratorzustimmung"
    ),
    "oauth_app_disabled": (
        "Setzen Sie in Entra ID unter Unternehmensanwendungen → die App → Eigenschaften „Aktiviert für die Anmeldung "
        "von Benutzern“ auf Ja; hat Microsoft sie deaktiviert, registrieren Sie eine neue App"
    ),
    "oauth_exchange_missing": (
        "Prüfen Sie die Verzeichnis-ID (Mandanten-ID): Der Mandant des Postfachs braucht ein Exchange-Online-Abonnement"
    ),
    "oauth_delegation_missing": (
        "Erlauben Sie in der Admin-Konsole (Sicherheit → API-Steuerung → Domainweite Delegierung) der Client-ID des "
        "Dienstkontos den Bereich https://mail.google.com/"
    ),
    "oauth_key_invalid": (
        "Der Schlüssel wurde gelöscht oder deaktiviert; erstellen Sie einen neuen JSON-Schlüssel für das Dienstkonto "
        "und fügen Sie ihn hier ein"
    ),
    "oauth_clock_skew": (
        "Bitten Sie den Betreiber von pagemail, die Uhr des Servers zu synchronisieren (NTP); die signierte Anfrage "
        "lag außerhalb ihres gültigen Zeitraums"
    ),
    "oauth_mailbox_unknown": "Geben Sie die Adresse eines bestehenden Postfachs Ihrer Google-Workspace-Domain ein",
    "oauth_rate_limited": "Warten Sie eine Minute und versuchen Sie es erneut; viele Sendungen teilen sich ein Token",
    "oauth_unavailable": (
        "Versuchen Sie es später erneut; wenn es bleibt, prüfen Sie, ob dieser Server den Anbieter über https "
        "erreichen darf"
    ),
    "oauth_failed": "Schlagen Sie den Fehlercode des Anbieters nach, der mit dieser Meldung angezeigt wird",
    "smtp_auth_disabled": (
        "Schalten Sie in Exchange Online „Authentifiziertes SMTP“ für das Postfach (und für die Organisation) ein"
    ),
    "smtp_mailbox_not_authorized": (
        "Registrieren Sie den Dienstprinzipal der App in Exchange (New-ServicePrincipal) und geben Sie ihm "
        "FullAccess auf das Postfach (Add-MailboxPermission); prüfen Sie die Administratorzustimmung für "
        "SMTP.SendAsApp"
    ),
    "smtp_token_refused": "Prüfen Sie, ob das Postfach existiert und über SMTP senden darf",
}


def german_hint(code: str) -> str | None:
    return GERMAN_HINTS.get(code)


# Per-field fragments (details.fields): English pattern → German template with the same values.
_FIELD_TEXTS: tuple[tuple[str, str], ...] = (
    (r"must be an object", "muss ein Objekt sein"),
    (r"must be text", "muss Text sein"),
    (r"must be at most (?P<n>\d+) characters", "darf höchstens {n} Zeichen lang sein"),
    (r"must be text of at most (?P<n>\d+) characters", "muss Text mit höchstens {n} Zeichen sein"),
    (r"must be a single line", "muss einzeilig sein"),
    (r"must be a single line of plain text", "muss eine Zeile einfacher Text sein"),
    (r"must be one of (?P<options>.+)", "muss einer dieser Werte sein: {options}"),
    (
        r"must be a whole number from (?P<low>-?\d+) to (?P<high>-?\d+)",
        "muss eine ganze Zahl von {low} bis {high} sein",
    ),
    (
        r"must be a whole number of hours from 0 \(off\) to (?P<n>\d+)",
        "muss eine ganze Zahl von Stunden von 0 (aus) bis {n} sein",
    ),
    (r"must be true or false", "muss true oder false sein"),
    (r"is not a setting", "ist keine Einstellung"),
    (r"must be a list of at most (?P<n>\d+) group ids", "muss eine Liste von höchstens {n} Gruppen-IDs sein"),
    (r"must be a list of at most (?P<n>\d+) domains", "muss eine Liste von höchstens {n} Domains sein"),
    (r"contains an invalid domain", "enthält eine ungültige Domain"),
    (r"is required for your own mail server", "ist für einen eigenen Mailserver erforderlich"),
    (r"is required for Microsoft 365", "ist für Microsoft 365 erforderlich"),
    (
        r"give either a client secret or a certificate, not both",
        "nur ein Client-Geheimnis oder ein Zertifikat, nicht beides",
    ),
    (r"must be PEM text", "muss PEM-Text sein"),
    (r"must be at most (?P<n>\d+) KB of PEM text", "darf höchstens {n} KB PEM-Text sein"),
    (
        r"must hold the private key and the certificate, both in PEM",
        "muss den privaten Schlüssel und das Zertifikat enthalten, beide in PEM",
    ),
    (
        r"holds a private key or certificate that can't be read \(an encrypted key must be decrypted first\)",
        "enthält einen privaten Schlüssel oder ein Zertifikat, das nicht lesbar ist (ein verschlüsselter Schlüssel "
        "muss zuerst entschlüsselt werden)",
    ),
    (r"must hold an RSA private key", "muss einen privaten RSA-Schlüssel enthalten"),
    (r"holds a certificate of another key", "enthält das Zertifikat eines anderen Schlüssels"),
    (r"holds a certificate that has expired", "enthält ein abgelaufenes Zertifikat"),
    (r"is required for Google Workspace", "ist für Google Workspace erforderlich"),
    (
        r"must be entered again for another tenant id or client id",
        "muss für eine andere Mandanten-ID oder Client-ID erneut eingegeben werden",
    ),
    (
        r"must be the directory \(tenant\) ID, a GUID, or a verified domain name of the tenant",
        "muss die Verzeichnis-ID (Mandanten-ID), eine GUID, oder eine verifizierte Domain des Mandanten sein",
    ),
    (r"must be the application \(client\) ID, a GUID", "muss die Anwendungs-ID (Client-ID) sein, eine GUID"),
    (
        r"must be text of at most (?P<n>\d+) characters, without spaces around it",
        "muss Text mit höchstens {n} Zeichen sein, ohne Leerzeichen davor oder danach",
    ),
    (r"must be entered again for another mailbox", "muss für ein anderes Postfach erneut eingegeben werden"),
    (
        r"can't remove the saved credential while it is the mail connection in use",
        "die gespeicherte Anmeldeinformation kann nicht entfernt werden, solange sie die verwendete Mailverbindung ist",
    ),
    (
        r"can't remove the saved credential and enter a new one at once",
        "die gespeicherte Anmeldeinformation kann nicht gleichzeitig entfernt und neu eingegeben werden",
    ),
    (
        r"must be entered again for another host, port or username",
        "muss für einen anderen Host, Port oder Benutzernamen erneut eingegeben werden",
    ),
    (
        r"the site admin enforces the global permissions in all spaces",
        "der Site-Admin erzwingt die globalen Berechtigungen in allen Bereichen",
    ),
    (r"is not a valid email address \((?P<reason>.*)\)", "ist keine gültige E-Mail-Adresse ({reason})"),
    (r"is not a valid host name", "ist kein gültiger Hostname"),
    (r"may not be a loopback host", "darf kein Loopback-Host sein"),
    (r"may not be a cloud metadata host", "darf kein Cloud-Metadaten-Host sein"),
    (r"may not be a cloud metadata address", "darf keine Cloud-Metadaten-Adresse sein"),
    (
        r"may not be a loopback, private, link-local or metadata address",
        "darf keine Loopback-, private, Link-Local- oder Metadaten-Adresse sein",
    ),
    # Custom CSS problems (mail/css_policy.py), joined with "; " into one field message.
    (r"@import is not allowed", "@import ist nicht erlaubt"),
    (r"expression\(\) is not allowed", "expression() ist nicht erlaubt"),
    (r"javascript: is not allowed", "javascript: ist nicht erlaubt"),
    (r"bindings and behaviors are not allowed", "Bindings und Behaviors sind nicht erlaubt"),
    (r"HTML markup is not allowed in CSS", "HTML-Markup ist in CSS nicht erlaubt"),
    (r"CSS escapes are not allowed", "CSS-Escapes sind nicht erlaubt"),
    (r"Custom CSS may be at most (?P<n>\d+) KB", "Eigenes CSS darf höchstens {n} KB groß sein"),
    (
        r"url\(\) may only point to images on your Confluence site over https",
        "url() darf nur auf Bilder Ihrer Confluence-Site über https zeigen",
    ),
    (r"Custom CSS has unbalanced braces", "Eigenes CSS hat unausgeglichene geschweifte Klammern"),
)
FIELD_TEXTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), german) for pattern, german in _FIELD_TEXTS
)


def wants_german(locale: str | None) -> bool:
    """`de`, `de-DE`, `de_AT`…: the pages send the user's Confluence locale."""
    return locale is not None and re.match(r"de(?:$|[-_])", locale.strip().lower()) is not None


def _megabytes(size: Any) -> str | None:
    if isinstance(size, bool) or not isinstance(size, int | float):
        return None
    return f"{size / 1048576:.1f}".replace(".", ",")


# German names of the fields and problems that error details carry as codes.
_LABELS_DE = {"subject": "Der Betreff", "message": "Die Nachricht", "to": "An", "cc": "Cc", "bcc": "Bcc"}
_ADDRESS_PROBLEMS_DE = {
    "no_at": "Es fehlt das @",
    "local": "Der Teil vor dem @ ist ungültig",
    "domain": "Der Teil nach dem @ ist kein gültiger Domainname",
    "other": "Sie ist nicht wie eine E-Mail-Adresse geschrieben",
}


def _number_de(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return f"{value:,}".replace(",", ".")


def _values(details: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"max_group_members": MAX_GROUP_MEMBERS, **details}
    label = _LABELS_DE.get(str(details.get("field")))
    if label:
        values["label_de"] = label
    problem = _ADDRESS_PROBLEMS_DE.get(str(details.get("problem")))
    if problem:
        values["problem_de"] = problem[0].lower() + problem[1:]
    for key in ("limit", "length"):
        number = _number_de(details.get(key))
        if number is not None:
            values[f"{key}_de"] = number
    for key in ("total", "limit"):
        megabytes = _megabytes(details.get(key))
        if megabytes is not None:
            values[f"{key}_mb"] = megabytes
    return values


def german_message(code: str, english: str, details: Mapping[str, Any] | None = None) -> str:
    """The German text for an error, or the English one when there is none that keeps every value."""
    entry = GERMAN.get(code)
    if entry is None:
        return english
    if isinstance(entry, Mapping):
        return entry.get(english, english)
    values = _values(details or {})
    for template in entry:
        try:
            return template.format_map(values)
        except (KeyError, IndexError, ValueError):
            continue
    return english


def german_field_message(english: str) -> str:
    """One per-field fragment in German; parts joined with "; " (CSS problems) are translated one by one."""
    parts = []
    for part in english.split("; "):
        for pattern, german in FIELD_TEXTS:
            match = pattern.fullmatch(part)
            if match:
                parts.append(german.format(**match.groupdict()))
                break
        else:
            parts.append(part)
    return "; ".join(parts)


def german_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """The same details with `fields` messages in German; every key stays as it is."""
    fields = details.get("fields")
    if not isinstance(fields, Mapping):
        return dict(details)
    return {
        **details,
        "fields": {
            name: german_field_message(text) if isinstance(text, str) else text for name, text in fields.items()
        },
    }
