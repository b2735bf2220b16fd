"""``depin-indexer discover --chain NAME --token SYMBOL|ADDRESS``: candidate wallets, ranked.

Reads the rollups the refresh keeps of ``core.flows`` (and ``core.flows`` itself for days
not refreshed yet) in a read-only transaction and prints the best candidates of each
kind (distributor, collector, emission recipient, burner) with their evidence: a table,
one JSON array (``--format json``) or ready-to-paste ``[[labels]]`` blocks (``--format
toml``). It never writes a label: a person reviews the evidence and adds the label
(docs/discover.md).
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime

import asyncpg
from rich.console import Console
from rich.table import Table

from indexer.chains.registry import chains_to_run
from indexer.decode.cosmos import module_accounts
from indexer.errors import DatabaseError, UsageError
from indexer.figures.discover import Candidate, Token, discover, resolve_token
from indexer.store.database import connect, database_url
from schemas.config import Config, CosmosChain, EvmChain
from schemas.discover import CANDIDATES

FORMATS = ("table", "json", "toml")
_PLACEHOLDER = "NETWORK"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``discover`` and its options to the CLI."""
    p = sub.add_parser(
        "discover",
        help="rank the addresses of one token by behaviour: candidate distributors, collectors, "
        "emission recipients and burners, with their evidence (read-only)",
    )
    p.add_argument("--chain", metavar="NAME", required=True, help="a configured chain")
    p.add_argument("--token", metavar="SYMBOL|ADDRESS", required=True, help="a token of that chain")
    p.add_argument("--since", metavar="DAY", help="first UTC day (YYYY-MM-DD) of the window (default: all history)")
    p.add_argument("--until", metavar="DAY", help="last UTC day of the window, inclusive (default: all history)")
    p.add_argument("--limit", metavar="N", type=int, default=5, help="candidates per kind (default 5)")
    p.add_argument("--format", choices=FORMATS, default="table", help="output (default: table)")
    p.set_defaults(handler=run)


