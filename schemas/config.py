"""The config file contract (design.md): TOML, one model per table, unknown keys rejected.

Field-level rules live here; rules that relate one table to another (a token's chain must
be configured, an address must suit its chain's kind) live in :mod:`indexer.config`, which
reports every problem with its key path.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

CHAIN_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
ROLES = ("revenue", "rewards", "burn_revenue", "mint_rewards")


class StrictModel(BaseModel):
    """Base for config tables: a key we do not know is a mistake, not something to ignore."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _check_http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    return url


RpcUrl = Annotated[str, Field(min_length=1)]


class DatabaseSettings(StrictModel):
    """``[database]``: where Postgres is; absent means an embedded server in the data directory."""

    url: str | None = None
    pool_size: int | None = Field(
        default=None, ge=2, le=256, description="connections `run` keeps at most; default: one per chain plus three"
    )

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if urlsplit(value).scheme not in ("postgres", "postgresql"):
            raise ValueError("not a postgresql:// URL")
        return value


class _ChainBase(StrictModel):
    rpc: list[RpcUrl] = Field(min_length=1)
    max_concurrency: int = Field(default=4, ge=1, le=256, description="requests in flight per endpoint")
    poll_interval: float = Field(default=5.0, gt=0, le=3600, description="seconds between polls of the head")
    request_timeout: float = Field(default=30.0, gt=0, le=600)
    # Paid providers cap calls per second; staying under the cap costs less quota than
    # meeting it and backing off from the 429s.
    max_requests_per_second: float | None = Field(
        default=None,
        gt=0,
        le=1_000_000,
        description="calls per second sent to each endpoint (every call of a batch counts); unset: no limit",
    )

    @field_validator("rpc")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            _check_http_url(url)
        if len(set(urls)) != len(urls):
            raise ValueError("the same endpoint is listed twice")
        return urls


class EvmChain(_ChainBase):
    """``[chains.NAME]`` with ``kind = "evm"``: Polygon, the AIOZ chain, any EVM chain."""

    kind: Literal["evm"]
    chain_id: int = Field(gt=0)
    start_block: int = Field(default=0, ge=0)
    finality: int | Literal["finalized"] = 64
    native_symbol: str | None = Field(default=None, min_length=1, max_length=16)
    native_decimals: int = Field(default=18, ge=0, le=77)
    max_block_range: int = Field(default=2000, ge=1, le=1_000_000)

    @field_validator("finality", mode="before")
    @classmethod
    def _depth(cls, value: object) -> object:
        # One clear message instead of one error per member of the union.
        if value == "finalized":
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100_000:
            return value
        raise ValueError('must be a depth in blocks (0 to 100000) or "finalized"')


class SolanaChain(_ChainBase):
    """``[chains.NAME]`` with ``kind = "solana"``."""

    kind: Literal["solana"]
    commitment: Literal["finalized", "confirmed"] = "finalized"
    start_block: int = Field(default=0, ge=0, description="ignored: history comes from signatures")
    # Agave nodes refuse request bodies over 50 KiB: 250 getTransaction calls stay under it.
    transactions_per_request: int = Field(default=100, ge=1, le=250)
    # getSignaturesForAddress returns at most 1,000 per page; some providers cap it lower.
    signatures_per_request: int = Field(default=1000, ge=1, le=1000)
    # A transaction whose answer fails the decoder (inner instructions not recorded by the
    # node, a balance mismatch, a fee-bearing mint): stopping is the safe default, since
    # going on leaves its flows out of every figure.
    on_undecodable: Literal["stop", "record"] = Field(
        default="stop",
        description='"stop": ingestion stops at the transaction, naming it; "record": it is kept in '
        "core.undecodable_transactions (with its raw answer, no flows) and indexing goes on",
    )


class CosmosChain(_ChainBase):
    """``[chains.NAME]`` with ``kind = "cosmos"``: a Cosmos SDK chain read over CometBFT JSON-RPC
    (``status``, ``block``, ``block_results``), such as the AIOZ chain's bank side."""

    kind: Literal["cosmos"]
    rest: list[RpcUrl] = Field(
        default_factory=list, description="Cosmos REST (LCD) endpoints; verify reads balances there when set"
    )
    start_height: int = Field(default=1, ge=1)
    # ethsecp256k1 chains (AIOZ, Evmos) name one key aioz1... and 0x...: flows store 0x hex.
    bech32_prefix: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9]+$")
    # Each height is one `block` and one `block_results` call; this many heights go in a batch.
    heights_per_request: int = Field(default=20, ge=1, le=500)

    @field_validator("rest")
    @classmethod
    def _rest_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            _check_http_url(url)
        return urls


ChainConfig = Annotated[EvmChain | SolanaChain | CosmosChain, Field(discriminator="kind")]


class TokenConfig(StrictModel):
    """``[[tokens]]``: a token whose flows are indexed."""

    chain: str
    address: str = Field(min_length=1, description="ERC-20 contract, SPL mint, or 'native'")
    symbol: str = Field(min_length=1, max_length=32)
    decimals: int = Field(ge=0, le=77)
    stablecoin: bool = Field(default=False, description="worth 1 USD when no price row exists")
    # Solana only (EVM chains always store every Transfer of a configured token): "mint"
    # pages the mint's own signature history like an address's and stores every flow of
    # the mint in those transactions; "labels" follows the labelled wallets only.
    follow: Literal["labels", "mint"] = "labels"


class LabelConfig(StrictModel):
    """``[[labels]]``: what flows to or from an address mean (data, not code)."""

    network: str = Field(min_length=1, max_length=64)
    chain: str
    address: str = Field(min_length=1)
    role: Literal["revenue", "rewards", "burn_revenue", "mint_rewards"]
    name: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class AssumptionConfig(StrictModel):
    """``[[assumptions]]``: electricity per network for node profitability."""

    network: str = Field(min_length=1)
    watts: Decimal = Field(gt=0, le=100_000)
    usd_per_kwh: Decimal = Field(ge=0, le=100)


class ServiceSettings(StrictModel):
    """``[service]``: schedule of ``depin-indexer run``."""

    ingest_interval: float = Field(default=10.0, gt=0, le=86_400)
    refresh_interval: float = Field(default=60.0, gt=0, le=86_400)
    # Daily by default: a Solana verify re-reads every followed address's history.
    verify_interval: float = Field(
        default=86_400.0, ge=0, le=604_800, description="seconds between scheduled verifies of each chain; 0 = off"
    )
    log_format: Literal["plain", "json"] = "plain"
    metrics_port: int | None = Field(default=9108, ge=0, le=65535, description="Prometheus metrics; 0 or none = off")
    max_backoff: float = Field(default=600.0, gt=0, le=86_400, description="longest pause of a failing chain")


class ApiSettings(StrictModel):
    """``[api]``: the read-only JSON API."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    database_url: str | None = Field(
        default=None,
        description="DSN of the read-only role; default: the main URL with user depin_reader and no password",
    )
    statement_timeout_ms: int = Field(default=5000, ge=100, le=600_000)
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes (one per core is typical)")
    pool_size: int = Field(default=8, ge=1, le=100, description="database connections per worker")


class Config(StrictModel):
    """The whole config file."""

    database: DatabaseSettings = DatabaseSettings()
    chains: dict[str, ChainConfig] = Field(default_factory=dict)
    tokens: list[TokenConfig] = Field(default_factory=list)
    labels: list[LabelConfig] = Field(default_factory=list)
    assumptions: list[AssumptionConfig] = Field(default_factory=list)
    service: ServiceSettings = ServiceSettings()
    api: ApiSettings = ApiSettings()
