"""``depin-indexer demo``: the whole product on local chains, with nothing to configure.

Starts an embedded Postgres (its own data directory, a fresh database), two anvil nodes
(Polygon 137 and the AIOZ chain 168), a LiteSVM-backed Solana JSON-RPC server and a
CometBFT JSON-RPC server (AIOZ's Cosmos side), plays three months of traffic through real
transactions (io.net and Render on Solana, Render's legacy escrow on Polygon, AIOZ
payments on both sides of the AIOZ chain and node reward withdrawals on its Cosmos side,
and IO traded by wallets outside io.net), runs the real ingestors over JSON-RPC,
refreshes the figures, asks ``discover`` which wallets look like the networks' own (to
print beside the configured labels), prints them, draws a chart and serves the API.
"""

from __future__ import annotations

import asyncio
import random
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from indexer.chains.registry import build_ingestor
from indexer.chains.rpc import RpcClient
from indexer.config import parse_config
from indexer.demo.cosmos_scenario import DENOM, CosmosPlan, play_aioz_cosmos
from indexer.demo.evm_scenario import DAY, EvmPlan, play_aioz, play_polygon
from indexer.demo.solana_scenario import SolanaPlan, play_solana
from indexer.figures.discover import Candidate, discover, resolve_token
from indexer.figures.prices import import_prices
from indexer.figures.reference import sync_reference
from indexer.figures.refresh import refresh
from indexer.localchains.anvil import AnvilNode
from indexer.localchains.cometbft_rpc import CometRpcServer
from indexer.localchains.solana_rpc import SolanaRpcServer
from indexer.store.embedded import EmbeddedPostgres, default_data_dir
from indexer.store.migrate import migrate
from indexer.store.sqlfiles import queries
from schemas.config import Config

# What the summary shows of ``discover``: per (chain, token), the kinds whose top candidate
# a configured label should confirm.
DISCOVERED = (
    ("solana", "IO", ("distributor", "collector")),
    ("solana", "RENDER", ("emission_recipient", "distributor")),
    ("polygon", "RNDR", ("distributor",)),
)
START = date(2025, 8, 1)
DAYS = 92  # August to October
DATABASE = "depin_demo"


@dataclass
class DemoResult:
    """What the demo built: where, and the figures it printed."""

    database_url: str
    config: Config
    chart: Path | None = None
    revenue: list[dict[str, Any]] = field(default_factory=list)
    top_nodes: list[dict[str, Any]] = field(default_factory=list)
    utilisation: list[dict[str, Any]] = field(default_factory=list)
    profitability: list[dict[str, Any]] = field(default_factory=list)
    discovered: list[tuple[str, Candidate]] = field(default_factory=list)
    """(token symbol, the top candidate of a kind), as DISCOVERED lists them."""
    transactions: int = 0
    flows: int = 0
    aioz_cosmos: CosmosPlan | None = None
    """AIOZ's Cosmos side as played: the chain's own record of every movement."""


def _label(network: str, chain: str, address: str, role: str, name: str) -> dict[str, str]:
    return {"network": network, "chain": chain, "address": address, "role": role, "name": name}


def demo_config(
    polygon: str, aioz: str, solana: str, cometbft: str, rndr: EvmPlan, sol: SolanaPlan, cosmos: CosmosPlan
) -> Config:
    """The config the demo indexes with: the same contract a user writes."""
    bech32 = cosmos.chain.bech32
    evm = {"kind": "evm", "finality": 2, "max_block_range": 50}
    return parse_config(
        {
            "chains": {
                "solana": {"kind": "solana", "rpc": [solana], "transactions_per_request": 100},
                "polygon": {**evm, "rpc": [polygon], "chain_id": 137},
                # AIOZ's EVM view. No label names an address of it (below), so it stores no
                # flow: its native transfers are indexed only when a labelled address is party.
                "aioz": {**evm, "rpc": [aioz], "chain_id": 168, "native_symbol": "AIOZ"},
                "aioz-cosmos": {
                    "kind": "cosmos",
                    "rpc": [cometbft],
                    "bech32_prefix": "aioz",
                    "heights_per_request": 50,
                },
            },
            "tokens": [
                {"chain": "polygon", "address": rndr.token, "symbol": "RNDR", "decimals": 18},
                # The whole history of IO: the io.net wallets among everyone else's trades,
                # for discover to find (and for the figures, which only the labels decide).
                {"chain": "solana", "address": str(sol.io.address), "symbol": "IO", "decimals": 8, "follow": "mint"},
                {
                    "chain": "solana",
                    "address": str(sol.usdc.address),
                    "symbol": "USDC",
                    "decimals": 6,
                    "stablecoin": True,
                },
                {"chain": "solana", "address": str(sol.render.address), "symbol": "RENDER", "decimals": 8},
                {"chain": "aioz-cosmos", "address": DENOM, "symbol": "AIOZ", "decimals": 18},
            ],
            "labels": [
                _label("io.net", "solana", sol.payments, "revenue", "io.net payments (demo)"),
                _label("io.net", "solana", sol.distributor, "rewards", "io.net rewards distributor (demo)"),
                _label("render", "solana", str(sol.render.address), "burn_revenue", "RENDER burns (burn-and-mint)"),
                _label("render", "solana", sol.emissions, "rewards", "RENDER emissions wallet (demo)"),
                _label("render", "polygon", rndr.revenue[0], "revenue", "RNDR job escrow (demo)"),
                _label("render", "polygon", rndr.rewards[0], "rewards", "RNDR job escrow payouts (demo)"),
                # Each coin counted once, as in deploy/mainnet.toml: every AIOZ label is on
                # the Cosmos view. It holds every movement of the coin: the node reward
                # withdrawals (Cosmos transactions, which the EVM view never shows), the
                # customers' Cosmos bank sends, and the EVM value transfers too (ethermint
                # moves them through the bank), so the same payments labelled on chain
                # "aioz" as well would count twice. The price: there, an EVM payment's payer
                # is the evm module account, so all EVM payers count as one (amounts exact;
                # docs/methodology.md). Written as bech32: labels take either form.
                _label("aioz", "aioz-cosmos", bech32(cosmos.payments), "revenue", "AIOZ payments (demo)"),
                _label("aioz", "aioz-cosmos", bech32(cosmos.reward_pool), "rewards", "AIOZ node reward pool (demo)"),
            ],
        }
    )


