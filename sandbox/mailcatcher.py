"""The sandbox's mail server: a real SMTP server (aiosmtpd) that keeps what it receives in memory,
and an inbox (Flask blueprint) that shows each mail the way a mail client would.

Only for local work and tests: mails are never written to disk and vanish with the process.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hmac
import ipaddress
import itertools
import json
import logging
import re
import socket
import ssl
import threading
from base64 import b64decode
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Blueprint, Response, abort, jsonify, redirect, render_template, url_for

# aiosmtpd logs envelope addresses at INFO and a deprecation notice at WARNING on every AUTH;
# addresses must never reach the logs, and the notice is noise.
logging.getLogger("mail.log").setLevel(logging.ERROR)

_STAGES = ("MAIL", "RCPT", "DATA")
_SERVER_NAME = "sandbox-mail.localhost"
_READY_TIMEOUT_S = 30.0  # generous: slow CI machines take a while to start the event loop thread


@dataclass(frozen=True)
class CaughtMail:
    """One mail as the server received it: the SMTP envelope, the raw DATA and how it arrived."""

    id: int
    received_at: dt.datetime
    peer_is_loopback: bool
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    used_tls: bool
    authenticated_as: str | None
    auth_mechanism: str | None = None  # PLAIN, LOGIN or XOAUTH2 (None: not signed in)

    def message(self) -> EmailMessage:
        return cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(self.raw))


@dataclass(frozen=True)
class XOAuth2Login:
    """Who signed in with `AUTH XOAUTH2` (the token itself is not kept)."""

    user: str


class HangUp(str):
    """An `AUTH XOAUTH2` reply after which the server closes the connection (as Exchange Online may)."""


# Decides an `AUTH XOAUTH2`: (user, bearer token) → None when accepted, else the reply (e.g. "535 5.7.3 …"; a
# `HangUp` reply also ends the connection).
XOAuth2Check = Callable[[str, str], str | None]
# Gmail answers a refused token with a 334 challenge carrying this JSON before its 535.
_GMAIL_CHALLENGE = json.dumps({"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"})


class _BoundController(Controller):
    """Serves on a socket bound beforehand, so that port 0 works (aiosmtpd's start-up self-test dials
    the real port) and a port in use fails at once instead of after the ready timeout."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


