"""gunicorn's threaded worker, recycled and stopped without dropping a connection or stalling the queue.

gunicorn's own `gthread` worker, on reaching `max_requests` or on SIGTERM, closes every keep-alive connection it
holds as it exits, even one on which the client has just sent its next request (the client reads a reset), and
with one worker nothing accepts until the master has booted a replacement (the listen queue stalls). Here:

- **Replacement first.** A worker that has served `max_requests` (plus jitter) asks the master for one more worker
  (SIGTTIN) and keeps serving. The new worker, once its app is loaded, tells the master to go back to the
  configured count (SIGTTOU); the master then stops its oldest worker (SIGTERM). So there is always a worker
  accepting. With several workers the oldest is the one stopped, which may be another than the one that asked
  (each worker asks once, one replacement at a time: every ask replaces the oldest worker). A reload (SIGHUP)
  replaces every worker, and voids an ask in flight; the master's hooks keep the count at the configured one
  whichever way the signals of an ask and a reload interleave.
- **Draining.** On SIGTERM a worker stops accepting, finishes every request in flight and answers every request
  already sent, each with `Connection: close`. A worker being replaced (its SIGTERM follows a replacement's
  SIGTTOU, or a reload) then keeps each idle keep-alive connection until the client sends one more request
  (answered, then closed) or closes it, or it has been idle for `keepalive` seconds (as always): only the client (or
  the ALB, whose idle timeout is shorter than `keepalive`) closes an idle connection first, so no request is ever
  sent into a connection being closed. A worker of a stopping server (a deploy: the load balancer has drained the
  task) closes its idle connections once nothing is in flight. Either way the drain ends after `graceful_timeout`
  at the latest.
- **A cheaper loop.** gthread's main loop waits on every request in flight with `futures.wait()` (a lock per
  request, each turn) and writes its heartbeat and checks its parent on every turn; here finished requests leave
  the set themselves and the heartbeat is once a second.
"""

from __future__ import annotations

import multiprocessing
import os
import selectors
import signal
import sys
import time
from concurrent import futures
from contextlib import suppress
from functools import partial
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

# Shared by the master and its workers (created before the fork): the replacement asked for and not yet booted, and
# the age (gunicorn's spawn number) of the youngest worker the master has stopped in order to replace it. A worker
# is told which way to drain by its own age, not by a count handed from process to process, so no signal that lands
# late (around a reload) can leave a stale "being replaced" for a worker stopped later with the server.
_PENDING = multiprocessing.Value("i", 0)
_ASKED_AT = multiprocessing.Value("d", 0.0)  # time.monotonic() of the pending ask (one clock for all processes)
# No lock: only the master writes it, before the SIGTERM that makes a worker read it (a lock held by a worker killed
# mid-read would stop the master for good).
_REPLACED_UP_TO_AGE = multiprocessing.Value("i", 0, lock=False)
DRAIN_POLL_SECONDS = 0.2
SHUTDOWN_POLL_SECONDS = 0.05
# An ask whose replacement has not booted by then was lost (the master drops signals beyond five queued ones).
LOST_ASK_SECONDS = 60.0
# A process killed while holding a counter's lock never releases it: nobody waits on it longer than this.
LOCK_SECONDS = 1.0


def _locked(counter: Any) -> bool:
    return bool(counter.get_lock().acquire(timeout=LOCK_SECONDS))


def _take(counter: Any) -> bool:
    if not _locked(counter):
        return False
    try:
        if counter.value <= 0:
            return False
        counter.value -= 1
        return True
    finally:
        counter.get_lock().release()


def _replacing(age: int) -> None:
    """In the master: every worker up to this age that it stops from now on is stopped to be replaced."""
    _REPLACED_UP_TO_AGE.value = max(_REPLACED_UP_TO_AGE.value, age)  # only the master writes it


def replace_all(arbiter: Any) -> None:
    """`on_reload`: the master goes back to the configured count, so an ask in flight is void, and it replaces every
    worker it has (the reload's own are forked after this hook): they drain like a replaced worker."""
    if _locked(_PENDING):
        _PENDING.value = 0
        _PENDING.get_lock().release()
    _replacing(arbiter.worker_age)


