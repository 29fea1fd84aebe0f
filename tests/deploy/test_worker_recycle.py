"""Worker recycling under keep-alive load: no request is lost while gunicorn replaces its worker.

The production configuration with ONE worker (the worst case: no other worker to take over) and a tiny
`--max-requests`, so the worker is replaced several times while a few clients send requests back to back on
keep-alive connections (until four workers were replaced, bounded in requests and time). Every request must get
a complete 200 answer: a connection closed under a request that was already sent (gthread's behaviour at
max_requests) shows up here as a reset or a disconnect.
"""

from __future__ import annotations

import sys
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

from tests.deploy.test_gunicorn import server_environ, start, wait_until_up
from tests.servers import free_port

CLIENTS = 6
RECYCLE_AFTER = 100  # requests per worker
REPLACEMENTS = 4  # the load goes on until this many workers were replaced...
MAX_REQUESTS_PER_CLIENT = 5000  # ...or this many requests were sent
MAX_SECONDS = 20  # ...or this long has passed


def client(port: int, answers: list[str], done: threading.Event) -> None:
    """Requests back to back on one keep-alive connection; http.client reconnects only when the server said
    `Connection: close`, and never retries, so a dropped connection is an error here."""
    connection = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        while not done.is_set() and len(answers) < MAX_REQUESTS_PER_CLIENT:
            try:
                connection.request("GET", "/health")
                response = connection.getresponse()
                body = response.read()
                answers.append(f"{response.status} {body.decode(errors='replace')}")
            except OSError as error:  # ConnectionResetError, RemoteDisconnected, BrokenPipeError, timeouts
                answers.append(f"error {type(error).__name__}")
                connection.close()
    finally:
        connection.close()


def test_no_request_is_lost_while_the_worker_is_recycled(tmp_path: Path) -> None:
    port = free_port()
    environ = server_environ(tmp_path, port, WEB_CONCURRENCY="1")
    server = start(tmp_path, environ, "--max-requests", str(RECYCLE_AFTER), "--max-requests-jitter", "0")
    try:
        wait_until_up(server)
        answers: list[list[str]] = [[] for _ in range(CLIENTS)]
        done = threading.Event()
        threads = [threading.Thread(target=client, args=(port, mine, done), daemon=True) for mine in answers]
        for thread in threads:
            thread.start()
        ends = time.monotonic() + MAX_SECONDS
        while time.monotonic() < ends and any(thread.is_alive() for thread in threads):
            if replaced(server.stderr) >= REPLACEMENTS:
                break
            time.sleep(0.1)
        done.set()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "a client hung"
        replacements = replaced(server.stderr)
        assert server.stop() == 0
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=30)

    everything = [answer for mine in answers for answer in mine]
    failed = [answer for answer in everything if answer != '200 {"status":"ok"}\n']
    assert failed == [], f"{len(failed)} of {len(everything)} requests failed: {sorted(set(failed))}"
    # The worker really was replaced, several times, under that load, each time by a worker booted first.
    assert replacements >= REPLACEMENTS, server.output()[-3000:]
    assert len(everything) >= REPLACEMENTS * RECYCLE_AFTER
    assert fewest_workers_at_an_exit(server.stderr) >= 2, server.output()[-3000:]


def replaced(error_log: Path) -> int:
    """Workers that finished draining and exited (the master's own stop comes later)."""
    return error_log.read_text(errors="replace").count("Worker exiting")


def fewest_workers_at_an_exit(error_log: Path) -> int:
    """The fewest workers alive when a recycled worker exited (itself included), before the server's own stop:
    2 or more means every replacement had booted before the worker it replaced left."""
    text = error_log.read_text(errors="replace")
    lines = text.split("Handling signal: term", 1)[0].splitlines()  # the server's own stop is not a recycle
    alive, fewest = 0, sys.maxsize
    for line in lines:
        if "Booting worker with pid" in line:
            alive += 1
        elif "Worker exiting" in line:
            fewest = min(fewest, alive)
            alive -= 1
    return fewest
