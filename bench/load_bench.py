"""Load benchmark: the production server (gunicorn, deploy/gunicorn.conf.py) against atlassian-connect-express.

    python -m bench.load_bench [--seconds 30] [--connections 16,64] [--rounds 2] [--all-cores-seconds 15]
                               [--sends 50] [--no-ace] [--no-ace-memory]

1. Per core, like with like: pagemail's production configuration with ONE gunicorn worker against ONE
   atlassian-connect-express (ACE) 11.5.3 node process, both pinned to CPU 0 (`taskset -c 0`), `wrk` pinned to
   CPU 1, serving the same JWT-checked request: the send dialog's module URL as the sandbox signs it (HS256, qsh;
   a module token is valid for 180 s, so every run gets a fresh one). ACE runs with its default store (Sequelize
   on an in-memory SQLite, what `ace()` uses without a store setting) and, as a reference, with a plain in-memory
   store (a Map). Runs alternate (pagemail, ACE, ACE in memory, pagemail, ...) for each connection count, so other
   work on the machine weighs on all of them. Each run reports req/s, p50, p99, socket errors (wrk's connect, read,
   write and timeout errors), non-2xx answers, and req per CPU-second: requests divided by the CPU time the
   server's own processes used during the run (from /proc), a per-core figure other work on the machine hardly
   moves.
2. All cores: pagemail's default worker count (2 per core) against an ACE node cluster (one process per core),
   default store, nothing pinned.
3. Concurrent sends: N `POST /api/send` at once (context tokens from the sandbox), then every mail counted in the
   sandbox's mail catcher: each send delivered exactly once, each Message-ID once.

The load generator is `wrk` (Debian: `apt-get install wrk`; `make bench` installs it when it can), else a bounded
Python generator (not pinned). ACE and its SQLite driver come from npm into a folder outside the repository
(the driver builds from source with the local Node headers when no prebuilt binary can be fetched).
Only 127.0.0.1 is ever loaded; every loop is bounded in count and time. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from argparse import Namespace
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
ACE_VERSION = "11.5.3"
EXPRESS_VERSION = "4.22.3"
SQLITE3_VERSION = "5.1.7"  # the driver ACE's default store (Sequelize, dialect sqlite) loads
ACE_DIR = Path(os.environ.get("PAGEMAIL_ACE_DIR") or Path(tempfile.gettempdir()) / "pagemail-ace-bench")
START_SECONDS = 90
MAX_REQUESTS_PYTHON = 500_000  # the Python generator's hard cap, whatever the duration
SERVER_CPU, LOAD_CPU = 0, 1  # the pinned runs: servers on CPU 0, the load generator on CPU 1


@contextmanager
def workdir(keep: str) -> Iterator[Path]:
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        yield Path(keep)
        return
    with tempfile.TemporaryDirectory(prefix="pagemail-load-") as tmp:
        yield Path(tmp)


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def can_pin() -> bool:
    return bool(shutil.which("taskset")) and hasattr(os, "sched_getaffinity") and {0, 1} <= os.sched_getaffinity(0)


def pinned(command: list[str], cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu), *command] if cpu is not None else command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes] | None, log: Path | None, seconds: float) -> None:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise RuntimeError(f"{url} exited with {process.returncode} before answering:\n{tail}")
        with suppress(requests.RequestException):
            if requests.get(url, timeout=5).status_code < 500:
                return
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _stat(pid: int) -> list[str]:
    # Fields after the command name, which may itself hold spaces or parentheses.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with suppress(OSError):
            found.extend(int(child) for child in (task / "children").read_text().split())
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a server: the process, its reaped children and its live descendants."""
    ticks = float(os.sysconf("SC_CLK_TCK"))
    try:
        fields = _stat(pid)
    except OSError:
        return 0.0
    total = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    pending = _children(pid)
    while pending:
        child = pending.pop()
        with suppress(OSError):
            fields = _stat(child)
            total += int(fields[11]) + int(fields[12])
            pending.extend(_children(child))
    return total / ticks


# ------------------------------------------------------------------------------------------- load generators


