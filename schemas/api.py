"""Response models of the JSON API: each route declares one as its ``response_model``.

They are the OpenAPI schema of the API and the contract of its bodies. The busiest bodies
are rendered by Postgres and sent as they are, so ``tests/api/test_response_models.py``
validates real responses of every JSON endpoint against these models.

Token amounts and USD values are JSON strings holding exact decimals, never floats.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field

DecimalString = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$", examples=["1234.567891234567891"])]
# An instant as ISO 8601 text with its UTC offset (Postgres timestamptz as Python renders it).
Timestamp = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$",
        examples=["2024-02-29T12:00:00+00:00"],
        json_schema_extra={"format": "date-time"},
    ),
]


class ErrorBody(BaseModel):
    status: int
    message: str
    parameter: str | None = None


class ErrorResponse(BaseModel):
    """Every error has this shape."""

    error: ErrorBody


class Network(BaseModel):
    network: str
    chains: list[str]
    first_month: date | None
    last_month: date | None


class NetworksResponse(BaseModel):
    networks: list[Network]


class RevenueMonth(BaseModel):
    network: str
    month: date
    token: str
    amount: DecimalString
    amount_usd: DecimalString | None
    payments: int
    payers: int


class RevenueResponse(BaseModel):
    revenue: list[RevenueMonth]


class TokenAmount(BaseModel):
    token: str
    amount: DecimalString
    amount_usd: DecimalString | None
    payouts: int


class NodeEarner(BaseModel):
    node: str
    earnings_usd: DecimalString | None
    electricity_usd: DecimalString | None
    net_usd: DecimalString | None
    tokens: list[TokenAmount]


class NodesPage(BaseModel):
    network: str
    month: date
    nodes: list[NodeEarner]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class EarningsRow(BaseModel):
    period: date
    token: str
    amount: DecimalString
    amount_usd: DecimalString | None
    payouts: int


class NodeEarningsResponse(BaseModel):
    network: str
    node: str
    granularity: Literal["day", "month"]
    earnings: list[EarningsRow]


class UtilisationRow(BaseModel):
    network: str
    period: date
    active_nodes: int
    new_nodes: int | None = None
    node_days_active: int | None = None
    utilisation: DecimalString | None = None
    paying_customers: int
    revenue_usd: DecimalString | None
    rewards_usd: DecimalString | None
    demand_ratio: DecimalString | None = None
    partial: bool | None = Field(
        default=None, description="month granularity: the month is in progress (utilisation over the days elapsed)"
    )


class UtilisationResponse(BaseModel):
    network: str
    granularity: Literal["day", "month"]
    utilisation: list[UtilisationRow]


class HealthResponse(BaseModel):
    """The process is up."""

    status: Literal["ok"]


class ChainStatus(BaseModel):
    chain: str
    indexed_block: int | None
    head: int | None
    lag_blocks: int | None
    seconds_since_update: float | None
    seconds_since_verify: float | None = Field(
        description="since the service's last scheduled verify of the chain ended; null: never"
    )
    verify_mismatches: int | None = Field(description="what that verify found wrong (0: all agreed); null: never ran")
    undecodable_transactions: int = Field(
        description='transactions recorded as undecodable (Solana, on_undecodable = "record"): '
        "their flows are missing from the figures; see core.undecodable_transactions"
    )

    seconds_since_refresh: float | None = Field(
        description="since the figures were last refreshed (analytics.freshness); null: never"
    )
    dirty_days: int = Field(description="days of this chain whose figures wait for a refresh")


class ReadyResponse(BaseModel):
    database: str
    chains: list[ChainStatus]


class ChainFreshness(BaseModel):
    """One row of ``analytics.freshness``: how current the figures of a chain are."""

    chain: str
    indexed_block: int | None = Field(description="block, slot or height everything is indexed up to")
    indexed_time: Timestamp | None = Field(
        description="its block time when stored, else the newest indexed flow's (a lower bound)"
    )
    last_refresh: Timestamp | None = Field(description="when a refresh last succeeded; null: never")
    dirty_days: int = Field(description="days of this chain whose figures wait for a refresh")
    dirty_since: Timestamp | None = Field(description="when the oldest of them was marked")
    last_error: str | None = Field(description="the last ingest error, else the last refresh error ('refresh: ...')")


class FreshnessResponse(BaseModel):
    """The figures are as of ``last_refresh``; every chain's progress and backlog."""

    last_refresh: Timestamp | None
    chains: list[ChainFreshness]


class Assumption(BaseModel):
    """One row of ``analytics.assumptions``: the electricity a node online for a day costs."""

    network: str = Field(description="network, or '*': the default of every network without its own row")
    watts: DecimalString = Field(description="power drawn all day on each day online, in watts")
    usd_per_kwh: DecimalString = Field(description="electricity price, USD per kWh")


class AssumptionsResponse(BaseModel):
    """What node profitability is computed with (``[[assumptions]]`` of the config), '*' first."""

    assumptions: list[Assumption]
