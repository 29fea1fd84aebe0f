"""Load benchmark: the production server (gunicorn, deploy/gunicorn.conf.py) with the sandbox Confluence.

    python -m bench.load_bench [--seconds 10] [--connections 32] [--sends 50] [--no-ace]

1. JWT-checked dialog loads: the send dialog's module URL, signed by the sandbox like Confluence signs it
   (HS256, qsh), loaded over and over (a module token is valid for 180 s; replaying it inside that window is
   what a benchmark may do). Requests per second per core, p50 and p99, with `wrk` when installed (Debian:
   `apt-get install wrk`), else a bounded Python load generator.
2. The alternative a user would pick: atlassian-connect-express (npm, installed into a temporary folder
   outside the repository) verifying the same token for the same URL, on all cores (node cluster), under
   the same load in the same run; the ratio is printed.
3. Concurrent sends: N `POST /api/send` at once (context tokens from the sandbox), then every mail counted
   in the sandbox's mail catcher: each send delivered exactly once, each Message-ID once.

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
ACE_DIR = Path(os.environ.get("PAGEMAIL_ACE_DIR") or Path(tempfile.gettempdir()) / "pagemail-ace-bench")
START_SECONDS = 90
MAX_REQUESTS_PYTHON = 500_000  # the Python generator's hard cap, whatever the duration


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

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def per_core(self) -> float:
        return self.per_second / cores()


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
    failures = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in errors.groups()) if errors else 0)
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    return LoadResult(
        name=name,
        requests=int(total.group(1)),
        seconds=elapsed or seconds,
        failures=failures,
        p50_ms=_duration_ms(percentiles["50"]),
        p99_ms=_duration_ms(percentiles["99"]),
        tool="wrk",
    )


def load_with_wrk(name: str, url: str, seconds: int, connections: int) -> LoadResult:
    threads = max(1, min(cores(), connections))
    shape = [f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    command = ["wrk", *shape, url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return parse_wrk(name, done.stdout, seconds)


def load_with_python(name: str, url: str, seconds: int, connections: int) -> LoadResult:
    """Keep-alive connections in threads, each sending GETs until the time or the request cap runs out."""
    parts = urlsplit(url)
    target = f"{parts.path}?{parts.query}"
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    per_thread_cap = MAX_REQUESTS_PYTHON // connections

    def worker() -> None:
        mine: list[float] = []
        bad = 0
        conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        while time.monotonic() < deadline and len(mine) < per_thread_cap:
            started = time.perf_counter()
            try:
                conn.request("GET", target)
                response = conn.getresponse()
                response.read()
                ok = response.status < 400
            except OSError:
                conn.close()
                conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
                ok = False
            mine.append((time.perf_counter() - started) * 1000)
            bad += 0 if ok else 1
        conn.close()
        with lock:
            latencies.extend(mine)
            failures[0] += bad

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
        failures=failures[0],
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        tool="python",
    )


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def load(name: str, url: str, seconds: int, connections: int) -> LoadResult:
    if urlsplit(url).hostname not in {"127.0.0.1", "localhost"}:
        raise ValueError("the load benchmark only ever targets this machine")
    generator = load_with_wrk if shutil.which("wrk") else load_with_python
    generator(name, url, min(2, seconds), connections)  # warm-up: connection pools, caches, JIT
    return generator(name, url, seconds, connections)


# --------------------------------------------------------------------------------------- pagemail + sandbox


@dataclass
class Stack:
    app_url: str
    sandbox: Any  # sandbox.testing.RunningSandbox
    gunicorn: subprocess.Popen[bytes]
    log: Path
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
    # WEB_CONCURRENCY and GUNICORN_THREADS pass through, to compare server settings.
    passed = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "WEB_CONCURRENCY", "GUNICORN_THREADS"}
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
def running_stack(workdir: Path, database_url: str) -> Iterator[Stack]:
    from sandbox.config import SandboxConfig
    from sandbox.testing import run_sandbox

    app_port, sandbox_port = free_port(), free_port()
    sandbox_url = f"http://localhost:{sandbox_port}"
    config = SandboxConfig(
        public_url=sandbox_url,
        app_descriptor_url=f"http://127.0.0.1:{app_port}/atlassian-connect.json",
        smtp_port=0,
        start_smtp=True,
    )
    with run_sandbox(config) as sandbox:
        env = app_environment(workdir, app_port, sandbox.url, sandbox.catcher.port, database_url)
        bin_dir = Path(sys.executable).parent
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        log = workdir / "gunicorn.log"
        with log.open("wb") as out:
            gunicorn = subprocess.Popen(
                [str(bin_dir / "gunicorn"), "-c", str(GUNICORN_CONFIG)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_http(f"http://127.0.0.1:{app_port}/health", gunicorn, log, START_SECONDS)
            stack = Stack(f"http://127.0.0.1:{app_port}", sandbox, gunicorn, log)
            installed = stack.control("POST", "install")
            if not 200 <= int(installed.get("status") or 0) < 300:
                raise RuntimeError(f"the sandbox could not install the app: {installed}")
            yield stack
        finally:
            stop(gunicorn)


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
const cluster = require("node:cluster");
const fs = require("node:fs");
const os = require("node:os");
const express = require("express");
const ace = require("atlassian-connect-express");

const port = Number(process.env.PORT);
const workers = Number(process.env.WORKERS || os.availableParallelism());

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  const stopAll = () => {
    for (const id in cluster.workers) cluster.workers[id].kill();
    process.exit(0);
  };
  process.on("SIGTERM", stopAll);
  process.on("SIGINT", stopAll);
} else {
  const tenant = {
    key: process.env.APP_KEY,
    clientKey: process.env.CLIENT_KEY,
    sharedSecret: process.env.SHARED_SECRET,
    baseUrl: process.env.TENANT_BASE_URL,
    productType: "confluence",
  };
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
  ace.store.register("memory", () => {
    const store = new MemoryStore();
    store.set("clientInfo", tenant, tenant.clientKey);
    return store;
  });

  const app = express();
  app.set("env", "production");
  app.use(express.urlencoded({ extended: false }));
  app.use(express.json());
  const localBaseUrl = `http://127.0.0.1:${port}`;
  const addon = ace(app, {
    config: {
      production: { port, localBaseUrl, store: { adapter: "memory" }, setupInstallRoute: false },
    },
  });
  app.use(addon.middleware());
  const page = fs.readFileSync("dialog.html");
  app.get("/dialog/send", addon.authenticate(), (req, res) => {
    res.type("html").send(page);
  });
  app.listen(port, "127.0.0.1");
}
"""


