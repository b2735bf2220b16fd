"""``depin-indexer demo``: local chains, real transactions, real ingestors, figures, API.

The demo and its local chains need the ``demo`` extra (solders, web3, matplotlib), which a
production install leaves out: without it the command exits 2 naming the fix, before it
starts anything.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from indexer.commands.api import reader_url
from indexer.errors import DepinError, UsageError
from schemas.config import Config

if TYPE_CHECKING:  # the runner imports the demo extra: only for the type checker here
    from indexer.demo.runner import DemoResult

DEMO_REQUIRES = ("solders", "web3", "matplotlib")
"""Top-level modules of the ``demo`` extra (``pip install 'depin-indexer[demo]'``)."""
INSTALL_HINT = "pip install 'depin-indexer[demo]'"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``demo`` and its options to the CLI."""
    p = sub.add_parser("demo", help="run the whole pipeline on local chains and show the figures")
    p.add_argument(
        "--keep",
        action="store_true",
        help="leave the database and the anvil nodes running on exit (for psql, backfill)",
    )
    p.add_argument("--no-serve", action="store_true", help="exit after the summary instead of serving the API")
    p.add_argument("--port", type=int, default=0, help="API port (default: a free one)")
    p.add_argument("--chart", type=Path, default=Path("depin-demo-revenue.png"), help="where to write the chart")
    p.set_defaults(handler=run)


def _money(value: object) -> str:
    return "-" if value is None else f"{value:,.2f}"


def print_summary(console: Console, result: DemoResult) -> None:
    """The four tables of the demo's figures, then what ``discover`` found."""
    table = Table(title="Monthly revenue (customer payments)")
    for column in ("network", "month", "token", "amount", "USD", "payments", "payers"):
        table.add_column(column, justify="right" if column not in ("network", "token") else "left")
    for r in result.revenue:
        table.add_row(
            r["network"],
            r["month"].strftime("%Y-%m"),
            r["token"],
            _money(r["amount"]),
            _money(r["amount_usd"]),
            str(r["payments"]),
            str(r["payers"]),
        )
    console.print(table)
    table = Table(title="Top earning nodes, latest month")
    for column in ("network", "month", "node", "earned USD", "days active"):
        table.add_column(column)
    for r in result.top_nodes:
        table.add_row(
            r["network"], r["month"].strftime("%Y-%m"), r["node"], _money(r["earnings_usd"]), str(r["days_active"])
        )
    console.print(table)
    table = Table(title="Utilisation")
    for column in (
        "network",
        "month",
        "active nodes",
        "node-days",
        "utilisation",
        "customers",
        "revenue USD",
        "rewards USD",
        "demand ratio",
    ):
        table.add_column(column)
    for r in result.utilisation:
        table.add_row(
            r["network"],
            r["month"].strftime("%Y-%m"),
            str(r["active_nodes"]),
            str(r["node_days_active"]),
            f"{r['utilisation']:.3f}",
            str(r["paying_customers"]),
            _money(r["revenue_usd"]),
            _money(r["rewards_usd"]),
            _money(r["demand_ratio"]),
        )
    console.print(table)
    table = Table(title="Profitability at 450 W and 0.15 USD/kWh")
    for column in ("network", "month", "nodes", "profitable", "average net USD"):
        table.add_column(column)
    for r in result.profitability:
        table.add_row(
            r["network"],
            r["month"].strftime("%Y-%m"),
            str(r["nodes"]),
            str(r["profitable"]),
            _money(r["average_net_usd"]),
        )
    console.print(table)
    print_discovered(console, result)


def print_discovered(console: Console, result: DemoResult) -> None:
    """The top candidate of each kind ``discover`` ranks, beside the label configured on it."""
    table = Table(title="Found by 'depin-indexer discover' from the flows alone, beside the configured labels")
    for column in ("token", "kind", "candidate", "score", "evidence", "configured label"):
        table.add_column(column)
    for symbol, c in result.discovered:
        e = c.evidence
        gap = "-" if e.median_gap_hours is None else f"every {e.median_gap_hours:g} h"
        evidence = f"{e.recipients} recipients, {e.payers} payers, {gap}"
        table.add_row(symbol, c.kind, f"{c.address[:10]}…", f"{c.score:.2f}", evidence, ", ".join(c.labelled) or "none")
    console.print(table)