@dataclass
class LoadResult:
    name: str
    requests: int
    seconds: float
    failures: int
    p50_ms: float
    p99_ms: float
    tool: str
    socket_errors: int = 0
    non_2xx: int = 0
    connections: int = 0
    cpu_seconds: float = 0.0  # the server's, during the run

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def per_cpu_second(self) -> float:
        return self.requests / self.cpu_seconds if self.cpu_seconds else 0.0


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _duration_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(name: str, output: str, seconds: float) -> LoadResult:
    """Reads wrk's summary (`--latency`): total requests, non-2xx/3xx and socket errors, percentiles."""
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    if total is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    elapsed = _duration_ms(total.group(2) + total.group(3)) / 1000
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = int(bad.group(1)) if bad else 0
    socket_errors = sum(int(g) for g in errors.groups()) if errors else 0
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    return LoadResult(
        name=name,
        requests=int(total.group(1)),
        seconds=elapsed or seconds,
        failures=non_2xx + socket_errors,
        p50_ms=_duration_ms(percentiles["50"]),
        p99_ms=_duration_ms(percentiles["99"]),
        tool="wrk",
        socket_errors=socket_errors,
        non_2xx=non_2xx,
    )


def load_with_wrk(name: str, url: str, seconds: int, connections: int, cpu: int | None = None) -> LoadResult:
    threads = 1 if cpu is not None else max(1, min(cores(), connections))
    shape = [f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    command = pinned(["wrk", *shape, url], cpu)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return parse_wrk(name, done.stdout, seconds)


def load_with_python(name: str, url: str, seconds: int, connections: int, cpu: int | None = None) -> LoadResult:
    """Keep-alive connections in threads, each sending GETs until the time or the request cap runs out."""
    parts = urlsplit(url)
    target = f"{parts.path}?{parts.query}"
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    failures = [0, 0]  # socket errors, non-2xx
    lock = threading.Lock()
    per_thread_cap = MAX_REQUESTS_PYTHON // connections

    def worker() -> None:
        mine: list[float] = []
        broken = bad = 0
        conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        while time.monotonic() < deadline and len(mine) < per_thread_cap:
            started = time.perf_counter()
            try:
                conn.request("GET", target)
                response = conn.getresponse()
                response.read()
                bad += 0 if response.status < 400 else 1
            except OSError:
                conn.close()
                conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
                broken += 1
            mine.append((time.perf_counter() - started) * 1000)
        conn.close()
        with lock:
            latencies.extend(mine)
            failures[0] += broken
            failures[1] += bad

    started = time.monotonic()
    workers = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=seconds + 30)
    elapsed = time.monotonic() - started
    latencies.sort()
    return LoadResult(
        name=name,
        requests=len(latencies),
        seconds=elapsed,
        failures=sum(failures),
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        tool="python",
        socket_errors=failures[0],
        non_2xx=failures[1],
    )


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def load(
    name: str, url: str, seconds: int, connections: int, *, cpu: int | None = None, server_pid: int | None = None
) -> LoadResult:
    """One measured run (after a short warm-up); `cpu` pins wrk, `server_pid` counts the server's CPU time."""
    if urlsplit(url).hostname not in {"127.0.0.1", "localhost"}:
        raise ValueError("the load benchmark only ever targets this machine")
    generator = load_with_wrk if shutil.which("wrk") else load_with_python
    generator(name, url, min(2, seconds), connections, cpu)  # warm-up: connection pools, caches, JIT
    used = cpu_seconds(server_pid) if server_pid else 0.0
    result = generator(name, url, seconds, connections, cpu)
    result.cpu_seconds = cpu_seconds(server_pid) - used if server_pid else 0.0
    result.connections = connections
    return result


# --------------------------------------------------------------------------------------- pagemail + sandbox


@dataclass
class Stack:
    app_url: str
    sandbox: Any  # sandbox.testing.RunningSandbox
    gunicorn: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    http: requests.Session = field(default_factory=requests.Session)

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.sandbox.url}/_sandbox/{path}", timeout=60, **kwargs)
        response.raise_for_status()
        return response.json()

    def module_url(self, account_id: str, content_id: str, space_key: str) -> str:
        params = {"module": "send-dialog", "user": account_id, "contentId": content_id, "spaceKey": space_key}
        return str(self.control("GET", "module-url", params=params)["url"])

    def context_token(self, account_id: str, content_id: str, space_key: str) -> str:
        params = {"user": account_id, "contentId": content_id, "spaceKey": space_key}
        return str(self.control("GET", "context-token", params=params)["token"])


