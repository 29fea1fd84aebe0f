"""SMTP delivery through the tenant's own server, the operator's default one, or a provider's submission server
signed in with an OAuth2 access token (`AUTH XOAUTH2`: Microsoft 365, Google Workspace).

smtplib rather than Flask-Mail: the server differs per tenant and per call (Flask-Mail binds one server to the app
config), and each SMTP failure must be answered precisely (code and stage), which Flask-Mail hides.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Literal, Protocol

from errors import AppError, ValidationError
from mail.smtp_stream import send_streaming

log = logging.getLogger(__name__)

SECURITY_MODES = ("starttls", "tls", "none")
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$", re.IGNORECASE
)
NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+", re.IGNORECASE)
# Cloud metadata endpoints that are not covered by the private/link-local ranges.
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Cloud instance and task metadata services: AWS (IMDS, ECS task metadata), Alibaba, AWS over IPv6.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
TEMPORARY_RETRY_DELAY = 2.0
# Failures after which the connection is gone: the send's remaining mails are not tried on it.
CONNECTION_LOST = frozenset({"smtp_disconnected", "smtp_timeout"})


class MailServerError(AppError):
    """The mail server failed; `code` says how (smtp_auth, smtp_recipient_refused, smtp_too_large, …)."""

    status = 502
    code = "smtp_failed"

    def __init__(self, message: str, *, code: str, stage: str, details: dict | None = None) -> None:
        super().__init__(message, code=code, details={"stage": stage, **(details or {})})
        self.stage = stage


class BearerTokens(Protocol):
    """Where an XOAUTH2 sign-in gets its token (mail.oauth.source.TokenSource)."""

    def token(self) -> str: ...

    def refused(self) -> None: ...

    def refusal(self, code: int, text: str) -> MailServerError: ...


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    allow_private: bool = False
    ca_file: str | None = None
    timeout: float = 20.0
    # Set for Microsoft 365 and Google Workspace: sign in as `username` (the mailbox) with a bearer token.
    oauth: BearerTokens | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Envelope:
    message: EmailMessage
    sender: str
    recipients: Sequence[str]
    # Attachment bodies streamed at send time (see mail.mime.build_message's defer_attachments_into).
    deferred: Mapping[str, bytes | bytearray] = field(default_factory=dict)


def vetted_address(host: str, port: int, allow_private: bool) -> str:
    """Resolve the host once and refuse loopback/private/link-local/metadata addresses (SSRF guard).

    The connection then goes to this very address, so a second DNS answer cannot swap it (DNS rebinding).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise MailServerError(
            f"The mail server's name {host} could not be found (DNS)",
            code="smtp_unreachable",
            stage="connect",
            details={"host": host},
        ) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if is_metadata_address(address):
            continue  # never, not even with private hosts allowed (also numeric spellings like 0xa9fea9fe)
        if allow_private or not is_forbidden_address(address):
            return str(address)
    raise ValidationError(
        "The mail server host points to a private, loopback or link-local address, which is not allowed",
        code="smtp_host_forbidden",
        details={"field": "smtp.host"},
    )


NOT_GLOBAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
    )
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo client), so it is judged by what it reaches."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address.sixtofour:
            return address.sixtofour
        if address.teredo:
            return address.teredo[1]
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_metadata_address(address: IPAddress) -> bool:
    return _embedded(address) in METADATA_ADDRESSES or address in METADATA_ADDRESSES


def is_forbidden_address(address: IPAddress) -> bool:
    """Anything but a globally reachable unicast address: private, shared (100.64/10), loopback, link-local,
    reserved, documentation, multicast, and metadata addresses, also when wrapped in IPv6. IANA's special-purpose
    list is spelled out because `is_global` follows it only in newer Python releases."""
    inner = _embedded(address)
    return any(
        not a.is_global
        or a.is_multicast
        or a.is_unspecified
        or a in METADATA_ADDRESSES
        or any(a in network for network in NOT_GLOBAL if network.version == a.version)
        for a in {address, inner}
    )


