"""The sandbox's https side: a self-signed certificate for localhost and a threaded https server for the app.

The providers' token endpoints must be https (MSAL accepts nothing else, and pagemail refuses a Google key whose
token URI is not), so the sandbox serves its Flask app a second time over TLS. The app trusts the certificate
through REQUESTS_CA_BUNDLE (token endpoints) and SMTP_CA_FILE (the providers' submission server).
"""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from sandbox.mailcatcher import make_self_signed_cert
from sandbox.serving import RedactingRequestHandler

HOST_NAME = "localhost"


def ensure_certificate(directory: Path | None) -> tuple[str, str]:
    """(cert file, key file) for localhost: kept in `directory` across restarts (so a trusted CA file stays valid),
    or made in a temporary folder."""
    folder = directory or Path(tempfile.mkdtemp(prefix="sandbox-tls-"))
    cert, key = folder / f"{HOST_NAME}.crt", folder / f"{HOST_NAME}.key"
    if not (cert.is_file() and key.is_file()):
        cert, key = make_self_signed_cert(folder, HOST_NAME)
    return str(cert), str(key)


def https_server(host: str, port: int, app: Any, files: tuple[str, str]) -> BaseWSGIServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(*files)
    return make_server(host, port, app, threaded=True, request_handler=RedactingRequestHandler, ssl_context=context)
