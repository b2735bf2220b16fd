"""``depin-indexer backfill [--chain NAME] [--to BLOCK]``: index up to the final head, then exit."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from indexer import signals
from indexer.chains.registry import build_client, build_ingestor, chains_to_run
from indexer.errors import DepinError, Interrupted, UsageError
from indexer.figures.reference import sync_reference
from indexer.signals import STOP_SIGNALS
from indexer.store.database import connect, database_url
from indexer.store.locks import try_lock_job, unlock_job
from indexer.store.migrate import migrate
from schemas.config import Config

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("backfill", help="index every configured chain up to its final head, then exit")
    p.add_argument("--chain", metavar="NAME", help="only this chain")
    p.add_argument("--to", metavar="BLOCK", type=int, help="stop at this block (or slot)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    names = chains_to_run(config, args.chain)
    if args.to is not None and args.to < 0:
        raise UsageError("--to: must be a block number (0 or more)")
    with database_url(config) as url:
        return signals.run(_backfill(url, config, names, args.to))


MIN_RATE_SECONDS = 1.0


class _Progress:
    """A rich progress bar per chain on a terminal; a log line every few seconds otherwise."""

    def __init__(self, names: list[str]) -> None:
        self.console = Console(stderr=True)
        self.live = self.console.is_terminal
        self.bar = Progress(
            TextColumn("[bold]{task.fields[chain]:<10}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f} blocks"),
            TextColumn("{task.fields[flows]:,} flows"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not self.live,
        )
        self.tasks: dict[str, TaskID] = {}
        self.first: dict[str, int] = {}
        self.started: dict[str, float] = {}
        self.last_log: dict[str, float] = {}

    def __enter__(self) -> _Progress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def start(self, chain: str) -> None:
        """The chain's sync begins now: rates are measured from here."""
        self.started[chain] = time.monotonic()

    def update(self, chain: str, done: int, target: int, flows: int) -> None:
        now = time.monotonic()
        started = self.started.setdefault(chain, now)
        first_block = self.first.setdefault(chain, done)
        elapsed = now - started
        # A rate over the first milliseconds says nothing (and once read 6e12 ev/s).
        rate = (
            f"{(done - first_block) / elapsed:,.0f} blk/s {flows / elapsed:,.0f} ev/s"
            if elapsed >= MIN_RATE_SECONDS
            else ""
        )
        if chain not in self.tasks:
            self.tasks[chain] = self.bar.add_task("", chain=chain, flows=0, rate="", total=target)
        self.bar.update(self.tasks[chain], completed=done, total=target, flows=flows, rate=rate)
        if not self.live and now - self.last_log.get(chain, 0) >= 5:
            self.last_log[chain] = now
            log.info("%s: block %d of %d, %d flows%s", chain, done, target, flows, f", {rate}" if rate else "")


async def _backfill(url: str, config: Config, names: list[str], to_block: int | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    conn = await connect(url)
    try:
        await migrate(conn)
        await sync_reference(conn, config)
        failures = 0
        with _Progress(names) as progress:
            for name in names:
                if stop.is_set():
                    break
                failures += not await _one_chain(conn, config, name, to_block, progress, stop)
        if stop.is_set():
            print("interrupted: every committed range is kept; run backfill again to continue", file=sys.stderr)
            return Interrupted.exit_code
        return 1 if failures else 0
    finally:
        await conn.close()


async def _one_chain(
    conn, config: Config, name: str, to_block: int | None, progress: _Progress, stop: asyncio.Event
) -> bool:  # type: ignore[no-untyped-def]
    job = f"ingest:{name}"
    if not await try_lock_job(conn, job):
        log.error("%s: another depin-indexer process is indexing this chain; skipped", name)
        return False
    client = build_client(name, config, stop=stop)
    try:
        ingestor = build_ingestor(name, config, client)
        await ingestor.start()
        progress.start(name)
        stats = await ingestor.sync(
            conn,
            to_block=to_block,
            progress=lambda done, target, flows: progress.update(name, done, target, flows),
            should_stop=stop.is_set,
        )
        print(
            f"{name}: {stats.blocks:,} blocks, {stats.flows:,} flows ({stats.flows_new:,} new) "
            f"in {stats.seconds:.1f} s",
            file=sys.stderr,
        )
        if stats.undecodable:
            print(
                f"{name}: {stats.undecodable:,} transaction(s) recorded as undecodable, their flows left out "
                "(see core.undecodable_transactions)",
                file=sys.stderr,
            )
        return True
    except Interrupted:
        return True  # the caller reports the stop once, for every chain
    except DepinError as exc:
        if exc.exit_code == 2:
            raise
        log.error("%s: %s", name, exc)
        return False
    finally:
        await client.close()
        await unlock_job(conn, job)
