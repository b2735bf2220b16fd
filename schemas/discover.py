"""The JSON that ``depin-indexer discover --format json`` prints (design.md, "discover").

One array of candidates, sorted by kind then score, best first. Amounts are exact decimal
strings in whole tokens, never floats. A candidate is evidence for a person to review:
the command never writes a label.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

DecimalString = Annotated[str, Field(pattern=r"^\d+(\.\d+)?$", examples=["123.45"])]
Kind = Literal["distributor", "collector", "emission_recipient", "burner"]
SuggestedRole = Literal["rewards", "revenue", "burn_revenue"]


class Evidence(BaseModel):
    """What the address did with the token in the window."""

    model_config = ConfigDict(extra="forbid")

    recipients: int = Field(ge=0, description="distinct addresses it sent the token to")
    payers: int = Field(ge=0, description="distinct addresses that sent it the token")
    transfers_out: int = Field(ge=0, description="flows out, burns included")
    transfers_in: int = Field(ge=0, description="flows in, mints included")
    active_days: int = Field(ge=1, description="UTC days with any flow of it")
    median_gap_hours: float | None = Field(description="median hours between its rounds of this kind's event")
    gap_regularity: float | None = Field(ge=0, le=1, description="share of gaps within 0.5x-1.5x the median")
    amount_out: DecimalString
    amount_in: DecimalString
    first_day: date
    last_day: date


class Candidate(BaseModel):
    """One address that behaves like ``kind``."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    suggested_role: SuggestedRole
    address: str
    score: float = Field(ge=0, le=1)
    evidence: Evidence
    module: str | None = Field(
        default=None,
        description="on a Cosmos chain, the module account this address is (fee_collector, distribution, ...): "
        "the chain's own machinery, not a wallet of a network",
    )


CANDIDATES = TypeAdapter(list[Candidate])
"""Validates and serialises the whole array."""
