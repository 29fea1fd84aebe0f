"""Production serving: `gunicorn -c deploy/gunicorn.conf.py` (the container's command).

Threaded workers, because a send spends its time waiting on Confluence and the mail server, not on the CPU.
Timeouts follow the app's 90 s budget per user action: a send in flight finishes on SIGTERM (deploys,
scale-in) and no connection is cut under it by the load balancer. The access log has no client address
and no query string (module URLs carry `?jwt=`).

Environment: PORT (8000), WEB_CONCURRENCY (workers; default 2 per core, at most 8), GUNICORN_THREADS (8),
FORWARDED_ALLOW_IPS (proxies trusted for X-Forwarded-Proto), GUNICORN_LOG_LEVEL (info).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# gunicorn reads this file before it changes directory; the logger class below lives in the repository.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from deploy import gunicorn_errors  # noqa: E402
from deploy.gunicorn_logging import ACCESS_LOG_FORMAT, PrivacyLogger  # noqa: E402

gunicorn_errors.install()  # requests gunicorn refuses itself get the API's JSON error shape

MAX_WORKERS = 8


def env_int(name: str, default: int, low: int, high: int) -> int:
    """A whole number from the environment; a bad value stops the boot with a message naming the variable."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {text!r}")
    return int(text)


def cores() -> int:
    # The CPUs this process may run on (a container's cpuset), not every CPU of the host.
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


wsgi_app = "app:create_app()"
chdir = str(ROOT)
# Each worker builds its own app (its own DB pool, HTTP pool, KMS client), none shared across fork. An unsafe
# APP_ENV=production setting raises ConfigError in the worker, which exits with gunicorn's boot-error code,
# and the master stops instead of respawning workers in a loop.
preload_app = False

bind = [f"0.0.0.0:{env_int('PORT', 8000, 1, 65535)}"]  # all interfaces: inside a container, behind the ALB
worker_class = "gthread"
workers = env_int("WEB_CONCURRENCY", min(2 * cores(), MAX_WORKERS), 1, 64)
threads = env_int("GUNICORN_THREADS", 8, 1, 64)

# Longer than the longest send (the app's budget per action is 90 s).
timeout = 120
# SIGTERM: stop accepting, let sends in flight finish (below ECS's stopTimeout of 120 s in the template).
graceful_timeout = 100
# Longer than the ALB's idle timeout (100 s in the template), so the ALB, not us, closes idle connections:
# otherwise a request can race our close and the client gets a 502.
keepalive = 105
# Recycle workers now and then (slow leaks in libraries), but rarely: a restart rebuilds the app and closes
# the worker's keep-alive connections. The jitter keeps the workers from restarting together.
max_requests = 10000
max_requests_jitter = 1000
# Module URLs carry context parameters and a JWT in the query; the ALB accepts long request lines too.
limit_request_line = 8190

# Only the ALB reaches the tasks (security groups), so its X-Forwarded-Proto is trusted; locally, loopback.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# The heartbeat file on tmpfs: a container's overlay filesystem can stall it and get workers killed.
SHARED_MEMORY = Path("/dev/shm")  # noqa: S108 (gunicorn's documented choice; nothing secret is written)
if SHARED_MEMORY.is_dir():
    worker_tmp_dir = str(SHARED_MEMORY)

proc_name = "pagemail"
logger_class = PrivacyLogger
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
errorlog = "-"
accesslog = "-"
access_log_format = ACCESS_LOG_FORMAT
