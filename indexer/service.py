"""``depin-indexer run``: keep every chain current and the figures fresh, until SIGTERM.

APScheduler's ``AsyncIOScheduler`` runs one ingest job per chain plus a refresh job, each
with ``max_instances=1`` and coalescing (a slow run is never stacked). Every job takes a
Postgres advisory lock first, so any number of replicas split the work without indexing a
chain twice. A failing chain backs off exponentially without holding up the others.

On SIGTERM, SIGINT or SIGHUP the ingestors stop between ranges and any RPC wait ends at
once: the range in flight commits or rolls back as a whole, and the process exits 0
within seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import start_http_server

from indexer import metrics
from indexer.chains.registry import Ingestor, UnsupportedChain, build_client, build_ingestor
from indexer.chains.rpc import RpcClient
from indexer.errors import Interrupted, UsageError
from indexer.figures.refresh import database_now, record_failure
from indexer.redact import redact_text
from indexer.retry import Backoff
from indexer.signals import STOP_SIGNALS
from indexer.store.locks import try_lock_job, unlock_job
from indexer.store.sqlfiles import queries
from indexer.verify.runner import verify_chain
from schemas.config import Config

log = logging.getLogger(__name__)
_DATABASE_BACKOFF = Backoff(1.0, 30.0)
_SQL = queries("service")

# What a restarting or unreachable Postgres raises.
_DATABASE_DOWN = (
    OSError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.AdminShutdownError,
)

# Seconds a job may take to finish after SIGTERM before it is cancelled. RPC waits end
# at once on a stop (RpcClient.stop), so what is left is a write committing or a refresh.
SHUTDOWN_GRACE = 3.0


@dataclass
class ChainState:
    """Backoff bookkeeping of one chain's ingest job."""

    client: RpcClient
    ingestor: Ingestor
    started: bool = False
    failures: int = 0
    retry_at: float = 0.0


