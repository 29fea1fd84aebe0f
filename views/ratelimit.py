"""Rate limits per user and per tenant (the `limits` library that Flask-Limiter is built on).

Checked inside the views, after authentication, because the keys are the authenticated tenant and user; the
storage is Redis when REDIS_URL is set (shared by all instances), memory otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from errors import RateLimitedError
from identity import Identity


@dataclass(frozen=True)
class Policy:
    per_user: RateLimitItem
    per_tenant: RateLimitItem


POLICIES = {
    "send": Policy(parse("20/minute"), parse("300/minute")),
    "preview": Policy(parse("60/minute"), parse("600/minute")),
    "recipients": Policy(parse("300/minute"), parse("6000/minute")),
    "read": Policy(parse("120/minute"), parse("3000/minute")),
    "admin": Policy(parse("120/minute"), parse("600/minute")),
}


def install_rate_limits(app: Flask) -> None:
    storage = storage_from_string(app.config.get("REDIS_URL") or "memory://")
    app.extensions["pagemail.ratelimit"] = MovingWindowRateLimiter(storage)


def enforce(action: str, identity: Identity) -> None:
    limiter: MovingWindowRateLimiter = current_app.extensions["pagemail.ratelimit"]
    policy = POLICIES[action]
    tenant = str(identity.tenant.id)
    checks = (
        (policy.per_user, (action, "user", tenant, identity.account_id or "-")),
        (policy.per_tenant, (action, "tenant", tenant)),
    )
    for item, key in checks:
        if not limiter.hit(item, *key):
            reset = limiter.get_window_stats(item, *key).reset_time
            raise RateLimitedError(
                "Too many requests; please wait a moment and try again", details={"retryAt": int(reset)}
            )