def app_environment(
    workdir: Path, app_port: int, sandbox_url: str, smtp_port: int, database_url: str
) -> dict[str, str]:
    sandbox_host = urlsplit(sandbox_url).netloc
    # GUNICORN_THREADS passes through, to compare server settings (the worker count is the benchmark's choice).
    passed = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "GUNICORN_THREADS"}
    env = {k: v for k, v in os.environ.items() if k in passed}
    env.update(
        {
            "APP_ENV": "development",
            "PORT": str(app_port),
            "BASE_URL": f"http://127.0.0.1:{app_port}",
            "DATABASE_URL": database_url or f"sqlite:///{workdir / 'pagemail.sqlite'}",
            "SECRETS_KEY_FILE": str(workdir / "secrets.key"),
            "CONNECT_INSTALL_KEYS_URL": f"{sandbox_url}/connect-keys",
            "CONNECT_ALLOWED_HOSTS": sandbox_host,
            "CONNECT_ALLOW_INSECURE_HOSTS": "1",
            "OAUTH_AUTH_SERVER_URL": f"{sandbox_url}/oauth",
            "CONNECT_ALL_JS_URL": f"{sandbox_url}/atlassian-connect/all.js",
            "SMTP_DEFAULT_HOST": "127.0.0.1",
            "SMTP_DEFAULT_PORT": str(smtp_port),
            "SMTP_DEFAULT_SECURITY": "none",
            "SMTP_DEFAULT_FROM": "pagemail@localhost",
            "SMTP_ALLOW_PRIVATE_HOSTS": "1",
        }
    )
    return env


@contextmanager
def running_sandbox(app_port: int) -> Iterator[Any]:
    from sandbox.config import SandboxConfig
    from sandbox.testing import run_sandbox

    sandbox_url = f"http://localhost:{free_port()}"
    config = SandboxConfig(
        public_url=sandbox_url,
        app_descriptor_url=f"http://127.0.0.1:{app_port}/atlassian-connect.json",
        smtp_port=0,
        start_smtp=True,
    )
    with run_sandbox(config) as sandbox:
        yield sandbox


@contextmanager
def running_pagemail(
    stack: Stack, workdir: Path, database_url: str, *, workers: int | None, cpu: int | None
) -> Iterator[Stack]:
    """gunicorn with the production configuration on the stack's port; `workers` None keeps its default."""
    port = urlsplit(stack.app_url).port or 80
    env = app_environment(workdir, port, stack.sandbox.url, stack.sandbox.catcher.port, database_url)
    if workers is not None:
        env["WEB_CONCURRENCY"] = str(workers)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    log = workdir / f"gunicorn-{workers or 'default'}.log"
    with log.open("ab") as out:
        command = pinned([str(Path(sys.executable).parent / "gunicorn"), "-c", str(GUNICORN_CONFIG)], cpu)
        gunicorn = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_http(f"{stack.app_url}/health", gunicorn, log, START_SECONDS)
        stack.gunicorn, stack.log = gunicorn, log
        if not stack.sandbox.state.installation.installed:
            installed = stack.control("POST", "install")
            if not 200 <= int(installed.get("status") or 0) < 300:
                raise RuntimeError(f"the sandbox could not install the app: {installed}")
        yield stack
    finally:
        stop(gunicorn)
        stack.gunicorn = None


@dataclass(frozen=True)
class Scenario:
    content_id: str
    space_key: str
    senders: list[str]
    recipients: list[str]


def pick_scenario(stack: Stack) -> Scenario:
    """A page everyone may read (fewest attachments: the bench measures the server, not image scaling),
    senders and recipients with a visible email address."""
    users = stack.control("GET", "users")["users"]
    pages = stack.control("GET", "pages")["pages"]
    readable = [p for p in pages if p["readableBy"] == "everyone" and p.get("spaceKey")]
    if not readable:
        raise RuntimeError("the sandbox has no page every user can read")
    page = min(readable, key=lambda p: len(p["attachments"]))  # the listing is in site order; first wins
    humans = [u for u in users if u.get("accountType", "atlassian") == "atlassian"]
    people = [u["accountId"] for u in humans if u["emailVisible"]]
    if len(people) < 2:
        raise RuntimeError("the sandbox needs two users with a visible email address")
    return Scenario(page["id"], page["spaceKey"], senders=people, recipients=people)


# ------------------------------------------------------------------------------ atlassian-connect-express


