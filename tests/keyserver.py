"""A stand-in for Atlassian's install key server under the test's control, and signed-install tokens."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response

from connect.qsh import qsh


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass
class KeyServer:
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    fetches: int = 0

    def wsgi(self) -> Flask:
        app = Flask("keyserver")

        @app.get("/<kid>")
        def key(kid: str) -> Response:
            self.fetches += 1
            if kid not in self.keys:
                return Response("not found", status=404)
            return Response(public_pem(self.keys[kid]), mimetype="text/plain")

        return app


def install_token(
    key: rsa.RSAPrivateKey,
    *,
    kid: str,
    client_key: str,
    audience: str,
    path: str = "/lifecycle/installed",
    algorithm: str = "RS256",
    now: float | None = None,
    **overrides: Any,
) -> str:
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": client_key,
        "aud": [audience],
        "iat": issued,
        "exp": issued + 180,
        "qsh": qsh("POST", path, ""),
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})
