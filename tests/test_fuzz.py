"""Property-based fuzzing of the iframe API from its OpenAPI description (schemathesis + Hypothesis), against a
stack of its own (the app and the sandbox over real HTTP) with valid tokens of a site admin.

Whatever is generated — valid and invalid bodies, odd path and query values, unicode of every class — the app
answers below 500, and every error has the `{"error": {"code", "message", "details"}}` shape.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from limits import parse

from tests.stack import LiveStack, running_stack
from views import ratelimit
from views.openapi import SPEC

ADMIN = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"
EXAMPLES_PER_OPERATION = 200
MIN_REQUESTS = 2000

schema = schemathesis.openapi.from_dict(SPEC)
SEEN: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    before = dict(ratelimit.POLICIES)
    for name in before:  # the fuzzer is one user sending thousands of requests: limits would hide the handlers
        ratelimit.POLICIES[name] = ratelimit.Policy(parse("1000000/minute"), parse("1000000/minute"))
    try:
        with running_stack(tmp_path_factory.mktemp("fuzz")) as stack:
            yield stack
    finally:
        ratelimit.POLICIES.update(before)


class Tokens:
    """A fresh context token now and then (they live a few minutes)."""

    def __init__(self, stack: LiveStack) -> None:
        self.stack, self.token, self.at = stack, "", 0.0

    def header(self) -> dict[str, str]:
        if time.monotonic() - self.at > 60:
            self.token, self.at = self.stack.context_token(ADMIN), time.monotonic()
        return {"Authorization": f"JWT {self.token}"}


@pytest.fixture(scope="module")
def tokens(fuzz_stack: LiveStack) -> Tokens:
    return Tokens(fuzz_stack)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,  # the same inputs on every run: a failure here is reproducible
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_the_api_fail(case: schemathesis.Case, fuzz_stack: LiveStack, tokens: Tokens) -> None:
    with requests.Session() as session:
        response = case.call(base_url=fuzz_stack.app_url, session=session, headers=tokens.header(), timeout=60)
    SEEN[case.operation.label] += 1
    STATUSES[response.status_code] += 1
    assert response.status_code < 500, (case.operation.label, response.status_code, response.text[:500])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message", "details"}, error
        assert isinstance(error["message"], str) and error["message"] and "Traceback" not in error["message"]


def test_the_fuzz_run_was_big_enough() -> None:
    total = sum(SEEN.values())
    print(f"fuzzed {total} requests over {len(SEEN)} operations; statuses {dict(sorted(STATUSES.items()))}")
    assert len(SEEN) == sum(len(item) for item in SPEC["paths"].values())
    assert total >= MIN_REQUESTS, dict(SEEN)


def test_oversized_and_malformed_bodies_are_answered_in_the_error_shape(fuzz_stack: LiveStack, tokens: Tokens) -> None:
    url = f"{fuzz_stack.app_url}/api/send"
    cases = [
        b"x" * (2 * 1024 * 1024),
        b"[" * 200_000,
        b'{"contentId": "1", "to": [' + b"{}," * 100_000 + b"{}]}",
        '{"subject": "\u2028\u0085\ufeff\udcff"}'.encode("utf-8", "surrogatepass"),
        b"\xff\xfe\x00{",
    ]
    for body in cases:
        headers = {**tokens.header(), "Content-Type": "application/json"}
        response = requests.post(url, data=body, headers=headers, timeout=60)
        assert 400 <= response.status_code < 500, (body[:40], response.status_code, response.text[:300])
        assert set(response.json()["error"]) == {"code", "message", "details"}


def test_the_description_is_what_the_app_serves(fuzz_stack: LiveStack) -> None:
    served = requests.get(f"{fuzz_stack.app_url}/api/openapi.json", timeout=30).json()
    assert served == SPEC
