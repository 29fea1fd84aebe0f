"""Security headers on every response (DESIGN §4): CSP with frame-ancestors, nosniff, no-referrer, no-store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response


def frame_ancestors(allowed_hosts: str, allow_insecure: bool) -> str:
    sources = ["'self'"]
    for pattern in (p.strip() for p in allowed_hosts.split(",")):
        if pattern:
            sources.append(f"https://{pattern}")
            if allow_insecure:
                sources.append(f"http://{pattern}")
    return " ".join(sources)


HEADERS = "pagemail.security_headers"


def security_headers(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every response's security headers, worked out once from the configuration."""
    all_js = urlsplit(config["CONNECT_ALL_JS_URL"])
    # Local work against an http:// sandbox: its avatars and images must show too.
    insecure_sources = (
        "".join(f" http://{p.strip()}" for p in config["CONNECT_ALLOWED_HOSTS"].split(",") if p.strip())
        if config["CONNECT_ALLOW_INSECURE_HOSTS"]
        else ""
    )
    script_origin = f"{all_js.scheme}://{all_js.netloc}" if all_js.netloc else ""
    csp = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {script_origin}".strip(),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob: https:" + insecure_sources,
            "font-src 'self'",
            "connect-src 'self'",
            "frame-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors "
            + frame_ancestors(config["CONNECT_ALLOWED_HOSTS"], config["CONNECT_ALLOW_INSECURE_HOSTS"]),
        ]
    )
    headers = [
        ("Content-Security-Policy", csp),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]
    if config["IS_PRODUCTION"]:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


# A view may set its own policy or caching; the other headers are always ours.
VIEW_MAY_SET = frozenset({"Content-Security-Policy", "Cache-Control"})


def install_security_headers(app: Flask) -> None:
    fixed = security_headers(app.config)
    app.extensions[HEADERS] = fixed

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        for name, value in fixed:
            if name in VIEW_MAY_SET:
                headers.setdefault(name, value)
            else:
                headers[name] = value
        return response