def host_problem(host: str, allow_private: bool) -> str | None:
    """A mail host must be a hostname or a public IP; loopback, private, link-local and metadata are refused."""
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if not HOSTNAME.match(host) or NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
            # A numeric last label is an IP address in another spelling (0xa9fea9fe, 2852039166, 0251.0376…).
            return "is not a valid host name"
        if host.lower() in {"localhost", "localhost.localdomain"} or host.lower().endswith(".localhost"):
            return None if allow_private else "may not be a loopback host"
        if host.lower() in {"metadata.google.internal", "metadata"}:
            return "may not be a cloud metadata host"
        return None
    if is_metadata_address(address):
        return "may not be a cloud metadata address"
    if not allow_private and is_forbidden_address(address):
        return "may not be a loopback, private, link-local or metadata address"
    return None


class _PinnedSMTP(smtplib.SMTP):
    """Connects to a vetted IP while TLS still verifies the certificate against the host name."""

    pinned_ip = ""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:  # type: ignore[override]
        return socket.create_connection((self.pinned_ip or host, port), timeout, self.source_address)


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    pinned_ip = ""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:  # type: ignore[override]
        raw = socket.create_connection((self.pinned_ip or host, port), timeout, self.source_address)
        return self.context.wrap_socket(raw, server_hostname=host)


def tls_context(server: SmtpServer) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=server.ca_file) if server.ca_file else ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def open_connection(server: SmtpServer) -> smtplib.SMTP:
    """Connect, secure and authenticate; each failure is a MailServerError naming its stage."""
    if server.security not in SECURITY_MODES:
        raise ValidationError(
            "Unknown mail server security mode", code="smtp_security_invalid", details={"field": "smtp.security"}
        )
    if server.security == "none" and not server.allow_private:
        raise ValidationError(
            "Mail servers must use STARTTLS or TLS", code="smtp_security_invalid", details={"field": "smtp.security"}
        )
    if server.oauth is None:
        return _connect(server)
    if server.security == "none":
        raise ValidationError(
            "Access tokens are only sent over an encrypted connection",
            code="smtp_security_invalid",
            details={"field": "smtp.security"},
        )
    # The token first: its waits (a throttled provider) never hold an idle connection the server would time out.
    token = server.oauth.token()
    return _sign_in_with_token(server, server.oauth, token)


