"""The demo's AIOZ Cosmos side, played on a local CometBFT chain and served over JSON-RPC.

AIOZ is one coin with two views: EVM JSON-RPC (the anvil chain 168 of the demo) and the
Cosmos bank, read from CometBFT block results (this chain). What happens here, per
demo day, in one height per hour (a real chain makes a height every few seconds; the
figures only need the hours):

* **Node reward withdrawals.** Nodes earn off chain on the days they are online (the node
  software keeps the account: docs/sources.md, "AIOZ rewards path") and withdraw when
  their balance passes their own threshold, at most once a day, at any hour: a Cosmos
  transaction signed by the node (which pays its fee) in which the reward pool pays the
  node. The pool's real account and message are not published; the demo's pool is a
  module account, funded by a daily block-level emission.
* **Block-level events**, as modules emit them each height: the per-block bonus (minted,
  then sent to the distribution module for validators and delegators), the fees of the
  previous height forwarded by the fee collector, and once a day the node reward pool's
  emission. None of these is a payment or a node reward.
* **Customer payments** to the payments wallet: the EVM value transfers played on anvil,
  shown as ethermint shows them on the Cosmos side (through the ``evm`` module account:
  :meth:`CometChain.evm_transfer`), and a few customers paying with Cosmos bank sends,
  which the EVM view never sees.

The chain upgrades from CometBFT 0.37 to 0.38 on 1 October (``finalize_block_events``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from indexer.decode.cosmos import module_address
from indexer.demo.evm_scenario import DAY, ValueTransfer
from indexer.localchains.cometbft_chain import CometChain

DENOM = "attoaioz"
AIOZ = 10**18
UPGRADE_DAY = 61  # 2025-10-01 when the demo starts on 1 August
_BLOCK_BONUS = 2 * AIOZ
_FEE = 4 * 10**15  # a bank send's fee on AIOZ, in attoaioz (order of magnitude)


@dataclass
class CosmosPlan:
    """The accounts of the demo's Cosmos traffic (what the config labels) and its counts."""

    chain: CometChain
    payments: bytes
    """The payments wallet: the same 20 bytes as the EVM payments wallet."""
    reward_pool: bytes
    """The node reward pool, a module account."""
    nodes: list[str] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    transactions: int = 0
    """Cosmos transactions played (the EVM value transfers shown here are anvil's, not counted)."""
    withdrawals: int = 0


def play_aioz_cosmos(
    start: int, days: int, evm_payments: str, evm_transfers: Sequence[ValueTransfer], seed: int = 1681, nodes: int = 50
) -> CosmosPlan:
    """Build the chain: ``days`` days from ``start`` (unix seconds, a UTC midnight)."""
    rng = random.Random(seed)
    chain = CometChain(prefix="aioz", network="aioz_168-1", start_time=start - DAY)
    pool = module_address("depin_node_rewards")
    bonus = module_address("bonus")
    payments = bytes.fromhex(evm_payments.removeprefix("0x"))
    node_keys = [rng.randbytes(20) for _ in range(nodes)]
    uptime = {n: rng.choice((0.3, 0.6, 0.9, 1.0)) for n in node_keys}
    threshold = {n: rng.randint(10, 150) * AIOZ for n in node_keys}
    accrued = dict.fromkeys(node_keys, 0)
    customers = [rng.randbytes(20) for _ in range(3)]
    plan = CosmosPlan(chain, payments, pool, ["0x" + n.hex() for n in node_keys])
    plan.customers = ["0x" + c.hex() for c in customers]
    by_time: dict[int, list[ValueTransfer]] = {}
    for transfer in evm_transfers:
        by_time.setdefault(transfer.time, []).append(transfer)
    fees_pending = 0
    for day in range(days):
        version = "0.37" if day < UPGRADE_DAY else "0.38"
        withdraw_at: dict[int, list[bytes]] = {}
        for node in node_keys:
            if rng.random() < uptime[node]:
                accrued[node] += int(rng.uniform(10, 60) * AIOZ) + rng.randrange(AIOZ)
            if accrued[node] >= threshold[node]:
                withdraw_at.setdefault(rng.randrange(24), []).append(node)
        pay_at = {c: rng.randrange(24) for c in customers if rng.random() < 0.4}
        for hour in range(24):
            h = chain.new_height(version, at=start + day * DAY + hour * 3600)
            chain.block_event(h, "begin", "coinbase", {"minter": bonus}, [(_BLOCK_BONUS, DENOM)])
            chain.block_event(
                h, "begin", "transfer", {"recipient": chain.distribution, "sender": bonus}, [(_BLOCK_BONUS, DENOM)]
            )
            if fees_pending:
                chain.block_event(
                    h,
                    "begin",
                    "transfer",
                    {"recipient": chain.distribution, "sender": chain.fee_collector},
                    [(fees_pending, DENOM)],
                )
                fees_pending = 0
            if hour == 0:
                emission = 1_500 * AIOZ
                chain.block_event(h, "begin", "coinbase", {"minter": bonus}, [(emission, DENOM)])
                chain.block_event(h, "begin", "transfer", {"recipient": pool, "sender": bonus}, [(emission, DENOM)])
            for transfer in by_time.get(h.time, ()):
                sender = bytes.fromhex(transfer.sender.removeprefix("0x"))
                recipient = bytes.fromhex(transfer.recipient.removeprefix("0x"))
                chain.evm_transfer(h, sender, recipient, transfer.value, transfer.fee, transfer.tx_hash, DENOM)
                fees_pending += transfer.fee
            for customer, when in pay_at.items():
                if when == hour:
                    amount = rng.randint(100, 8_000) * AIOZ + rng.randrange(AIOZ)
                    chain.send(h, customer, [(payments, [(amount, DENOM)])], [(_FEE, DENOM)])
                    fees_pending += _FEE
                    plan.transactions += 1
            for node in withdraw_at.get(hour, ()):
                chain.send(
                    h,
                    node,
                    [(node, [(accrued[node], DENOM)])],
                    [(_FEE, DENOM)],
                    source=pool,
                    action="withdraw node reward (demo stand-in: the real message is not published)",
                )
                accrued[node] = 0
                fees_pending += _FEE
                plan.transactions += 1
                plan.withdrawals += 1
    chain.head = len(chain.heights)
    return plan