def missing_requirements() -> list[str]:
    """The modules of the ``demo`` extra that are not installed."""
    return [name for name in DEMO_REQUIRES if importlib.util.find_spec(name) is None]


def _demo_extra_error(missing: list[str]) -> UsageError:
    return UsageError(
        f"the demo needs the 'demo' extra (not installed: {', '.join(missing)}); "
        f"install it with: {INSTALL_HINT} (in a source checkout: pip install '.[demo]')"
    )


def run(args: argparse.Namespace, config: Config) -> int:
    """Run the demo; exit 2 (:class:`UsageError`) if the ``demo`` extra is not installed."""
    missing = missing_requirements()
    if missing:
        raise _demo_extra_error(missing)
    try:
        from indexer.demo.runner import build, draw_chart
    except ModuleNotFoundError as exc:
        # The extra is there but incomplete (a dependency of it is missing): name the
        # module and the fix rather than a traceback. A module of ours missing is a bug.
        if not exc.name or exc.name.partition(".")[0] in ("indexer", "schemas"):
            raise
        raise _demo_extra_error([exc.name]) from None

    console = Console()
    if not console.is_terminal:
        console = Console(width=150)  # logs and CI: do not squeeze the tables into 80 columns
    started = time.monotonic()
    stack = ExitStack()
    try:
        result = asyncio.run(build(stack, progress=lambda m: console.print(f"[dim]{m}[/dim]")))
        print_summary(console, result)
        chart = draw_chart(result, args.chart.resolve())
        console.print(
            f"{result.transactions:,} transactions played, {result.flows:,} flows indexed, "
            f"in {time.monotonic() - started:.0f} s"
        )
        console.print(f"chart: {chart}")
        console.print(f"database: {result.database_url}  (analysts: user depin_analyst)")
        if not args.no_serve:
            _serve(console, result.database_url, args.port)
        if args.keep:
            stack.pop_all()
            console.print(
                "kept running: the embedded database (stop it with DEPIN_DATA_DIR=<data dir>/demo "
                "depin-indexer db stop) and the two anvil nodes; the Solana and CometBFT servers and the API end "
                "with this process"
            )
        return 0
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    finally:
        stack.close()


def _serve(console: Console, database_url: str, port: int) -> None:
    """Serve the API until a signal ends the demo (KeyboardInterrupt, exit 130)."""
    import uvicorn

    from indexer.api.app import create_app

    if not port:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
    base = f"http://127.0.0.1:{port}"

    class DemoServer(uvicorn.Server):
        # uvicorn takes SIGINT and SIGTERM for itself: one that lands during its start-up
        # made it exit 3, one after it re-raised at shutdown, and the demo ended with
        # either code. The demo's own handlers (KeyboardInterrupt on SIGINT, SIGTERM and
        # SIGHUP) stay in force instead, so every signal stops everything the same way.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:  # only now is the API up: say so
                _print_urls(console, base)

    server = DemoServer(
        uvicorn.Config(create_app(reader_url(database_url)), host="127.0.0.1", port=port, log_level="warning")
    )
    server.run()
    if not server.started:
        raise DepinError(f"the demo's API could not start on 127.0.0.1:{port} (see the message above)")


def _print_urls(console: Console, base: str) -> None:
    console.print(f"\ndashboard: {base}/")
    console.print("The API is up; try:")
    for path in (
        "/v1/networks",
        "/v1/revenue/monthly?network=render",
        "/v1/nodes?network=aioz&month=2025-10",
        "/v1/utilisation?network=render&granularity=month",
        "/v1/export/monthly_revenue?format=csv",
        "/docs",
    ):
        console.print(f"  {base}{path}")
    console.print("Ctrl-C stops everything.")
