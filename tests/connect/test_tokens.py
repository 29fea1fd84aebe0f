"""The one-pass HS256 check (connect/tokens.py) against PyJWT's answers for the same tokens and options.

Every token below is checked both ways: accepted by ours exactly when PyJWT (`algorithms=["HS256"]`, 30 s leeway,
`iss`, `exp`, `iat` and `qsh` required) accepts it, with the same claims.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest

from connect.qsh import CONTEXT_QSH
from connect.tokens import (
    LEEWAY_SECONDS,
    SignatureError,
    VerifiedToken,
    parse_token,
    unverified_issuer,
    verify_hs256,
)
from errors import AuthError

SECRET = "shared-secret-for-tests-0123456789abcdef"


def now() -> int:
    # Read when a token is made: the suite runs for minutes after this module is imported.
    return int(time.time())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(claims: Any, *, secret: str = SECRET, header: Any = None) -> str:
    head = b64(json.dumps(header if header is not None else {"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    mac = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


def claims(**changes: Any) -> dict[str, Any]:
    issued = now()
    base: dict[str, Any] = {"iss": "client-1", "sub": "user-1", "iat": issued, "exp": issued + 180, "qsh": CONTEXT_QSH}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def pyjwt_accepts(token: str) -> bool:
    try:
        jwt.decode(
            token,
            SECRET,
            algorithms=["HS256"],
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "exp", "iat", "qsh"], "verify_aud": False},
        )
    except jwt.PyJWTError:
        return False
    return True


def ours(token: str) -> VerifiedToken:
    return verify_hs256(token, secret_for=lambda issuer: SECRET if issuer == "client-1" else None, expected_qsh=None)


def ours_accepts(token: str) -> bool:
    try:
        ours(token)
    except AuthError:
        return False
    return True


CASES = {
    "valid": lambda: sign(claims()),
    "valid, no sub": lambda: sign(claims(sub=None)),
    "valid, float times": lambda: sign(claims(iat=now() + 0.5, exp=now() + 60.5)),
    "valid, nbf now": lambda: sign(claims(nbf=now())),
    "valid, kid": lambda: sign(claims(), header={"alg": "HS256", "kid": "k1"}),
    "exp inside leeway": lambda: sign(claims(exp=now() - LEEWAY_SECONDS + 5)),
    "exp past leeway": lambda: sign(claims(exp=now() - LEEWAY_SECONDS - 5)),
    "iat inside leeway": lambda: sign(claims(iat=now() + LEEWAY_SECONDS - 5)),
    "iat past leeway": lambda: sign(claims(iat=now() + LEEWAY_SECONDS + 60)),
    "nbf in the future": lambda: sign(claims(nbf=now() + 600)),
    "no exp": lambda: sign(claims(exp=None)),
    "no iat": lambda: sign(claims(iat=None)),
    "no qsh": lambda: sign(claims(qsh=None)),
    "null qsh": lambda: sign({**claims(), "qsh": None}),
    "exp not a number": lambda: sign(claims(exp="soon")),
    "sub not a string": lambda: sign(claims(sub=42)),
    "jti not a string": lambda: sign(claims(jti=7)),
    "kid not a string": lambda: sign(claims(), header={"alg": "HS256", "kid": 3}),
    "wrong secret": lambda: sign(claims(), secret="another-secret-" + "x" * 30),
    "alg none": lambda: jwt.encode(claims(), None, algorithm="none"),
    "alg HS512": lambda: jwt.encode(claims(), SECRET, algorithm="HS512"),
    "payload a list": lambda: sign([1, 2]),
    "header a list": lambda: sign(claims(), header=["HS256"]),
    "two segments": lambda: sign(claims()).rsplit(".", 1)[0],
    "four segments": lambda: sign(claims()) + ".x",
    "bad base64": lambda: "e$J.abc.def",
    "not JSON": lambda: b64(b'{"alg":"HS256"}') + "." + b64(b"not json") + ".c2ln",
    "signature of another token": lambda: ".".join(
        [*sign(claims()).split(".")[:2], sign(claims(sub="admin")).split(".")[2]]
    ),
    "padded segments": lambda: ".".join(part + "=" * (-len(part) % 4) for part in sign(claims()).split(".")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_accepts_exactly_what_pyjwt_accepts(case: str) -> None:
    token = CASES[case]()
    assert ours_accepts(token) == pyjwt_accepts(token), case


def raw_token(header: str, payload: str, secret: str = SECRET) -> str:
    """A token from JSON text as written (json.dumps would refuse or rewrite NaN, Infinity and deep nesting)."""
    head, body = b64(header.encode()), b64(payload.encode())
    mac = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


def claims_text(exp: str) -> str:
    issued = now()
    return f'{{"iss": "client-1", "sub": "user-1", "iat": {issued}, "exp": {exp}, "qsh": "{CONTEXT_QSH}"}}'


# Where ours is deliberately stricter than PyJWT: a time that is not a finite number never counts as one.
STRICTER = {
    "exp NaN": lambda: raw_token('{"alg": "HS256"}', claims_text("NaN")),
    "exp Infinity": lambda: raw_token('{"alg": "HS256"}', claims_text("Infinity")),
    "exp 1e400": lambda: raw_token('{"alg": "HS256"}', claims_text("1e400")),
    "exp a numeric string": lambda: sign(claims(exp=str(now() + 180))),
    "iat a boolean": lambda: sign(claims(iat=True)),
}


@pytest.mark.parametrize("case", sorted(STRICTER))
def test_times_that_are_not_finite_numbers_are_refused(case: str) -> None:
    with pytest.raises(AuthError):
        ours(STRICTER[case]())


def test_deeply_nested_json_is_a_malformed_token_not_a_crash() -> None:
    deep = "[" * 1500 + "]" * 1500  # deeper than the JSON decoder recurses, within the token length limit
    for token in (
        raw_token(f'{{"alg": "HS256", "x": {deep}}}', claims_text(str(now() + 180))),
        raw_token('{"alg": "HS256"}', f'{{"iss": "client-1", "x": {deep}}}'),
    ):
        with pytest.raises(AuthError, match="malformed token"):
            parse_token(token)
        with pytest.raises(AuthError):
            ours(token)


def test_valid_token_gives_issuer_user_context_and_claims() -> None:
    verified = ours(sign(claims(context={"confluence": {"content": {"id": "12"}}})))
    assert verified.client_key == "client-1" and verified.account_id == "user-1"
    assert verified.context == {"confluence": {"content": {"id": "12"}}}
    assert verified.claims == jwt.decode(
        sign(claims(context={"confluence": {"content": {"id": "12"}}})), SECRET, algorithms=["HS256"]
    )


def test_a_bad_signature_is_a_signature_error_for_the_cache_retry() -> None:
    with pytest.raises(SignatureError):
        ours(sign(claims(), secret="another-secret-" + "x" * 30))


def test_refusals_name_the_reason() -> None:
    reasons = {
        "exp past leeway": "token expired",
        "iat past leeway": "token not yet valid",
        "no qsh": "token lacks the qsh claim",
        "alg HS512": "token algorithm must be HS256",
        "bad base64": "malformed token",
    }
    for case, reason in reasons.items():
        with pytest.raises(AuthError, match=reason):
            ours(CASES[case]())


def test_qsh_kinds_are_not_interchangeable() -> None:
    module = sign(claims(qsh="a" * 64))
    with pytest.raises(AuthError, match="context token is required"):
        ours(module)
    check = lambda token, expected: verify_hs256(  # noqa: E731
        token, secret_for=lambda _: SECRET, expected_qsh=lambda: expected
    )
    assert check(module, "a" * 64).account_id == "user-1"
    with pytest.raises(AuthError, match="does not match"):
        check(module, "b" * 64)
    with pytest.raises(AuthError, match="not accepted here"):
        check(sign(claims()), "a" * 64)


def test_oversized_and_empty_tokens_are_refused_before_decoding() -> None:
    for token in ("", "a" * 9000):
        with pytest.raises(AuthError, match="missing or oversized"):
            parse_token(token)


def test_unverified_issuer_checks_the_algorithm() -> None:
    assert unverified_issuer(sign(claims()), "HS256") == "client-1"
    with pytest.raises(AuthError, match="must be RS256"):
        unverified_issuer(sign(claims()), "RS256")
