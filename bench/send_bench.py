"""Send benchmark: a page with 20 images and 3 attachments, every Confluence call slowed by 100 ms.

Compares the wall time of one send with the sum of the Confluence calls it makes (what a client doing them one
after another would wait) and with the critical path (page → attachment list → one round of parallel downloads →
SMTP). Then measures the app process's peak extra memory for a send with 20 MB of attachments.

The app runs as its own process (`flask run`, threaded), the sandbox Confluence and its mail catcher in this one,
so the memory figure is the app's alone (peak RSS from /proc, reset before the send).

    python -m bench.send_bench [--latency-ms 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import requests

from sandbox.blobs import BlobSpec
from sandbox.catalog import BENCHMARK_PAGE_ID, add_attachment
from sandbox.config import SandboxConfig
from sandbox.testing import run_sandbox
from tests.servers import free_port

REPO = Path(__file__).resolve().parent.parent
SENDER = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"
RECIPIENT = "5f8a3c2e1b7d4e6f9a0b1c2d"
MEMORY_PAGE_TARGET = 20 * 1024 * 1024


def start_app(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port), "--no-reload", "--with-threads"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the app did not start")


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found")


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def control(sandbox_url: str, method: str, path: str, **kwargs: Any) -> Any:
    response = requests.request(method, f"{sandbox_url}/_sandbox/{path}", timeout=120, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


def send(app_url: str, sandbox_url: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    token = control(sandbox_url, "GET", "context-token", params={"user": SENDER})["token"]
    started = time.perf_counter()
    response = requests.post(f"{app_url}/api/send", json=body, headers={"Authorization": f"JWT {token}"}, timeout=300)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"send failed: {response.status_code} {response.text[:300]}")
    return elapsed, response.json()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    config = SandboxConfig(app_descriptor_url=f"{app_url}/atlassian-connect.json", smtp_port=0, start_smtp=True)
    with tempfile.TemporaryDirectory() as tmp, run_sandbox(config, host_name="localhost") as sandbox:
        env = dict(
            os.environ,
            APP_ENV="development",
            BASE_URL=app_url,
            DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite",
            SECRETS_KEY_FILE=f"{tmp}/secrets.key",
            CONNECT_INSTALL_KEYS_URL=f"{sandbox.url}/connect-keys",
            CONNECT_ALLOWED_HOSTS=sandbox.url.split("://")[1],
            CONNECT_ALLOW_INSECURE_HOSTS="1",
            OAUTH_AUTH_SERVER_URL=f"{sandbox.url}/oauth",
            CONNECT_ALL_JS_URL=f"{sandbox.url}/atlassian-connect/all.js",
            SMTP_DEFAULT_HOST="127.0.0.1",
            SMTP_DEFAULT_PORT=str(sandbox.catcher.port),
            SMTP_DEFAULT_SECURITY="none",
            SMTP_DEFAULT_FROM="pagemail@localhost",
        )
        app = start_app(env, app_port)
        try:
            control(sandbox.url, "POST", "install")
            control(sandbox.url, "POST", "warm", json={"pageId": BENCHMARK_PAGE_ID})
            body = {"contentId": BENCHMARK_PAGE_ID, "to": [{"accountId": RECIPIENT}], "attachments": "all"}
            send(app_url, sandbox.url, body)  # first send: impersonation token granted, caches warm

            def timed(latency_ms: int) -> tuple[float, int]:
                control(sandbox.url, "POST", "faults", json={"latencyMs": latency_ms})
                walls, calls = [], []
                for _ in range(args.repeat):
                    control(sandbox.url, "DELETE", "requests")
                    walls.append(send(app_url, sandbox.url, body)[0])
                    log = control(sandbox.url, "GET", "requests")["requests"]
                    calls.append(len([r for r in log if not r["path"].startswith("/_sandbox")]))
                control(sandbox.url, "DELETE", "faults")
                return statistics.median(walls), int(statistics.median(calls))

            local, _ = timed(0)
            wall, count = timed(args.latency_ms)
            serial = count * latency
            waiting = wall - local
            # page + attachment list + user → one round of downloads (download redirect + media host: 2 calls)
            critical = 3 * latency
            print(f"Send of a page with 20 images + 3 attachments (all attached), median of {args.repeat}:")
            print(f"  Confluence calls made                  {count}")
            print(f"  sum of their latencies at {args.latency_ms} ms       {serial:7.2f} s  (calls one after another)")
            print(f"  critical path, latency only            {critical:7.2f} s  (page + list → download → media)")
            print(f"  pagemail wall time, 0 ms latency       {local:7.2f} s  (rendering, scaling, SMTP)")
            print(f"  pagemail wall time, {args.latency_ms} ms latency     {wall:7.2f} s")
            ratios = f"{waiting / critical:.2f} x critical path, {waiting / serial:.3f} x sum of calls"
            print(f"  time added by the latency              {waiting:7.2f} s  = {ratios}")

            # Memory: bring the page's attachments to 20 MB and measure the app's peak RSS above its baseline.
            page = sandbox.state.catalog.page(BENCHMARK_PAGE_ID)
            present = sum(a.size for a in page.attachments if not a.blob.is_image)
            if present < MEMORY_PAGE_TARGET:
                add_attachment(
                    page, "2000000399", "survey-archive.docx", BlobSpec("docx", 7099, size=MEMORY_PAGE_TARGET - present)
                )
            control(sandbox.url, "POST", "warm", json={"pageId": BENCHMARK_PAGE_ID})
            attachments = [a.rest_id for a in page.attachments if not a.blob.is_image]
            total = sum(a.size for a in page.attachments if not a.blob.is_image)
            memory_body = {"contentId": BENCHMARK_PAGE_ID, "to": [{"accountId": RECIPIENT}], "attachments": attachments}
            send(app_url, sandbox.url, memory_body)  # settle allocator pools once
            peaks = []
            for _ in range(args.repeat):
                base = rss_kib(app.pid, "VmRSS")
                reset_peak(app.pid)
                send(app_url, sandbox.url, memory_body)
                peaks.append((rss_kib(app.pid, "VmHWM") - base) * 1024)
            peak = statistics.median(peaks)
            print(f"Memory: a send with {total / 1048576:.1f} MB of attachments (plus 20 page images)")
            print(f"  app peak extra RSS              {peak / 1048576:7.1f} MB")
            print(f"  peak / attachment bytes         {peak / total:7.2f}   (target < 3)")
        finally:
            app.terminate()
            app.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
