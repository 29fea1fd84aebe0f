"""Signals to the production server (deploy/gunicorn.conf.py, its DrainingThreadWorker) with requests in flight.

- SIGTERM to the master (a deploy stopping the task) while a long request is in flight: the request finishes with a
  complete answer, new connections are answered or refused (none hangs), and the server exits 0 afterwards.
- A worker replaced at `max_requests` while a long request is in flight keeps running until that request is
  answered, then exits; the replacement serves meanwhile.
- SIGHUP (a reload) while a replacement is pending, under keep-alive load: every request is answered, the server
  settles at its configured single worker, and recycling goes on after the reload (the reload voids the ask in
  flight, so no stale ask blocks the next ones).
- SIGHUP just as the worker asks for its replacement, so that its SIGTTIN is handled after the reload: the server
  must still come back to one worker (the reload voided the ask, yet the master adds a worker for its SIGTTIN:
  the master's pre_fork hook makes that worker owe the SIGTTOU all the same).
- A SIGTTOU that would take two workers down to one (a replacement's, landing after a reload voided its ask) is
  refused: the master keeps its configured count.
- SIGHUP with an idle keep-alive connection to the worker it replaces: the connection stays usable (its next
  request is answered, `Connection: close`); once the reload is over a stop does not wait for idle connections.
- After a replacement, a stop does not wait for the replacement's idle keep-alive connections: only the worker a
  replacement stops drains as replaced.

The long request comes from tests/deploy/slow_app.py, served with the same configuration (the app argument on the
command line replaces the configured one); the reload test serves the real app.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from tests.deploy.slow_app import HOLD_LIMIT_SECONDS, SLOW_BODY
from tests.deploy.test_gunicorn import Gunicorn, server_environ, start, wait_until_up
from tests.deploy.test_worker_recycle import client
from tests.servers import free_port

SLOW_APP = "tests.deploy.slow_app:app"
HEALTHY = '200 {"status":"ok"}\n'
HOLD_SECONDS = 2.0  # the long request stays in flight this long after the signal was seen to take effect
WAIT_SECONDS = 30.0  # the bound on every wait for the server to do something
STOP_SECONDS = 30.0  # with nothing left in flight the server stops long before graceful_timeout (100 s)
ASK = "asking for its replacement"  # the worker's log line when it reaches max_requests
TTOU = "Handling signal: ttou"  # the master, told by a booted replacement to stop its oldest worker
HANG_UP = "Hang up:"  # the master, reloading on SIGHUP

SLOW_RECYCLE_AFTER = 10  # requests per worker in the recycling test (the /health checks of the boot included)
CLIENTS = 4  # keep-alive clients during the reload
RELOAD_RECYCLE_AFTER = 50
# SIGHUP as soon as the master has handled this many asks (their SIGTTIN): the replacement is booting, or booted and
# about to stop the worker it replaces. (A SIGHUP handled before an ask's SIGTTIN is the race of the last test.)
RELOAD_AT_ASKS = (1, 3)
TTIN = "Handling signal: ttin"
REPLACEMENTS_AFTER_RELOAD = 2
LOAD_SECONDS = 30.0
SETTLED_SECONDS = 3.0
RACE_ROUNDS = 5  # a round: SIGHUP and, at once, a request that makes the worker ask for its replacement


class SlowRequest:
    """`/slow` of the slow app, in a thread, on a connection of its own (closed once the answer is read)."""

    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.started = directory / "slow-started"
        self.gate = directory / "slow-gate"
        self.answer: str | None = None
        self.thread = threading.Thread(target=self.send, daemon=True)

    def send(self) -> None:
        connection = HTTPConnection("127.0.0.1", self.port, timeout=HOLD_LIMIT_SECONDS + WAIT_SECONDS)
        try:
            connection.request("GET", "/slow?" + urlencode({"started": self.started, "gate": self.gate}))
            response = connection.getresponse()
            body = response.read()
            released = response.getheader("X-Released")
            self.answer = f"{response.status} released={released} complete={body == SLOW_BODY}"
        except (OSError, HTTPException) as error:  # a reset, a disconnect, an incomplete body, a timeout
            self.answer = f"error {type(error).__name__}: {error}"
        finally:
            connection.close()

    def begin(self, server: Gunicorn) -> int:
        """Sends the request; once the app is holding it, the pid of the worker serving it."""
        self.thread.start()
        wait_for(self.started.exists, "the slow request reaching the app", server)
        return int(self.started.read_text())

    def finish(self) -> str:
        self.gate.touch()
        self.thread.join(timeout=WAIT_SECONDS)
        assert not self.thread.is_alive(), "the slow request hung"
        assert self.answer is not None
        return self.answer


def wait_for(condition: Callable[[], bool], what: str, server: Gunicorn, seconds: float = WAIT_SECONDS) -> None:
    ends = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > ends:
            pytest.fail(f"no {what} within {seconds} s:\n{server.output()[-3000:]}")
        time.sleep(0.02)


def workers(master: int) -> set[int]:
    """The master's live children (its workers), from /proc; exited ones not yet reaped are left out."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
            if int(parent) == master and state not in {"Z", "X"}:
                found.add(int(stat.parent.name))
    return found


