"""Host allowlists (`host[:port]` patterns, comma-separated): tenant sites, Forge API hosts and media hosts."""

from __future__ import annotations

import fnmatch
from urllib.parse import urlsplit


def host_allowed(base_url: str, patterns: str, allow_insecure: bool) -> bool:
    """Whether the URL is https (or http when insecure hosts are allowed) on a host the patterns name."""
    parts = urlsplit(base_url)
    if parts.scheme != "https" and not (allow_insecure and parts.scheme == "http"):
        return False
    if not parts.hostname or parts.username or parts.password:
        return False
    host = parts.hostname.lower()
    host_port = f"{host}:{parts.port}" if parts.port else host
    for pattern in (p.strip().lower() for p in patterns.split(",")):
        if not pattern:
            continue
        if ":" in pattern:
            if fnmatch.fnmatchcase(host_port, pattern):
                return True
        elif parts.port is None and fnmatch.fnmatchcase(host, pattern):
            return True
    return False
