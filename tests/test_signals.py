"""Every signal a process gets ends it promptly and leaves nothing running.

`backfill` and `run` are stopped while their RPC client waits out a provider that keeps
answering 429 with a long Retry-After (the wait a stop must not sit through); `demo` is
stopped while it serves and while it builds, and must take its embedded Postgres and
anvil nodes with it, as Ctrl-C always did.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import asyncpg
import pytest

from tests.chains.evm_config import evm_config
from tests.faults.proxy import fault_proxy
from tests.processes import ROOT, cli_env

pytestmark = pytest.mark.slow

STOP_WITHIN = 5.0  # seconds from the signal to the exit


def _config(tmp: Path, url: str) -> Path:
    service = {"ingest_interval": 0.5, "metrics_port": 0}
    return evm_config(tmp, url, "0x61299774020da444af134c82fa83e3810b309991", finality=2, service=service)


def _stop_and_time(proc: subprocess.Popen[bytes], sig: signal.Signals) -> float:
    started = time.monotonic()
    proc.send_signal(sig)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"still running 30 s after {sig.name}")
    return time.monotonic() - started


@pytest.mark.parametrize(
    ("command", "sig", "code"),
    [
        ("backfill", signal.SIGTERM, 130),
        ("backfill", signal.SIGHUP, 130),
        ("backfill", signal.SIGINT, 130),
        ("run", signal.SIGTERM, 0),
        ("run", signal.SIGHUP, 0),
    ],
)
def test_a_signal_ends_a_command_waiting_out_a_rate_limit(
    command: str, sig: signal.Signals, code: int, db_url: str, tmp_path: Path
) -> None:
    # Every request: 429, "retry after 60 s". The client keeps waiting and retrying.
    with fault_proxy("http://127.0.0.1:9", lambda _n, _b: "429", retry_after=60) as (url, proxy_log):
        proc = subprocess.Popen(
            [sys.executable, "-m", "indexer.cli", "--config", str(_config(tmp_path, url)), command],
            cwd=ROOT,
            env=cli_env(db_url, tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while not proxy_log.faults.get("429"):  # then it waits out the Retry-After
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the command never reached the endpoint"
            time.sleep(0.05)
        time.sleep(0.5)
        took = _stop_and_time(proc, sig)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert took < STOP_WITHIN, f"{command} took {took:.1f} s to stop after {sig.name}:\n{stderr[-2000:]}"
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}:\n{stderr[-2000:]}"
    assert asyncio.run(_cursors(db_url)) == 0, "nothing was indexed, so nothing may be committed"


async def _cursors(db_url: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(await conn.fetchval("select count(*) from core.cursors"))
    finally:
        await conn.close()


def _descendants(pid: int) -> set[int]:
    """Every living process below ``pid``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _mentioning(text: str) -> set[int]:
    """Processes whose command line mentions ``text`` (the embedded Postgres runs detached)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.add(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.anvil
@pytest.mark.parametrize(("sig", "when"), [(signal.SIGTERM, "The API is up"), (signal.SIGHUP, "indexing")])
def test_a_signal_to_the_demo_stops_everything_it_started(sig: signal.Signals, when: str, tmp_path: Path) -> None:
    env = {**os.environ, "DEPIN_DATA_DIR": str(tmp_path)}
    env.pop("DEPIN_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "indexer.cli", "demo", "--chart", str(tmp_path / "chart.png")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    seen = threading.Event()
    output: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            output.append(raw.decode(errors="replace"))
            if when in output[-1]:
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(180), f"the demo never printed {when!r}:\n{''.join(output[-20:])}"
        started = _descendants(proc.pid) | _mentioning(str(tmp_path))
        assert any("anvil" in Path(f"/proc/{p}/cmdline").read_text(errors="replace") for p in started if _alive(p))
        assert _mentioning(str(tmp_path / "demo")), "the embedded Postgres is running"
        took = _stop_and_time(proc, sig)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(5)
    time.sleep(0.5)
    left = sorted(p for p in started if _alive(p))
    assert not left, f"{sig.name} left processes running: " + "; ".join(
        Path(f"/proc/{p}/cmdline").read_text(errors="replace").replace("\0", " ")[:120] for p in left
    )
    assert took < 20, f"the demo took {took:.1f} s to stop"
    assert proc.returncode == 130, f"exit {proc.returncode}:\n{''.join(output[-20:])}"
