"""Atlassian's query string hash (qsh): the canonical request and its SHA-256, as Confluence computes it.

The sandbox keeps its own copy (it never imports the app) so that a bug in the app's canonicalisation
shows up as a failed request instead of being mirrored on both sides.

Rules (Atlassian's JWT documentation and its reference libraries):
- method upper-cased;
- path relative to the product's (or app's) base path, `/` when empty, no trailing slash,
  `&` percent-encoded as `%26`;
- query parameters decoded (`+` is a space), the `jwt` parameter dropped, keys sorted by code point,
  repeated keys joined with `,` after sorting their values, keys and values percent-encoded the
  RFC 3986 way (`%20` for a space, upper-case hex, only `A-Z a-z 0-9 - . _ ~` left as is), and every
  parameter written as `key=value`, even when the value is empty.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlsplit

CONTEXT_QSH = "context-qsh"
_UNRESERVED = "-._~"


def percent_encode(value: str) -> str:
    """RFC 3986 encoding of one key or value (UTF-8, upper-case hex, `%20` for spaces)."""
    return quote(value, safe=_UNRESERVED)


def parse_query(query_string: str) -> list[tuple[str, str]]:
    """Decoded (key, value) pairs in order; a key without `=` has the value ``""``."""
    return parse_qsl(query_string, keep_blank_values=True)


def canonical_uri(path: str | None, base_path: str = "") -> str:
    """The path relative to `base_path` (a context path such as `/wiki`), as the canonical request wants it."""
    path = path or "/"
    base = base_path.rstrip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base) :]
    if not path.startswith("/"):
        path = "/" + path
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path.replace("&", "%26")


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """Sorted, merged and encoded parameters, without `jwt`."""
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        if key == "jwt":
            continue
        grouped.setdefault(key, []).append(value)
    parts = []
    for key in sorted(grouped):
        values = ",".join(percent_encode(value) for value in sorted(grouped[key]))
        parts.append(f"{percent_encode(key)}={values}")
    return "&".join(parts)


def canonical_request(method: str, path: str | None, query_string: str = "", base_path: str = "") -> str:
    """`METHOD&uri&query` for a raw (still encoded) path and query string."""
    return "&".join((method.upper(), canonical_uri(path, base_path), canonical_query(parse_query(query_string))))


def canonical_request_for_url(method: str, url: str, base_url: str = "") -> str:
    """The canonical request of an absolute or relative URL, relative to `base_url`'s path."""
    parts = urlsplit(url)
    return canonical_request(method, parts.path, parts.query, urlsplit(base_url).path if base_url else "")


def qsh_of(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def query_string_hash(method: str, path: str | None, query_string: str = "", base_path: str = "") -> str:
    """The qsh claim for a request."""
    return qsh_of(canonical_request(method, path, query_string, base_path))