ACE_SERVER = r"""
// Generated by pagemail's bench/load_bench.py: the same JWT-checked module request, served the way an
// atlassian-connect-express app serves it (addon.authenticate(): HS256 signature, exp, qsh).
// STORE=default: ACE's own default store (no store setting: Sequelize on an in-memory SQLite);
// STORE=memory: a Map. WORKERS=1: one process; more: a node cluster.
const cluster = require("node:cluster");
const fs = require("node:fs");
const os = require("node:os");
const express = require("express");
const ace = require("atlassian-connect-express");

const port = Number(process.env.PORT);
const workers = Number(process.env.WORKERS || os.availableParallelism());

class MemoryStore {
  constructor() { this.values = new Map(); }
  async get(key, clientKey) { return this.values.get(`${clientKey}:${key}`) ?? null; }
  async set(key, value, clientKey) { this.values.set(`${clientKey}:${key}`, value); return value; }
  async del(key, clientKey) { this.values.delete(`${clientKey}:${key}`); }
  async saveInstallation(value, clientKey) { return this.set("clientInfo", value, clientKey); }
  async getAllClientInfos() {
    return [...this.values].filter(([k]) => k.endsWith(":clientInfo")).map(([, v]) => v);
  }
  isMemoryStore() { return true; }
}

async function serve() {
  const tenant = {
    key: process.env.APP_KEY,
    clientKey: process.env.CLIENT_KEY,
    sharedSecret: process.env.SHARED_SECRET,
    baseUrl: process.env.TENANT_BASE_URL,
    productType: "confluence",
  };
  const production = { port, localBaseUrl: `http://127.0.0.1:${port}`, setupInstallRoute: false };
  if (process.env.STORE === "memory") {
    ace.store.register("memory", () => new MemoryStore());
    production.store = { adapter: "memory" };
  }
  const app = express();
  app.set("env", "production");
  app.use(express.urlencoded({ extended: false }));
  app.use(express.json());
  const addon = ace(app, { config: { production } });
  app.use(addon.middleware());
  const page = fs.readFileSync("dialog.html");
  app.get("/dialog/send", addon.authenticate(), (req, res) => {
    res.type("html").send(page);
  });
  // The installation, as the installed callback would have stored it (the store may still be syncing).
  for (let attempt = 0; ; attempt += 1) {
    try {
      await addon.settings.set("clientInfo", tenant, tenant.clientKey);
      break;
    } catch (error) {
      if (attempt > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  app.listen(port, "127.0.0.1");
}

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  const stopAll = () => {
    for (const id in cluster.workers) cluster.workers[id].kill();
    process.exit(0);
  };
  process.on("SIGTERM", stopAll);
  process.on("SIGINT", stopAll);
} else {
  serve().catch((error) => { console.error(error); process.exit(1); });
}
"""


@dataclass
class AceApp:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _npm_install(*packages: str, build_env: dict[str, str] | None = None) -> str | None:
    env = {**os.environ, **(build_env or {})}
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--silent", *packages],
        cwd=ACE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return None if done.returncode == 0 else f"npm install failed: {done.stderr.strip()[-500:]}"


def _installed(package: str, version: str) -> bool:
    marker = ACE_DIR / "node_modules" / package / "package.json"
    return marker.is_file() and json.loads(marker.read_text())["version"] == version


