"""Production serving: `gunicorn -c deploy/gunicorn.conf.py` (the container's command).

Threaded workers, because a send spends its time waiting on Confluence and the mail server, not on the CPU:
gunicorn's gthread worker, recycled and stopped without dropping a connection (deploy/gunicorn_worker.py).
Timeouts follow the app's 90 s budget per user action: a send in flight finishes on SIGTERM (deploys,
scale-in) and no connection is cut under it by the load balancer. The access log has no client address
and no query string (module URLs carry `?jwt=`).

Environment: PORT (8000), WEB_CONCURRENCY (workers; default 2 per core, at most 8), GUNICORN_THREADS (8),
FORWARDED_ALLOW_IPS (proxies trusted for X-Forwarded-Proto), GUNICORN_LOG_LEVEL (info).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# gunicorn reads this file before it changes directory; the logger class below lives in the repository.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from deploy import gunicorn_errors  # noqa: E402
from deploy.gunicorn_logging import ACCESS_LOG_FORMAT, PrivacyLogger, server_logs_requests  # noqa: E402
from deploy.gunicorn_worker import (  # noqa: E402
    DrainingThreadWorker,
    account_for_worker,
    count_changed,
    replace_all,
    replacement_booted,
)

gunicorn_errors.install()  # requests gunicorn refuses itself get the API's JSON error shape

APP_PACKAGES = ("connect", "confluence", "forge", "mail", "models", "views")


def import_app_modules() -> None:
    """The app's modules, imported once in the master before it forks (no app is built here): a worker then
    boots in ~10 ms instead of ~0.6 s, so replacing one costs next to nothing. A module that needs a package
    the image doesn't have is left to the worker, as before."""
    importlib.import_module("app")
    for name in APP_PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            try:
                importlib.import_module(module.name)
            except ImportError:
                continue


import_app_modules()

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
# Each worker builds its own app (its own DB pool, HTTP pool, KMS client), none shared across fork; only the
# modules are imported before the fork (import_app_modules). An unsafe APP_ENV=production setting raises
# ConfigError in the worker, which exits with gunicorn's boot-error code, and the master stops instead of
# respawning workers in a loop. (So a SIGHUP reloads this file but not the code: deploys replace the container.)
preload_app = False

bind = [f"0.0.0.0:{env_int('PORT', 8000, 1, 65535)}"]  # all interfaces: inside a container, behind the ALB
worker_class = DrainingThreadWorker
workers = env_int("WEB_CONCURRENCY", min(2 * cores(), MAX_WORKERS), 1, 64)
threads = env_int("GUNICORN_THREADS", 8, 1, 64)

# Longer than the longest send (the app's budget per action is 90 s).
timeout = 120
# SIGTERM: stop accepting, let sends in flight finish (below ECS's stopTimeout of 120 s in the template).
graceful_timeout = 100
# Longer than the ALB's idle timeout (100 s in the template), so the ALB, not us, closes idle connections:
# otherwise a request can race our close and the client gets a 502.
keepalive = 105
# Recycle a worker after 100,000 requests (+ up to 10 %): a safety net for slow leaks in libraries, hours apart
# at production rates. It costs no connection and no wait: the replacement boots first (in ~10 ms, the modules
# being imported already), then the old worker drains (deploy/gunicorn_worker.py). Every 10,000 requests cost
# 10-20 % of the throughput of one saturated core (bench/load_bench.py). The jitter keeps the workers from asking
# together. `--max-requests N` on the command line overrides it (0: never).
max_requests = 100000
max_requests_jitter = 10000
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


def post_worker_init(worker: Any) -> None:
    # The access line is the request's one log line: the app hands it its route, tenant and error code (without an
    # access log, the app keeps writing its own line).
    if worker.cfg.accesslog:
        worker.wsgi = server_logs_requests(worker.wsgi)
    replacement_booted(worker)


def pre_fork(arbiter: Any, worker: Any) -> None:
    # A worker forked for an ask that a reload voided owes the master its SIGTTOU like any replacement.
    account_for_worker(arbiter)


def on_reload(arbiter: Any) -> None:
    # SIGHUP: the master resets its worker count to the configured one (a replacement asked for is void) and
    # replaces every worker.
    replace_all(arbiter)


def nworkers_changed(arbiter: Any, new_value: int, old_value: int | None) -> None:
    # A replacement's SIGTTOU: the worker it replaces is marked as replaced and stopped; none goes below the count.
    count_changed(arbiter, new_value, old_value)