@dataclass
class AceApp:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def install_ace() -> str | None:
    """atlassian-connect-express from the npm registry into ACE_DIR (outside the repository).

    Returns None when it is ready, else why it can't be measured."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "node/npm not installed"
    ACE_DIR.mkdir(parents=True, exist_ok=True)
    marker = ACE_DIR / "node_modules" / "atlassian-connect-express" / "package.json"
    if marker.is_file() and json.loads(marker.read_text())["version"] == ACE_VERSION:
        return None
    (ACE_DIR / "package.json").write_text(json.dumps({"name": "pagemail-ace-bench", "private": True}))
    done = subprocess.run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--silent",
            f"atlassian-connect-express@{ACE_VERSION}",
            f"express@{EXPRESS_VERSION}",
        ],
        cwd=ACE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        return f"npm install failed: {done.stderr.strip()[-500:]}"
    return None


@contextmanager
def running_ace(stack: Stack, dialog_html: bytes) -> Iterator[AceApp]:
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
            "WORKERS": str(cores()),
            "APP_KEY": installation.app_key,
            "CLIENT_KEY": installation.client_key,
            "SHARED_SECRET": installation.shared_secret,
            "TENANT_BASE_URL": stack.sandbox.base_url,
        }
    )
    log = ACE_DIR / "server.log"
    with log.open("wb") as out:
        command = ["node", "server.js"]
        process = subprocess.Popen(command, cwd=ACE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/atlassian-connect.json", process, log, START_SECONDS)
        yield AceApp(f"http://127.0.0.1:{port}", process, log)
    finally:
        stop(process)


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


def best(results: list[LoadResult], name: str) -> LoadResult | None:
    mine = [result for result in results if result.name == name]
    return max(mine, key=lambda result: result.per_second) if mine else None


def print_report(runs: list[LoadResult], note: str | None, sends: SendResult | None, args: Namespace) -> None:
    line = "-" * 112
    tool = runs[0].tool if runs else "-"
    print()
    print(
        f"pagemail load benchmark: {cores()} cores, {args.connections} connections, {args.seconds} s per run,"
        f" {args.rounds} alternating round(s), load generator {tool}, load average {args.load_at_start}"
    )
    print(line)
    print(
        f"{'JWT-checked dialog loads (GET /dialog/send?...&jwt=...)':66} {'req/s':>9} {'per core':>9}"
        f" {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}"
    )
    for number, result in enumerate(runs):
        label = f"  round {number // (1 if note else 2) + 1}: {result.name}"
        print(
            f"{label:66} {result.per_second:9.0f} {result.per_core:9.0f} {result.p50_ms:8.2f}"
            f" {result.p99_ms:8.2f} {result.failures:7d}"
        )
    ours, theirs = best(runs, PAGEMAIL), best(runs, ACE)
    for result in (ours, theirs):
        if result is not None:
            label = f"best: {result.name}"
            print(
                f"{label:66} {result.per_second:9.0f} {result.per_core:9.0f} {result.p50_ms:8.2f}"
                f" {result.p99_ms:8.2f} {result.failures:7d}"
            )
    if ours and theirs and theirs.per_second:
        ratio = ours.per_second / theirs.per_second
        print(f"{'ratio pagemail / atlassian-connect-express (per core)':66} {ratio:9.2f}x")
    if note:
        print(f"atlassian-connect-express: not measured ({note})")
    if sends is not None:
        print(line)
        print(f"{sends.attempted} concurrent sends (POST /api/send, one recipient each, context tokens)")
        print(f"  answered 200: {sends.accepted}/{sends.attempted}   statuses: {sends.statuses}")
        latency = f"latency p50 {sends.p50_ms:.0f} ms, p99 {sends.p99_ms:.0f} ms"
        print(f"  wall time: {sends.seconds:.2f} s   {latency}")
        print(
            f"  delivered exactly once: {sends.delivered}/{sends.accepted}   missing: {sends.missing}"
            f"   duplicates: {sends.duplicate_message_ids}   unexpected: {sends.extra}"
        )
    print(line)
    print(
        "Reproduce: python -m bench.load_bench"
        f" --seconds {args.seconds} --connections {args.connections}"
        f" --rounds {args.rounds} --sends {args.sends}"
    )
    print(f"  (wrk: apt-get install wrk, else a Python generator; ACE: node + npm, installed into {ACE_DIR})")
    print(
        "  The load generator shares the cores with the servers; per core = req/s / cores. Best of the rounds"
        " counts: other work on the machine only ever slows a run down."
    )


PAGEMAIL = "pagemail (gunicorn gthread, deploy/gunicorn.conf.py)"
ACE = f"atlassian-connect-express {ACE_VERSION} (node cluster)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each measured load run (max 60)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (max 256)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds pagemail/ACE (max 5)")
    parser.add_argument("--sends", type=int, default=50, help="concurrent sends (max 200; 0 to skip)")
    parser.add_argument("--no-ace", action="store_true", help="skip the atlassian-connect-express comparison")
    parser.add_argument("--database-url", default="", help="an empty database for the app (default: SQLite)")
    parser.add_argument("--workdir", default="", help="keep the database and server logs in this folder")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the in-process sandbox's request lines
    args.seconds = max(1, min(args.seconds, 60))
    args.connections = max(1, min(args.connections, 256))
    args.rounds = max(1, min(args.rounds, 5))
    args.sends = max(0, min(args.sends, 200))
    args.load_at_start = " ".join(f"{value:.1f}" for value in os.getloadavg())

    results: list[LoadResult] = []
    ace_note: str | None = "skipped (--no-ace)" if args.no_ace else install_ace()
    sends: SendResult | None = None
    with ExitStack() as running:
        folder = running.enter_context(workdir(args.workdir))
        stack = running.enter_context(running_stack(folder, args.database_url))
        scenario = pick_scenario(stack)
        user = scenario.senders[0]

        def fresh_url() -> str:
            # A module token lives 180 s: every run gets a new one.
            return stack.module_url(user, scenario.content_id, scenario.space_key)

        url = fresh_url()
        dialog = requests.get(url, timeout=30)
        if dialog.status_code != 200:
            raise RuntimeError(f"the signed dialog URL answered {dialog.status_code}")
        if requests.get(tampered(url), timeout=30).status_code != 401:
            raise RuntimeError("pagemail accepted a URL whose qsh does not match")
        ace = running.enter_context(running_ace(stack, dialog.content)) if ace_note is None else None
        if ace is not None:
            ace_url = on_other_server(url, ace.url)
            if requests.get(ace_url, timeout=30).status_code != 200:
                raise RuntimeError(f"ACE refused the token: {ace.log.read_text()[-1000:]}")
            if requests.get(tampered(ace_url), timeout=30).status_code != 401:
                raise RuntimeError("ACE accepted a URL whose qsh does not match")

        for _ in range(args.rounds):
            results.append(load(PAGEMAIL, fresh_url(), args.seconds, args.connections))
            if ace is not None:
                theirs = on_other_server(fresh_url(), ace.url)
                results.append(load(ACE, theirs, args.seconds, args.connections))

        if args.sends:
            sends = concurrent_sends(stack, scenario, args.sends)
    print_report(results, ace_note, sends, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