def install_ace() -> str | None:
    """atlassian-connect-express (and the SQLite driver of its default store) from the npm registry into ACE_DIR,
    outside the repository. Returns None when it is ready, else why it can't be measured."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "node/npm not installed"
    ACE_DIR.mkdir(parents=True, exist_ok=True)
    if not (ACE_DIR / "package.json").is_file():
        (ACE_DIR / "package.json").write_text(json.dumps({"name": "pagemail-ace-bench", "private": True}))
    if not _installed("atlassian-connect-express", ACE_VERSION):
        failed = _npm_install(f"atlassian-connect-express@{ACE_VERSION}", f"express@{EXPRESS_VERSION}")
        if failed:
            return failed
    if not _installed("sqlite3", SQLITE3_VERSION):
        # Its prebuilt binary comes from GitHub; without it, node-gyp builds it against the local Node headers.
        headers = Path("/usr/include/node/node.h")
        build = {"npm_config_nodedir": "/usr"} if headers.is_file() else {}
        failed = _npm_install(f"sqlite3@{SQLITE3_VERSION}", build_env=build)
        if failed:
            return f"ACE's default store needs sqlite3: {failed}"
    return None


@contextmanager
def running_ace(
    stack: Stack, dialog_html: bytes, *, name: str, store: str, workers: int, cpu: int | None
) -> Iterator[AceApp]:
    installation = stack.sandbox.state.installation
    port = free_port()
    descriptor = {
        "key": installation.app_key,
        "name": "pagemail bench (ACE)",
        "baseUrl": "{{localBaseUrl}}",
        "authentication": {"type": "jwt"},
        "lifecycle": {"installed": "/installed"},
        "scopes": ["READ"],
        "modules": {},
    }
    (ACE_DIR / "atlassian-connect.json").write_text(json.dumps(descriptor))
    (ACE_DIR / "config.json").write_text("{}")
    (ACE_DIR / "dialog.html").write_bytes(dialog_html)
    (ACE_DIR / "server.js").write_text(ACE_SERVER)
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env.update(
        {
            "NODE_ENV": "production",
            "PORT": str(port),
            "WORKERS": str(workers),
            "STORE": store,
            "APP_KEY": installation.app_key,
            "CLIENT_KEY": installation.client_key,
            "SHARED_SECRET": installation.shared_secret,
            "TENANT_BASE_URL": stack.sandbox.base_url,
        }
    )
    log = ACE_DIR / f"server-{store}-{workers}.log"  # ACE's default store logs every SQL statement here
    with log.open("wb") as out:
        command = pinned(["node", "server.js"], cpu)
        process = subprocess.Popen(command, cwd=ACE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/atlassian-connect.json", process, log, START_SECONDS)
        yield AceApp(name, f"http://127.0.0.1:{port}", process, log)
    finally:
        stop(process)
        with suppress(OSError):
            log.unlink()


def on_other_server(module_url: str, base: str) -> str:
    """The same path, query and token, sent to another server (qsh covers path and query, not the host)."""
    parts = urlsplit(module_url)
    return f"{base}{parts.path}?{parts.query}"


def tampered(url: str) -> str:
    """The URL with one query parameter changed: a server that checks qsh must refuse it."""
    return url.replace("spaceKey=", "spaceKey=X", 1)


# ------------------------------------------------------------------------------------------ concurrent sends


@dataclass
class SendResult:
    attempted: int
    accepted: int
    statuses: dict[int, int]
    seconds: float
    p50_ms: float
    p99_ms: float
    delivered: int
    duplicate_message_ids: int
    missing: int
    extra: int


def concurrent_sends(stack: Stack, scenario: Scenario, count: int) -> SendResult:
    run = uuid.uuid4().hex[:8]
    catcher = stack.sandbox.catcher
    catcher.clear()
    # Several senders: the per-user rate limit (20 sends a minute) must not be what this measures.
    jobs = []
    for index in range(count):
        sender = scenario.senders[index % len(scenario.senders)]
        others = [r for r in scenario.recipients if r != sender]
        recipient = others[index % len(others)]
        token = stack.context_token(sender, scenario.content_id, scenario.space_key)
        body = {
            "contentId": scenario.content_id,
            "to": [{"accountId": recipient}],
            "cc": [],
            "bcc": [],
            "subject": f"load-bench {run} #{index:03d}",
            "message": "",
            "attachments": "none",
            "excerptOnly": False,
            "copyToSelf": False,
        }
        jobs.append((token, body))

    statuses: list[int] = [0] * count
    latencies: list[float] = [0.0] * count
    barrier = threading.Barrier(count)

    def send(index: int) -> None:
        token, body = jobs[index]
        with requests.Session() as http:
            with suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=60)
            started = time.perf_counter()
            try:
                headers = {"Authorization": f"JWT {token}"}
                response = http.post(f"{stack.app_url}/api/send", json=body, headers=headers, timeout=180)
                statuses[index] = response.status_code
            except requests.RequestException:
                statuses[index] = -1
            latencies[index] = (time.perf_counter() - started) * 1000

    started = time.monotonic()
    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    elapsed = time.monotonic() - started
    accepted = sum(1 for status in statuses if status == 200)
    with suppress(TimeoutError):
        catcher.wait_for(accepted, timeout=60)
    time.sleep(1.0)  # a late duplicate would arrive now
    subjects: dict[str, int] = {}
    message_ids: dict[str, int] = {}
    for mail in catcher.messages():
        message = mail.message()
        subject = str(message.get("Subject", ""))
        if run in subject:
            message_id = str(message.get("Message-ID", ""))
            subjects[subject] = subjects.get(subject, 0) + 1
            message_ids[message_id] = message_ids.get(message_id, 0) + 1
    expected = {f"load-bench {run} #{i:03d}" for i in range(count) if statuses[i] == 200}
    by_status: dict[int, int] = {}
    for status in statuses:
        by_status[status] = by_status.get(status, 0) + 1
    ordered = sorted(latencies)
    return SendResult(
        attempted=count,
        accepted=accepted,
        statuses=by_status,
        seconds=elapsed,
        p50_ms=percentile(ordered, 50),
        p99_ms=percentile(ordered, 99),
        delivered=sum(1 for s in expected if subjects.get(s) == 1),
        duplicate_message_ids=sum(n - 1 for n in message_ids.values() if n > 1)
        + sum(n - 1 for n in subjects.values() if n > 1),
        missing=len(expected - set(subjects)),
        extra=len(set(subjects) - expected),
    )


# ------------------------------------------------------------------------------------------------- report

PAGEMAIL = "pagemail: gunicorn, deploy/gunicorn.conf.py"
ACE_DEFAULT = f"atlassian-connect-express {ACE_VERSION}, default store"
ACE_MEMORY = f"atlassian-connect-express {ACE_VERSION}, in-memory store (reference)"
TARGET_RATIO, TARGET_P99 = 1.5, 3.0  # DESIGN §10: >= 1.5x ACE per core, 0 socket errors, p99 within 3x ACE's


def row(label: str, result: LoadResult) -> str:
    per_cpu = f"{result.per_cpu_second:9.0f}" if result.cpu_seconds else f"{'-':>9}"
    return (
        f"{label:84} {result.per_second:8.0f} {per_cpu} {result.p50_ms:7.2f} {result.p99_ms:8.2f}"
        f" {result.socket_errors:6d} {result.non_2xx:7d}"
    )


def span(values: list[float], spec: str) -> str:
    low, high = min(values), max(values)
    return f"{low:{spec}}" if f"{low:{spec}}" == f"{high:{spec}}" else f"{low:{spec}}-{high:{spec}}"


def compare(ours: list[LoadResult], theirs: list[LoadResult]) -> list[str]:
    """Round by round (the runs of a round ran one after the other): ratios and the target."""
    lines = []
    ratios = [o.per_second / t.per_second for o, t in zip(ours, theirs, strict=True) if t.per_second]
    cpu_ratios = [o.per_cpu_second / t.per_cpu_second for o, t in zip(ours, theirs, strict=True) if t.per_cpu_second]
    p99s = [o.p99_ms / t.p99_ms for o, t in zip(ours, theirs, strict=True) if t.p99_ms]
    met = sum(
        1
        for o, t in zip(ours, theirs, strict=True)
        if t.per_second
        and o.per_second / t.per_second >= TARGET_RATIO
        and o.socket_errors == 0
        and o.p99_ms <= TARGET_P99 * t.p99_ms
    )
    if ratios:
        lines.append(
            f"    req/s pagemail / ACE: {span(ratios, '.2f')}x   (req/s {span([o.per_second for o in ours], '.0f')}"
            f" vs {span([t.per_second for t in theirs], '.0f')})"
        )
    if cpu_ratios:
        lines.append(f"    req per CPU-second pagemail / ACE: {span(cpu_ratios, '.2f')}x")
    if p99s:
        lines.append(
            f"    p99 pagemail / ACE: {span(p99s, '.2f')}x   (p99 ms {span([o.p99_ms for o in ours], '.1f')}"
            f" vs {span([t.p99_ms for t in theirs], '.1f')})"
        )
    lines.append(
        f"    socket errors pagemail: {sum(o.socket_errors for o in ours)}, ACE: {sum(t.socket_errors for t in theirs)}"
        f"   target (>= {TARGET_RATIO}x req/s, 0 socket errors, p99 <= {TARGET_P99:.0f}x ACE's) met in"
        f" {met} of {len(ours)} round(s)"
    )
    return lines


def print_section(title: str, runs: list[LoadResult], connections: list[int]) -> None:
    line = "-" * 140
    print(line)
    print(title)
    print(f"{'':84} {'req/s':>8} {'req/CPU-s':>9} {'p50 ms':>7} {'p99 ms':>8} {'sockerr':>6} {'non-2xx':>7}")
    for count in connections:
        mine = [r for r in runs if r.connections == count]
        rounds: dict[str, int] = {}
        for result in mine:
            rounds[result.name] = rounds.get(result.name, 0) + 1
            print(row(f"  {count} conn, round {rounds[result.name]}: {result.name}", result))
        ours = [r for r in mine if r.name == PAGEMAIL]
        for name in (ACE_DEFAULT, ACE_MEMORY):
            theirs = [r for r in mine if r.name == name]
            if ours and len(theirs) == len(ours):
                print(f"  {count} connections, pagemail against {name}:")
                for text in compare(ours, theirs):
                    print(text)


def print_report(
    pinned_runs: list[LoadResult],
    all_core_runs: list[LoadResult],
    note: str | None,
    sends: SendResult | None,
    args: Namespace,
) -> None:
    runs = pinned_runs + all_core_runs
    tool = runs[0].tool if runs else "-"
    print()
    print(
        f"pagemail load benchmark: {cores()} cores, {args.seconds} s per run, {args.rounds} alternating round(s),"
        f" load generator {tool}, load average at start {args.load_at_start}"
    )
    print("JWT-checked dialog loads: GET /dialog/send?...&jwt=... (the module URL the sandbox signs)")
    if pinned_runs:
        where = (
            "servers pinned to CPU 0, wrk to CPU 1" if args.pinned else "NOT pinned (fewer than 2 CPUs or no taskset)"
        )
        print_section(
            f"Per core, like with like: ONE gunicorn worker vs ONE node process ({where})",
            pinned_runs,
            args.connection_counts,
        )
    if all_core_runs:
        print_section(
            f"All cores: pagemail's default workers vs an ACE node cluster ({cores()} processes), nothing pinned,"
            f" {args.all_cores_seconds} s per run",
            all_core_runs,
            args.connection_counts,
        )
    if note:
        print(f"atlassian-connect-express: not measured ({note})")
    if sends is not None:
        print("-" * 140)
        print(f"{sends.attempted} concurrent sends (POST /api/send, one recipient each, context tokens)")
        print(f"  answered 200: {sends.accepted}/{sends.attempted}   statuses: {sends.statuses}")
        latency = f"latency p50 {sends.p50_ms:.0f} ms, p99 {sends.p99_ms:.0f} ms"
        print(f"  wall time: {sends.seconds:.2f} s   {latency}")
        print(
            f"  delivered exactly once: {sends.delivered}/{sends.accepted}   missing: {sends.missing}"
            f"   duplicates: {sends.duplicate_message_ids}   unexpected: {sends.extra}"
        )
    print("-" * 140)
    print(
        "Reproduce: python -m bench.load_bench"
        f" --seconds {args.seconds} --connections {args.connections} --rounds {args.rounds}"
        f" --all-cores-seconds {args.all_cores_seconds} --sends {args.sends}"
        + (" --no-ace" if args.no_ace else "")
        + (" --no-ace-memory" if args.no_ace_memory else "")
    )
    print(f"  (wrk: apt-get install wrk, else a Python generator; ACE: node + npm, installed into {ACE_DIR})")
    print(
        "  req/CPU-s: requests / CPU time of the server's processes during the run. Other work on the machine"
        " slows both servers' req/s and p99; the rounds show how much."
    )


def measure_like_with_like(
    stack: Stack, scenario: Scenario, dialog: bytes, ace_note: str | None, args: Namespace
) -> list[LoadResult]:
    """One pinned gunicorn worker, one pinned node process each for ACE's stores, interleaved."""
    cpu = SERVER_CPU if args.pinned else None
    load_cpu = LOAD_CPU if args.pinned else None
    results: list[LoadResult] = []
    with ExitStack() as running:
        running.enter_context(running_pagemail(stack, args.folder, args.database_url, workers=1, cpu=cpu))
        servers: list[tuple[str, str, int]] = [(PAGEMAIL, stack.app_url, stack.gunicorn.pid)]  # type: ignore[union-attr]
        stores = (
            [] if ace_note else [("default", ACE_DEFAULT)] + ([] if args.no_ace_memory else [("memory", ACE_MEMORY)])
        )
        for store, name in stores:
            ace = running.enter_context(running_ace(stack, dialog, name=name, store=store, workers=1, cpu=cpu))
            check_ace(ace, fresh_url(stack, scenario))
            servers.append((name, ace.url, ace.process.pid))
        for _ in range(args.rounds):
            for count in args.connection_counts:
                for name, base, pid in servers:
                    url = on_other_server(fresh_url(stack, scenario), base)
                    results.append(load(name, url, args.seconds, count, cpu=load_cpu, server_pid=pid))
    return results


