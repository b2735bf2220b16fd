"""The API as a real server process: schemathesis over its OpenAPI schema, no 5xx."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_schemathesis_finds_no_server_error(populated: tuple[str, dict[str, Decimal]], tmp_path: Path) -> None:
    db_url, _ = populated
    port = _free_port()
    env = {**os.environ, "DEPIN_DATABASE_URL": db_url, "DEPIN_DATA_DIR": str(tmp_path)}
    env.pop("DEPIN_CONFIG", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "indexer.cli", "api", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.2)
        run = subprocess.run(
            [
                str(Path(sys.executable).parent / "st"),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "40",
                "--seed",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=240,
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    finally:
        server.terminate()
        server.wait(10)
