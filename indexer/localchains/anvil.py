"""Local anvil EVM nodes (npm ``@foundry-rs/anvil``) for the demo and the test suite.

:class:`AnvilNode` runs one anvil process on a free loopback port and stops it (and the
npm shim that launched it) on exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import httpx

CONTRACTS = Path(__file__).resolve().parent / "contracts"
# A source checkout's node_modules (where `npm ci` puts anvil), when running from one.
_CHECKOUT = Path(__file__).resolve().parents[2]

# Genesis at 2023-01-01T00:00:00Z, before any timestamp a test picks (2024 onwards), so
# tests can move time forward freely; anvil refuses to go backwards.
GENESIS_TIMESTAMP = 1_672_531_200
# Generous block gas limit: batch transfers to hundreds of recipients fit in one block.
BLOCK_GAS_LIMIT = 1_000_000_000


class AnvilNotFound(RuntimeError):
    """No anvil binary: install the npm package of this repository."""


def _rpc(client: httpx.Client, url: str, method: str) -> Any:
    body = client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).json()
    return body["result"]


def find_anvil() -> str:
    """``$ANVIL``, else ``node_modules/.bin/anvil`` (here or in the source checkout), else PATH."""
    env = os.environ.get("ANVIL")
    if env:
        if not Path(env).exists():
            raise AnvilNotFound(
                f"ANVIL={env} does not exist; unset it to use this checkout's anvil "
                f"('npm install' in {_CHECKOUT} installs @foundry-rs/anvil)"
            )
        return env
    for base in (Path.cwd(), _CHECKOUT):
        local = base / "node_modules" / ".bin" / "anvil"
        if local.exists():
            return str(local)
    on_path = shutil.which("anvil")
    if on_path:
        return on_path
    raise AnvilNotFound(
        f"anvil not found: run 'npm install' (or 'npm ci') in {_CHECKOUT} to get @foundry-rs/anvil, "
        "or point ANVIL at an anvil binary"
    )


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AnvilNode:
    """One anvil process on a free loopback port; a context manager that stops it."""

    def __init__(
        self,
        chain_id: int = 137,
        *,
        binary: str | None = None,
        timestamp: int = GENESIS_TIMESTAMP,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
    ) -> None:
        self.chain_id = chain_id
        self.binary = binary or find_anvil()
        self.timestamp = timestamp
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The node's JSON-RPC URL (valid once started)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Start anvil and wait until it answers; retried on a port taken in between."""
        last = ""
        for _ in range(3):
            self.port = free_port()
            args = [
                self.binary,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--chain-id",
                str(self.chain_id),
                "--timestamp",
                str(self.timestamp),
                "--gas-limit",
                str(BLOCK_GAS_LIMIT),
                "--silent",
                *self.extra_args,
            ]
            # A session of its own: the npm shim runs anvil as a child process, and
            # stop() must end both.
            self.process = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
            )
            try:
                self._wait_ready()
                return self
            except RuntimeError as exc:
                last = str(exc)
                self.stop()
        raise RuntimeError(f"anvil did not start: {last}")

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self.process.poll() is not None:
                    err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                    raise RuntimeError(f"anvil exited with {self.process.returncode}: {err.strip()[-500:]}")
                try:
                    got = int(_rpc(client, self.url, "eth_chainId"), 16)
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"anvil did not answer on {self.url} within {self.startup_timeout} s"
                        ) from None
                    time.sleep(0.05)
                    continue
                if got != self.chain_id:
                    raise RuntimeError(f"{self.url} answers chain {got}, not {self.chain_id}: another process?")
                return

    def stop(self) -> None:
        """Stop anvil (and the npm shim); idempotent."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        if process.stderr is not None:
            process.stderr.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
