"""A writer process for the crash test: resumes from its cursor and writes up to a block.

Run as ``python -m tests.store.writer_child URL LAST_BLOCK``; the test kills it with
SIGKILL at random moments and runs it again.
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from indexer.store.writer import Checkpoint, read_cursor, write_batch
from tests.store.helpers import synthetic_flows

BLOCKS_PER_BATCH = 200


async def main(url: str, last_block: int) -> None:
    conn = await asyncpg.connect(url)
    cursor = await read_cursor(conn, "polygon")
    block = 0 if cursor is None else cursor[0] + 1
    while block <= last_block:
        count = min(BLOCKS_PER_BATCH, last_block - block + 1)
        blocks = [(b, f"0xh{b}", f"0xh{b - 1}", 1_704_067_200 + b * 60) for b in range(block, block + count)]
        await write_batch(
            conn,
            synthetic_flows("polygon", block, count, seconds_per_block=60),
            [Checkpoint("polygon", block + count - 1)],
            blocks,
            forget_blocks_below=block + count - 64,
        )
        print(block + count - 1, flush=True)
        block += count
    await conn.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
