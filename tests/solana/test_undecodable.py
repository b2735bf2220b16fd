"""Answers the decoder must refuse, as real mainnet nodes and proxies give them (issue 15):
``meta.innerInstructions: null``, ``jsonParsed`` instead of ``json``, wrapped SOL.

The ledger executes real SPL Token and ATA programs (LiteSVM) and its server answers like
mainnet; a proxy at the network boundary rewrites what a faulty node or cache would. The
CPI transaction is the scenario's ``RecoverNested``, reached by following node 0's wallet:
USDC moved into that wallet by the ATA program, a transfer that only
``innerInstructions`` show.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from indexer.api.app import create_app
from indexer.decode.columns import FlowColumns
from indexer.decode.solana import (
    TOKEN_2022_PROGRAM_ID,
    SolanaInnerInstructionsMissing,
    SolanaWrongEncoding,
    decode_transactions,
)
from indexer.localchains.solana_rpc import SolanaRpcServer
from tests.conftest import as_role, migrated_database
from tests.faults.proxy import fault_proxy
from tests.processes import run_cli, start_cli
from tests.solana.cli_config import world_config
from tests.solana.scenario import World
from tests.solana.test_mainnet_fixtures import MINT_7ER1, load

CAUSE = (
    "meta.innerInstructions is null: this node did not record inner instructions for this transaction, "
    "so CPI transfers cannot be decoded"
)
Flow = tuple[str, int, str, str | None, str | None, int]

Change = Callable[[str, dict[str, Any]], dict[str, Any]]


# --- answers as a faulty node or proxy gives them -----------------------------------------


def without_inner(tx: dict[str, Any]) -> dict[str, Any]:
    """The answer of a node that did not record inner instructions."""
    tx = copy.deepcopy(tx)
    tx["meta"]["innerInstructions"] = None
    return tx


def json_parsed(tx: dict[str, Any]) -> dict[str, Any]:
    """A ``json`` answer rewritten into the shape of ``encoding: "jsonParsed"`` (as an RPC
    node gives it: account keys as objects, instructions naming their program by key and
    their accounts by address, token instructions parsed)."""
    tx = copy.deepcopy(tx)
    message = tx["transaction"]["message"]
    keys: list[str] = list(message["accountKeys"])
    header = message["header"]
    signers = header["numRequiredSignatures"]
    loaded = tx["meta"].get("loadedAddresses") or {"writable": [], "readonly": []}
    everything = keys + loaded["writable"] + loaded["readonly"]

    def writable(i: int) -> bool:
        if i < signers:
            return i < signers - header["numReadonlySignedAccounts"]
        return i < len(keys) - header["numReadonlyUnsignedAccounts"]

    def parsed(ix: dict[str, Any]) -> dict[str, Any]:
        program = everything[ix["programIdIndex"]]
        height = ix.get("stackHeight")
        if program.startswith("Token"):
            accounts = {f"account{n}": everything[a] for n, a in enumerate(ix["accounts"])}
            return {
                "parsed": {"info": accounts, "type": "transferChecked"},
                "program": "spl-token",
                "programId": program,
                "stackHeight": height,
            }
        return {
            "accounts": [everything[a] for a in ix["accounts"]],
            "data": ix["data"],
            "programId": program,
            "stackHeight": height,
        }

    message["accountKeys"] = [
        {"pubkey": key, "signer": i < signers, "source": "transaction", "writable": writable(i)}
        for i, key in enumerate(keys)
    ]
    message["instructions"] = [parsed(ix) for ix in message["instructions"]]
    for group in tx["meta"]["innerInstructions"] or ():
        group["instructions"] = [parsed(ix) for ix in group["instructions"]]
    return tx


class Rewriter:
    """A proxy ``rewrite=``: ``change`` every getTransaction answer of ``only`` (or of every
    signature), and note the signatures each rewritten request asked for."""

    def __init__(self, change: Change, only: set[str] | None = None) -> None:
        self.change = change
        self.only = only
        self.requests: list[list[str]] = []

    def __call__(self, request: Any, answer: Any) -> Any:
        calls = request if isinstance(request, list) else [request]
        items = answer if isinstance(answer, list) else [answer]
        asked = {c.get("id"): c for c in calls if isinstance(c, dict) and c.get("method") == "getTransaction"}
        changed = False
        for item in items:
            call = asked.get(item.get("id"))
            result = item.get("result")
            if call is not None and isinstance(result, dict) and (self.only is None or call["params"][0] in self.only):
                item["result"] = self.change(call["params"][0], result)
                changed = True
        if changed:
            self.requests.append([c["params"][0] for c in asked.values()])
        return answer


# --- the decoder --------------------------------------------------------------------------


def test_null_inner_instructions_are_refused_naming_the_cause_exactly_when_a_cpi_was_possible(
    world: World, fetched: list[dict[str, Any]]
) -> None:
    # A real mainnet swap: its transfer is a CPI, so without innerInstructions it is invisible.
    swap = without_inner(load("2cd7QQSB"))
    with pytest.raises(SolanaInnerInstructionsMissing) as caught:
        decode_transactions([swap], {MINT_7ER1}, FlowColumns("solana"))
    message = str(caught.value)
    assert CAUSE in message, message
    assert swap["transaction"]["signatures"][0] in message and f"(slot {swap['slot']})" in message
    assert "CAMMCzo5YL8w4VFF8KVHrK22GGUsp5VTaW7grrKgrWqK" in message, "the program that may have made the CPIs"

    # The scenario's RecoverNested moves tracked USDC only in a CPI.
    by_signature = {tx["transaction"]["signatures"][0]: tx for tx in fetched}
    with pytest.raises(SolanaInnerInstructionsMissing, match="meta.innerInstructions is null"):
        decode_transactions([without_inner(by_signature[world.cpi[0]])], world.tracked, FlowColumns("solana"))

    # Token-2022 may make CPIs (transfer hooks): a null there hides what could have happened.
    moved = {f.tx for f in world.expected}
    token_2022 = [
        tx
        for tx in fetched
        if tx["transaction"]["signatures"][0] in moved
        and any(b["programId"] == TOKEN_2022_PROGRAM_ID for b in tx["meta"]["postTokenBalances"])
    ]
    assert token_2022
    with pytest.raises(SolanaInnerInstructionsMissing, match=TOKEN_2022_PROGRAM_ID):
        decode_transactions([without_inner(token_2022[-1])], world.tracked, FlowColumns("solana"))

    # Only SPL Token, System, Compute Budget or Memo instructions: none of them makes CPIs,
    # so nothing is hidden and the flows (with their idx) are the same as with [].
    plain = [
        tx
        for tx in fetched
        if tx["meta"]["err"] is None
        and tx["meta"]["innerInstructions"] == []
        and tx["meta"]["postTokenBalances"]
        and tx["transaction"]["signatures"][0] in moved
        and tx not in token_2022
    ]
    assert len(plain) > 50 and any(tx["transaction"]["signatures"][0] in world.temporary for tx in plain), (
        "plain transfers, and the account created and closed by top-level instructions"
    )
    want, got = FlowColumns("solana"), FlowColumns("solana")
    decode_transactions(plain, world.tracked, want)
    decode_transactions([without_inner(tx) for tx in plain], world.tracked, got)
    assert list(zip(got.tx, got.idx, got.amount, strict=True)) == list(zip(want.tx, want.idx, want.amount, strict=True))


@pytest.mark.parametrize("prefix", ["2cd7QQSB", "5bvyp1no", "2E9Ddokz"])
def test_a_json_parsed_answer_is_refused_naming_the_encoding(prefix: str) -> None:
    answer = json_parsed(load(prefix))
    with pytest.raises(SolanaWrongEncoding) as caught:
        decode_transactions([answer], {MINT_7ER1}, FlowColumns("solana"))
    message = str(caught.value)
    assert 'not in encoding "json"' in message and 'encoding: "json"' in message, message
    assert "jsonParsed" in message and answer["transaction"]["signatures"][0] in message
    # A proxy that rewrites the instructions only (keys left as strings) is caught too.
    only_instructions = copy.deepcopy(answer)
    only_instructions["transaction"]["message"]["accountKeys"] = load(prefix)["transaction"]["message"]["accountKeys"]
    with pytest.raises(SolanaWrongEncoding, match="programIdIndex"):
        decode_transactions([only_instructions], {MINT_7ER1}, FlowColumns("solana"))


# --- through the CLI ----------------------------------------------------------------------


def node_config(tmp: Path, url: str, world: World, extra: str = "", service: str = "") -> Path:
    """The world's config (small pages: several commits) following node 0's wallet too."""
    tmp.mkdir(parents=True, exist_ok=True)
    path = world_config(tmp, url, world, pages=4, batch=50)
    text = path.read_text().replace("transactions_per_request = 50\n", f"transactions_per_request = 50\n{extra}", 1)
    label = (
        f'\n[[labels]]\nnetwork = "io.net"\nchain = "solana"\naddress = "{world.nodes[0].pubkey()}"\nrole = "rewards"\n'
    )
    path.write_text(text + label + service)
    return path


async def flows(url: str) -> Counter[Flow]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("select tx, idx, token, src, dst, amount from core.flows where chain = 'solana'")
    finally:
        await conn.close()
    return Counter((r["tx"], r["idx"], r["token"], r["src"], r["dst"], int(r["amount"])) for r in rows)


async def clean_flows(pg_server: str, config: Path, tmp: Path) -> Counter[Flow]:
    """What an undisturbed backfill stores (straight to the server, no proxy)."""
    async with migrated_database(pg_server, "clean") as url:
        done = run_cli(config, url, tmp, "backfill")
        assert done.returncode == 0, done.stderr
        return await flows(url)


def without_tx(table: Counter[Flow], signature: str) -> Counter[Flow]:
    return Counter({flow: n for flow, n in table.items() if flow[0] != signature})


@pytest.mark.slow
async def test_null_inner_instructions_stop_the_backfill_with_the_cause_named(
    world: World, server: SolanaRpcServer, db_url: str, pg_server: str, tmp_path: Path
) -> None:
    target = world.cpi[0]
    clean = await clean_flows(pg_server, node_config(tmp_path / "clean", server.url, world), tmp_path)
    assert any(flow[0] == target for flow in clean), "the CPI transaction is reached and has flows"

    rewriter = Rewriter(lambda _sig, tx: without_inner(tx), only={target})
    with fault_proxy(server.url, rewrite=rewriter) as (proxy, _log):
        done = run_cli(node_config(tmp_path / "stop", proxy, world), db_url, tmp_path, "backfill")
    assert done.returncode == 1, done.stdout + done.stderr
    assert CAUSE in done.stderr and target in done.stderr, done.stderr
    slot = server.ledger.entry(target).slot  # type: ignore[union-attr]
    assert f"(chain solana, slot {slot})" in done.stderr, done.stderr
    assert 'on_undecodable = "stop"' in done.stderr and "Traceback" not in done.stderr, done.stderr

    stored = await flows(db_url)
    assert rewriter.requests, "the proxy served the transaction without its inner instructions"
    page = {sig for request in rewriter.requests for sig in request}
    assert not any(flow[0] in page for flow in stored), "flows of the page that failed were stored"
    assert stored <= clean, "what was stored before the stop is what a clean run stores"
    conn = await asyncpg.connect(db_url)
    try:
        # The page's checkpoint was not written: node 0's walk starts again at that page.
        node = str(world.nodes[0].pubkey())
        cursors = await conn.fetch("select source from core.cursors where source like $1", node + "%")
        assert cursors == [], cursors
        assert await conn.fetchval("select count(*) from core.undecodable_transactions") == 0
        assert await conn.fetchval("select block from core.cursors where chain = 'solana' and source = ''") is None
    finally:
        await conn.close()


@pytest.mark.slow
async def test_null_inner_instructions_are_recorded_and_the_run_goes_on(
    world: World, server: SolanaRpcServer, db_url: str, pg_server: str, tmp_path: Path
) -> None:
    target = world.cpi[0]
    clean = await clean_flows(pg_server, node_config(tmp_path / "clean", server.url, world), tmp_path)
    assert any(flow[0] == target for flow in clean)

    rewriter = Rewriter(lambda _sig, tx: without_inner(tx), only={target})
    with fault_proxy(server.url, rewrite=rewriter) as (proxy, _log):
        config = node_config(tmp_path / "record", proxy, world, extra='on_undecodable = "record"\n')
        done = run_cli(config, db_url, tmp_path, "backfill")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 transaction(s) recorded as undecodable" in done.stderr, done.stderr
        assert CAUSE in done.stderr, "the warning names the cause"
        assert await flows(db_url) == without_tx(clean, target), "every other flow is stored, none of it"

        verified = run_cli(config, db_url, tmp_path, "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert (
            "solana: 1 transaction(s) recorded as undecodable, not checked (see core.undecodable_transactions)"
            in verified.stdout
        ), verified.stdout
        assert "solana: ok" in verified.stdout

    conn = await asyncpg.connect(db_url)
    try:
        row = await conn.fetchrow("select * from core.undecodable_transactions")
        assert row is not None and await conn.fetchval("select count(*) from core.undecodable_transactions") == 1
        assert (row["chain"], row["signature"], row["slot"]) == ("solana", target, server.ledger.entry(target).slot)  # type: ignore[union-attr]
        assert row["reason"].startswith(CAUSE), row["reason"]
        answer = json.loads(row["answer"])
        assert answer == without_inner(json.loads(server.ledger.entry(target).result_json(with_version=True)))  # type: ignore[union-attr]
    finally:
        await conn.close()

    app = create_app(as_role(db_url, "depin_reader"))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
            ready = (await http.get("/readyz")).json()
    assert [(c["chain"], c["undecodable_transactions"]) for c in ready["chains"]] == [("solana", 1)], ready

    # Recovery, as docs/methodology.md tells it: forget the row, repair from a good node.
    conn = await asyncpg.connect(db_url)
    await conn.execute("delete from core.undecodable_transactions")
    await conn.close()
    repaired = run_cli(node_config(tmp_path / "good", server.url, world), db_url, tmp_path, "verify", "--repair")
    assert repaired.returncode == 0 and "repaired 1 transaction(s)" in repaired.stdout, repaired.stdout
    assert await flows(db_url) == clean


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["stop", "record"])
async def test_a_json_parsed_endpoint_stops_the_backfill_under_either_policy(
    world: World, server: SolanaRpcServer, db_url: str, tmp_path: Path, policy: str
) -> None:
    rewriter = Rewriter(lambda _sig, tx: json_parsed(tx))
    with fault_proxy(server.url, rewrite=rewriter) as (proxy, _log):
        config = node_config(tmp_path, proxy, world, extra=f'on_undecodable = "{policy}"\n')
        done = run_cli(config, db_url, tmp_path, "backfill")
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'not in encoding "json"' in done.stderr and "jsonParsed" in done.stderr, done.stderr
    assert "never recorded as undecodable" in done.stderr and "Traceback" not in done.stderr, done.stderr
    conn = await asyncpg.connect(db_url)
    try:
        assert await conn.fetchval("select count(*) from core.flows") == 0
        assert await conn.fetchval("select count(*) from core.undecodable_transactions") == 0
    finally:
        await conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
async def test_the_service_exports_the_count_as_a_metric(
    world: World, server: SolanaRpcServer, db_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    service = f"\n[service]\ningest_interval = 0.5\nverify_interval = 0\nmetrics_port = {port}\n"
    rewriter = Rewriter(lambda _sig, tx: without_inner(tx), only={world.cpi[0]})
    with fault_proxy(server.url, rewrite=rewriter) as (proxy, _log):
        config = node_config(tmp_path, proxy, world, extra='on_undecodable = "record"\n', service=service)
        proc = start_cli(config, db_url, tmp_path, "run")
        try:
            wanted = 'depin_undecodable_transactions{chain="solana"} 1.0'
            deadline = time.monotonic() + 90
            text = ""
            async with httpx.AsyncClient() as http:
                while wanted not in text:
                    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                    assert time.monotonic() < deadline, text[-3000:]
                    try:
                        text = (await http.get(f"http://127.0.0.1:{port}/metrics", timeout=5)).text
                    except httpx.TransportError:
                        pass  # not listening yet
                    await asyncio.sleep(0.2)
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
