"""The API as a real server process: schemathesis over its OpenAPI schema, no 5xx."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def api_server(db_url: str, tmp_path: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`depin-indexer api` as a real process; yields its base URL once it answers."""
    port = _free_port()
    env = {**os.environ, "DEPIN_DATABASE_URL": db_url, "DEPIN_DATA_DIR": str(tmp_path)}
    env.pop("DEPIN_CONFIG", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "indexer.cli", "api", "--port", str(port), *extra],
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
        yield base, server
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(10)


@pytest.mark.slow
def test_schemathesis_finds_no_server_error(populated: tuple[str, dict[str, Decimal]], tmp_path: Path) -> None:
    db_url, _ = populated
    with api_server(db_url, tmp_path) as (base, _):
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


def _children(pid: int) -> list[int]:
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its parent (here, init) has yet to reap it


def test_several_workers_answer_and_sum_their_metrics(
    populated: tuple[str, dict[str, Decimal]], tmp_path: Path
) -> None:
    db_url, _ = populated
    # 5 customers pay (c+1) USDC + 1 raw unit every day of February (29 days).
    february = Decimal(29 * sum(1_000_000 * (c + 1) + 1 for c in range(5))) / Decimal(10**6)
    with api_server(db_url, tmp_path, "--workers", "2") as (base, server):
        workers = _children(server.pid)
        assert len(workers) >= 2, f"expected 2 worker processes, found {workers}"
        requests = 60
        for _ in range(requests):
            # A new connection each time, so the kernel spreads them over the workers.
            with httpx.Client() as client:
                r = client.get(
                    f"{base}/v1/revenue/monthly", params={"network": "io.net", "from": "2024-02", "to": "2024-02"}
                )
                assert r.status_code == 200
                assert Decimal(r.json()["revenue"][0]["amount"]) == february
        # Every worker's requests are counted, whichever worker answers /metrics.
        for _ in range(4):
            text = httpx.get(f"{base}/metrics").text
            counted = [
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("depin_api_requests_total{") and 'route="/v1/revenue/monthly"' in line
            ]
            assert counted == [requests], text
        server.send_signal(signal.SIGTERM)
        assert server.wait(15) == 0
        deadline = time.monotonic() + 5
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "a worker outlived the server"