def count_changed(arbiter: Any, new: int, old: int | None) -> None:
    """`nworkers_changed`, in the master. One fewer (a replacement's SIGTTOU): the oldest workers beyond the new
    count are being replaced; they are marked and stopped here, together, so that a worker reaped meanwhile (the
    master's SIGCHLD handler may run before `manage_workers`) cannot leave one marked and serving on. One fewer
    than configured: a SIGTTOU whose ask a reload voided (or an operator's); the count stays as configured.
    (gunicorn itself ignores SIGTTOU at one worker.) A reload's reset from one more than configured also passes
    here; `replace_all` marks every worker right after it anyway."""
    if old is None or new != old - 1 or new < 1:  # the first count, a SIGTTIN, a reload's other resets, SIGWINCH's 0
        return
    if new < arbiter.cfg.workers:
        arbiter.num_workers = arbiter.cfg.workers
        return
    by_age = sorted(arbiter.WORKERS.items(), key=lambda item: item[1].age)
    stopping = by_age[: max(0, len(by_age) - new)]
    if stopping:
        _replacing(stopping[-1][1].age)
        for pid, _ in stopping:
            arbiter.kill_worker(pid, signal.SIGTERM)  # manage_workers, next, repeats it to the same oldest ones


def account_for_worker(arbiter: Any) -> None:
    """`pre_fork`, in the master: a worker forked above the configured count with no ask pending is one whose ask a
    reload voided (the SIGTTIN reached the master after the SIGHUP), or one standing in for a worker that died while
    a replacement was on its way. It is made to owe the SIGTTOU, so the master goes back to the configured count
    instead of keeping one worker more for good; a SIGTTOU too many is refused by `count_changed`. (So SIGTTIN and
    SIGTTOU are this worker's protocol: the worker count is set by the configuration, not by signals.)"""
    if arbiter.num_workers <= arbiter.cfg.workers or not _locked(_PENDING):
        return
    try:
        if _PENDING.value == 0:
            _PENDING.value = 1
            _ASKED_AT.value = time.monotonic()
    finally:
        _PENDING.get_lock().release()


def claim_replacement() -> bool:
    """True for a worker booted because another asked for its replacement (then it owes the master a SIGTTOU)."""
    return _take(_PENDING)


def replacement_booted(worker: Any) -> None:
    """`post_worker_init`: the app is loaded, so the master may now stop the oldest worker."""
    if claim_replacement():
        os.kill(worker.ppid, signal.SIGTTOU)