class MailCatcher:
    """A real SMTP server on `host:port` (port 0 = any free port; read `port` after `start()`).

    `tls_cert` = (cert file, key file) offers STARTTLS (required before MAIL unless
    `require_starttls=False`), or, with `implicit_tls=True`, TLS from the first byte.
    `require_auth` = (user, password) demands AUTH PLAIN/LOGIN; over plain text only when no
    certificate was given. `xoauth2` (a check of user and bearer token) demands AUTH XOAUTH2 instead, as
    Exchange Online and Gmail do for OAuth2 apps. `sink` keeps the mails in another catcher (one inbox).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls_cert: tuple[str, str] | None = None,
        require_auth: tuple[str, str] | None = None,
        implicit_tls: bool = False,
        max_message_size: int = 50 * 1024 * 1024,
        require_starttls: bool = True,
        xoauth2: XOAuth2Check | None = None,
        sink: MailCatcher | None = None,
    ) -> None:
        if implicit_tls and tls_cert is None:
            raise ValueError("implicit_tls needs tls_cert=(cert_file, key_file)")
        if max_message_size < 1:
            raise ValueError("max_message_size must be positive")
        self.host = host
        self.port = port
        self._tls_cert = tls_cert
        self._require_auth = require_auth
        self._implicit_tls = implicit_tls
        self._require_starttls = require_starttls
        self._xoauth2 = xoauth2
        self._sink = sink
        self._max_message_size = max_message_size
        self._controller: _BoundController | None = None
        self._changed = threading.Condition()
        self._mails: list[CaughtMail] = []
        # Ids stay unique across clear(), so an old inbox link never shows another mail.
        self._ids = itertools.count(1)
        # Replies to give instead of the normal one, in order; "" lets one command of that stage pass.
        self._faults: dict[str, deque[str]] = {stage: deque() for stage in _STAGES}
        self._rejected: dict[str, str] = {}

    # -- life cycle -------------------------------------------------------------------------------

    def start(self) -> None:
        if self._controller is not None:
            raise RuntimeError("the mail catcher is already running")
        options = self._smtp_options()  # before binding: a bad certificate file fails here
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self.port), family=family)
        controller = _BoundController(_CatchingHandler(self), sock, ready_timeout=_READY_TIMEOUT_S, **options)
        try:
            controller.start()
        except BaseException:
            controller.stop(no_assert=True)
            sock.close()
            raise
        self._controller = controller
        self.port = controller.port

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailCatcher:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _smtp_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"server_hostname": _SERVER_NAME, "data_size_limit": self._max_message_size}
        tls_context = None
        if self._tls_cert is not None:
            tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls_context.load_cert_chain(*self._tls_cert)
        if self._implicit_tls:
            options["ssl_context"] = tls_context
        elif tls_context is not None:
            options["tls_context"] = tls_context
            options["require_starttls"] = self._require_starttls
        if self._xoauth2 is not None:
            options["auth_exclude_mechanism"] = ["PLAIN", "LOGIN"]  # a provider takes tokens, not passwords
            options["authenticator"] = self._authenticate
        elif self._require_auth is None:
            # A server without AUTH must not advertise it, so a client configured with a password notices.
            options["auth_exclude_mechanism"] = ["PLAIN", "LOGIN", "XOAUTH2"]
        else:
            options["auth_exclude_mechanism"] = ["XOAUTH2"]
            options["authenticator"] = self._authenticate
        # aiosmtpd's own TLS-for-AUTH check only knows STARTTLS (it refuses AUTH on implicit TLS), so it is
        # on only for STARTTLS servers; a server without a certificate accepts AUTH in plain text.
        options["auth_require_tls"] = tls_context is not None and not self._implicit_tls
        return options

    # -- received mails ---------------------------------------------------------------------------

    def messages(self) -> list[CaughtMail]:
        with self._changed:
            return list(self._mails)

    def message_by_id(self, mail_id: int) -> CaughtMail | None:
        with self._changed:
            return next((mail for mail in self._mails if mail.id == mail_id), None)

    def clear(self) -> None:
        with self._changed:
            self._mails.clear()
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[CaughtMail]:
        """Wait until at least `count` mails have arrived; returns all of them."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._mails) >= count, timeout):
                raise TimeoutError(f"expected {count} mail(s) within {timeout} s, got {len(self._mails)}")
            return list(self._mails)

    # -- knobs for failing mail servers -----------------------------------------------------------

    def fail_next(self, code: int, message: str, stage: str = "RCPT", count: int = 1, after: int = 0) -> None:
        """Answer the next `count` commands of `stage` (MAIL, RCPT or DATA) with `code message`, once `after`
        commands of that stage have passed normally (e.g. `after=1`: the second mail's DATA fails)."""
        stage = stage.upper()
        if stage not in _STAGES:
            raise ValueError(f"stage must be one of {', '.join(_STAGES)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        reply = _reply(code, message)
        with self._changed:
            self._faults[stage].extend([""] * after + [reply] * count)

    def reject_recipient(self, address: str, code: int = 550, message: str = "No such user") -> None:
        """Refuse `address` at RCPT (case-insensitively) until `clear_failures()`."""
        reply = _reply(code, message)
        with self._changed:
            self._rejected[address.strip().lower()] = reply

    def clear_failures(self) -> None:
        with self._changed:
            for faults in self._faults.values():
                faults.clear()
            self._rejected.clear()

    # -- called by the handler on the server thread -----------------------------------------------

    def _take_fault(self, stage: str) -> str | None:
        with self._changed:
            faults = self._faults[stage]
            return (faults.popleft() or None) if faults else None

    def _rejection_for(self, address: str) -> str | None:
        with self._changed:
            return self._rejected.get(address.strip().lower())

    def _auth_missing(self, session: Session) -> bool:
        return (self._require_auth is not None or self._xoauth2 is not None) and not session.authenticated

    def _authenticate(
        self, _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, auth_data: Any
    ) -> AuthResult:
        if self._require_auth is None or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = (value.encode() for value in self._require_auth)
        # Both comparisons always run, so the answer time does not tell which one failed.
        user_ok = hmac.compare_digest(auth_data.login, user)
        password_ok = hmac.compare_digest(auth_data.password, password)
        if not (user_ok and password_ok):
            return AuthResult(success=False, handled=False)  # aiosmtpd answers 535
        return AuthResult(success=True, auth_data=auth_data.login.decode("utf-8", "replace"))

    def _store(
        self,
        mail_from: str,
        rcpt_tos: list[str],
        raw: bytes,
        peer: Any,
        used_tls: bool,
        authenticated_as: str | None,
        auth_mechanism: str | None = None,
    ) -> None:
        if self._sink is not None:
            self._sink._store(mail_from, rcpt_tos, raw, peer, used_tls, authenticated_as, auth_mechanism)
            return
        with self._changed:
            self._mails.append(
                CaughtMail(
                    id=next(self._ids),
                    received_at=dt.datetime.now(dt.UTC),
                    peer_is_loopback=_is_loopback(peer),
                    mail_from=mail_from,
                    rcpt_tos=list(rcpt_tos),
                    raw=raw,
                    used_tls=used_tls,
                    authenticated_as=authenticated_as,
                    auth_mechanism=auth_mechanism,
                )
            )
            self._changed.notify_all()


class _CatchingHandler:
    """aiosmtpd hooks: apply the catcher's failure knobs, then keep the mail."""

    def __init__(self, catcher: MailCatcher) -> None:
        self._catcher = catcher

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # this hook takes over that duty from aiosmtpd
        if self._catcher._require_auth is None and self._catcher._xoauth2 is None:
            # aiosmtpd announces a bare "AUTH" even with every mechanism excluded.
            responses = [line for line in responses if not line[4:].upper().startswith("AUTH")]
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self._catcher._auth_missing(session):
            return "530 5.7.0 Authentication required"
        fault = self._catcher._take_fault("MAIL")
        if fault is not None:
            return fault
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        fault = self._catcher._take_fault("RCPT") or self._catcher._rejection_for(address)
        if fault is not None:
            return fault
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self._catcher._take_fault("DATA")
        if fault is not None:
            return fault
        transport = server.transport
        used_tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        auth_data = session.auth_data if session.authenticated else None
        oauth = isinstance(auth_data, XOAuth2Login)
        self._catcher._store(
            envelope.mail_from or "",
            envelope.rcpt_tos,
            envelope.original_content or b"",
            session.peer,
            used_tls,
            auth_data.user if isinstance(auth_data, XOAuth2Login) else auth_data,
            ("XOAUTH2" if oauth else "PLAIN/LOGIN") if auth_data is not None else None,
        )
        return "250 OK: queued"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """`AUTH XOAUTH2 <base64 of user=…^Aauth=Bearer …^A^A>` (also with the response on its own line)."""
        check = self._catcher._xoauth2
        if check is None:
            return AuthResult(success=False, handled=False)
        if len(args) > 1:
            try:
                blob: bytes = b64decode(args[1].encode(), validate=True)
            except (binascii.Error, ValueError):
                return AuthResult(success=False, handled=False, message="501 5.5.2 Can't decode base64")
        else:
            answer = await server.challenge_auth("")
            if answer is MISSING:
                return AuthResult(success=False, handled=True)
            blob = answer  # type: ignore[assignment]
        fields = dict(part.split("=", 1) for part in blob.decode("utf-8", "replace").split("\x01") if "=" in part)
        user, auth = fields.get("user", ""), fields.get("auth", "")
        if not user or not auth.startswith("Bearer "):
            return AuthResult(success=False, handled=False, message="535 5.7.8 Malformed XOAUTH2 response")
        verdict = check(user, auth.removeprefix("Bearer ").strip())
        if verdict is None:
            return AuthResult(success=True, auth_data=XOAuth2Login(user))
        if verdict.startswith("535 5.7.8"):
            await server.challenge_auth(_GMAIL_CHALLENGE)  # the client's empty answer ends the exchange
        if isinstance(verdict, HangUp):
            await server.push(str(verdict))
            if server.transport is not None:
                server.transport.close()
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False, message=verdict)


