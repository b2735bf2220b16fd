"""EVM chains (Polygon, the AIOZ chain, any other): fetch, follow finality, survive reorgs.

One :class:`EvmIngestor` per configured chain. ``sync(target)`` indexes from the stored
cursor up to the final head (``backfill``) or up to the head (the service), in block
ranges that adapt to what the endpoint accepts. Each range becomes one atomic write:
flows + the hashes of its unfinalised blocks + the cursor.

Reorgs: every stored unfinalised block carries its hash. Before extending the chain, the
stored tip is compared with the endpoint's block at the same height; on a mismatch the
ingestor walks back through the stored window to the fork point and rewinds everything
above it in one transaction. A fork below the stored window stops with
:class:`ReorgTooDeep`: it never silently diverges.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from indexer.chains import getlogs_limits
from indexer.chains.pipeline import collecting_less, in_steps, next_or_failure, stop_fetcher
from indexer.chains.rpc import EndpointsExhausted, RpcClient, RpcError
from indexer.chains.stats import SyncStats
from indexer.decode import evm as evm_decode
from indexer.decode.columns import FlowColumns
from indexer.errors import DepinError
from indexer.retry import Backoff
from indexer.store.sqlfiles import queries
from indexer.store.writer import BlockRow, Checkpoint, read_cursor, rewind, write_batch
from schemas.config import EvmChain

log = logging.getLogger(__name__)
# Answers that contradicted each other (a reorg while fetching): soon retried.
_INCONSISTENT_BACKOFF = Backoff(0.2, 5.0)
_SQL = queries("chains")

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


class ChainMismatch(DepinError):
    """An endpoint serves another chain than the configured ``chain_id``."""

    exit_code = 2


class ReorgTooDeep(DepinError):
    """The chain changed below the stored window of block hashes (or below finality)."""


class InconsistentResponse(DepinError):
    """Responses of one range contradict each other (a reorg while fetching); retried."""


def _hex(n: int) -> str:
    return hex(n)


class EvmSource:
    """The JSON-RPC calls one EVM ingestor needs, each validated before use."""

    def __init__(self, name: str, client: RpcClient) -> None:
        self.name = name
        self.client = client

    async def check_chain_id(self, expected: int) -> None:
        """Ask every endpoint for its chain id; a wrong one is a configuration error."""
        for endpoint in self.client.endpoints:
            one = RpcClient(self.name, [endpoint.url], max_attempts=3, stop=self.client.stop)
            try:
                got = int(await one.call("eth_chainId"), 16)
            except (RpcError, EndpointsExhausted) as exc:
                log.warning("%s: could not check the chain id of %s: %s", self.name, endpoint.name, exc)
                continue
            finally:
                await one.close()
            if got != expected:
                raise ChainMismatch(
                    f"chains.{self.name}.chain_id: is {expected}, but {endpoint.name} serves chain {got}"
                )

    async def head(self) -> int:
        """Number of the newest block."""
        return int(await self.client.call("eth_blockNumber"), 16)

    async def final_head(self, finality: int | str, head: int) -> int:
        """Newest block treated as final: the ``finalized`` tag or ``head - depth``."""
        if finality == "finalized":
            block = await self.client.call("eth_getBlockByNumber", ["finalized", False])
            if block is None:
                raise RpcError("", "eth_getBlockByNumber", None, "the endpoint has no 'finalized' block")
            return int(block["number"], 16)
        return max(-1, head - int(finality))

    async def logs(self, addresses: Sequence[str], lo: int, hi: int) -> list[dict[str, Any]]:
        """Transfer logs of ``addresses`` in blocks ``lo..hi``."""
        result = await self.client.call(
            "eth_getLogs",
            [{"fromBlock": _hex(lo), "toBlock": _hex(hi), "address": list(addresses), "topics": [TRANSFER_TOPIC]}],
        )
        if not isinstance(result, list):
            raise InconsistentResponse(
                f"{self.name}: eth_getLogs {lo}-{hi} returned {type(result).__name__}, not a list"
            )
        return result

    async def hashes(self, numbers: Sequence[int]) -> dict[int, str | None]:
        """The endpoint's current hash at each height; None where it has no block (yet)."""
        answers = await self.client.batch([("eth_getBlockByNumber", [_hex(n), False]) for n in numbers])
        out: dict[int, str | None] = {}
        for n, answer in zip(numbers, answers, strict=True):
            if isinstance(answer, RpcError):
                raise answer
            out[n] = None if answer is None else str(answer["hash"]).lower()
        return out

    async def logs_with_headers(
        self, addresses: Sequence[str], lo: int, hi: int, numbers: Sequence[int]
    ) -> tuple[list[dict[str, Any]], list[BlockRow]]:
        """Transfer logs of ``lo..hi`` and the headers of ``numbers``, in ONE batch.

        One batch goes to one endpoint, so the logs and the headers come from one node's
        view of the chain: a node behind the head answers a null header (retried, never
        taken for "no logs there"), and a reorg cannot pair one branch's logs with the
        other branch's hashes.
        """
        query = {"fromBlock": _hex(lo), "toBlock": _hex(hi), "address": list(addresses), "topics": [TRANSFER_TOPIC]}
        calls = [("eth_getLogs", [query])] + [("eth_getBlockByNumber", [_hex(n), False]) for n in numbers]
        answers = await self.client.batch(calls)
        logs = answers[0]
        if isinstance(logs, RpcError):
            raise logs
        if not isinstance(logs, list):
            raise InconsistentResponse(f"{self.name}: eth_getLogs {lo}-{hi} returned {type(logs).__name__}, not a list")
        rows: list[BlockRow] = []
        for n, answer in zip(numbers, answers[1:], strict=True):
            if isinstance(answer, RpcError):
                raise answer
            if answer is None:
                raise InconsistentResponse(f"{self.name}: the endpoint does not have block {n} yet (it lags)")
            rows.extend(evm_decode.decode_block_headers([answer], [n]))
        return logs, rows

    async def headers(self, numbers: Sequence[int], chunk: int = 100) -> list[BlockRow]:
        """(number, hash, parent_hash, unix time) of each block, fetched in batches."""
        rows: list[BlockRow] = []
        chunks = [numbers[i : i + chunk] for i in range(0, len(numbers), chunk)]
        results = await asyncio.gather(
            *(self.client.batch([("eth_getBlockByNumber", [_hex(n), False]) for n in part]) for part in chunks)
        )
        for part, answers in zip(chunks, results, strict=True):
            for n, answer in zip(part, answers, strict=True):
                if isinstance(answer, RpcError):
                    raise answer
                if answer is None:
                    # A null is "not there yet" (a lagging endpoint), never "no block".
                    raise InconsistentResponse(f"{self.name}: block {n} is not available yet")
                rows.extend(evm_decode.decode_block_headers([answer]))
        return rows

    async def full_blocks(self, numbers: Sequence[int], chunk: int = 50) -> list[dict[str, Any]]:
        """Blocks with their transactions (native-coin transfers)."""
        out: list[dict[str, Any]] = []
        for i in range(0, len(numbers), chunk):
            part = numbers[i : i + chunk]
            answers = await self.client.batch([("eth_getBlockByNumber", [_hex(n), True]) for n in part])
            for n, answer in zip(part, answers, strict=True):
                if isinstance(answer, RpcError):
                    raise answer
                if answer is None:
                    raise InconsistentResponse(f"{self.name}: block {n} is not available yet")
                out.append(answer)
        return out

    async def receipts(self, tx_hashes: Sequence[str], chunk: int = 100) -> dict[str, dict[str, Any]]:
        """Receipts by transaction hash."""
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(tx_hashes), chunk):
            part = tx_hashes[i : i + chunk]
            answers = await self.client.batch([("eth_getTransactionReceipt", [h]) for h in part])
            for h, answer in zip(part, answers, strict=True):
                if isinstance(answer, RpcError):
                    raise answer
                if answer is None:
                    raise InconsistentResponse(f"{self.name}: no receipt yet for {h}")
                out[h] = answer
        return out


