"""Fetching ahead: the piece the EVM and Solana ingestors share to write while they fetch.

An ingestor runs a *fetcher* task that fetches and decodes batches into a bounded
``asyncio.Queue`` (memory holds at most its size more batches), ending with ``None``,
while its own loop takes the batches in order and writes them, one transaction each
(the EVM ingestor commits the batches already waiting together with the one it took):
Python parses and decodes on one core while Postgres writes on the other. Only the
writing loop touches the database, so the cursor's commit alone orders batches.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


async def next_or_failure(ahead: asyncio.Queue[T | None], fetcher: asyncio.Future[Any]) -> T | None:
    """The next batch fetched ahead (None: the fetcher is done); once the fetcher failed
    and nothing it fetched before failing is left, its exception."""
    if not ahead.empty():
        return ahead.get_nowait()
    getter = asyncio.ensure_future(ahead.get())
    try:
        await asyncio.wait((getter, fetcher), return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        getter.cancel()
        raise
    if getter.done():
        return getter.result()
    getter.cancel()
    fetcher.result()  # raises what stopped the fetcher
    raise RuntimeError("the fetcher ended without marking the end")


async def stop_fetcher(fetcher: asyncio.Future[Any], failure: BaseException) -> None:
    """The writer failed with ``failure``: cancel the fetcher and wait until it has ended.

    Its batches in the queue are dropped. If it had failed too, with another exception,
    that one is logged: ``failure`` is what propagates.
    """
    fetcher.cancel()
    await asyncio.wait((fetcher,))
    if not fetcher.cancelled():
        error = fetcher.exception()
        if error is not None and error is not failure:
            log.warning("fetching ahead failed as well: %s: %s", type(error).__name__, error)


async def in_steps(count: int, size: int) -> AsyncIterator[slice]:
    """Slices of ``range(count)``, ``size`` long, with the event loop served between two.

    For decoding a batch: done at once, it held the answers arriving meanwhile, the
    requests waiting to go out and the writer's replies from Postgres for tens of
    milliseconds, and the endpoint idled (docs/benchmarks.md).
    """
    for start in range(0, count, size):
        if start:
            await asyncio.sleep(0)
        yield slice(start, start + size)


# Objects allocated between two young-generation collections while ingesting. A parsed
# answer is dozens of dicts and lists per transaction or log, all short-lived and without
# cycles; at the default 700 the collector ran every few transactions and cost 15-25% of a
# Solana ingest (measured with the replay server, docs/benchmarks.md).
# The memory this leaves uncollected is bounded by the threshold (a few MB).
INGEST_GC_THRESHOLD = 50_000
_raised = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the young-generation GC threshold while ingesting; restore it afterwards.

    Process-wide, so nested and concurrent syncs (several chains in one service) share
    one raise: the first in sets it, the last out restores what was there before.
    """
    global _raised, _saved
    if _raised == 0:
        _saved = gc.get_threshold()
        gc.set_threshold(max(INGEST_GC_THRESHOLD, _saved[0]), *_saved[1:])
    _raised += 1
    try:
        yield
    finally:
        _raised -= 1
        if _raised == 0 and _saved is not None:
            gc.set_threshold(*_saved)
            _saved = None


_P = ParamSpec("_P")
_R = TypeVar("_R")


def collecting_less(method: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R]]:
    """Run the coroutine ``method`` (an ingestor's ``sync``) inside :func:`fewer_collections`."""

    @functools.wraps(method)
    async def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with fewer_collections():
            return await method(*args, **kwargs)

    return run