def settled_workers(server: Gunicorn) -> int:
    """The number of workers once it has not changed for SETTLED_SECONDS (a worker stopped by a reload takes up to
    a second to notice, a replacement a moment to boot), or the last one seen after WAIT_SECONDS."""
    ends = time.monotonic() + WAIT_SECONDS
    count, since = len(workers(server.process.pid)), time.monotonic()
    while time.monotonic() < ends and time.monotonic() - since < SETTLED_SECONDS:
        time.sleep(0.05)
        now = len(workers(server.process.pid))
        if now != count:
            count, since = now, time.monotonic()
    return count


def kill_all(server: Gunicorn) -> None:
    """After a failure: the master and its workers, by pid, so nothing is left running."""
    if server.process.poll() is not None:
        return
    children = workers(server.process.pid)
    server.process.kill()
    server.process.wait(timeout=30)
    for pid in children:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def error_log(server: Gunicorn) -> str:
    return server.stderr.read_text(errors="replace")


def new_connection(port: int) -> str:
    """One request on a new connection: its answer, or how the connection failed; a timeout means it hung."""
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        return f"{response.status} {response.read().decode(errors='replace')}"
    except TimeoutError:
        return "hung"
    except (OSError, HTTPException) as error:
        return f"failed {type(error).__name__}"
    finally:
        connection.close()


def test_sigterm_lets_a_long_request_finish_and_turns_new_connections_away(tmp_path: Path) -> None:
    port = free_port()
    server = start(tmp_path, server_environ(tmp_path, port, WEB_CONCURRENCY="1"), SLOW_APP)
    slow = SlowRequest(port, tmp_path)
    try:
        wait_until_up(server)
        slow.begin(server)
        server.process.send_signal(signal.SIGTERM)
        # New connections: answered while the worker still accepts, then refused once no process listens (the
        # master closed its socket and the worker, draining, its copy). None may hang.
        attempts: list[str] = []
        ends = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < ends and not (attempts and attempts[-1] == "failed ConnectionRefusedError"):
            attempts.append(new_connection(port))
            if attempts[-1] == "hung":
                break
            time.sleep(0.05)
        assert attempts[-1] == "failed ConnectionRefusedError", attempts
        assert all(attempt == HEALTHY or attempt.startswith("failed") for attempt in attempts), attempts
        # Nothing listens any more, and the long request is still in flight: the worker drains it.
        time.sleep(HOLD_SECONDS)
        assert slow.answer is None, slow.answer
        assert server.process.poll() is None, "the server exited with a request in flight"
        answer = slow.finish()
        code = server.process.wait(timeout=STOP_SECONDS)
    finally:
        slow.gate.touch()
        kill_all(server)
    assert answer == "200 released=yes complete=True", server.output()[-3000:]
    assert code == 0, server.output()[-3000:]
    assert "Shutting down: Master" in error_log(server)