# Logs asked for in one eth_getLogs, and so flows in one write batch: the cap most hosted
# providers put on a result (Infura, Alchemy: 10,000), which keeps a batch's memory flat
# however dense the blocks are and whatever max_block_range allows.
EVENTS_PER_REQUEST = 10_000
# Blocks of the first request, before the chain's density is known: a dense chain with a
# wide max_block_range must not start with a million-log answer.
FIRST_RANGE = 100
# Logs decoded between two looks at the sockets (pipeline.in_steps): a 10,000-log answer
# decoded at once held the writer's replies and the next answer for about 15 ms.
DECODE_STEP = 1_000
# Successes to wait, after a refusal that named no limit, before the range grows again.
_PATIENCE = 3


class AdaptiveRange:
    """Blocks per eth_getLogs: sized by events (about :data:`EVENTS_PER_REQUEST` logs an
    answer, from the density of the last one), within what the provider accepts.

    A refusal that names what would work is taken at its word, as Ponder does: a block
    range ("limited to a 2,000 block range") becomes a ceiling the range never grows past;
    a result cap ("more than 10000 results, try with this block range [a, b]") starts the
    next request at the range suggested and lowers the events aimed at. A refusal that
    names nothing halves the range, which grows back only after a few successes.
    """

    def __init__(self, maximum: int, events: int = EVENTS_PER_REQUEST) -> None:
        self.maximum = maximum
        self.ceiling = maximum
        self.events = events
        self.size = min(maximum, FIRST_RANGE)
        self._wait = 0

    def shrink(self) -> None:
        """A refusal (or timeouts) that says nothing about what would work: halve."""
        self.size = max(1, self.size // 2)
        self._wait = _PATIENCE

    def provider_limit(self, blocks: int, results: int | None) -> None:
        """A refusal naming a range of ``blocks`` that would work, and the result cap
        (None when the limit is on blocks, not results)."""
        if results is None:
            self.ceiling = max(1, min(self.ceiling, blocks))
        else:
            self.events = max(1, min(self.events, results))
        self.size = max(1, min(self.ceiling, blocks, self.size))
        self._wait = 0

    def succeeded(self, blocks: int = 0, events: int = 0) -> None:
        """An answer of ``events`` logs over ``blocks`` blocks: size the next one by its density."""
        if self._wait:
            self._wait -= 1
            if self._wait:
                return
        # A range cut short (by the target) says nothing about a longer one being accepted.
        grown = 2 * self.size if blocks >= self.size else self.size
        if events and blocks:
            grown = min(grown, blocks * self.events // events)
        self.size = max(1, min(self.ceiling, grown))


# A range fetched and decoded, waiting to be written: (first block, last block, flows,
# headers fetched by number).
_Fetched = tuple[int, int, FlowColumns, dict[int, BlockRow]]


async def _cancel_all(tasks: deque[tuple[int, int, asyncio.Future[Any]]]) -> None:
    """Cancel fetches started ahead and wait until they have ended (their results, or
    failures, are of ranges nobody will write)."""
    futures = [task for _lo, _hi, task in tasks]
    tasks.clear()
    for task in futures:
        task.cancel()
    if futures:
        await asyncio.wait(futures)
    for task in futures:
        if not task.cancelled():
            task.exception()  # retrieved: asyncio would log it as never retrieved


def _with_waiting(first: _Fetched, ahead: asyncio.Queue[_Fetched | None]) -> tuple[list[_Fetched], bool]:
    """``first`` and the ranges already waiting behind it, to write in one transaction
    (True if the end mark came with them). When Postgres is what the pipeline waits on,
    ranges queue up, and one commit for all of them spares the fixed cost of each (the
    staging table, the cursor, the commit's flush: a third of a 10,000-log write). The
    queue is bounded, so this holds no more in memory than it already did."""
    ranges = [first]
    while not ahead.empty():
        more = ahead.get_nowait()
        if more is None:
            return ranges, True
        ranges.append(more)
    return ranges, False


def _kept(lo: int, hi: int, final: int) -> list[int]:
    """Blocks of ``lo..hi`` stored with their hashes: the unfinalised ones and the last."""
    return sorted(set(range(max(lo, final + 1), hi + 1)) | {hi})


class EvmIngestor:
    """Indexes one EVM chain's token (and optionally native) flows into Postgres."""

    def __init__(
        self,
        name: str,
        config: EvmChain,
        tokens: Sequence[str],
        labelled: set[str],
        client: RpcClient,
        *,
        time_cache_size: int = 100_000,
    ) -> None:
        self.name = name
        self.config = config
        self.tokens = sorted({t for t in tokens if t != "native"})
        self.token_map = {t: t for t in self.tokens}
        self.native = config.native_symbol is not None
        self.labelled = {a.lower() for a in labelled}
        self.source = EvmSource(name, client)
        self.range = AdaptiveRange(config.max_block_range)
        self.max_inconsistent_retries = 20
        # Ranges fetched and decoded ahead of the one being written: the fetcher (and the
        # decoder) work while Postgres writes, and memory holds at most this many more.
        self.pipeline_depth = 2
        # eth_getLogs ranges asked for at once: the endpoint prepares one while the last is
        # parsed and decoded here.
        self.fetch_concurrency = 2
        # Block number -> (hash, Unix time) of blocks seen lately, so that a range whose
        # logs fall in blocks already fetched needs no header call. An entry is only used
        # for a log that names the same block hash, and a rewind drops every entry above
        # the fork: a block number re-mined on another fork never inherits the old time.
        self._times: OrderedDict[int, tuple[str, int]] = OrderedDict()
        self._time_cache_size = time_cache_size

    async def start(self) -> None:
        """Start-up checks: the endpoints serve the configured chain."""
        await self.source.check_chain_id(self.config.chain_id)

    async def targets(self) -> tuple[int, int]:
        """(head, final head) as the endpoint sees them now."""
        head = await self.source.head()
        return head, min(head, await self.source.final_head(self.config.finality, head))

    @collecting_less
    async def sync(
        self,
        conn: asyncpg.Connection,
        *,
        follow_head: bool = False,
        to_block: int | None = None,
        progress: Callable[[int, int, int], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> SyncStats:
        """Index from the cursor up to the final head (or the head with ``follow_head``).

        ``progress(done_block, target_block, flows)`` is called after each committed range.
        ``should_stop`` is polled between ranges: the current range always commits or rolls
        back as a whole.

        The garbage collector runs less often meanwhile (:func:`indexer.chains.pipeline.collecting_less`):
        parsed answers are short-lived.
        """
        stats = SyncStats()
        started = time.monotonic()
        head, final = await self.targets()
        stats.head, stats.final_head = head, final
        target = head if follow_head else final
        if to_block is not None:
            target = min(target, to_block)
        if follow_head:
            stats.reorgs, stats.rewound_flows = await self._handle_reorg(conn, final)
        next_block = await self._next_block(conn)
        retries = 0

        def committed(done: int, flows: int, new: int) -> None:
            nonlocal next_block, retries
            retries = 0
            stats.blocks += done - next_block + 1
            stats.flows += flows
            stats.flows_new += new
            next_block = done + 1
            if progress is not None:
                progress(done, target, stats.flows)

        while next_block <= target:
            try:
                if await self._pipeline(conn, next_block, target, final, committed, should_stop):
                    break
            except InconsistentResponse as exc:
                retries += 1
                if retries > self.max_inconsistent_retries:
                    raise
                log.warning("%s: %s; checking for a reorg and retrying", self.name, exc)
                await self.source.client.sleep(_INCONSISTENT_BACKOFF.delay(retries))
                reorgs, rewound = await self._handle_reorg(conn, final)
                stats.reorgs += reorgs
                stats.rewound_flows += rewound
                next_block = await self._next_block(conn)
        stats.seconds = time.monotonic() - started
        stats.indexed_to = next_block - 1
        return stats

    async def _pipeline(
        self,
        conn: asyncpg.Connection,
        first: int,
        target: int,
        final: int,
        committed: Callable[[int, int, int], None],
        should_stop: Callable[[], bool],
    ) -> bool:
        """Index ``first..target``: ranges are fetched and decoded ahead while the one
        before them is written, through a queue of :attr:`pipeline_depth` ranges.
        Returns True if ``should_stop`` ended it (the fetcher asks it once a range, as the
        loop did before the pipeline; every range fetched is written).

        Only the writer touches the database, ranges in block order (those already
        waiting committed with the one taken, :func:`_with_waiting`), so the cursor's
        commit alone orders them, as without the pipeline. When a write
        fails or finds the chain changed (a reorg), the ranges fetched ahead are dropped
        with the fetcher: the caller starts again from the stored cursor.
        """
        ahead: asyncio.Queue[_Fetched | None] = asyncio.Queue(self.pipeline_depth)
        fetcher: asyncio.Future[bool] = asyncio.ensure_future(
            self._fetch_ahead(first, target, final, ahead, should_stop)
        )
        try:
            while True:
                fetched = await next_or_failure(ahead, fetcher)
                if fetched is None:
                    return await fetcher
                ranges, ended = _with_waiting(fetched, ahead)
                lo, hi, flows = ranges[0][0], ranges[-1][1], ranges[0][2]
                # Unfinalised blocks are stored with their hashes (reorg detection); the last
                # block of each range always is, so the next range can check it links up.
                keep = [by_number[n] for r_lo, r_hi, _, by_number in ranges for n in _kept(r_lo, r_hi, final)]
                for more in ranges[1:]:
                    flows.extend(more[2])
                await self._check_links(conn, lo, keep)
                result = await write_batch(
                    conn, flows, [Checkpoint(self.name, hi)], keep, forget_blocks_below=min(final, hi)
                )
                committed(hi, len(flows), result.flows_inserted)
                if ended:
                    return await fetcher
        except BaseException as failure:
            await stop_fetcher(fetcher, failure)
            raise

    async def _fetch_ahead(
        self,
        lo: int,
        target: int,
        final: int,
        ahead: asyncio.Queue[_Fetched | None],
        should_stop: Callable[[], bool],
    ) -> bool:
        """Fetch and decode ranges from ``lo`` on into ``ahead`` (None after the last);
        returns True if ``should_stop`` ended it.

        :attr:`fetch_concurrency` ranges are asked for at once, each starting where the one
        before it is meant to end, so that the endpoint prepares the next answer while this
        process parses and decodes the last. A range that comes back shorter (the endpoint
        refused its size) makes the ones started after it wrong: they are dropped and asked
        for again from where it ended. Ranges go into ``ahead`` in block order.
        """
        in_flight: deque[tuple[int, int, asyncio.Future[tuple[FlowColumns, int, dict[int, BlockRow]]]]] = deque()
        # One range at a time until one comes back whole: asked at once, ranges of a size
        # the endpoint refuses would each be refused.
        at_once = 1
        try:
            while True:
                while len(in_flight) < at_once and lo <= target:
                    if should_stop():
                        await ahead.put(None)
                        return True
                    hi = min(target, lo + self.range.size - 1)
                    in_flight.append((lo, hi, asyncio.ensure_future(self.fetch_range(lo, hi, final))))
                    lo = hi + 1
                if not in_flight:
                    await ahead.put(None)
                    return False
                first, asked, task = in_flight.popleft()
                flows, hi, by_number = await task
                await ahead.put((first, hi, flows, by_number))
                at_once = self.fetch_concurrency if hi == asked else 1
                if hi < asked:
                    await _cancel_all(in_flight)
                    lo = hi + 1
        finally:
            await _cancel_all(in_flight)

    async def _next_block(self, conn: asyncpg.Connection) -> int:
        cursor = await read_cursor(conn, self.name)
        return self.config.start_block if cursor is None else cursor[0] + 1

    async def fetch_range(self, lo: int, hi: int, final: int) -> tuple[FlowColumns, int, dict[int, BlockRow]]:
        """Every flow of blocks ``lo..hi`` (maybe fewer: the endpoint may take a shorter
        range) as indexing stores it, token and native alike, with their block times.

        Returns (flows, last block covered, the headers fetched by number: at least those
        of the unfinalised blocks and of the last block).
        """
        logs, hi, checked = await self._logs_adaptive(lo, hi, final)
        flows = FlowColumns(self.name)
        try:
            async for part in in_steps(len(logs), DECODE_STEP):
                evm_decode.decode_transfer_logs(logs[part], self.token_map, flows)
        except evm_decode.EvmReorgError as exc:
            # A removed log: the endpoint saw a reorg while answering. Refetch.
            raise InconsistentResponse(f"{self.name}: {exc}") from None
        named = self._log_block_hashes(logs)
        if self.native:
            # Native transfers need every block's transactions; those blocks also carry
            # the hashes and times, so no separate header fetch.
            blocks = await self.source.full_blocks(list(range(lo, hi + 1)))
            headers = evm_decode.decode_block_headers(blocks)
            await self._native_flows(blocks, flows)
            checked_hashes = {row[0]: row[1] for row in checked}
            if any(checked_hashes.get(row[0], row[1]) != row[1] for row in headers):
                raise InconsistentResponse(f"{self.name}: blocks {lo}-{hi} changed while fetching (a reorg)")
        else:
            have = {row[0] for row in checked}
            need = sorted(n for n, h in named.items() if n not in have and self._cached_hash(n) != h)
            headers = checked + (await self.source.headers(need) if need else [])
        by_number = {row[0]: row for row in headers}
        self._check_log_hashes(named, by_number)
        times = {n: t for n, _h, _p, t in headers}
        flows.set_block_times({n: times[n] if n in times else self._times[n][1] for n in set(flows.block)})
        self._remember_times(headers)
        return flows, hi, by_number

    async def _logs_adaptive(self, lo: int, hi: int, final: int) -> tuple[list[dict[str, Any]], int, list[BlockRow]]:
        """Logs of ``lo..hi`` plus the headers of its unfinalised blocks (one batch),
        shrinking the range until the endpoint accepts it."""
        while True:
            keep = _kept(lo, hi, final)
            try:
                if not self.tokens:
                    return [], hi, await self.source.headers(keep)
                logs, headers = await self.source.logs_with_headers(self.tokens, lo, hi, keep)
            except RpcError as exc:
                if getlogs_limits.not_yet(exc.message):
                    raise InconsistentResponse(f"{self.name}: {exc.message}") from None
                if hi > lo and getlogs_limits.too_large(exc.message):
                    suggested = getlogs_limits.suggested_blocks(exc.message, lo)
                    if suggested is not None and suggested < hi - lo + 1:
                        self.range.provider_limit(suggested, getlogs_limits.result_cap(exc.message))
                    else:
                        self.range.shrink()
                    hi = lo + self.range.size - 1
                    log.info(
                        "%s: eth_getLogs range too large (%s); trying %d blocks",
                        self.name,
                        exc.message,
                        self.range.size,
                    )
                    continue
                raise
            except EndpointsExhausted:
                # Timeouts on every endpoint are often a range too heavy to answer.
                if hi > lo:
                    self.range.shrink()
                    hi = lo + self.range.size - 1
                    continue
                raise
            self.range.succeeded(hi - lo + 1, len(logs))
            return logs, hi, headers

    async def _native_flows(self, blocks: list[dict[str, Any]], flows: FlowColumns) -> None:
        """Native-coin transfers of successful transactions touching a labelled address."""
        candidates = [
            tx
            for block in blocks
            for tx in block.get("transactions", [])
            if int(tx.get("value", "0x0"), 16) > 0
            and ((tx.get("from") or "").lower() in self.labelled or (tx.get("to") or "").lower() in self.labelled)
        ]
        if not candidates:
            return
        receipts = await self.source.receipts([tx["hash"] for tx in candidates])
        evm_decode.decode_native_transfers(candidates, receipts, flows)

    def _remember_times(self, headers: Sequence[BlockRow]) -> None:
        for number, block_hash, _parent, timestamp in headers:
            self._times[number] = (block_hash, timestamp)
            self._times.move_to_end(number)
        while len(self._times) > self._time_cache_size:
            self._times.popitem(last=False)

    def _cached_hash(self, number: int) -> str | None:
        entry = self._times.get(number)
        return None if entry is None else entry[0]

    def _forget_times_above(self, fork: int) -> None:
        """A rewind to ``fork``: what was cached about the blocks above it is of a dead fork."""
        for number in [n for n in self._times if n > fork]:
            del self._times[number]

    def _log_block_hashes(self, logs: list[dict[str, Any]]) -> dict[int, str]:
        """Block number -> the block hash its logs name; logs naming two hashes for one
        block (two forks in one answer) are refetched."""
        try:
            # Ten thousand logs name a few hundred blocks: the pairs first, at C speed.
            pairs: Any = {(entry["blockNumber"], entry.get("blockHash", "")) for entry in logs}
        except TypeError:  # an unhashable field: the same checks, log by log
            pairs = [(entry["blockNumber"], entry.get("blockHash", "")) for entry in logs]
        named: dict[int, str] = {}
        for number_hex, raw_hash in pairs:
            number = int(number_hex, 16)
            block_hash = str(raw_hash).lower()
            if named.setdefault(number, block_hash) != block_hash:
                raise InconsistentResponse(f"{self.name}: logs of block {number} name two block hashes (a reorg)")
        return named

    def _check_log_hashes(self, named: dict[int, str], headers: dict[int, BlockRow]) -> None:
        """Logs and headers must come from the same fork, or the range is refetched."""
        for number, block_hash in named.items():
            header = headers.get(number)
            if header is not None and block_hash != header[1]:
                raise InconsistentResponse(f"{self.name}: block {number} changed while fetching (a reorg)")

    async def _check_links(self, conn: asyncpg.Connection, lo: int, rows: list[BlockRow]) -> None:
        """Stored rows must link: the range's first header extends the stored block below it."""
        if not rows:
            return
        for prev, row in zip(rows, rows[1:], strict=False):
            if row[0] == prev[0] + 1 and row[2] != prev[1]:
                raise InconsistentResponse(f"{self.name}: blocks {prev[0]} and {row[0]} do not link (a reorg)")
        if rows[0][0] == lo:
            below = await conn.fetchval(_SQL["stored_block_hash"], self.name, lo - 1)
            if below is not None and rows[0][2] != below:
                raise InconsistentResponse(f"{self.name}: block {lo} does not extend the stored block {lo - 1}")

    async def _handle_reorg(self, conn: asyncpg.Connection, final: int) -> tuple[int, int]:
        """Compare the stored tip with the chain; rewind to the fork point if they differ."""
        stored = await conn.fetch(_SQL["stored_blocks"], self.name)
        if not stored:
            return 0, 0
        tip_number, tip_hash = stored[0]["number"], stored[0]["hash"]
        if (await self.source.hashes([tip_number]))[tip_number] == tip_hash:
            return 0, 0
        numbers = [r["number"] for r in stored]
        chain_hashes = await self.source.hashes(numbers)
        fork = next((r["number"] for r in stored if chain_hashes.get(r["number"]) == r["hash"]), None)
        if fork is None:
            raise ReorgTooDeep(
                f"{self.name}: the chain differs from every stored block ({numbers[-1]}-{numbers[0]}); "
                "the reorg is deeper than the stored window. Stop, raise 'finality', and re-index "
                f"from block {numbers[-1]} or earlier."
            )
        if fork < final:
            # The endpoint called these blocks final; we can still undo them exactly
            # because their hashes were kept, but the finality setting is too shallow.
            log.warning("%s: reorg to block %d, below the final head %d: raise 'finality'", self.name, fork, final)
        deleted = await rewind(conn, self.name, fork)
        self._forget_times_above(fork)
        log.warning("%s: reorg: rewound to block %d (%d flows removed)", self.name, fork, deleted)
        return 1, deleted