def measure_all_cores(
    stack: Stack, scenario: Scenario, dialog: bytes, ace_note: str | None, args: Namespace
) -> tuple[list[LoadResult], SendResult | None]:
    results: list[LoadResult] = []
    with ExitStack() as running:
        running.enter_context(running_pagemail(stack, args.folder, args.database_url, workers=None, cpu=None))
        servers: list[tuple[str, str, int]] = [(PAGEMAIL, stack.app_url, stack.gunicorn.pid)]  # type: ignore[union-attr]
        if not ace_note:
            ace = running.enter_context(
                running_ace(stack, dialog, name=ACE_DEFAULT, store="default", workers=cores(), cpu=None)
            )
            check_ace(ace, fresh_url(stack, scenario))
            servers.append((ACE_DEFAULT, ace.url, ace.process.pid))
        if args.all_cores_seconds:
            for count in args.connection_counts:
                for name, base, pid in servers:
                    url = on_other_server(fresh_url(stack, scenario), base)
                    results.append(load(name, url, args.all_cores_seconds, count, server_pid=pid))
        sends = concurrent_sends(stack, scenario, args.sends) if args.sends else None
    return results, sends


def fresh_url(stack: Stack, scenario: Scenario) -> str:
    # A module token lives 180 s: every run gets a new one.
    return stack.module_url(scenario.senders[0], scenario.content_id, scenario.space_key)


