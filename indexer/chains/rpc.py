"""The one JSON-RPC client every ingestor goes through.

It owns what endpoints get wrong: failover between several endpoints, exponential backoff
with jitter, ``Retry-After`` on 429, a concurrency limit per endpoint, batches split when
a provider refuses their size, and malformed or truncated responses treated as retryable.
Endpoint URLs carry API keys, so an endpoint is only ever *named* by its redacted form.

Errors are data, not strings to grep: :class:`RetryableRpcError` (try again, maybe
elsewhere), :class:`RpcError` (the node answered with a JSON-RPC error, which the caller
interprets: e.g. "range too large" for ``eth_getLogs``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import aiohttp
import msgspec
from aiohttp.helpers import get_env_proxy_for_url
from aiolimiter import AsyncLimiter
from yarl import URL

from indexer.chains import shapes
from indexer.errors import DepinError, Interrupted
from indexer.redact import redact_url
from indexer.retry import Backoff, capped

log = logging.getLogger(__name__)

Call = tuple[str, Sequence[Any]]
T = TypeVar("T")


class RpcError(DepinError):
    """An endpoint answered a call with a JSON-RPC error object."""

    def __init__(self, endpoint: str, method: str, code: int | None, message: str, data: Any = None) -> None:
        self.endpoint = endpoint
        self.method = method
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"{endpoint}: {method} failed: {message}" + (f" (code {code})" if code is not None else ""))


class RetryableRpcError(RpcError):
    """A transport-level failure worth retrying: 429, 5xx, timeout, reset, bad JSON."""

    def __init__(self, endpoint: str, method: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(endpoint, method, None, message)
        self.retry_after = retry_after


class EndpointsExhausted(DepinError):
    """Every attempt on every endpoint failed; carries the last error of each endpoint."""


@dataclass
class EndpointStats:
    """Counters per endpoint, for metrics and for ``/readyz``."""

    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class Endpoint:
    url: str
    name: str
    slots: asyncio.Semaphore
    session: aiohttp.ClientSession | None = None  # made on first use, inside the event loop
    proxy: URL | None = None  # from the environment, as curl and httpx take it
    proxy_auth: aiohttp.BasicAuth | None = None
    limiter: AsyncLimiter | None = None
    in_flight: int = 0
    penalty_until: float = 0.0
    consecutive_failures: int = 0
    stats: EndpointStats = field(default_factory=EndpointStats)


# Status codes that mean "this endpoint, not this request": try elsewhere or later.
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524, 529}
# JSON-RPC error codes that are load or rate limits rather than answers.
_RETRY_CODES = {-32005, -32603, 429}
# -32603 "internal error" is what hosted providers answer for their own transient
# failures (viem retries it too): retried whatever its message, unless the message names
# a limit of the request (result count, range, size), which the caller must act on.
_INTERNAL_ERROR = -32603
_LIMIT_PHRASES = ("more than", "range", "limit", "too large", "too many", "exceed", "size")
_RETRY_MESSAGES = (
    "rate limit",
    "too many requests",
    "timeout",
    "timed out",
    "try again",
    "overloaded",
    "temporarily unavailable",
    "header not found",
    "capacity",
)


def _limiter(per_second: float | None) -> AsyncLimiter | None:
    """A leaky bucket holding at least one call, so a rate under 1/s still lets one through."""
    if per_second is None:
        return None
    capacity = max(1.0, per_second)
    return AsyncLimiter(capacity, capacity / per_second)


async def _throttle(endpoint: Endpoint, calls: int) -> None:
    """Wait until ``endpoint`` may take ``calls`` more calls (providers count every call
    of a batch; :meth:`RpcClient.batch` keeps a batch within the bucket)."""
    if endpoint.limiter is not None:
        await endpoint.limiter.acquire(min(calls, endpoint.limiter.max_rate))


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds an HTTP answer's ``Retry-After`` header asks to wait (seconds or a date), or None."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class RpcClient:
    """JSON-RPC over HTTP to one chain's endpoints, with failover and backoff.

    ``on_request(endpoint_name, method, outcome)`` is called once per HTTP request
    (outcome ``ok`` or an error kind); metrics hang off it. ``stop``: once set, calls in
    flight and calls waiting for a retry raise :class:`Interrupted` right away.
    """

    def __init__(
        self,
        chain: str,
        urls: Sequence[str],
        *,
        max_concurrency: int = 4,
        timeout: float = 30.0,
        max_attempts: int = 8,
        backoff_base: float = 0.2,
        backoff_cap: float = 30.0,
        on_request: Callable[[str, str, str], None] | None = None,
        stop: asyncio.Event | None = None,
        max_requests_per_second: float | None = None,
    ) -> None:
        if not urls:
            raise ValueError(f"{chain}: no RPC endpoint configured")
        self.chain = chain
        self.max_attempts = max_attempts
        self.backoff = Backoff(backoff_base, backoff_cap)
        self.on_request = on_request or (lambda _e, _m, _o: None)
        # Set by a signal handler: every wait (a request, a back-off) ends at once with
        # Interrupted, so a stop never waits out retries.
        self.stop = stop
        self.max_concurrency = max_concurrency
        # Per read and per connect, not for the whole answer: a large answer that keeps
        # arriving is not a stalled one.
        self.timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout)
        self.endpoints = [
            Endpoint(
                url=url,
                name=redact_url(url),
                slots=asyncio.Semaphore(max_concurrency),
                limiter=_limiter(max_requests_per_second),
            )
            for url in urls
        ]
        self._ids = itertools.count(1)
        limited = [int(e.limiter.max_rate) for e in self.endpoints if e.limiter is not None]
        self._largest_batch = min(limited, default=sys.maxsize)
        self._rr = itertools.count()

    async def close(self) -> None:
        """Close every connection."""
        for endpoint in self.endpoints:
            if endpoint.session is not None:
                await endpoint.session.close()
                endpoint.session = None

    async def __aenter__(self) -> RpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- public calls -------------------------------------------------------------------

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """One call; returns its ``result`` (which may be ``None``), raises on an error."""
        result = (await self.batch([(method, params)]))[0]
        if isinstance(result, RpcError):
            raise result
        return result

    async def batch(self, calls: Sequence[Call], *, parse: msgspec.json.Decoder | None = None) -> list[Any]:
        """Several calls in one JSON-RPC batch; each item is a result or an :class:`RpcError`.

        Transport failures are retried (on another endpoint when there is one); an item's
        JSON-RPC error is returned in its place, unless it looks like a rate limit, in
        which case the whole batch is retried. ``parse``: a typed msgspec decoder for the
        answer (the fields the caller reads; :func:`parse_json`).
        """
        if not calls:
            return []
        if len(calls) > self._largest_batch:
            # More calls than a rate-limited endpoint takes in one period: sent in parts,
            # so the provider never sees more than its cap arrive at once.
            parts = range(0, len(calls), self._largest_batch)
            return [
                r for start in parts for r in await self.batch(calls[start : start + self._largest_batch], parse=parse)
            ]
        errors: dict[str, str] = {}
        for attempt in range(self.max_attempts):
            endpoint = await self._interruptible(self._pick(), calls[0][0])
            try:
                return await self._interruptible(self._send(endpoint, calls, parse), calls[0][0])
            except RetryableRpcError as exc:
                errors[endpoint.name] = exc.message
                self._penalise(endpoint, attempt, exc.retry_after)
                log.warning(
                    "%s: %s (attempt %d/%d): %s",
                    self.chain,
                    endpoint.name,
                    attempt + 1,
                    self.max_attempts,
                    exc.message,
                )
            except _BatchTooLarge:
                if len(calls) == 1:
                    raise RpcError(
                        endpoint.name, calls[0][0], None, "the endpoint refuses even a single call"
                    ) from None
                half = len(calls) // 2
                first = await self.batch(calls[:half], parse=parse)
                return first + await self.batch(calls[half:], parse=parse)
        detail = "; ".join(f"{name}: {message}" for name, message in errors.items())
        raise EndpointsExhausted(
            f"{self.chain}: {calls[0][0]} failed {self.max_attempts} times on every endpoint ({detail})"
        )

    async def sleep(self, seconds: float) -> None:
        """A back-off between two tries of the caller's; ends with Interrupted on ``stop``."""
        await self._interruptible(asyncio.sleep(seconds), "a retry")

    async def interruptible(self, step: Awaitable[T], what: str) -> T:
        """Await a request of the caller's own (not JSON-RPC: a REST call of the same chain)
        unless ``stop`` is set first: then it is cancelled and Interrupted raised."""
        return await self._interruptible(step, what)

    def stats(self) -> dict[str, EndpointStats]:
        """Request and error counts per (redacted) endpoint."""
        return {e.name: e.stats for e in self.endpoints}

    # -- internals ----------------------------------------------------------------------

    async def _interruptible(self, step: Awaitable[T], what: str) -> T:
        """Await ``step`` unless ``stop`` is set first; then cancel it and raise Interrupted."""
        if self.stop is None:
            return await step
        if self.stop.is_set():
            if isinstance(step, Coroutine):
                step.close()
            raise Interrupted(f"{self.chain}: stopped before {what}")
        work = asyncio.ensure_future(step)
        stopped = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait((work, stopped), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            work.cancel()  # the caller was cancelled: leave no request running behind it
            raise
        finally:
            stopped.cancel()
        if work.done():
            return work.result()
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
        raise Interrupted(f"{self.chain}: stopped while waiting for {what}")

    async def _pick(self) -> Endpoint:
        """A healthy endpoint, least busy first; waits out the shortest penalty if none is."""
        while True:
            now = time.monotonic()
            healthy = [e for e in self.endpoints if e.penalty_until <= now]
            if healthy:
                start = next(self._rr) % len(healthy)
                rotated = healthy[start:] + healthy[:start]
                return min(rotated, key=lambda e: e.in_flight)
            wait = min(e.penalty_until for e in self.endpoints) - now
            await asyncio.sleep(max(wait, 0.001))

    def _penalise(self, endpoint: Endpoint, attempt: int, retry_after: float | None) -> None:
        endpoint.consecutive_failures += 1
        if retry_after is not None:
            delay = capped(retry_after, self.backoff)
        else:
            delay = self.backoff.delay(endpoint.consecutive_failures)
        endpoint.penalty_until = time.monotonic() + delay

    async def _send(self, endpoint: Endpoint, calls: Sequence[Call], parse: msgspec.json.Decoder | None) -> list[Any]:
        ids = [next(self._ids) for _ in calls]
        single = len(calls) == 1
        body: Any = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)} for i, (m, p) in zip(ids, calls, strict=True)
        ]
        if single:
            body = body[0]
        method = calls[0][0] if single else f"batch[{len(calls)}]:{calls[0][0]}"
        await _throttle(endpoint, len(calls))
        async with endpoint.slots:
            endpoint.in_flight += 1
            endpoint.stats.requests += 1
            try:
                session = self._session(endpoint)
                post = session.post(
                    endpoint.url, data=_ENCODE(body), proxy=endpoint.proxy, proxy_auth=endpoint.proxy_auth
                )
                async with post as response:
                    raw = await response.read()
                    status, headers = response.status, response.headers
            except TimeoutError:
                self._count(endpoint, method, "timeout")
                raise RetryableRpcError(endpoint.name, method, "timed out") from None
            except aiohttp.ClientError as exc:
                self._count(endpoint, method, "connection")
                # aiohttp messages may quote the URL; name the endpoint ourselves instead.
                raise RetryableRpcError(endpoint.name, method, f"connection failed ({type(exc).__name__})") from None
            finally:
                endpoint.in_flight -= 1
        if status in (413,) or (status == 400 and not single and b"batch" in raw.lower()):
            self._count(endpoint, method, "batch_too_large")
            raise _BatchTooLarge
        if status in _RETRY_STATUS or status >= 500:
            self._count(endpoint, method, f"http_{status}")
            raise RetryableRpcError(endpoint.name, method, f"HTTP {status}", retry_after(headers))
        try:
            payload = parse_json(raw, parse)
        except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
            self._count(endpoint, method, "bad_json")
            raise RetryableRpcError(
                endpoint.name, method, f"malformed JSON (HTTP {status}, {len(raw)} bytes)"
            ) from None
        results = self._match(endpoint, method, calls, ids, payload, single)
        endpoint.consecutive_failures = 0
        self._count(endpoint, method, "ok")
        return results

    def _session(self, endpoint: Endpoint) -> aiohttp.ClientSession:
        """The endpoint's connection pool, made on first use (aiohttp binds it to the
        running loop). aiohttp rather than httpx: its C HTTP parser costs about half as
        much CPU per answer (docs/benchmarks.md), and answers are megabytes."""
        if endpoint.session is None:
            endpoint.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_concurrency),
                timeout=self.timeout,
                headers={"content-type": "application/json"},
            )
            # HTTP(S)_PROXY and NO_PROXY, read once: aiohttp's trust_env reads them on a
            # worker thread for every request, and that thread waits for the GIL while
            # this one decodes (25 ms before each request went out, measured).
            with contextlib.suppress(LookupError):
                endpoint.proxy, endpoint.proxy_auth = get_env_proxy_for_url(URL(endpoint.url))
        return endpoint.session

    def _match(
        self, endpoint: Endpoint, method: str, calls: Sequence[Call], ids: list[int], payload: Any, single: bool
    ) -> list[Any]:
        """Pair responses with requests by id; anything off-shape is retryable."""
        if single and isinstance(payload, dict):
            payload = [payload]
        if not isinstance(payload, list):
            if isinstance(payload, dict) and "error" in payload:
                # A whole-batch error object (some providers: batch limits, auth).
                err = payload["error"] if isinstance(payload["error"], dict) else {"message": str(payload["error"])}
                message = str(err.get("message", ""))
                if "batch" in message.lower() and not single:
                    self._count(endpoint, method, "batch_too_large")
                    raise _BatchTooLarge
                self._count(endpoint, method, "rpc_error")
                raise RetryableRpcError(endpoint.name, method, f"error for the whole batch: {message}")
            self._count(endpoint, method, "bad_shape")
            raise RetryableRpcError(endpoint.name, method, "response is not a JSON-RPC object or array")
        by_id: dict[Any, Any] = {}
        for item in payload:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("id"), (int, str))
                or ("result" not in item and "error" not in item)
            ):
                self._count(endpoint, method, "bad_shape")
                raise RetryableRpcError(endpoint.name, method, "a response item is not a JSON-RPC response")
            by_id[item["id"]] = item
        results: list[Any] = []
        for request_id, (name, _params) in zip(ids, calls, strict=True):
            item = by_id.get(request_id)
            if item is None:
                self._count(endpoint, method, "bad_shape")
                raise RetryableRpcError(endpoint.name, method, f"no response for request {request_id} ({name})")
            if "error" in item and item["error"] is not None:
                err = item["error"] if isinstance(item["error"], dict) else {"message": str(item["error"])}
                code = err.get("code")
                message = str(err.get("message", ""))
                lowered = message.lower()
                if _is_transient(code, lowered):
                    self._count(endpoint, method, "rate_limited")
                    # CometBFT puts the reason under a generic -32603 in `data` ("height N
                    # must be less than or equal to the current blockchain height M"): kept,
                    # so the caller can tell a node behind the head from a failing one.
                    data = err.get("data")
                    detail = f" ({data[:200]})" if isinstance(data, str) and data else ""
                    raise RetryableRpcError(endpoint.name, name, f"rate limited: {message}{detail}")
                results.append(
                    RpcError(endpoint.name, name, code if isinstance(code, int) else None, message, err.get("data"))
                )
            else:
                result = item.get("result")
                wrong = shapes.problem(name, result)
                if wrong is not None:
                    # A well-formed response carrying something that is not this method's
                    # answer: a faulty node or proxy, so ask again (maybe elsewhere).
                    self._count(endpoint, method, "bad_result")
                    raise RetryableRpcError(endpoint.name, name, f"unexpected result: {wrong}")
                results.append(result)
        return results

    def _count(self, endpoint: Endpoint, method: str, outcome: str) -> None:
        if outcome != "ok":
            endpoint.stats.errors[outcome] = endpoint.stats.errors.get(outcome, 0) + 1
        self.on_request(endpoint.name, method.split(":")[-1], outcome)


