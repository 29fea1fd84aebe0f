"""Bounded concurrency for independent Confluence calls (images, attachments, email lookups)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_LIMIT = 8


def map_bounded(fn: Callable[[T], R], items: Iterable[T], limit: int = DEFAULT_LIMIT) -> list[R]:
    """Results in input order; the first failure cancels what has not started and is raised."""
    work = list(items)
    if not work:
        return []
    if len(work) == 1 or limit <= 1:
        return [fn(item) for item in work]
    with ThreadPoolExecutor(max_workers=min(limit, len(work)), thread_name_prefix="fanout") as pool:
        futures = [pool.submit(fn, item) for item in work]
        _done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in futures:
            if future.done() and not future.cancelled() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]