def _connect(server: SmtpServer) -> smtplib.SMTP:
    """A connection secured as `server` says, signed in with the password when there is a username (not a token)."""
    ip = vetted_address(server.host, server.port, server.allow_private)
    stage = "connect"
    try:
        if server.security == "tls":
            stage = "tls"
            smtp: smtplib.SMTP = _PinnedSMTPSSL(timeout=server.timeout, context=tls_context(server))
            smtp.pinned_ip = ip  # type: ignore[attr-defined]
            smtp.connect(server.host, server.port)
        else:
            smtp = _PinnedSMTP(timeout=server.timeout)
            smtp.pinned_ip = ip  # type: ignore[attr-defined]
            smtp._host = server.host  # STARTTLS verifies the certificate against this name
            smtp.connect(server.host, server.port)
        smtp.ehlo()
        if server.security == "starttls":
            stage = "tls"
            if not smtp.has_extn("starttls"):
                smtp.close()
                raise MailServerError("The mail server does not offer STARTTLS", code="smtp_tls", stage="tls")
            smtp.starttls(context=tls_context(server))
            smtp.ehlo()
        if server.oauth is None and server.username:
            stage = "auth"
            smtp.login(server.username, server.password)
        return smtp
    except MailServerError:
        raise
    except smtplib.SMTPAuthenticationError:
        raise MailServerError(
            "The mail server refused the username or password", code="smtp_auth", stage="auth"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise MailServerError(
            "The mail server does not support authentication on this connection", code="smtp_auth", stage="auth"
        ) from None
    except (ssl.SSLError, ssl.CertificateError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise MailServerError(
            f"A secure connection to the mail server failed ({reason})",
            code="smtp_tls",
            stage="tls",
            details={"reason": str(reason)},
        ) from None
    except TimeoutError:
        raise MailServerError("The mail server did not answer in time", code="smtp_timeout", stage=stage) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailServerError(
            f"The mail server could not be reached ({type(exc).__name__})",
            code="smtp_unreachable",
            stage=stage,
            details={"reason": type(exc).__name__},
        ) from None


# XOAUTH2 carries the user and the token in ASCII (smtplib encodes it so); printable, without the field separator.
XOAUTH2_TEXT = re.compile(r"[\x20-\x7e]+")


def xoauth2_response(user: str, token: str) -> str:
    """The XOAUTH2 initial client response (before base64, which smtplib adds)."""
    if not XOAUTH2_TEXT.fullmatch(user) or not XOAUTH2_TEXT.fullmatch(token):
        raise MailServerError(
            "The mailbox address or the access token can't be sent in an XOAUTH2 sign-in (printable ASCII only)",
            code="smtp_auth",
            stage="auth",
        )
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


# Refusals a new token can't change (SMTP AUTH switched off): told at once, without renewing the token.
NOT_RENEWED = re.compile(r"\b5\.7\.139\b|smtpclientauthentication is disabled", re.IGNORECASE)


def _sign_in_with_token(server: SmtpServer, tokens: BearerTokens, token: str) -> smtplib.SMTP:
    """`AUTH XOAUTH2` as the mailbox. A refused token is dropped and a new one tried once (it may have been revoked),
    on a new connection when the server hung up after the refusal; a temporary (4xx) answer keeps the token."""
    smtp = _connect(server)
    try:
        refusal = _xoauth2(smtp, server.username, token)
        if refusal is None:
            return smtp
        if NOT_RENEWED.search(refusal[1]):
            raise tokens.refusal(*refusal)
        tokens.refused()
        token = tokens.token()
        try:
            refusal = _xoauth2(smtp, server.username, token)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            _close_quietly(smtp)
            smtp = _connect(server)
            refusal = _xoauth2(smtp, server.username, token)
        if refusal is None:
            return smtp
        tokens.refused()
        raise tokens.refusal(*refusal)
    except MailServerError:
        _close_quietly(smtp)  # a refused sign-in ends the connection here; nobody else holds it
        raise
    except TimeoutError:
        _close_quietly(smtp)
        raise MailServerError("The mail server did not answer in time", code="smtp_timeout", stage="auth") from None
    except (OSError, smtplib.SMTPException) as exc:
        _close_quietly(smtp)
        raise MailServerError(
            f"The mail server could not be reached ({type(exc).__name__})",
            code="smtp_unreachable",
            stage="auth",
            details={"reason": type(exc).__name__},
        ) from None
    except BaseException:
        _close_quietly(smtp)
        raise


def _xoauth2(smtp: smtplib.SMTP, user: str, token: str) -> tuple[int, str] | None:
    """One `AUTH XOAUTH2`: None when signed in, else the refusal (code, text); a 4xx is a temporary failure."""
    initial = xoauth2_response(user, token)

    def respond(challenge: bytes | None = None) -> str:
        # A refusal comes as a 334 challenge carrying the error (JSON); the empty answer ends the exchange.
        return initial if challenge is None else ""

    try:
        smtp.auth("XOAUTH2", respond, initial_response_ok=True)
        return None
    except smtplib.SMTPAuthenticationError as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc)
        if 400 <= exc.smtp_code < 500:
            raise MailServerError(
                "The mail server refused the sign-in temporarily; try again later",
                code="smtp_temporary",
                stage="auth",
                details={"smtpCode": exc.smtp_code},
            ) from None
        return exc.smtp_code, text[:300]


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass


def _refusal(exc: smtplib.SMTPResponseException, stage: str) -> MailServerError:
    text = exc.smtp_error.decode("utf-8", "replace")[:200] if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    if exc.smtp_code == 552 or "size" in text.lower():
        return MailServerError(
            "The mail is too large for the mail server",
            code="smtp_too_large",
            stage=stage,
            details={"smtpCode": exc.smtp_code},
        )
    return MailServerError(
        f"The mail server refused the mail: {exc.smtp_code} {text}",
        code="smtp_refused",
        stage=stage,
        details={"smtpCode": exc.smtp_code, "reply": text},
    )


@dataclass
class BatchOutcome:
    """What happened to one mail of a send: delivered (perhaps with refused recipients), failed, or not tried."""

    status: Literal["delivered", "failed", "not_tried"]
    recipients: Sequence[str]
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    error: MailServerError | None = None


def deliver_batches(server: SmtpServer, envelopes: Iterable[Envelope]) -> list[BatchOutcome]:
    """Send every envelope on one connection and report each one.

    A mail the server refused does not stop the others; once the connection is lost, the rest are reported as not
    tried. A temporary (4xx) refusal before the server accepted a mail is retried once; a mail the server accepted
    is never sent again, so a retry can't duplicate it.
    """
    outcomes: list[BatchOutcome] = []
    smtp: smtplib.SMTP | None = open_connection(server)
    try:
        for envelope in envelopes:
            if smtp is None:
                outcomes.append(BatchOutcome("not_tried", envelope.recipients))
                continue
            try:
                refused = _send_one(smtp, server, envelope)
            except MailServerError as error:
                outcomes.append(BatchOutcome("failed", envelope.recipients, error=error))
                if error.code in CONNECTION_LOST or not _still_open(smtp):
                    smtp = None
                continue
            outcomes.append(BatchOutcome("delivered", envelope.recipients, refused))
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
    return outcomes


def deliver(server: SmtpServer, envelopes: Iterable[Envelope]) -> dict[str, tuple[int, str]]:
    """Send every envelope; raise the first failure. Returns refused recipients (address → (code, text))."""
    refused: dict[str, tuple[int, str]] = {}
    for outcome in deliver_batches(server, envelopes):
        if outcome.error is not None:
            raise outcome.error
        refused.update(outcome.refused)
    return refused


def _still_open(smtp: smtplib.SMTP) -> bool:
    return getattr(smtp, "sock", None) is not None


def _reset(smtp: smtplib.SMTP) -> None:
    """Start the transaction over; a server that closed the connection (421) refused the mail for now."""
    try:
        if not _still_open(smtp):
            raise smtplib.SMTPServerDisconnected("closed")
        smtp.rset()
    except (smtplib.SMTPServerDisconnected, OSError):
        raise MailServerError(
            "The mail server refused the mail temporarily and closed the connection; try again later",
            code="smtp_temporary",
            stage="RCPT",
        ) from None


def _send_one(smtp: smtplib.SMTP, server: SmtpServer, envelope: Envelope) -> dict[str, tuple[int, str]]:
    for attempt in (1, 2):
        try:
            result = send_streaming(
                smtp, envelope.message, envelope.sender, list(envelope.recipients), envelope.deferred
            )
            return {k: (v[0], v[1].decode("utf-8", "replace")) for k, v in result.items()}
        except smtplib.SMTPRecipientsRefused as exc:
            temporary = all(400 <= code < 500 for code, _ in exc.recipients.values())
            if temporary and attempt == 1:
                _reset(smtp)
                time.sleep(TEMPORARY_RETRY_DELAY)
                continue
            if temporary:
                break
            return {k: (v[0], v[1].decode("utf-8", "replace")) for k, v in exc.recipients.items()}
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            stage = "MAIL" if isinstance(exc, smtplib.SMTPSenderRefused) else "DATA"
            if 400 <= exc.smtp_code < 500:
                if attempt == 2:
                    break
                _reset(smtp)
                time.sleep(TEMPORARY_RETRY_DELAY)
                continue
            error = _refusal(exc, stage)
            if _still_open(smtp):
                try:
                    smtp.rset()  # ready for the next mail of the send
                except (smtplib.SMTPException, OSError):
                    smtp.close()
            raise error from None
        except smtplib.SMTPServerDisconnected:
            # Unknown whether the server kept the mail: never resend (no duplicates), say so.
            raise MailServerError(
                "The mail server closed the connection while sending", code="smtp_disconnected", stage="DATA"
            ) from None
        except TimeoutError:
            raise MailServerError("The mail server did not answer in time", code="smtp_timeout", stage="DATA") from None
    raise MailServerError(
        "The mail server refused the mail temporarily; try again later", code="smtp_temporary", stage="DATA"
    )


@dataclass(frozen=True)
class ConnectionCheck:
    """What *Test connection* found: whether the connection was encrypted and whether it signed in."""

    encrypted: bool
    authenticated: bool
    # The server offers AUTH although no username was given: it may refuse mail without it.
    auth_offered: bool = False


def check_connection(server: SmtpServer) -> ConnectionCheck:
    """Connect, TLS and authenticate, send nothing (the admin's *Test connection*).

    The answer says what the connection really was, read off the open connection (a TLS socket, a login that
    succeeded), so a plaintext or anonymous server is never reported as a secure, signed-in one.
    """
    smtp = open_connection(server)
    try:
        check = ConnectionCheck(
            encrypted=isinstance(smtp.sock, ssl.SSLSocket),
            # open_connection signs in exactly when there is a username (or a token), and raises when that fails.
            authenticated=bool(server.username or server.oauth),
            auth_offered=not (server.username or server.oauth) and smtp.has_extn("auth"),
        )
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return check
