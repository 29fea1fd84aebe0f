"""The query string hash (qsh): Atlassian's canonical request, hashed with SHA-256.

canonical request = METHOD '&' canonical-URI '&' canonical-query (see the Connect JWT docs).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from urllib.parse import quote, unquote, urlsplit

CONTEXT_QSH = "context-qsh"
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def percent_encode(value: str) -> str:
    # RFC 3986 unreserved characters stay; everything else is %XX with upper-case hex (space → %20, * → %2A).
    if _UNRESERVED.fullmatch(value):
        return value  # most names and values: nothing to encode
    return quote(value, safe="-_.~")


def canonical_uri(path: str, base_path: str = "") -> str:
    """The path relative to the base (context) path, '&' encoded, no trailing slash, never empty."""
    path = path or "/"
    base_path = base_path.rstrip("/")
    if base_path and (path == base_path or path.startswith(base_path + "/")):
        path = path[len(base_path) :]
    path = path.replace("&", "%26")
    if len(path) > 1:
        path = path.rstrip("/")
    if not path.startswith("/"):
        path = "/" + path
    return path


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """Sorted by encoded name; repeated values sorted, encoded and comma-joined; `jwt` ignored.

    Values are sorted before encoding (".1" before ":1"), as Atlassian's reference implementation does;
    a valueless parameter is written `name=`.
    """
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        if name == "jwt":
            continue
        grouped.setdefault(percent_encode(name), []).append(value)
    return "&".join(
        f"{name}={','.join(percent_encode(v) for v in sorted(values))}" for name, values in sorted(grouped.items())
    )


def _unquote_plus(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    return unquote(text) if "%" in text else text


def iter_query(query_string: str, skip: str | None = None) -> Iterator[tuple[str, str]]:
    """`urllib.parse.parse_qsl(query, keep_blank_values=True)`, lazily: '+' means space, valueless parameters
    count with an empty value, empty parts are skipped. Parameters named `skip` are left out undecoded (the qsh
    ignores `jwt`, the longest value)."""
    for part in query_string.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = _unquote_plus(name)
        if name != skip:
            yield name, _unquote_plus(value)


def parse_query(query_string: str) -> list[tuple[str, str]]:
    return list(iter_query(query_string))


def canonical_request(method: str, path: str, query: Iterable[tuple[str, str]] | str, base_path: str = "") -> str:
    params = iter_query(query, skip="jwt") if isinstance(query, str) else query
    return f"{method.upper()}&{canonical_uri(path, base_path)}&{canonical_query(params)}"


def qsh(method: str, path: str, query: Iterable[tuple[str, str]] | str, base_path: str = "") -> str:
    return hashlib.sha256(canonical_request(method, path, query, base_path).encode("utf-8")).hexdigest()


def qsh_for_url(method: str, url: str, base_url: str = "") -> str:
    """qsh of an absolute (or root-relative) URL, relative to `base_url`'s path."""
    parts = urlsplit(url)
    return qsh(method, parts.path, parts.query, urlsplit(base_url).path if base_url else "")
