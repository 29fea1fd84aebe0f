"""The https session for token endpoints: the system CA store (or REQUESTS_CA_BUNDLE), a timeout, and a record of
the provider's last answer (status, Retry-After, body), which the libraries don't hand back on failure."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests

TIMEOUT = (5.0, 15.0)
# The longest one token call can take (connect, then read; MSAL makes two: discovery and token).
WORST_CASE_FETCH = 2 * sum(TIMEOUT)
MIN_TIMEOUT = 0.5


@dataclass
class Answer:
    status: int
    retry_after: float | None
    body: dict[str, Any] | None


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), as the provider said (the caller caps only
    its own wait)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds)


class RecordingSession(requests.Session):
    """A requests session that remembers the last answer; `verify` is the CA bundle (True: the system store);
    `remaining` is the action's time left, which no request outlasts."""

    def __init__(self, ca_bundle: str | None = None, remaining: Callable[[], float] | None = None) -> None:
        super().__init__()
        self.verify = ca_bundle or True
        self.trust_env = False  # no proxies or CA bundles from the environment beyond the one passed in
        self.last: Answer | None = None
        self.remaining = remaining

    def timeout(self) -> tuple[float, float]:
        """Seconds for connect and read: a token call gets seconds (libraries pass minutes), never past the budget."""
        if self.remaining is None:
            return TIMEOUT
        left = self.remaining()
        if left < MIN_TIMEOUT:
            raise requests.Timeout("the action's time budget is spent")
        return min(TIMEOUT[0], left), min(TIMEOUT[1], left)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["timeout"] = self.timeout()
        kwargs["allow_redirects"] = False  # a token endpoint never redirects; a redirect would carry the secret
        response = super().request(method, url, *args, **kwargs)
        try:
            body = response.json()
        except (json.JSONDecodeError, ValueError):
            body = None
        self.last = Answer(
            response.status_code,
            retry_after(response.headers.get("Retry-After")),
            body if isinstance(body, dict) else None,
        )
        return response
