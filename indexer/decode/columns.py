"""Columnar batches of token flows: the one shape shared by decoders and the writer.

Plain lists, one per column, so a decoder appends without allocating an object per
event and the writer hands rows to binary COPY with a single ``zip``. Pure standard
library: the decoder package must not import compiled extensions.
"""

from __future__ import annotations

# Columns of the writer's staging table, in the order :meth:`FlowColumns.rows` yields
# them. The chain is one value per batch and goes in as a query parameter instead.
STAGING_COLUMNS: tuple[str, ...] = (
    "block",
    "block_time",
    "tx",
    "idx",
    "token",
    "src",
    "dst",
    "amount",
)


class FlowColumns:
    """A batch of flows of one chain, column by column.

    ``src`` is ``None`` for a mint and ``dst`` is ``None`` for a burn; ``amount`` is
    the raw integer amount (never scaled, never a float). ``block_time`` is the block's
    Unix time in whole seconds (both chain families only have seconds), kept as an int
    because that is what RPC responses carry and what COPY sends cheapest; it may be left
    empty by a decoder whose input carries no timestamps (EVM logs) and filled by the
    ingestor with :meth:`set_block_times` before the batch is written.
    """

    __slots__ = ("chain", "block", "block_time", "tx", "idx", "token", "src", "dst", "amount")

    def __init__(self, chain: str) -> None:
        self.chain = chain
        self.block: list[int] = []
        self.block_time: list[int] = []
        self.tx: list[str] = []
        self.idx: list[int] = []
        self.token: list[str] = []
        self.src: list[str | None] = []
        self.dst: list[str | None] = []
        self.amount: list[int] = []

    def __len__(self) -> int:
        return len(self.tx)

    def append(
        self,
        block: int,
        tx: str,
        idx: int,
        token: str,
        src: str | None,
        dst: str | None,
        amount: int,
        block_time: int | None = None,
    ) -> None:
        """Add one flow; meant for tests and slow paths, decoders append to columns."""
        self.block.append(block)
        self.tx.append(tx)
        self.idx.append(idx)
        self.token.append(token)
        self.src.append(src)
        self.dst.append(dst)
        self.amount.append(amount)
        if block_time is not None:
            self.block_time.append(block_time)

    def extend(self, other: FlowColumns) -> None:
        """Append every flow of ``other`` (same chain) to this batch."""
        if other.chain != self.chain:
            raise ValueError(f"cannot merge flows of {other.chain!r} into {self.chain!r}")
        self.block += other.block
        self.block_time += other.block_time
        self.tx += other.tx
        self.idx += other.idx
        self.token += other.token
        self.src += other.src
        self.dst += other.dst
        self.amount += other.amount

    def set_block_times(self, times: dict[int, int]) -> None:
        """Fill ``block_time`` (Unix seconds) from a block-number map; KeyError names a missing block."""
        try:
            self.block_time = [times[b] for b in self.block]
        except KeyError as exc:
            raise KeyError(f"no block time known for block {exc.args[0]} of {self.chain}") from None

    def days(self) -> set[int]:
        """UTC days touched by this batch, as days since 1970-01-01."""
        return {t // 86400 for t in self.block_time}

    def rows(self) -> zip:  # type: ignore[type-arg]
        """Rows in :data:`STAGING_COLUMNS` order, ready for binary COPY.

        Amounts go as decimal text: the server parses numeric far faster than a client
        encodes Python ints to binary numeric, and text is exact.
        """
        n = len(self.tx)
        if len(self.block_time) != n:
            raise ValueError(
                f"{self.chain}: {n} flows but {len(self.block_time)} block times; call set_block_times() before writing"
            )
        return zip(
            self.block,
            self.block_time,
            self.tx,
            self.idx,
            self.token,
            self.src,
            self.dst,
            map(str, self.amount),
            strict=True,
        )