class Service:
    """The scheduled indexer. ``refresh`` is the analytics refresh, injected to keep layers apart."""

    def __init__(
        self,
        config: Config,
        pool: asyncpg.Pool,
        refresh: Callable[[asyncpg.Connection], Awaitable[object]] | None = None,
    ) -> None:
        self.config = config
        self.pool = pool
        self.refresh = refresh
        self.stopping = asyncio.Event()
        self.scheduler = AsyncIOScheduler(
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        )
        self.chains: dict[str, ChainState] = {}
        self._running: set[asyncio.Task[object]] = set()
        self._db_failures = 0
        self._db_retry_at = 0.0

    async def run(self) -> None:
        """Schedule the jobs and serve until :meth:`stop` (or a signal) is called."""
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self.stop)
        service = self.config.service
        for name in self.config.chains:
            client = build_client(name, self.config, metrics.rpc_observer(name), stop=self.stopping)
            try:
                self.chains[name] = ChainState(client, build_ingestor(name, self.config, client))
            except UnsupportedChain as exc:
                log.error("%s", exc)
                await client.close()
                continue
            self._schedule(f"ingest:{name}", self.ingest, name, service.ingest_interval)
        if self.refresh is not None:
            self._schedule("refresh", self.refresh_once, "refresh", service.refresh_interval)
        if service.verify_interval and self.chains:
            # The first verify waits one interval: at start-up the ingest has the endpoints.
            self._schedule(
                "verify", self.verify_once, "verify", service.verify_interval, first_in=service.verify_interval
            )
        self.scheduler.start()
        log.info("service started: %d chain(s), refresh %s", len(self.chains), "on" if self.refresh else "off")
        try:
            await self.stopping.wait()
        finally:
            await self._shutdown()

    def _schedule(
        self, job_id: str, job: Callable[[str], Awaitable[None]], name: str, seconds: float, first_in: float = 0.0
    ) -> None:
        self.scheduler.add_job(
            self._guard,
            "interval",
            args=[job, name],
            id=job_id,
            seconds=seconds,
            next_run_time=_now() + timedelta(seconds=first_in),
        )

    def stop(self) -> None:
        """Ask the service to finish the work in flight and exit."""
        if not self.stopping.is_set():
            log.info("stopping: finishing the batches in flight")
            self.stopping.set()

    async def _shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)
        if self._running:
            done, pending = await asyncio.wait(self._running, timeout=SHUTDOWN_GRACE)
            for task in pending:
                # Cancelling inside a transaction rolls it back: nothing half-written.
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2)
        for state in self.chains.values():
            await state.client.close()
        log.info("service stopped")

    async def _guard(self, job: Callable[[str], Awaitable[None]], name: str) -> None:
        """Run a job as a tracked task so shutdown can wait for it; back off when the
        database is unreachable (one line per attempt, not a traceback per tick)."""
        if self.stopping.is_set() or time.monotonic() < self._db_retry_at:
            return
        task = asyncio.ensure_future(job(name))
        self._running.add(task)
        try:
            await task
            self._db_failures = 0
        except asyncio.CancelledError:
            pass
        except _DATABASE_DOWN as exc:
            self._db_failures += 1
            delay = _DATABASE_BACKOFF.delay(self._db_failures)
            self._db_retry_at = time.monotonic() + delay
            log.warning("database unavailable (%s: %s); retrying in %.1f s", type(exc).__name__, exc, delay)
        finally:
            self._running.discard(task)

    async def ingest(self, name: str) -> None:
        """One ingest run of chain ``name``: follow the head, record status and metrics."""
        state = self.chains[name]
        if time.monotonic() < state.retry_at:
            return
        async with self.pool.acquire() as conn:
            job = f"ingest:{name}"
            if not await try_lock_job(conn, job):
                log.debug("%s: another replica holds the ingest lock", name)
                return
            try:
                if not state.started:
                    await state.ingestor.start()
                    state.started = True
                stats = await state.ingestor.sync(conn, follow_head=True, should_stop=self.stopping.is_set)
            except _DATABASE_DOWN:
                raise  # the database, not the chain: handled (and backed off) by _guard
            except Interrupted:
                return  # stopping: the range in flight was not written, nothing failed
            except Exception as exc:  # one chain's failure must not stop the others
                state.failures += 1
                delay = Backoff(2.0, self.config.service.max_backoff).delay(state.failures)
                state.retry_at = time.monotonic() + delay
                metrics.INGEST_FAILURES.labels(name, type(exc).__name__).inc()
                log.error(
                    "%s: ingest failed (%s: %s); retrying in %.0f s",
                    name,
                    type(exc).__name__,
                    exc,
                    delay,
                    exc_info=not isinstance(exc, (OSError, asyncpg.PostgresError)),
                )
                await _record_status(conn, name, None, None, error=f"{type(exc).__name__}: {exc}")
                return
            finally:
                if not conn.is_closed():
                    await unlock_job(conn, job)
            state.failures = 0
            metrics.EVENTS.labels(name).inc(stats.flows_new)
            metrics.LAST_SUCCESS.labels(name).set(time.time())
            if stats.reorgs:
                metrics.REORGS.labels(name).inc(stats.reorgs)
            if stats.head is not None and stats.indexed_to is not None:
                metrics.BLOCKS_BEHIND.labels(name).set(max(0, stats.head - stats.indexed_to))
            await _record_status(conn, name, stats.head, stats.final_head, error=None)
            # The table's count, not this run's: right after a restart too, and for every chain.
            metrics.UNDECODABLE.labels(name).set(await conn.fetchval(_SQL["undecodable_count"], name))
            if stats.flows_new:
                log.info("%s: %d new flows up to block %s", name, stats.flows_new, stats.indexed_to)

    async def refresh_once(self, _name: str) -> None:
        """Recompute rollups of dirty days and refresh the analytics views."""
        assert self.refresh is not None
        async with self.pool.acquire() as conn:
            if not await try_lock_job(conn, "refresh"):
                return
            began = await database_now(conn)
            try:
                started = time.perf_counter()
                await self.refresh(conn)
                metrics.REFRESH_SECONDS.observe(time.perf_counter() - started)
                metrics.LAST_REFRESH.set(time.time())
            except Exception as exc:
                # A metric and a row (analytics.freshness, /readyz), not only a log line.
                metrics.REFRESH_FAILURES.labels(type(exc).__name__).inc()
                log.error("refresh failed: %s: %s", type(exc).__name__, exc, exc_info=True)
                if not conn.is_closed():
                    await record_failure(conn, exc, began)
            finally:
                if not conn.is_closed():
                    await unlock_job(conn, "refresh")

    async def verify_once(self, _name: str) -> None:
        """Verify every chain against its endpoints (read-only); record what was found."""
        for name, state in self.chains.items():
            if self.stopping.is_set():
                return
            async with self.pool.acquire() as conn:
                job = f"verify:{name}"
                if not await try_lock_job(conn, job):
                    continue  # another replica is verifying this chain
                try:
                    await self._verify_chain(conn, name, state)
                finally:
                    if not conn.is_closed():
                        await unlock_job(conn, job)

    async def _verify_chain(self, conn: asyncpg.Connection, name: str, state: ChainState) -> None:
        # Its own ingestor over the chain's client: the ingest job keeps its state to itself,
        # and both share the endpoints' rate limits.
        ingestor = build_ingestor(name, self.config, state.client)
        started = time.perf_counter()
        try:
            verdict = await verify_chain(conn, self.config, ingestor)
        except _DATABASE_DOWN:
            raise  # backed off by _guard
        except Interrupted:
            return  # stopping: nothing was written
        except Exception as exc:  # a failed verify must not stop ingesting
            metrics.VERIFY_FAILURES.labels(name, type(exc).__name__).inc()
            log.error("%s: verify failed (%s: %s)", name, type(exc).__name__, exc)
            await conn.execute(_SQL["record_verify"], name, None, f"{type(exc).__name__}: {exc}")
            return
        metrics.VERIFY_MISMATCHES.labels(name).set(verdict.mismatches)
        metrics.LAST_VERIFY.labels(name).set(time.time())
        await conn.execute(_SQL["record_verify"], name, verdict.mismatches, None)
        took = time.perf_counter() - started
        if verdict.mismatches:
            log.warning(
                "%s: verify found %d mismatch(es) in %.1f s:\n%s",
                name,
                verdict.mismatches,
                took,
                "\n".join(verdict.lines),
            )
        else:
            log.info("%s: verify %s (%.1f s)", name, verdict.lines[-1].split(": ", 1)[-1], took)


async def _record_status(
    conn: asyncpg.Connection, chain: str, head: int | None, final: int | None, error: str | None
) -> None:
    # The error is shown by the API (/v1/freshness, the dashboard): never an endpoint's key.
    await conn.execute(_SQL["record_status"], chain, head, final, error and redact_text(error))


def _now() -> datetime:
    return datetime.now(UTC)


def start_metrics_server(port: int | None) -> None:
    """Serve /metrics of the service on ``port`` (None or 0: off)."""
    if not port:
        return
    try:
        start_http_server(port, addr="127.0.0.1", registry=metrics.REGISTRY)
    except OSError as exc:
        raise UsageError(f"service.metrics_port: cannot listen on 127.0.0.1:{port} ({exc.strerror})") from None