def check_ace(ace: AceApp, url: str) -> None:
    ace_url = on_other_server(url, ace.url)
    if requests.get(ace_url, timeout=30).status_code != 200:
        raise RuntimeError(f"ACE refused the token: {ace.log.read_text()[-1000:]}")
    if requests.get(tampered(ace_url), timeout=30).status_code != 401:
        raise RuntimeError("ACE accepted a URL whose qsh does not match")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=30, help="duration of each pinned run (max 120)")
    parser.add_argument("--connections", default="16,64", help="connection counts, comma-separated (max 256)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of the pinned runs (max 5)")
    parser.add_argument("--all-cores-seconds", type=int, default=15, help="each all-cores run (0 to skip)")
    parser.add_argument("--sends", type=int, default=50, help="concurrent sends (max 200; 0 to skip)")
    parser.add_argument("--no-ace", action="store_true", help="skip the atlassian-connect-express comparison")
    parser.add_argument("--no-ace-memory", action="store_true", help="skip ACE with the in-memory store")
    parser.add_argument("--database-url", default="", help="an empty database for the app (default: SQLite)")
    parser.add_argument("--workdir", default="", help="keep the database and server logs in this folder")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the in-process sandbox's request lines
    args.seconds = max(1, min(args.seconds, 120))
    args.connection_counts = sorted({max(1, min(int(c), 256)) for c in args.connections.split(",") if c.strip()})
    args.rounds = max(1, min(args.rounds, 5))
    args.all_cores_seconds = max(0, min(args.all_cores_seconds, 120))
    args.sends = max(0, min(args.sends, 200))
    args.load_at_start = " ".join(f"{value:.1f}" for value in os.getloadavg())
    args.pinned = can_pin()

    ace_note: str | None = "skipped (--no-ace)" if args.no_ace else install_ace()
    with ExitStack() as running:
        args.folder = running.enter_context(workdir(args.workdir))
        app_port = free_port()
        sandbox = running.enter_context(running_sandbox(app_port))
        stack = Stack(f"http://127.0.0.1:{app_port}", sandbox)
        with running_pagemail(stack, args.folder, args.database_url, workers=1, cpu=None):
            scenario = pick_scenario(stack)
            url = fresh_url(stack, scenario)
            dialog = requests.get(url, timeout=30)
            if dialog.status_code != 200:
                raise RuntimeError(f"the signed dialog URL answered {dialog.status_code}")
            if requests.get(tampered(url), timeout=30).status_code != 401:
                raise RuntimeError("pagemail accepted a URL whose qsh does not match")
        pinned_runs = measure_like_with_like(stack, scenario, dialog.content, ace_note, args)
        all_core_runs, sends = measure_all_cores(stack, scenario, dialog.content, ace_note, args)
    print_report(pinned_runs, all_core_runs, ace_note, sends, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
