"""What providers mean when they refuse an ``eth_getLogs``: too big, or not there yet.

Every hosted provider caps ``eth_getLogs`` (a block range, a result count, a response
size) and words its refusal its own way; many say which range would have worked. Using
that range, as Ponder does, costs one retry instead of a string of blind halvings. The
phrases and patterns were collected from providers' answers (Infura, Alchemy, QuickNode,
Ankr, Chainstack, BlockPI, publicnode, thirdweb, Cloudflare, geth/erigon nodes).
"""

from __future__ import annotations

import re

# Phrases of an eth_getLogs query that is too big (range, result count, response size);
# unknown wording still ends in a split after the endpoint keeps failing.
TOO_LARGE = (
    "query returned more than",
    "block range",
    "range is too",
    "range too",
    "too many",
    "exceed",
    "limit",
    "response size",
    "too large",
    "max results",
    "query timeout",
    "try with this block range",
)

# A node refusing a range it does not have yet (it lags behind the head we saw).
NOT_YET = (
    "beyond current head",
    "beyond the current head",
    "blockoutofrange",
    "block out of range",
    "unknown block",
    "header not found",
    "after last accepted block",
)

_HEX_RANGE = re.compile(r"\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]")
_DECIMAL_RANGE = re.compile(r"\[\s*(\d+)\s*,\s*(\d+)\s*\]")
# Patterns naming the largest block count allowed (the number is the count).
_MAXIMUM = tuple(
    re.compile(pattern)
    for pattern in (
        r"maximum is set to ([\d,]+)",
        r"max range: ([\d,]+)",
        r"maximum allowed number of requested blocks is ([\d,]+)",
        r"limited to an? ([\d,]+)",
        r"limited to ([\d,]+) block",
        r"at most ([\d,]+) blocks",
        r"maximum block range: ([\d,]+)",
        r"max block range:? ([\d,]+)",
        r"up to an? ([\d,]+) block range",
        r"block range is too wide \(maximum ([\d,]+)\)",
        r"block range exceeds ([\d,]+)",
        r"block range greater than ([\d,]+) max",
        r"blocks distance: ([\d,]+)",
        r"range allowed for your plan \(\d+ > ([\d,]+)\)",
    )
)


# Patterns naming a cap on the number of results (the number is the cap).
_RESULT_CAP = tuple(
    re.compile(pattern)
    for pattern in (
        r"more than ([\d,]+) (?:results|logs)",
        r"max results:? ([\d,]+)",
        r"cap of ([\d,]+) logs",
        r"([\d,]+) results? limit",
    )
)


def too_large(message: str) -> bool:
    """Whether an error message says the query was too big."""
    lowered = message.lower()
    return any(phrase in lowered for phrase in TOO_LARGE)


def not_yet(message: str) -> bool:
    """Whether an error message says the node does not have the range yet."""
    lowered = message.lower()
    return any(phrase in lowered for phrase in NOT_YET)


def suggested_blocks(message: str, lo: int) -> int | None:
    """The number of blocks from ``lo`` that the provider's message says would work.

    "Try with this block range [0x10, 0x2f]" (Infura, Alchemy: a range that starts at
    the query's start) gives its length; "limited to a 2,000 block range" and its many
    cousins give their number. None when the message suggests nothing.
    """
    lowered = message.lower()
    for pattern, base in ((_HEX_RANGE, 16), (_DECIMAL_RANGE, 10)):
        match = pattern.search(lowered)
        if match is not None:
            first, last = int(match.group(1), base), int(match.group(2), base)
            if last >= first:
                # A suggested range that starts later than asked still tells the size.
                return last - max(first, lo) + 1 if first <= lo <= last else last - first + 1
    for pattern in _MAXIMUM:
        match = pattern.search(lowered)
        if match is not None:
            count = int(match.group(1).replace(",", ""))
            if count > 0:
                return count
    return None


def result_cap(message: str) -> int | None:
    """The most results an answer may hold, when the message names a cap on results
    ("query returned more than 10000 results"); None when the limit is on blocks or unknown."""
    lowered = message.lower()
    for pattern in _RESULT_CAP:
        match = pattern.search(lowered)
        if match is not None:
            count = int(match.group(1).replace(",", ""))
            if count > 0:
                return count
    return None