def parse_day(flag: str, text: str | None) -> date | None:
    """``text`` as a day, or :class:`UsageError` naming ``flag``."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} {text}: not a day; use YYYY-MM-DD") from None


def run(args: argparse.Namespace, config: Config) -> int:
    """Check the arguments (exit 2 naming the flag), then rank and print."""
    chain = chains_to_run(config, args.chain)[0]
    since, until = parse_day("--since", args.since), parse_day("--until", args.until)
    if since and until and since > until:
        raise UsageError(f"--since {since} is after --until {until}")
    if args.limit < 1:
        raise UsageError(f"--limit {args.limit}: must be 1 or more")
    token = args.token
    if isinstance(config.chains[chain], EvmChain) and token.startswith("0x"):
        token = token.lower()  # EVM addresses are stored in lower case
    with database_url(config) as url:
        found, resolved = asyncio.run(_discover(url, chain, token, since, until, args.limit))
    if isinstance(config.chains[chain], CosmosChain):
        # The fee collector is paid by every signer and looks like a collector: say what it is.
        modules = module_accounts()
        found = [replace(c, module=modules.get(c.address)) for c in found]
    if args.format == "json":
        print(CANDIDATES.dump_json(CANDIDATES.validate_python([c.as_json() for c in found]), indent=2).decode())
    elif args.format == "toml":
        window = "".join(f" {flag} {day}" for flag, day in (("--since", since), ("--until", until)) if day)
        print(render_toml(found, resolved, f"discover --chain {chain} --token {args.token}{window}"))
    else:
        _print_table(found, resolved)
    return 0


async def _discover(
    url: str, chain: str, token: str, since: date | None, until: date | None, limit: int
) -> tuple[list[Candidate], Token]:
    conn = await connect(url)
    try:
        resolved = await resolve_token(conn, chain, token)
        return await discover(conn, chain, resolved, since, until, limit), resolved
    except asyncpg.UndefinedTableError as exc:
        raise DatabaseError(
            f"the database has no indexer schema ({exc}); run 'depin-indexer migrate' and 'backfill' first"
        ) from None
    finally:
        await conn.close()


def _gap(candidate: Candidate) -> str:
    hours = candidate.evidence.median_gap_hours
    return "-" if hours is None else f"{hours:g} h"


def _print_table(found: list[Candidate], token: Token) -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=240)  # piped: whole addresses and amounts on one line
    table = Table(title=f"Candidate wallets of {token.symbol} on {token.chain} (evidence, not labels)")
    table.add_column("kind", no_wrap=True)
    table.add_column("score", justify="right")
    table.add_column("address", no_wrap=True, min_width=min(44, max((len(c.address) for c in found), default=7)))
    table.add_column("suggests")
    for column in ("recipients", "payers", "out / in", "days", "median gap", "regularity"):
        table.add_column(column, justify="right")
    for column in ("amount out", "amount in"):
        table.add_column(column, justify="right", overflow="fold")  # every digit: amounts are exact
    table.add_column("first day", no_wrap=True)
    table.add_column("last day", no_wrap=True)
    table.add_column("labelled")
    for c in found:
        e = c.evidence
        table.add_row(
            c.kind,
            f"{c.score:.3f}",
            c.address,
            c.suggested_role,
            f"{e.recipients:,}",
            f"{e.payers:,}",
            f"{e.transfers_out:,} / {e.transfers_in:,}",
            str(e.active_days),
            _gap(c),
            "-" if e.gap_regularity is None else f"{e.gap_regularity:.2f}",
            e.amount_out,
            e.amount_in,
            e.first_day.isoformat(),
            e.last_day.isoformat(),
            ", ".join([*c.labelled, *([f"module {c.module}"] if c.module else [])]) or "-",
        )
    console.print(table)
    if not found:
        console.print(f"no candidates: no flows of {token.symbol} on {token.chain} in the window")


def _evidence_lines(c: Candidate, symbol: str) -> list[str]:
    e = c.evidence
    regularity = "-" if e.gap_regularity is None else f"{e.gap_regularity:.2f}"
    return [
        f"# {c.kind} {c.address}, score {c.score:.3f}: {e.recipients:,} recipients, {e.payers:,} payers,",
        f"#   {e.transfers_out:,} transfers out and {e.transfers_in:,} in on {e.active_days} days "
        f"({e.first_day} to {e.last_day}),",
        f"#   median gap {_gap(c)}, regularity {regularity}, {e.amount_out} {symbol} out, {e.amount_in} {symbol} in",
    ]


def render_toml(found: list[Candidate], token: Token, command: str) -> str:
    """``[[labels]]`` blocks to review and paste, the evidence of each as comments.

    A burner's role (``burn_revenue``) is a label on the token, so the burners share one
    block. A block whose address already carries the suggested role is commented out.
    """
    today = datetime.now(UTC).date()
    out = [
        f"# Candidates of {token.symbol} on {token.chain}, discovered on {today} by: depin-indexer {command}",
        "# Evidence, not labels: check each before adding it, and replace the network placeholder.",
    ]
    burners = [c for c in found if c.kind == "burner"]
    for c in found:
        if c.kind == "burner":
            continue
        out += ["", *_evidence_lines(c, token.symbol)]
        block = _label_block(token, c.address, c.suggested_role, f"{c.kind} (discovered {today})", c.evidence.first_day)
        network = next((label for label in c.labelled if label.endswith(f" {c.suggested_role}")), None)
        if network or c.module:
            why = f"already labelled ({network})" if network else f"the chain's {c.module} module account, no network's"
            out.append(f"# {why}: nothing to add")
            block = [f"# {line}" for line in block]
        out += block
    if burners:
        out.append("")
        for c in burners:
            out += _evidence_lines(c, token.symbol)
        out.append("# Burns count as revenue only when customers burn to pay (burn-and-mint); a network's own")
        out.append("# buyback burns never do (docs/methodology.md).")
        first = min(c.evidence.first_day for c in burners)
        name = f"burns of {token.symbol} (discovered {today})"
        out += _label_block(token, token.address, "burn_revenue", name, first)
    return "\n".join(out)


def _label_block(token: Token, address: str, role: str, name: str, valid_from: date) -> list[str]:
    return [
        "[[labels]]",
        f'network = "{_PLACEHOLDER}"',
        f'chain = "{token.chain}"',
        f'address = "{address}"',
        f'role = "{role}"',
        f'name = "{name}"',
        f"valid_from = {valid_from.isoformat()}",
    ]