# msgspec's JSON decoder (C, not Rust; the design card forbids Rust in the decoder and this
# is the fetch layer, not indexer/decode): it builds the same dicts and lists as
# json.loads, about twice as fast on getTransaction answers and 1.6 times on eth_getLogs
# (docs/benchmarks.md). Parsing is most of the Python time of an ingest.
_JSON = msgspec.json.Decoder()
# Request bodies too: json.dumps spent 3% of a Solana ingest on them, msgspec a tenth of that.
_ENCODE = msgspec.json.Encoder().encode


def parse_json(raw: bytes, typed: msgspec.json.Decoder | None = None) -> Any:
    """A response body as json.loads would return it, parsed by msgspec.

    What msgspec refuses but json.loads takes (NaN, a lone surrogate escape, a number
    beyond a float's range) goes to json.loads, so no answer parses differently than
    before; malformed JSON raises ValueError (or RecursionError) from either.

    ``typed``: a decoder of the fields the caller reads (unknown fields dropped, the
    rest as json.loads gives them). A body it refuses (another shape, or not JSON) is
    parsed whole as above, for the caller's checks to name what is wrong.
    """
    if typed is not None:
        with contextlib.suppress(msgspec.MsgspecError):
            return typed.decode(raw)
    try:
        return _JSON.decode(raw)
    except msgspec.DecodeError:
        return json.loads(raw)


def _is_transient(code: Any, lowered_message: str) -> bool:
    """A JSON-RPC error that is load, not an answer: retry rather than hand it back."""
    if code == 429 or any(m in lowered_message for m in ("rate limit", "rate exceeded", "too many requests")):
        return True
    if code == _INTERNAL_ERROR:
        return not any(m in lowered_message for m in _LIMIT_PHRASES)
    return isinstance(code, int) and code in _RETRY_CODES and any(m in lowered_message for m in _RETRY_MESSAGES)


class _BatchTooLarge(Exception):
    """The endpoint refused the batch's size: split it."""
