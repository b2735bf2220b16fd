"""The one back-off law: how long to wait after the n-th failure in a row.

Every retry in the program waits through a :class:`Backoff`: an endpoint that failed
(the RPC client), a range whose answers contradicted each other (the EVM ingestor), a
transaction still null (the Solana ingestor), a chain whose ingest failed and a database
that went away (the service). What each loop retries differs; how long it waits does not.

Why not tenacity or stamina: they own the loop (decorate a call, retry on exceptions),
while ours decide per answer (a Retry-After header, another endpoint, a shrunk range),
and the RPC client waits out an endpoint's penalty, not a call's. A delay law is what they
share, and a frozen dataclass costs nothing on the hot path.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# 2**30 times any base is past every cap; the bound keeps the float finite.
_MAX_DOUBLINGS = 30


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off: ``base × 2^(n-1)`` after the n-th failure, at most ``cap``
    seconds, multiplied by a uniform draw from ``jitter`` so that replicas and clients
    retrying the same fault do not retry in step."""

    base: float
    cap: float
    jitter: tuple[float, float] = (0.5, 1.0)

    def __post_init__(self) -> None:
        low, high = self.jitter
        if not (self.base > 0 and self.cap > 0 and 0 <= low <= high):
            raise ValueError(f"Backoff needs base > 0, cap > 0 and 0 <= jitter low <= high, not {self!r}")

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failures in a row (1 for the first)."""
        doublings = min(max(failures, 1) - 1, _MAX_DOUBLINGS)
        return min(self.cap, self.base * 2**doublings) * random.uniform(*self.jitter)


def capped(seconds: float, backoff: Backoff) -> float:
    """A wait the other side asked for (Retry-After), bounded so a bad header cannot park
    the client for hours: at most four times the back-off's cap."""
    return min(max(seconds, 0.0), backoff.cap * 4)