def demo_prices(seed: int = 7) -> list[tuple[date, str, Decimal]]:
    """A plausible daily random walk per token (the demo has no price feed)."""
    rng = random.Random(seed)
    rows = []
    for symbol, price in (
        ("RNDR", Decimal("5.20")),
        ("AIOZ", Decimal("0.41")),
        ("IO", Decimal("2.10")),
        ("RENDER", Decimal("5.20")),
    ):
        for d in range(DAYS):
            price = max(Decimal("0.01"), price * Decimal(str(round(rng.uniform(0.96, 1.045), 4))))
            rows.append((START + timedelta(days=d), symbol, price.quantize(Decimal("0.0001"))))
    return rows


async def _figures(conn: asyncpg.Connection, result: DemoResult) -> None:
    sql = queries("demo")
    result.revenue = [dict(r) for r in await conn.fetch(sql["revenue"])]
    result.top_nodes = [dict(r) for r in await conn.fetch(sql["top_nodes"])]
    result.utilisation = [dict(r) for r in await conn.fetch(sql["utilisation"])]
    result.profitability = [dict(r) for r in await conn.fetch(sql["profitability"])]
    for chain, symbol, kinds in DISCOVERED:
        found = await discover(conn, chain, await resolve_token(conn, chain, symbol), None, None, 1)
        result.discovered += [(symbol, c) for kind in kinds for c in found if c.kind == kind]


async def build(stack: ExitStack, data_dir: Path | None = None, progress: Any = print) -> DemoResult:
    """Everything up to the figures; the servers stay up until ``stack`` closes."""
    server = EmbeddedPostgres((data_dir or default_data_dir()) / "demo")
    progress(
        "starting the embedded Postgres, two anvil nodes (Polygon 137, AIOZ 168), a Solana server "
        "and a CometBFT server (AIOZ's Cosmos side) ..."
    )
    admin_url = server.start()
    stack.callback(server.stop)
    polygon = stack.enter_context(AnvilNode(137, timestamp=int(_ts(START)) - 2 * DAY))
    aioz = stack.enter_context(AnvilNode(168, timestamp=int(_ts(START)) - 2 * DAY))
    admin = await asyncpg.connect(admin_url)
    # A database name is an identifier, which no statement can take as a parameter.
    await admin.execute(f"drop database if exists {DATABASE} with (force)")  # sql-ok: a constant name
    await admin.execute(f"create database {DATABASE}")  # sql-ok: a constant name
    await admin.close()
    head, _, query = admin_url.partition("?")
    url = f"{head.rsplit('/', 1)[0]}/{DATABASE}" + (f"?{query}" if query else "")

    progress(f"playing {DAYS} days of traffic through real transactions ...")
    rndr = await asyncio.to_thread(play_polygon, polygon.url, _ts(START), DAYS)
    native = await asyncio.to_thread(play_aioz, aioz.url, _ts(START), DAYS)
    ledger, sol = await asyncio.to_thread(play_solana, _ts(START), DAYS)
    cosmos = await asyncio.to_thread(play_aioz_cosmos, _ts(START), DAYS, native.revenue[0], native.value_transfers)
    solana = SolanaRpcServer(ledger)
    solana.start()
    stack.callback(solana.stop)
    cometbft = CometRpcServer(cosmos.chain)
    cometbft.start()
    stack.callback(cometbft.stop)
    config = demo_config(polygon.url, aioz.url, solana.url, cometbft.url, rndr, sol, cosmos)
    played = rndr.transactions + native.transactions + sol.transactions + cosmos.transactions
    result = DemoResult(url, config, transactions=played, aioz_cosmos=cosmos)

    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        await sync_reference(conn, config)
        await import_prices(conn, demo_prices())
        for name, chain in config.chains.items():
            progress(f"indexing {name} over JSON-RPC ...")
            async with RpcClient(name, chain.rpc) as client:
                # The same ingestors as backfill's: labels, and IO's follow = "mint".
                ingestor = build_ingestor(name, config, client)
                await ingestor.start()
                stats = await ingestor.sync(conn)
                result.flows += stats.flows
        progress("refreshing the figures ...")
        await refresh(conn)
        await _figures(conn, result)
    finally:
        await conn.close()
    return result


def _ts(day: date) -> int:
    return (day - date(1970, 1, 1)).days * DAY


def draw_chart(result: DemoResult, path: Path) -> Path:
    """Monthly revenue per network in USD, as a PNG."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    months = sorted({r["month"] for r in result.revenue})
    networks = sorted({r["network"] for r in result.revenue})
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    width = 0.8 / max(1, len(networks))
    for i, network in enumerate(networks):
        values = [
            float(sum((r["amount_usd"] or 0) for r in result.revenue if r["network"] == network and r["month"] == m))
            for m in months
        ]
        ax.bar([k + i * width for k in range(len(months))], values, width, label=network)
    ax.set_xticks([k + width * (len(networks) - 1) / 2 for k in range(len(months))])
    ax.set_xticklabels([m.strftime("%b %Y") for m in months])
    ax.set_ylabel("revenue, USD")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.set_title("Monthly revenue per network (depin-indexer demo)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