def test_a_replaced_worker_finishes_its_long_request(tmp_path: Path) -> None:
    port = free_port()
    environ = server_environ(tmp_path, port, WEB_CONCURRENCY="1")
    args = ("--max-requests", str(SLOW_RECYCLE_AFTER), "--max-requests-jitter", "0")
    server = start(tmp_path, environ, SLOW_APP, *args)
    slow = SlowRequest(port, tmp_path)
    try:
        wait_until_up(server)
        old = slow.begin(server)
        # Short requests, each on a new connection, until the worker holding the long one asks for a replacement.
        for _ in range(5 * SLOW_RECYCLE_AFTER):
            if ASK in error_log(server):
                break
            assert requests.get(f"{server.url}/health", timeout=WAIT_SECONDS).status_code == 200
        wait_for(lambda: TTOU in error_log(server), "replacement booted (its SIGTTOU to the master)", server)
        # The master has sent the old worker its SIGTERM: the old worker stays, draining the long request, and
        # the replacement serves the short ones meanwhile.
        time.sleep(HOLD_SECONDS)
        assert slow.answer is None, slow.answer
        assert old in workers(server.process.pid)
        assert len(workers(server.process.pid)) == 2
        for _ in range(3):
            assert requests.get(f"{server.url}/health", timeout=WAIT_SECONDS).status_code == 200
        answer = slow.finish()
        wait_for(lambda: old not in workers(server.process.pid), "exit of the replaced worker", server)
        assert len(workers(server.process.pid)) == 1
        assert requests.get(f"{server.url}/health", timeout=WAIT_SECONDS).status_code == 200
        code = server.stop()
    finally:
        slow.gate.touch()
        kill_all(server)
    assert answer == "200 released=yes complete=True", server.output()[-3000:]
    assert f"Worker exiting (pid: {old})" in error_log(server).split("Handling signal: term", 1)[0]
    assert code == 0, server.output()[-3000:]


def keep_alive_client(port: int, answers: list[str], done: threading.Event) -> None:
    """test_worker_recycle's client; an error it does not catch itself (an incomplete body) is one answer more."""
    try:
        client(port, answers, done)
    except Exception as error:
        answers.append(f"error {type(error).__name__}")


def after_last_reload(log: str) -> str:
    return log.rsplit(HANG_UP, 1)[1] if HANG_UP in log else ""


def replacements_after_reload(log: str) -> int:
    """Replacements completed (SIGTTOU handled) after the first ask following the last reload: a SIGTTOU from a
    replacement booted just before the reload may still land after it, never after a worker booted by the reload
    has served its max_requests."""
    since = after_last_reload(log)
    return since.split(ASK, 1)[1].count(TTOU) if ASK in since else 0