def _reply(code: int, message: str) -> str:
    if not 400 <= code <= 599:
        raise ValueError("a failure code is a 4xx or 5xx SMTP reply code")
    if "\r" in message or "\n" in message:
        raise ValueError("the reply text must be one line")
    return f"{code} {message}"


def _is_loopback(peer: Any) -> bool:
    try:
        address = ipaddress.ip_address(peer[0])
    except (TypeError, ValueError, IndexError):
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def make_self_signed_cert(directory: Path, hostname: str = "localhost") -> tuple[Path, Path]:
    """Write a self-signed certificate for `hostname`, localhost and 127.0.0.1 to `directory`.

    Returns (cert file, key file); a client trusts it with `ssl.create_default_context(cafile=cert)`.
    """
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())  # EC: generated in milliseconds, unlike RSA
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    dns_names = list(dict.fromkeys([hostname, "localhost"]))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in dns_names] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / f"{hostname}.crt"
    key_path = directory / f"{hostname}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


# == The inbox ======================================================================================

# The mail's own HTML: no scripts, no remote loads (like a client with remote images off), inline CSS,
# images only from the inbox itself (the rewritten cid: parts); sandboxed even when opened directly.
_HTML_VIEW_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; font-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox"
)
_PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'self'"
)
_DOWNLOAD_CSP = "default-src 'none'; sandbox"
# cid: URLs where a mail client resolves them: src/background attributes and CSS url().
_CID_REF = re.compile(
    r"""(?P<lead>\b(?:src|background)\s*=\s*["']?|url\(\s*["']?)cid:(?P<cid>[^"'\s)>]+)""", re.IGNORECASE
)
_RAW_PREVIEW_LIMIT = 256 * 1024
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")  # a filename from a mail must not split a response header


