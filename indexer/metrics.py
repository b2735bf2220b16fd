"""Prometheus metrics of the indexer service (the API has its own registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()

BLOCKS_BEHIND = Gauge(
    "depin_blocks_behind_head", "Blocks (or slots) between the head and the cursor", ["chain"], registry=REGISTRY
)
EVENTS = Counter("depin_events_indexed", "Flows committed to core.flows", ["chain"], registry=REGISTRY)
RPC_REQUESTS = Counter(
    "depin_rpc_requests",
    "JSON-RPC HTTP requests by outcome",
    ["chain", "endpoint", "method", "outcome"],
    registry=REGISTRY,
)
REFRESH_SECONDS = Histogram(
    "depin_refresh_seconds",
    "Duration of a rollup + views refresh",
    registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
REFRESH_FAILURES = Counter(
    "depin_refresh_failures",
    "Refreshes that failed (the figures stay as of the last success)",
    ["error"],
    registry=REGISTRY,
)
LAST_REFRESH = Gauge(
    "depin_last_refresh_success_timestamp", "Unix time of the last refresh that succeeded", registry=REGISTRY
)
LAST_SUCCESS = Gauge(
    "depin_last_ingest_success_timestamp", "Unix time of the last successful ingest", ["chain"], registry=REGISTRY
)
INGEST_FAILURES = Counter("depin_ingest_failures", "Ingest runs that failed", ["chain", "error"], registry=REGISTRY)
REORGS = Counter("depin_reorgs", "Reorgs handled (rollbacks)", ["chain"], registry=REGISTRY)
VERIFY_MISMATCHES = Gauge(
    "depin_verify_mismatches",
    "What the last scheduled verify found wrong (0: all agreed)",
    ["chain"],
    registry=REGISTRY,
)
LAST_VERIFY = Gauge(
    "depin_last_verify_timestamp",
    "Unix time of the last scheduled verify that ran to its end",
    ["chain"],
    registry=REGISTRY,
)
UNDECODABLE = Gauge(
    "depin_undecodable_transactions",
    'Transactions recorded in core.undecodable_transactions (Solana, on_undecodable = "record"): '
    "their flows are missing from every figure",
    ["chain"],
    registry=REGISTRY,
)
VERIFY_FAILURES = Counter(
    "depin_verify_failures", "Scheduled verifies that failed", ["chain", "error"], registry=REGISTRY
)


def rpc_observer(chain: str):  # type: ignore[no-untyped-def]
    """An ``on_request`` callback for :class:`indexer.chains.rpc.RpcClient` (names are redacted)."""

    def observe(endpoint: str, method: str, outcome: str) -> None:
        RPC_REQUESTS.labels(chain, endpoint, method, outcome).inc()

    return observe