def test_reload_during_a_replacement_keeps_requests_and_recycling(tmp_path: Path) -> None:
    port = free_port()
    environ = server_environ(tmp_path, port, WEB_CONCURRENCY="1")
    args = ("--max-requests", str(RELOAD_RECYCLE_AFTER), "--max-requests-jitter", "0")
    server = start(tmp_path, environ, *args)
    answers: list[list[str]] = [[] for _ in range(CLIENTS)]
    done = threading.Event()
    threads = [threading.Thread(target=keep_alive_client, args=(port, mine, done), daemon=True) for mine in answers]
    try:
        wait_until_up(server)
        for thread in threads:
            thread.start()
        reloads = 0
        ends = time.monotonic() + LOAD_SECONDS
        while time.monotonic() < ends and all(thread.is_alive() for thread in threads):
            log = error_log(server)
            if reloads < len(RELOAD_AT_ASKS):
                if log.count(TTIN) >= RELOAD_AT_ASKS[reloads]:  # a replacement asked for, not yet in place
                    server.process.send_signal(signal.SIGHUP)
                    reloads += 1
                    wait_for(lambda n=reloads: error_log(server).count(HANG_UP) >= n, "reload", server)
            elif replacements_after_reload(log) >= REPLACEMENTS_AFTER_RELOAD:
                break
            time.sleep(0.005)
        done.set()
        for thread in threads:
            thread.join(timeout=WAIT_SECONDS)
        assert not any(thread.is_alive() for thread in threads), "a client hung"
        log = error_log(server)
        assert log.count(HANG_UP) == len(RELOAD_AT_ASKS), log[-3000:]
        # Recycling goes on after the reload: asks answered by replacements, well within LOST_ASK_SECONDS (60 s)
        # that a stale pending ask would block them for.
        assert replacements_after_reload(log) >= REPLACEMENTS_AFTER_RELOAD, log[-3000:]
        # The load is over: the server settles at its one configured worker.
        assert settled_workers(server) == 1, error_log(server)[-3000:]
        log = error_log(server)
        assert log.count("Booting worker with pid") - log.count("Worker exiting") == 1, log[-3000:]
        assert requests.get(f"{server.url}/health", timeout=WAIT_SECONDS).status_code == 200
        code = server.stop()
    finally:
        done.set()
        kill_all(server)

    everything = [answer for mine in answers for answer in mine]
    failed = [answer for answer in everything if answer != HEALTHY]
    assert failed == [], f"{len(failed)} of {len(everything)} requests failed: {sorted(set(failed))}"
    assert code == 0, server.output()[-3000:]


def test_reload_while_a_worker_asks_for_its_replacement_keeps_one_worker(tmp_path: Path) -> None:
    """SIGHUP, then at once a request that makes the worker ask for its replacement (max_requests 1): the ask lands
    while the master reloads, before or after on_reload resets the counters. Either way the server must come back
    to its one configured worker. A few rounds, since which side of the reset the ask lands on is a race."""
    port = free_port()
    environ = server_environ(tmp_path, port, WEB_CONCURRENCY="1")
    server = start(tmp_path, environ, SLOW_APP, "--max-requests", "1", "--max-requests-jitter", "0")
    counts: list[int] = []
    try:
        wait_until_up(server)  # its request makes the first worker ask: replaced once before the first round
        for _ in range(RACE_ROUNDS):
            counts.append(settled_workers(server))
            if counts[-1] != 1:
                break
            server.process.send_signal(signal.SIGHUP)
            assert requests.get(f"{server.url}/health", timeout=WAIT_SECONDS).status_code == 200
        else:
            counts.append(settled_workers(server))
        code = server.stop()
    finally:
        kill_all(server)
    assert counts == [1] * (RACE_ROUNDS + 1), f"workers after each round: {counts}\n{error_log(server)[-3000:]}"
    assert code == 0


def test_a_sigttou_below_the_configured_count_is_refused(tmp_path: Path) -> None:
    """A replacement's SIGTTOU handled after a reload voided its ask (a race of the reload tests above) takes the
    master below the configured count: with two workers it would run one for good. The master keeps its count."""
    port = free_port()
    server = start(tmp_path, server_environ(tmp_path, port, WEB_CONCURRENCY="2"), SLOW_APP)
    try:
        wait_until_up(server)
        assert settled_workers(server) == 2
        before = workers(server.process.pid)
        server.process.send_signal(signal.SIGTTOU)
        wait_for(lambda: TTOU in error_log(server), "the master handling the SIGTTOU", server)
        assert settled_workers(server) == 2, error_log(server)[-3000:]
        assert workers(server.process.pid) == before  # none stopped, none booted
        assert requests.get(f"{server.url}/health", timeout=WAIT_SECONDS).status_code == 200
        code = server.stop()
    finally:
        kill_all(server)
    assert code == 0, server.output()[-3000:]