@dataclass(frozen=True)
class _Part:
    index: int  # position in EmailMessage.walk() order: the part's address in /inbox/<id>/part/<index>
    depth: int
    content_type: str
    size: int | None
    content_id: str | None
    disposition: str | None
    filename: str | None
    charset: str | None
    transfer_encoding: str | None
    is_attachment: bool


def _walk(part: EmailMessage, depth: int = 0) -> Iterator[tuple[EmailMessage, int]]:
    """Same order as EmailMessage.walk(), with each part's depth."""
    yield part, depth
    if part.is_multipart():
        for child in cast(list[EmailMessage], part.get_payload()):
            yield from _walk(child, depth + 1)


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a header the parser chokes on must not break the inbox: show it as received
        value = next((raw for key, raw in msg.raw_items() if key.lower() == name.lower()), None)
    return "" if value is None else str(value)


def _content_id(part: EmailMessage) -> str | None:
    value = _header(part, "Content-ID").strip()
    return value.strip("<>").strip() or None


def _body_text(part: EmailMessage) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError, ValueError, KeyError, AttributeError):  # unknown charset, bad encoding
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _body(msg: EmailMessage, kind: str) -> EmailMessage | None:
    try:
        return cast(EmailMessage | None, msg.get_body(preferencelist=(kind,)))
    except (KeyError, ValueError, TypeError):
        return None


def _decoded_size(part: EmailMessage) -> int | None:
    if part.is_multipart():
        return None
    payload = part.get_payload(decode=True)
    return len(payload) if isinstance(payload, bytes) else None


