"""The RSA key pair that signs lifecycle calls (signed install), published by `kid` like Atlassian's key server."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass
class InstallSigningKey:
    """A fresh 2048-bit key and a random key id, made when the sandbox starts."""

    kid: str = field(default_factory=lambda: str(uuid.uuid4()))
    private_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def sign(self, claims: dict[str, Any]) -> str:
        """An RS256 JWT with this key's `kid` in the header."""
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})


def new_shared_secret() -> str:
    """A shared secret as long and random as Atlassian's."""
    return secrets.token_urlsafe(48)
