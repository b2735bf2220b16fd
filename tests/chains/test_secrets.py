"""RPC endpoint secrets never leave the process: not in logs, errors, metrics or the API."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.chains.evm_config import evm_config
from tests.chains.evm_scenario import EvmScenario
from tests.chains.test_evm_ingest import _traffic
from tests.chains.test_service import _free_port, _wait_for
from tests.faults.proxy import dead_endpoint, fault_proxy
from tests.processes import run_cli

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("QUERYSECRET4f9a1c", "PATHSECRET77b2e0", "PASSWORDSECRET913")


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "indexer.cli", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


async def test_endpoint_secrets_appear_in_no_log_metric_or_api_answer(anvil: str, db_url: str, tmp_path: Path) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=2)
    metrics_port, api_port = _free_port(), _free_port()
    # A live endpoint with a key in its query, a dead one with a key in its path and
    # credentials in its authority: the dead one makes the service log errors about it.
    dead = dead_endpoint().replace("http://", f"http://user:{SECRETS[2]}@")
    config = tmp_path / "depin.toml"
    config.write_text(
        f"""
[chains.polygon]
kind = "evm"
rpc = ["{anvil}/?api-key={SECRETS[0]}", "{dead}/v3/{SECRETS[1]}"]
chain_id = 137
finality = 3

[[tokens]]
chain = "polygon"
address = "{token}"
symbol = "RNDR"
decimals = 18

[service]
ingest_interval = 0.3
metrics_port = {metrics_port}
log_format = "json"

[api]
port = {api_port}
"""
    )
    env = {**os.environ, "DEPIN_DATABASE_URL": db_url, "DEPIN_DATA_DIR": str(tmp_path)}
    service = _start(env, "--config", str(config), "-vv", "run")
    api = None
    seen: list[str] = []
    conn = await asyncpg.connect(db_url)
    try:
        head = s.head()
        await _wait_for(
            conn,
            "select block from core.cursors where chain = 'polygon' and source = ''",
            lambda v: v is not None and v >= head,
        )
        async with httpx.AsyncClient(timeout=5) as http:
            metrics = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
            assert "depin_rpc_requests_total" in metrics and "127.0.0.1" in metrics, "endpoints are named"
            seen.append(metrics)
            api = _start(env, "--config", str(config), "api")
            deadline = time.monotonic() + 30
            while True:
                try:
                    if (await http.get(f"http://127.0.0.1:{api_port}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the API did not start"
                await asyncio.sleep(0.1)
            for path in ("/readyz", "/v1/networks", "/metrics", "/openapi.json", "/v1/revenue/monthly?network=x"):
                seen.append((await http.get(f"http://127.0.0.1:{api_port}{path}")).text)
    finally:
        await conn.close()
        for proc in (service, api):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                out, err = proc.communicate(timeout=15)
                seen += [out.decode(), err.decode()]
    logs = seen[-2] + seen[-1] if api is None else "".join(seen[-4:])
    assert "connection" in logs.lower() or "refused" in logs.lower(), "the dead endpoint's errors were logged"
    for secret in SECRETS:
        leaks = [text[max(0, text.find(secret) - 200) : text.find(secret) + 50] for text in seen if secret in text]
        assert not leaks, f"{secret} leaked: {leaks[0]}"


@pytest.mark.parametrize("path", ["", f"/v2/{SECRETS[1]}"])
def test_an_endpoint_named_in_an_error_keeps_its_name_not_its_key(
    plain_anvil: str, db_url: str, tmp_path: Path, path: str
) -> None:
    """An error names its endpoint, then a colon ("http://h:8545: eth_blockNumber failed …"):
    the log shows which endpoint, never its key, and never "<unparseable url>"."""

    def refuse(request: object, response: object) -> object:
        for answer in response if isinstance(response, list) else [response]:  # type: ignore[attr-defined]
            answer.pop("result", None)
            answer["error"] = {"code": -32601, "message": "the method eth_blockNumber does not exist"}
        return response

    with fault_proxy(plain_anvil, rewrite=refuse) as (url, _log):
        config = evm_config(tmp_path, url + path, "0x61299774020da444af134c82fa83e3810b309991")
        done = run_cli(config, db_url, tmp_path, "backfill", timeout=60)
    shown = url + ("/…" if path else "")
    assert done.returncode == 1, done.stderr
    assert f"{shown}: eth_blockNumber failed" in done.stderr, done.stderr
    assert "<unparseable url>" not in done.stderr and SECRETS[1] not in done.stderr, done.stderr