def _parts(msg: EmailMessage) -> list[_Part]:
    bodies = {id(body) for body in (_body(msg, "html"), _body(msg, "plain")) if body is not None}
    parts = []
    for index, (part, depth) in enumerate(_walk(msg)):
        leaf = not part.is_multipart()
        disposition = part.get_content_disposition()
        content_id = _content_id(part)
        # What a client lists as attachments: declared ones, and any other non-body part not meant
        # to be shown inline through a Content-ID.
        is_attachment = (
            leaf and index > 0 and id(part) not in bodies and (disposition == "attachment" or content_id is None)
        )
        parts.append(
            _Part(
                index=index,
                depth=depth,
                content_type=part.get_content_type(),
                size=_decoded_size(part),
                content_id=content_id,
                disposition=disposition,
                filename=part.get_filename(),
                charset=part.get_content_charset() if leaf else None,
                transfer_encoding=_header(part, "Content-Transfer-Encoding") or None,
                is_attachment=is_attachment,
            )
        )
    return parts


def _human_size(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _cid_references(html: str) -> list[str]:
    return list(dict.fromkeys(unquote(match["cid"]) for match in _CID_REF.finditer(html)))


def _summary(mail: CaughtMail) -> dict[str, Any]:
    msg = mail.message()
    return {
        "mail": mail,
        "from": _header(msg, "From"),
        "to": _header(msg, "To"),
        "subject": _header(msg, "Subject"),
        "date": _header(msg, "Date") or mail.received_at.strftime("%a, %d %b %Y %H:%M:%S %z"),
        "size": _human_size(len(mail.raw)),
        "has_attachments": any(p.is_attachment for p in _parts(msg)),
    }


def _mail_json(mail: CaughtMail) -> dict[str, Any]:
    msg = mail.message()
    return {
        "id": mail.id,
        "mailFrom": mail.mail_from,
        "rcptTos": mail.rcpt_tos,
        "subject": _header(msg, "Subject"),
        "from": _header(msg, "From"),
        "to": _header(msg, "To"),
        "cc": _header(msg, "Cc"),
        "replyTo": _header(msg, "Reply-To"),
        "size": len(mail.raw),
        "usedTls": mail.used_tls,
        "authenticatedAs": mail.authenticated_as,
        "receivedAt": mail.received_at.isoformat(),
    }


def inbox_blueprint(catcher: MailCatcher) -> Blueprint:
    """The inbox pages (/inbox...) and the JSON API for tests (/_sandbox/mails...) over `catcher`."""
    here = Path(__file__).resolve().parent
    bp = Blueprint(
        "inbox",
        __name__,
        template_folder=str(here / "templates"),
        static_folder=str(here / "static"),
        static_url_path="/inbox/static",
    )

    def find(mail_id: int) -> CaughtMail:
        mail = catcher.message_by_id(mail_id)
        if mail is None:
            abort(404)
        return mail

    def find_part(mail: CaughtMail, index: int) -> EmailMessage:
        parts = [part for part, _depth in _walk(mail.message())]
        if not 0 <= index < len(parts) or parts[index].is_multipart():
            abort(404)
        return parts[index]

    def downloadable(payload: bytes, content_type: str, filename: str | None, inline: bool) -> Response:
        response = Response(payload, content_type=content_type)
        safe_name = _CONTROL_CHARS.sub("", filename or "").strip()
        response.headers.set(
            "Content-Disposition",
            "inline" if inline else "attachment",
            **({"filename": safe_name} if safe_name else {}),
        )
        response.headers["Content-Security-Policy"] = _DOWNLOAD_CSP
        return response

    @bp.after_request
    def protect(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", _PAGE_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/inbox")
    def inbox() -> str:
        mails = sorted(catcher.messages(), key=lambda mail: mail.id, reverse=True)
        return render_template("inbox.html", mails=[_summary(mail) for mail in mails])

    @bp.post("/inbox/clear")
    def clear_inbox() -> Response:
        catcher.clear()
        return redirect(url_for("inbox.inbox"), code=303)

    @bp.get("/inbox/<int:mail_id>")
    def mail_page(mail_id: int) -> str:
        mail = find(mail_id)
        msg = mail.message()
        parts = _parts(msg)
        html_part, text_part = _body(msg, "html"), _body(msg, "plain")
        references = _cid_references(_body_text(html_part)) if html_part is not None else []
        present = {part.content_id for part in parts if part.content_id}
        unused = sorted(cid for cid in present if cid not in references) if html_part is not None else []
        headers = [(name, _header(msg, name)) for name in ("From", "Reply-To", "To", "Cc", "Date", "Subject")]
        return render_template(
            "inbox_mail.html",
            mail=mail,
            summary=_summary(mail),
            headers=headers,
            bcc_header=_header(msg, "Bcc"),
            has_html=html_part is not None,
            text=_body_text(text_part) if text_part is not None else None,
            attachments=[(part, _human_size(part.size)) for part in parts if part.is_attachment],
            parts=[(part, _human_size(part.size)) for part in parts],
            missing_cids=[cid for cid in references if cid not in present],
            unused_cids=unused,
            raw_preview=mail.raw.decode("utf-8", "replace") if len(mail.raw) <= _RAW_PREVIEW_LIMIT else None,
        )

    @bp.get("/inbox/<int:mail_id>/html")
    def mail_html(mail_id: int) -> Response:
        msg = find(mail_id).message()
        html_part = _body(msg, "html")
        if html_part is None:
            abort(404)

        def to_inbox_url(match: re.Match[str]) -> str:
            cid_url = url_for("inbox.mail_cid", mail_id=mail_id, content_id=unquote(match["cid"]))
            return f"{match['lead']}{cid_url}"

        response = Response(_CID_REF.sub(to_inbox_url, _body_text(html_part)), mimetype="text/html")
        response.headers["Content-Security-Policy"] = _HTML_VIEW_CSP
        return response

    @bp.get("/inbox/<int:mail_id>/cid/<path:content_id>")
    def mail_cid(mail_id: int, content_id: str) -> Response:
        for part, _depth in _walk(find(mail_id).message()):
            if not part.is_multipart() and _content_id(part) == content_id:
                payload = part.get_payload(decode=True)
                is_image = part.get_content_maintype() == "image"
                return downloadable(
                    payload if isinstance(payload, bytes) else b"",
                    part.get_content_type() if is_image else "application/octet-stream",
                    part.get_filename(),
                    inline=is_image,
                )
        abort(404)

    @bp.get("/inbox/<int:mail_id>/part/<int:index>")
    def mail_part(mail_id: int, index: int) -> Response:
        part = find_part(find(mail_id), index)
        payload = part.get_payload(decode=True)
        return downloadable(
            payload if isinstance(payload, bytes) else b"",
            part.get_content_type(),
            part.get_filename() or f"part-{index}",
            inline=False,
        )

    @bp.get("/inbox/<int:mail_id>/raw")
    def mail_raw(mail_id: int) -> Response:
        response = Response(find(mail_id).raw, content_type="text/plain; charset=utf-8")
        response.headers["Content-Security-Policy"] = _DOWNLOAD_CSP
        return response

    @bp.get("/_sandbox/mails")
    def api_mails() -> Response:
        return jsonify([_mail_json(mail) for mail in catcher.messages()])

    @bp.delete("/_sandbox/mails")
    def api_clear() -> tuple[str, int]:
        catcher.clear()
        return "", 204

    @bp.get("/_sandbox/mails/<int:mail_id>/raw")
    def api_raw(mail_id: int) -> Response | tuple[Response, int]:
        mail = catcher.message_by_id(mail_id)
        if mail is None:
            return jsonify(error="no such mail"), 404
        return Response(mail.raw, mimetype="message/rfc822")

    return bp


__all__ = ["CaughtMail", "MailCatcher", "inbox_blueprint", "make_self_signed_cert"]
