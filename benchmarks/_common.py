"""Shared benchmark plumbing: a database to run on, timing, peak memory."""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

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
    """Peak resident memory of this process so far (or since :func:`reset_peak_rss`), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> None:
    """Start the peak (VmHWM) over from the current RSS, so that two pipelines measured in
    one process each get their own peak (Linux: writing 5 to clear_refs resets it)."""
    import gc

    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def serve_in_process(serve: Callable[..., None], *args: object, probe: str) -> tuple[str, multiprocessing.Process]:
    """Run ``serve(port, *args)`` in its own process (its CPU is not ours) on a free
    loopback port; wait until it answers the JSON-RPC method ``probe``; return (url, process)."""
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = multiprocessing.Process(target=serve, args=(port, *args), daemon=True)
    proc.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": probe})
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return url, proc


class ReplayError(Exception):
    """Raised by ``_answer``: the call is answered with this JSON-RPC error instead."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ReplayHandler(BaseHTTPRequestHandler):
    """JSON-RPC over HTTP for the replay servers: each call (single or batch) is answered
    by ``_answer(call)``, which returns the result as JSON text (or raises
    :class:`ReplayError`, as a provider refusing the call)."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle's algorithm holds the body
    # until the client's delayed ACK, 40 ms per answer, which would cap one-call-at-a-time
    # clients (the baselines) at 25 requests/s.
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, call: dict[str, Any]) -> str:
        raise NotImplementedError

    def _item(self, call: dict[str, Any]) -> str:
        try:
            return f'{{"jsonrpc":"2.0","id":{json.dumps(call["id"])},"result":{self._answer(call)}}}'
        except ReplayError as exc:
            error = json.dumps({"code": exc.code, "message": exc.message})
            return f'{{"jsonrpc":"2.0","id":{json.dumps(call["id"])},"error":{error}}}'

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        calls = body if isinstance(body, list) else [body]
        out = [self._item(c) for c in calls]
        payload = ("[" + ",".join(out) + "]" if isinstance(body, list) else out[0]).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
