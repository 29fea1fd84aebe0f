"""Injected trouble: latency on every call, and rules that answer 429/5xx or drop the connection.

`POST /_sandbox/faults` replaces the whole plan, e.g.
`{"latencyMs": 100, "rules": [{"pathPrefix": "/wiki/rest/api/content", "status": 429, "count": 2,
"retryAfter": 1, "method": "GET"}]}`. A rule without `count` fires until the plan is reset; one with
`"dropConnection": true` closes the socket without answering (no status needed).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

FAULT_STATUSES = frozenset({429, 500, 502, 503})
_MESSAGES = {
    429: "Rate limit exceeded. Try again later.",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable. Try again later.",
}


@dataclass
class FaultRule:
    path_prefix: str
    status: int | None
    count: int | None
    retry_after: int | None
    method: str | None
    drop_connection: bool

    @property
    def message(self) -> str:
        return _MESSAGES.get(self.status or 0, "")

    def to_json(self) -> dict[str, Any]:
        return {
            "pathPrefix": self.path_prefix,
            "status": self.status,
            "count": self.count,
            "retryAfter": self.retry_after,
            "method": self.method,
            "dropConnection": self.drop_connection,
        }


@dataclass
class FaultPlan:
    latency_ms: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def replace(self, payload: Any) -> None:
        """Install a new plan from the control API's JSON (ValueError with a clear message when invalid)."""
        latency, rules = parse_plan(payload)
        with self._lock:
            self.latency_ms, self.rules = latency, rules

    def reset(self) -> None:
        with self._lock:
            self.latency_ms, self.rules = 0, []

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first rule matching this request, counting it down (a spent rule disappears)."""
        with self._lock:
            for rule in self.rules:
                if not path.startswith(rule.path_prefix):
                    continue
                if rule.method and rule.method != method.upper():
                    continue
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self.rules.remove(rule)
                return rule
            return None

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"latencyMs": self.latency_ms, "rules": [rule.to_json() for rule in self.rules]}


def _optional_int(rule: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = rule.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{key} must be an integer from {low} to {high}")
    return value


def parse_plan(payload: Any) -> tuple[int, list[FaultRule]]:
    if not isinstance(payload, dict):
        raise ValueError("body must be a JSON object")
    latency = _optional_int(payload, "latencyMs", 0, 60_000) or 0
    raw_rules = payload.get("rules", [])
    if not isinstance(raw_rules, list):
        raise ValueError("rules must be a list")
    rules = []
    for raw in raw_rules:
        if not isinstance(raw, dict):
            raise ValueError("each rule must be an object")
        prefix = raw.get("pathPrefix", "/")
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise ValueError("pathPrefix must be a path starting with /")
        drop = bool(raw.get("dropConnection", False))
        status = _optional_int(raw, "status", 100, 599)
        if not drop and status not in FAULT_STATUSES:
            raise ValueError(f"status must be one of {sorted(FAULT_STATUSES)} (or set dropConnection)")
        method = raw.get("method")
        if method is not None and (not isinstance(method, str) or not method.isalpha()):
            raise ValueError("method must be an HTTP method name")
        rules.append(
            FaultRule(
                path_prefix=prefix,
                status=status,
                count=_optional_int(raw, "count", 1, 1_000_000),
                retry_after=_optional_int(raw, "retryAfter", 0, 3600),
                method=method.upper() if method else None,
                drop_connection=drop,
            )
        )
    return latency, rules
