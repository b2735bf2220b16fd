"""A plain anvil node for the RPC client tests (the EVM tests have a richer fixture)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def anvil_binary() -> str:
    """``$ANVIL``, the npm-installed anvil of this checkout, or one on PATH."""
    for candidate in (os.environ.get("ANVIL"), str(ROOT / "node_modules" / ".bin" / "anvil"), shutil.which("anvil")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("anvil not found: run 'npm ci' in the repository (npm package @foundry-rs/anvil)")


def start_anvil(chain_id: int = 137) -> tuple[str, subprocess.Popen[bytes]]:
    """A fresh anvil on a free loopback port; returns (url, process) once it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            anvil_binary(),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--chain-id",
            str(chain_id),
            "--silent",
            "--timestamp",
            "1700000000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("anvil did not start")
            time.sleep(0.05)
    return url, proc


@pytest.fixture(scope="session")
def plain_anvil() -> Iterator[str]:
    url, proc = start_anvil()
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def anvil() -> Iterator[str]:
    """A fresh anvil (chain id 137) for one test."""
    url, proc = start_anvil()
    yield url
    proc.terminate()
    proc.wait(10)