def idle_connection(port: int) -> HTTPConnection:
    """A keep-alive connection that has been answered once and is now idle."""
    connection = HTTPConnection("127.0.0.1", port, timeout=WAIT_SECONDS)
    connection.request("GET", "/health")
    response = connection.getresponse()
    assert f"{response.status} {response.read().decode()}" == HEALTHY
    assert response.getheader("Connection", "").lower() != "close"
    return connection


def next_answer(connection: HTTPConnection) -> str:
    """The next request on a kept connection: its answer and Connection header, or how it failed."""
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        return f"{response.status} {response.read().decode()}Connection: {response.getheader('Connection')}"
    except (OSError, HTTPException) as error:
        return f"failed {type(error).__name__}"


def timed_stop(server: Gunicorn) -> tuple[int, float]:
    """SIGTERM to the master: its exit code, and the seconds it took to exit."""
    started = time.monotonic()
    code = server.stop()
    return code, time.monotonic() - started


def test_a_reload_keeps_idle_keep_alive_connections_of_the_workers_it_replaces(tmp_path: Path) -> None:
    """SIGHUP replaces every worker. A client's idle keep-alive connection to an old worker stays open until the
    client uses it (its next request is answered, with `Connection: close`): closed by the server, that request
    could be on its way already and read a reset. Once the reload is over, a stop closes idle connections at once:
    the workers the reload booted are not being replaced."""
    port = free_port()
    server = start(tmp_path, server_environ(tmp_path, port, WEB_CONCURRENCY="1"), SLOW_APP)
    try:
        wait_until_up(server)
        old = workers(server.process.pid)
        kept = idle_connection(port)
        server.process.send_signal(signal.SIGHUP)
        wait_for(lambda: workers(server.process.pid) - old != set(), "a worker booted by the reload", server)
        assert requests.get(f"{server.url}/health", timeout=WAIT_SECONDS).status_code == 200
        time.sleep(HOLD_SECONDS)  # the old worker is draining by now
        assert old <= workers(server.process.pid), "the old worker left before its idle connection was used"
        answer = next_answer(kept)
        kept.close()
        wait_for(lambda: not old & workers(server.process.pid), "exit of the replaced worker", server)
        fresh = idle_connection(port)
        code, stopped_in = timed_stop(server)  # long before keepalive (105 s) if the new worker closes its idle one
        fresh.close()
    finally:
        kill_all(server)
    assert answer == f"{HEALTHY}Connection: close", server.output()[-3000:]
    assert code == 0, server.output()[-3000:]
    assert stopped_in < STOP_SECONDS / 3, f"the stop waited {stopped_in:.1f} s for an idle connection"


def test_after_a_replacement_a_stop_does_not_wait_for_the_replacements_idle_connections(tmp_path: Path) -> None:
    """Only the worker a replacement stops drains as replaced: the replacement, stopped later with the server, closes
    its idle keep-alive connections once nothing is in flight instead of keeping them up to `keepalive` (105 s)."""
    port = free_port()
    environ = server_environ(tmp_path, port, WEB_CONCURRENCY="1")
    args = ("--max-requests", str(SLOW_RECYCLE_AFTER), "--max-requests-jitter", "0")
    server = start(tmp_path, environ, SLOW_APP, *args)
    try:
        wait_until_up(server)
        old = workers(server.process.pid)
        for _ in range(5 * SLOW_RECYCLE_AFTER):  # until the worker asks: its replacement then starts afresh
            if ASK in error_log(server):
                break
            assert new_connection(port) == HEALTHY
        wait_for(lambda: TTOU in error_log(server), "replacement booted (its SIGTTOU to the master)", server)
        wait_for(lambda: not old & workers(server.process.pid), "exit of the replaced worker", server)
        assert len(workers(server.process.pid)) == 1
        idle = idle_connection(port)  # to the replacement, well below its own max_requests
        code, stopped_in = timed_stop(server)
        idle.close()
    finally:
        kill_all(server)
    assert code == 0, server.output()[-3000:]
    assert stopped_in < STOP_SECONDS / 3, f"the stop waited {stopped_in:.1f} s for an idle connection"
