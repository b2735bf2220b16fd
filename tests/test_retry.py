"""The one back-off law every retry in the program waits by."""

from __future__ import annotations

import pytest

from indexer.retry import Backoff, capped


def test_the_delay_doubles_from_the_base_up_to_the_cap() -> None:
    law = Backoff(0.25, 3.0, jitter=(1.0, 1.0))
    assert [law.delay(n) for n in range(1, 7)] == [0.25, 0.5, 1.0, 2.0, 3.0, 3.0]
    assert law.delay(0) == 0.25, "no failure yet counts as the first"
    assert law.delay(10_000) == 3.0, "a long outage neither overflows nor passes the cap"


def test_jitter_spreads_retries_within_its_bounds() -> None:
    law = Backoff(1.0, 60.0)
    delays = {law.delay(4) for _ in range(200)}
    assert all(4.0 <= d <= 8.0 for d in delays), sorted(delays)[:3]
    assert len(delays) > 150, "replicas retrying one fault must not retry in step"


def test_a_requested_wait_is_honoured_but_bounded() -> None:
    law = Backoff(0.2, 30.0)
    assert capped(12.5, law) == 12.5
    assert capped(86_400, law) == 120.0, "a Retry-After of a day parks the client for at most 4 caps"
    assert capped(-3, law) == 0.0


@pytest.mark.parametrize("args", [(0, 1), (1, 0), (1, 2, (0.9, 0.5)), (1, 2, (-0.1, 1.0))])
def test_a_law_that_cannot_wait_sensibly_is_refused(args: tuple) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match="Backoff needs"):
        Backoff(*args)
