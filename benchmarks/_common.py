"""Shared benchmark plumbing: a database to run on, timing, peak memory."""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from indexer.store.embedded import EmbeddedPostgres


@contextmanager
def benchmark_server() -> Iterator[str]:
    """``DEPIN_DATABASE_URL`` if set, else a fresh embedded Postgres (default, durable settings)."""
    url = os.environ.get("DEPIN_DATABASE_URL")
    if url:
        yield url
        return
    data_dir = Path(tempfile.mkdtemp(prefix="depin-bench-"))
    server = EmbeddedPostgres(data_dir)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def fresh_database(server_url: str, name: str) -> str:
    """Drop and create database ``name`` on the server; return its URL."""
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'drop database if exists "{name}" with (force)')  # sql-ok: benchmark's own name
    await admin.execute(f'create database "{name}"')  # sql-ok: benchmark's own name
    await admin.close()
    head, _, query = server_url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
