"""The Confluence REST client: timeouts, retries, a time and call budget, redirects, for either door.

Retry policy (in the spirit of urllib3's Retry): 429 and 503 wait for `Retry-After` (any method: the request was
not processed); other 5xx and connection errors are retried only for idempotent calls, with capped exponential
backoff and full jitter; nothing waits beyond the action's time budget. Redirects are followed by hand so that the
`Authorization` header never travels to another host (attachment downloads redirect to a media host).

What differs between the doors is only where the site's REST API is and how a call is authorised: the door hands
the client a `Credentials` (Connect: the tenant's base URL with an app JWT or an impersonation token; Forge: the
invocation's `apiBaseUrl` with the app system or user token). mail/ and views/ see only `RestClient`.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests

from confluence.hosts import host_allowed
from errors import ForbiddenError, NotFoundError, RateLimitedError, UpstreamError, ValidationError

log = logging.getLogger(__name__)
# Debug lines keep the route's shape and nothing else: a segment that is not a lower-case REST word (an id, an
# account, a group UUID, a space key, a media token) becomes a placeholder.
ROUTE_WORD = re.compile(r"[a-z][A-Za-z_-]{0,23}")


def route_shape(url: str) -> str:
    segments = urlsplit(url).path.split("/")
    return "/".join(s if not s or ROUTE_WORD.fullmatch(s) else "{id}" for s in segments)


IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# Where Confluence Cloud sends attachment downloads (CONFLUENCE_MEDIA_HOSTS); redirects anywhere else are refused.
DEFAULT_MEDIA_HOSTS = "api.media.atlassian.com,*.media.atlassian.com"


class Credentials(Protocol):
    """What a door supplies for one identity's calls: where the site's REST API is and how a call is authorised.

    `base_url` is what REST paths (`rest/api/...`) are appended to. `authorization` is asked once per attempt and
    only for URLs on that base URL's origin. `refused` is told when Confluence answered 401: the door forgets what it
    cached and says whether one more attempt can help.
    """

    @property
    def base_url(self) -> str: ...

    def authorization(self, method: str, url: str) -> str: ...

    def refused(self) -> bool: ...


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    backoff_base: float = 0.25
    backoff_cap: float = 4.0
    max_retry_after: float = 30.0
    connect_timeout: float = 3.05
    read_timeout: float = 20.0

    def backoff(self, attempt: int) -> float:
        # Full jitter: spreads retries of many clients hit by the same outage.
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1))))


# The most Confluence calls one user action may make (retries count): a large send needs a few hundred.
MAX_CALLS_PER_ACTION = 2000
# A path segment we build from an id: no "/", "?", "#", "%" or dot segments can reach another endpoint.
SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_:@~-][A-Za-z0-9_.:@~-]*")


class Deadline:
    """The time and call budget of one user action (a send, a preview), shared by all its calls and threads."""

    def __init__(self, seconds: float, max_calls: int = MAX_CALLS_PER_ACTION) -> None:
        self.ends_at = time.monotonic() + seconds
        self.max_calls = max_calls
        self.calls = 0
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.ends_at - time.monotonic()

    def spend_call(self) -> None:
        with self._lock:
            self.calls += 1
            if self.calls > self.max_calls:
                raise ValidationError(
                    f"This would need more than {self.max_calls} calls to Confluence; pick fewer recipients",
                    code="action_too_large",
                    details={"maxCalls": self.max_calls},
                )


def check_path(path: str) -> str:
    """A REST path relative to the site, built from ids: every segment plain, so no id can redirect the call."""
    segments = path.lstrip("/").split("/")
    if not all(SAFE_SEGMENT.fullmatch(segment) and segment not in (".", "..") for segment in segments):
        raise ValidationError("An id in the request is not valid", code="invalid_id")
    return path


@dataclass(frozen=True)
class Download:
    data: bytes | bytearray
    content_type: str


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _read_body(response: requests.Response, size: int | None, max_bytes: int) -> bytearray:
    """The body in one buffer (no list of chunks to join). With a declared length the buffer is allocated at that
    size and filled in place: a growing buffer is reallocated as it grows, and holds up to twice its bytes while it
    is copied. (A body with a content encoding may decode to more than it declared; it then grows past it.)"""
    data = bytearray(min(size, max_bytes)) if size else bytearray()
    view = memoryview(data)
    filled = 0
    try:
        for chunk in response.iter_content(64 * 1024):
            end = filled + len(chunk)
            if end > max_bytes:
                raise UpstreamError("the attachment is larger than allowed", code="attachment_too_large")
            if end <= len(data):
                view[filled:end] = chunk
            else:
                view.release()  # a buffer with an export cannot be resized
                del data[filled:]
                data += chunk
                view = memoryview(data)
            filled = end
    finally:
        view.release()
    del data[filled:]  # a body shorter than it declared (urllib3 normally refuses those)
    return data


class RestClient:
    """One site, one identity (the app or a user), as the door's credentials say."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        session: requests.Session,
        policy: RetryPolicy | None = None,
        deadline: Deadline | None = None,
        debug: bool = False,
        media_hosts: str = DEFAULT_MEDIA_HOSTS,
        allow_insecure: bool = False,
    ) -> None:
        self.credentials = credentials
        self.session = session
        self.policy = policy or RetryPolicy()
        self.deadline = deadline or Deadline(60.0)
        self.base_url = credentials.base_url.rstrip("/")
        self.base_origin = _origin(self.base_url)
        self.media_hosts = media_hosts
        self.allow_insecure = allow_insecure
        # An admin's temporary debug logging: one line per call, with no user data (no query, no ids, no bodies).
        self.debug = debug

    # -- public calls -------------------------------------------------------------------------------------------
    def get_json(self, path: str, params: Any = None) -> Any:
        return _json(self.request("GET", path, params=params))

    def post_json(self, path: str, body: Any, params: Any = None, *, idempotent: bool = False) -> Any:
        return _json(self.request("POST", path, params=params, json=body, idempotent=idempotent))

    def download(self, path: str, max_bytes: int) -> Download:
        """Fetch a binary (an attachment), refusing anything larger than `max_bytes`."""
        response = self.request("GET", path, stream=True)
        try:
            declared = response.headers.get("Content-Length")
            size = int(declared) if declared and declared.isdigit() else None
            if size is not None and size > max_bytes:
                raise UpstreamError("the attachment is larger than allowed", code="attachment_too_large")
            data = _read_body(response, size, max_bytes)
        except requests.RequestException:
            raise UpstreamError("Confluence broke off a download", code="confluence_unavailable") from None
        finally:
            response.close()
        content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
        return Download(data, content_type)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        idempotent: bool | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send with retries and manual redirects; answer the final response or raise a named error."""
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        path = check_path(path)
        url = requests.Request(method, self.base_url + "/" + path.lstrip("/"), params=params).prepare().url
        assert url is not None
        renewed = False
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send_with_retries(method, url, json, idempotent, stream)
            if response.status_code == 401 and not renewed and self.credentials.refused():
                # A cached credential Confluence no longer accepts: the door dropped it; once more with a fresh one.
                response.close()
                renewed = True
                response = self._send_with_retries(method, url, json, idempotent, stream)
            if response.status_code not in REDIRECT_STATUSES:
                return _raise_for_status(response)
            location = response.headers.get("Location")
            response.close()
            if not location:
                raise UpstreamError("Confluence sent a redirect without a location", code="confluence_unavailable")
            url = urljoin(url, location)
            if urlsplit(url).scheme not in ("http", "https") or not self._may_follow(url):
                raise UpstreamError("Confluence redirected to an unsupported URL", code="confluence_unavailable")
            if response.status_code == 303:
                method, json = "GET", None
        raise UpstreamError("Confluence redirected too often", code="confluence_unavailable")

    # -- internals ----------------------------------------------------------------------------------------------
    def _may_follow(self, url: str) -> bool:
        """Redirects stay on the site's own API origin or go to the media hosts attachment downloads use."""
        if _origin(url) == self.base_origin:
            return True
        return host_allowed(url, self.media_hosts, self.allow_insecure)

    def _headers(self, method: str, url: str) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "pagemail"}
        if _origin(url) != self.base_origin:
            return headers  # never send our credentials to another host
        headers["Authorization"] = self.credentials.authorization(method, url)
        return headers

    def _send_with_retries(self, method: str, url: str, json: Any, idempotent: bool, stream: bool) -> requests.Response:
        policy = self.policy
        attempt = 0
        while True:
            attempt += 1
            self.deadline.spend_call()
            remaining = self.deadline.remaining()
            if remaining <= 0:
                raise UpstreamError("Confluence did not answer in time", code="confluence_timeout")
            timeout = (min(policy.connect_timeout, remaining), min(policy.read_timeout, remaining))
            try:
                response = self.session.request(
                    method,
                    url,
                    json=json,
                    headers=self._headers(method, url),
                    timeout=timeout,
                    allow_redirects=False,
                    stream=stream,
                )
            except requests.Timeout:
                if idempotent and self._pause(attempt, policy.backoff(attempt)):
                    continue
                raise UpstreamError("Confluence did not answer in time", code="confluence_timeout") from None
            except requests.RequestException:
                if idempotent and self._pause(attempt, policy.backoff(attempt)):
                    continue
                raise UpstreamError("Confluence is unreachable", code="confluence_unavailable") from None
            status = response.status_code
            if self.debug:
                log.info(
                    "confluence call",
                    extra={
                        "event": "confluence_call",
                        "method": method,
                        "status": status,
                        "route": route_shape(url),
                        "attempt": attempt,
                    },
                )
            if status in (429, 503):
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                if wait is None:
                    wait = policy.backoff(attempt)
                if wait <= policy.max_retry_after and self._pause(attempt, wait):
                    response.close()
                    continue
                return response
            if status >= 500 and idempotent and self._pause(attempt, policy.backoff(attempt)):
                response.close()
                continue
            return response

    def _pause(self, attempt: int, seconds: float) -> bool:
        """Sleep before another attempt if attempts and the time budget allow it."""
        if attempt >= self.policy.max_attempts or seconds >= self.deadline.remaining():
            return False
        time.sleep(seconds)
        return True


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _raise_for_status(response: requests.Response) -> requests.Response:
    status = response.status_code
    if status < 400:
        return response
    response.close()
    if status == 404:
        raise NotFoundError("Confluence could not find it, or you may not see it", code="confluence_not_found")
    if status == 403:
        raise ForbiddenError("Confluence does not allow you to do this", code="confluence_forbidden")
    if status == 401:
        raise UpstreamError("Confluence refused the app's credentials", code="confluence_unauthorized")
    if status == 429:
        raise RateLimitedError("Confluence is busy (rate limited); try again shortly", code="confluence_rate_limited")
    if status >= 500:
        raise UpstreamError(f"Confluence failed to answer ({status})", code="confluence_unavailable")
    raise UpstreamError(f"Confluence rejected the request ({status})", code="confluence_bad_request")


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise UpstreamError("Confluence sent an unreadable answer", code="confluence_bad_answer") from None