class DrainingThreadWorker(ThreadWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # gthread would retire itself at max_requests by closing its connections; this worker asks for a
        # replacement instead, so gthread's own limit is switched off.
        self.recycle_after = self.max_requests
        self.max_requests = sys.maxsize
        self.served_since_ask = 0
        self.asked = False  # once per worker: a second ask before the first is answered would add a worker
        self.polling = False
        self.retiring: bool | None = None  # on SIGTERM: replaced (True) or the server stopping (False)
        # Requests in the pool, dropped by their own done callback: gthread instead scans them all with
        # futures.wait() on every turn of its loop (a lock per request in flight, each turn).
        self.futures: set[futures.Future[Any]] = set()  # type: ignore[assignment]
        self.next_heartbeat = 0.0

    # ------------------------------------------------------------------------------------------ recycling

    def handle_request(self, req: Any, conn: Any) -> bool:
        keepalive = super().handle_request(req, conn)
        self.served_since_ask += 1  # from the pool's threads: a lost increment only delays the ask slightly
        if self.alive and not self.asked and self.served_since_ask >= self.recycle_after:
            self.asked = self.ask_for_replacement()
        return keepalive

    def ask_for_replacement(self) -> bool:
        """One replacement at a time, whichever worker asks: the master queues at most five signals and drops the
        rest, so a flood of SIGTTINs could cost it a SIGTERM. False (ask again later) while one is on its way."""
        if not _locked(_PENDING):
            return False
        try:
            now = time.monotonic()
            if _PENDING.value > 0 and now - _ASKED_AT.value < LOST_ASK_SECONDS:
                return False
            _PENDING.value = 1  # a pending ask older than LOST_ASK_SECONDS was lost: this one replaces it
            _ASKED_AT.value = now
        finally:
            _PENDING.get_lock().release()
        self.log.info("Worker served %s requests: asking for its replacement", self.served_since_ask)
        os.kill(self.ppid, signal.SIGTTIN)
        return True

    # ------------------------------------------------------------------------------------------- draining

    def handle_exit(self, sig: int, frame: Any) -> None:
        # The master repeats its SIGTERM until the worker is gone: the first one decides how to drain.
        if self.retiring is None:
            self.retiring = self.age <= _REPLACED_UP_TO_AGE.value
        super().handle_exit(sig, frame)

    def _wrap_future(self, fs: futures.Future[Any], conn: Any) -> None:
        fs.conn = conn  # type: ignore[attr-defined]
        with self._lock:
            self.futures.add(fs)
        fs.add_done_callback(self.finish_request)

    def finish_request(self, fs: futures.Future[Any]) -> None:
        """As gthread's, except that a connection whose answer promised keep-alive is kept while draining: the
        client may already be sending its next request on it, which then gets an answer (`Connection: close`,
        since gthread closes every answer once `alive` is False)."""
        try:
            self.keep_or_close(fs)
        finally:
            with self._lock:  # only now: the drain must see the connection back in the poller or closed
                self.futures.discard(fs)

    def keep_or_close(self, fs: futures.Future[Any]) -> None:
        if fs.cancelled():
            self.nr_conns -= 1
            fs.conn.close()  # type: ignore[attr-defined]
            return
        try:
            keepalive, conn = fs.result()
            with self._lock:
                if keepalive and self.polling:
                    conn.sock.setblocking(False)
                    conn.set_timeout()
                    self._keep.append(conn)
                    self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))
                    return
            self.nr_conns -= 1
            conn.close()
        except Exception:
            self.nr_conns -= 1
            fs.conn.close()  # type: ignore[attr-defined]

    def run(self) -> None:
        with self._lock:
            self.polling = True
        try:
            self.serve_until_stopped()
            self.drain()
        finally:
            # Done with connections: the master repeats its SIGTERM until the process is gone, and one arriving
            # while the interpreter winds down (handlers reset) would end it "killed by a signal".
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            with self._lock:
                self.polling = False
            self.tpool.shutdown(False)
            self.poller.close()
            futures.wait(list(self.futures), timeout=self.cfg.graceful_timeout)

    def serve_until_stopped(self) -> None:
        """gthread's main loop, without its teardown (the drain follows)."""
        for sock in self.sockets:
            sock.setblocking(False)
            acceptor = partial(self.accept, sock.getsockname())
            self.poller.register(sock, selectors.EVENT_READ, acceptor)
        while self.alive:
            if not self.heartbeat():
                return
            self.poll_once(1.0, accept=True)
            self.murder_keepalived()

    def heartbeat(self) -> bool:
        """gthread tells the master it lives and checks its parent on every turn (two system calls per request
        under load); once a second is plenty for a 120 s timeout. False when the master is gone."""
        now = time.monotonic()
        if now < self.next_heartbeat:
            return True
        self.next_heartbeat = now + 1.0
        self.notify()
        return self.is_parent_alive()

    def poll_once(self, timeout: float, *, accept: bool) -> int:
        """One turn of the loop: readable sockets handed on; how many were readable."""
        if accept and self.nr_conns >= self.worker_connections:  # as many as allowed: wait for one to finish
            futures.wait(list(self.futures), timeout=timeout, return_when=futures.FIRST_COMPLETED)
            return 0
        events = self.poller.select(timeout)
        for key, _ in events:
            key.data(key.fileobj)
        return len(events)

    def drain(self) -> None:
        """Replaced: until every connection is closed by its client, answered with `Connection: close`, or idle for
        `keepalive` seconds. Stopping (a deploy; the load balancer has drained the task): until the requests in
        flight and those already sent are answered; then the idle connections are closed. At most
        `graceful_timeout` seconds either way."""
        with self._lock:
            for sock in self.sockets:
                with suppress(KeyError, ValueError):
                    self.poller.unregister(sock)
        for sock in self.sockets:
            sock.close()  # this process's copy: the master and the other workers keep listening
        deadline = time.monotonic() + self.cfg.graceful_timeout
        patient = bool(self.retiring)
        while time.monotonic() < deadline and self.heartbeat():
            readable = self.poll_once(DRAIN_POLL_SECONDS if patient else SHUTDOWN_POLL_SECONDS, accept=False)
            self.murder_keepalived()
            with self._lock:
                waiting = len(self.poller.get_map())  # connections between requests
            if not self.futures and (waiting == 0 if patient else readable == 0):
                break
        with self._lock:
            idle = [key.fileobj for key in self.poller.get_map().values()]
            for sock in idle:
                self.poller.unregister(sock)
        for sock in idle:
            with suppress(OSError):
                sock.close()
