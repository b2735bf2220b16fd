"""The EVM decoder against real logs, blocks and receipts of anvil, with web3 as the oracle.

A module-wide scenario on chain id 137 makes token traffic across five months of 2024:
mints, transfers, transferFrom, burns, a 150-recipient batchTransfer (many logs in one
transaction), a Distributor paying 40 nodes through internal calls, a block holding three
transactions, a reverted transfer, 18-decimal amounts above 2**64 and a token moving
2**256-1. Every decoded row is compared with what web3/eth_abi report for the same logs
and with what the scenario sent. Error cases mutate real logs; property tests cover
random logs and random corruptions; native-coin transfers run on chain id 168.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
import sysconfig
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import eth_abi
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from web3 import Web3

from indexer.decode import evm
from indexer.decode.columns import FlowColumns
from indexer.decode.evm import (
    NATIVE_IDX,
    TRANSFER_TOPIC,
    EvmDecodeError,
    EvmReorgError,
    decode_block_headers,
    decode_native_transfers,
    decode_transfer_logs,
)
from tests.evm.anvil import AnvilPool, Chain, isolated_chain

ROOT = Path(__file__).resolve().parents[2]
ZERO = "0x" + "0" * 40
MAX_UINT256 = 2**256 - 1
Row = tuple[int, str, int, str, str | None, str | None, int]  # block, tx, idx, token, src, dst, amount


def rows(flows: FlowColumns) -> list[Row]:
    """The decoded flows as row tuples."""
    return list(zip(flows.block, flows.tx, flows.idx, flows.token, flows.src, flows.dst, flows.amount, strict=True))


def decode(logs: list[dict[str, Any]], tokens: dict[str, str]) -> list[Row]:
    """Decode one eth_getLogs result into fresh columns; the rows."""
    flows = FlowColumns("polygon")
    count = decode_transfer_logs(logs, tokens, flows)
    assert count == len(flows)
    return rows(flows)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Unix seconds of a UTC date and time."""
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp())


# --------------------------------------------------------------------------- the scenario


@dataclass
class Scenario:
    """Token traffic made on anvil, and the ledger of what was sent."""

    chain: Chain
    token: Any  # web3 contracts
    max_token: Any
    distributor: Any
    first_block: int = 0
    last_block: int = 0
    # tx hash -> [(token, src, dst, amount)] in emission order
    sent: dict[str, list[tuple[str, str | None, str | None, int]]] = field(default_factory=dict)
    # tx hash -> the block timestamp the scenario asked for
    planned_time: dict[str, int] = field(default_factory=dict)
    batch_tx: str = ""
    distribute_tx: str = ""
    shared_block_txs: list[str] = field(default_factory=list)
    reverted_tx: str = ""

    @property
    def tokens(self) -> dict[str, str]:
        """The token map the indexer would pass: address -> stored token text."""
        addresses = [self.token.address.lower(), self.max_token.address.lower()]
        return {a: a for a in addresses}

    def logs(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Raw eth_getLogs of both tokens over the scenario's blocks."""
        return self.chain.get_logs(list(self.tokens), self.first_block, self.last_block, **kwargs)


def _lower(address: str | None) -> str | None:
    return None if address is None else address.lower()


def build_scenario(chain: Chain) -> Scenario:
    """Deploy the contracts and make the module's token traffic (see the module docstring)."""
    rng = random.Random(2024)
    owner, alice, bob, carol, dave = chain.accounts[:5]
    chain.set_next_timestamp(at(2024, 1, 2))
    token = chain.deploy("TestToken", "Render Token", "RNDR", 18)
    distributor = chain.deploy("Distributor")
    max_token = chain.deploy("TestToken", "Max Token", "MAX", 0)
    s = Scenario(chain, token, max_token, distributor)
    s.first_block = chain.block_number() + 1
    clock = {"t": 0}

    def send(when: int, call: Any, sender: str, moves: list[tuple[Any, str | None, str | None, int]], **kw: Any) -> str:
        # Each transaction gets its own second, so planned and actual times can be compared.
        clock["t"] = max(clock["t"] + 1, when)
        chain.set_next_timestamp(clock["t"])
        receipt = chain.send(call, sender=sender, **kw)
        assert receipt["status"] == 1, receipt
        tx = Web3.to_hex(receipt["transactionHash"]).lower()
        s.sent[tx] = [(c.address.lower(), _lower(a), _lower(b), amount) for c, a, b, amount in moves]
        s.planned_time[tx] = clock["t"]
        return tx

    big = 123_456_789_123_456_789_123_456_789  # 1.2e26: an 18-decimal amount far above 2**64
    # January: mints (src None).
    send(at(2024, 1, 15), token.functions.mint(alice, big), owner, [(token, None, alice, big)])
    send(
        at(2024, 1, 15),
        token.functions.mint(distributor.address, 10**24),
        owner,
        [(token, None, distributor.address, 10**24)],
    )
    send(at(2024, 1, 16), token.functions.mint(owner, 10**27), owner, [(token, None, owner, 10**27)])
    # February: transfer above 2**64, approve (an Approval log, not a Transfer), transferFrom, burn (dst None).
    amount = 2**64 + 12_345
    send(at(2024, 2, 20), token.functions.transfer(bob, amount), alice, [(token, alice, bob, amount)])
    send(at(2024, 2, 20), token.functions.approve(carol, 10**21), alice, [])
    send(
        at(2024, 2, 21),
        token.functions.transferFrom(alice, dave, 10**19 + 7),
        carol,
        [(token, alice, dave, 10**19 + 7)],
    )
    send(at(2024, 2, 29), token.functions.burn(5 * 10**17), bob, [(token, bob, None, 5 * 10**17)])
    # March: one transaction, 150 Transfer logs.
    recipients = [Web3.to_checksum_address(f"0x{rng.getrandbits(160):040x}") for _ in range(150)]
    amounts = [1, 10**18, 2**64, 2**64 - 1] + [rng.getrandbits(rng.randint(1, 80)) for _ in range(146)]
    s.batch_tx = send(
        at(2024, 3, 5),
        token.functions.batchTransfer(recipients, amounts),
        owner,
        [(token, owner, r, a) for r, a in zip(recipients, amounts, strict=True)],
    )
    # April, last second of the month: rewards paid by a contract through internal calls.
    nodes = [Web3.to_checksum_address(f"0x{rng.getrandbits(160):040x}") for _ in range(40)]
    rewards = [rng.randint(1, 10**21) for _ in nodes]
    s.distribute_tx = send(
        at(2024, 4, 30, 23, 59, 59),
        distributor.functions.distribute(token.address, nodes, rewards),
        owner,
        [(token, distributor.address, n, r) for n, r in zip(nodes, rewards, strict=True)],
    )
    # May, first second: three senders in one block.
    clock["t"] = at(2024, 5, 1)
    with chain.block(timestamp=clock["t"]) as block:
        moves = [(owner, carol, 11), (alice, carol, 22), (bob, carol, 33)]
        for sender, to, value in moves:
            tx = chain.submit(token.functions.transfer(to, value), sender=sender, gas=200_000)
            s.sent[tx] = [(token.address.lower(), sender.lower(), to.lower(), value)]
            s.planned_time[tx] = clock["t"]
    s.shared_block_txs = list(block.hashes)
    assert all(r["status"] == "0x1" for r in block.receipts)
    # A reverted transfer (more than the balance): mined, status 0, no log.
    clock["t"] += 60
    chain.set_next_timestamp(clock["t"])
    failed = chain.send(token.functions.transfer(alice, 10**30), sender=dave, gas=200_000)
    assert failed["status"] == 0
    s.reverted_tx = Web3.to_hex(failed["transactionHash"]).lower()
    # June: the largest possible amounts, a zero-amount transfer.
    send(at(2024, 6, 10), max_token.functions.mint(alice, MAX_UINT256), owner, [(max_token, None, alice, MAX_UINT256)])
    send(
        at(2024, 6, 10),
        max_token.functions.transfer(bob, MAX_UINT256),
        alice,
        [(max_token, alice, bob, MAX_UINT256)],
    )
    send(at(2024, 6, 11), max_token.functions.burn(MAX_UINT256), bob, [(max_token, bob, None, MAX_UINT256)])
    send(at(2024, 6, 12), token.functions.transfer(bob, 0), owner, [(token, owner, bob, 0)])
    s.last_block = chain.block_number()
    return s


@pytest.fixture(scope="module")
def scenario(anvil_pool: AnvilPool) -> Iterator[Scenario]:
    """One scenario for the whole module, reverted at its end."""
    with isolated_chain(anvil_pool, 137) as chain:
        yield build_scenario(chain)


def web3_rows(s: Scenario) -> list[Row]:
    """The oracle: the same logs through web3 (get_logs + the contract ABI's event decoder)."""
    w3 = s.chain.w3
    logs = w3.eth.get_logs(
        {
            "fromBlock": s.first_block,
            "toBlock": s.last_block,
            "address": [s.token.address, s.max_token.address],
            "topics": [TRANSFER_TOPIC],  # type: ignore[list-item]
        }
    )
    out: list[Row] = []
    for log in logs:
        contract = s.token if log["address"] == s.token.address else s.max_token
        event = contract.events.Transfer().process_log(log)
        src, dst = event["args"]["from"].lower(), event["args"]["to"].lower()
        out.append(
            (
                int(log["blockNumber"]),
                Web3.to_hex(log["transactionHash"]).lower(),
                int(log["logIndex"]),
                str(log["address"]).lower(),
                None if src == ZERO else src,
                None if dst == ZERO else dst,
                int(event["args"]["value"]),
            )
        )
    return out


def eth_abi_row(log: dict[str, Any]) -> Row:
    """A second oracle straight from eth_abi on the raw log."""
    (src,) = eth_abi.decode(["address"], bytes.fromhex(log["topics"][1][2:]))
    (dst,) = eth_abi.decode(["address"], bytes.fromhex(log["topics"][2][2:]))
    (value,) = eth_abi.decode(["uint256"], bytes.fromhex(log["data"][2:]))
    src, dst = src.lower(), dst.lower()
    return (
        int(log["blockNumber"], 16),
        log["transactionHash"].lower(),
        int(log["logIndex"], 16),
        log["address"].lower(),
        None if src == ZERO else src,
        None if dst == ZERO else dst,
        value,
    )


# --------------------------------------------------------------------------- real logs


@pytest.mark.anvil
def test_every_row_matches_web3_eth_abi_and_the_ledger(scenario: Scenario) -> None:
    logs = scenario.logs()
    got = decode(logs, scenario.tokens)

    assert got == web3_rows(scenario)
    assert got == [eth_abi_row(log) for log in logs]
    by_tx: dict[str, list[tuple[str, str | None, str | None, int]]] = defaultdict(list)
    for _block, tx, _idx, token, src, dst, amount in got:
        by_tx[tx].append((token, src, dst, amount))
    assert by_tx == {tx: moves for tx, moves in scenario.sent.items() if moves}
    assert scenario.reverted_tx not in by_tx

    # The shapes the scenario was built to cover really are in there.
    assert len(by_tx[scenario.batch_tx]) == 150
    batch_indexes = [idx for _b, tx, idx, *_ in got if tx == scenario.batch_tx]
    assert batch_indexes == list(range(150))
    distributor = scenario.distributor.address.lower()
    assert [src for _t, src, _d, _a in by_tx[scenario.distribute_tx]] == [distributor] * 40
    amounts = [row[6] for row in got]
    assert MAX_UINT256 in amounts and 2**64 + 12_345 in amounts and 0 in amounts
    assert sum(row[4] is None for row in got) == 4  # mints
    assert sum(row[5] is None for row in got) == 2  # burns
    assert len({row[0] for row in got if row[1] in scenario.shared_block_txs}) == 1


@pytest.mark.anvil
def test_other_events_of_the_token_are_skipped(scenario: Scenario) -> None:
    everything = scenario.logs(topics=None)
    topics0 = {log["topics"][0] for log in everything}
    assert len(topics0) == 2  # Transfer and Approval
    assert decode(everything, scenario.tokens) == decode(scenario.logs(), scenario.tokens)


@pytest.mark.anvil
def test_any_split_into_responses_or_chunks_gives_the_same_rows(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = scenario.logs()
    whole = decode(logs, scenario.tokens)
    per_block = []
    for number in range(scenario.first_block, scenario.last_block + 1):
        per_block += decode(scenario.chain.get_logs(list(scenario.tokens), number, number), scenario.tokens)
    assert per_block == whole
    for size in (1, 7, 149, 150, 151):
        monkeypatch.setattr(evm, "_CHUNK", size)
        assert decode(logs, scenario.tokens) == whole


@pytest.mark.anvil
def test_upper_case_hex_decodes_to_the_same_canonical_rows(scenario: Scenario) -> None:
    logs = scenario.logs()

    def shout(value: str) -> str:
        return "0x" + value[2:].upper()

    loud = [
        {
            **log,
            "address": shout(log["address"]),
            "topics": [shout(t) for t in log["topics"]],
            "data": shout(log["data"]),
            "transactionHash": shout(log["transactionHash"]),
            "blockNumber": shout(log["blockNumber"]),
            "logIndex": shout(log["logIndex"]),
        }
        for log in logs
    ]
    assert decode(loud, scenario.tokens) == decode(logs, scenario.tokens)
    checksummed = {Web3.to_checksum_address(a): a for a in scenario.tokens}
    assert decode(logs, checksummed) == decode(logs, scenario.tokens)


@pytest.mark.anvil
def test_block_headers_and_times_land_in_the_planned_months(scenario: Scenario) -> None:
    logs = scenario.logs()
    flows = FlowColumns("polygon")
    decode_transfer_logs(logs, scenario.tokens, flows)
    numbers = sorted(set(flows.block))
    headers = decode_block_headers([scenario.chain.get_block(n) for n in numbers], numbers)

    for number, block_hash, parent, timestamp in headers:
        block = scenario.chain.w3.eth.get_block(number)
        assert block_hash == Web3.to_hex(block["hash"]).lower()
        assert parent == Web3.to_hex(block["parentHash"]).lower()
        assert timestamp == block["timestamp"]
    assert [h[0] for h in headers] == numbers
    flows.set_block_times({n: t for n, _h, _p, t in headers})
    for tx, time in zip(flows.tx, flows.block_time, strict=True):
        assert time == scenario.planned_time[tx]
    months = {datetime.fromtimestamp(t, UTC).strftime("%Y-%m") for t in flows.block_time}
    assert months == {"2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"}
    april = {t for tx, t in zip(flows.tx, flows.block_time, strict=True) if tx == scenario.distribute_tx}
    may = {t for tx, t in zip(flows.tx, flows.block_time, strict=True) if tx in scenario.shared_block_txs}
    assert april == {at(2024, 4, 30, 23, 59, 59)} and may == {at(2024, 5, 1)}
    # Full-transaction blocks decode to the same headers.
    full = decode_block_headers([scenario.chain.get_block(n, full=True) for n in numbers], numbers)
    assert full == headers


@pytest.mark.anvil
def test_a_reorg_seen_through_the_decoder(chain: Chain) -> None:
    """After evm_revert and a different history, the same heights decode to other flows."""
    owner, alice, bob = chain.accounts[:3]
    token = chain.deploy("TestToken", "Render Token", "RNDR", 18)
    tokens = {token.address.lower(): token.address.lower()}
    chain.send(token.functions.mint(owner, 10**24))
    fork = chain.block_number()
    snapshot = chain.snapshot()
    chain.set_next_timestamp(at(2024, 7, 1))
    chain.send(token.functions.transfer(alice, 5))
    before = decode(chain.get_logs(token.address, fork + 1, chain.block_number()), tokens)
    header_before = decode_block_headers([chain.get_block(fork + 1)], [fork + 1])
    chain.revert(snapshot)
    chain.set_next_timestamp(at(2024, 7, 2))
    chain.send(token.functions.transfer(bob, 6))
    after = decode(chain.get_logs(token.address, fork + 1, chain.block_number()), tokens)
    header_after = decode_block_headers([chain.get_block(fork + 1)], [fork + 1])
    assert [r[0] for r in before] == [r[0] for r in after] == [fork + 1]
    assert before[0][5:] == (alice.lower(), 5) and after[0][5:] == (bob.lower(), 6)
    assert header_before[0][1] != header_after[0][1]
    assert header_before[0][2] == header_after[0][2]  # same parent: the fork point


# --------------------------------------------------------------------------- errors


def _sample(scenario: Scenario) -> tuple[list[dict[str, Any]], int]:
    """Real logs and the position of a log in the middle of the batch transfer."""
    logs = scenario.logs()
    position = next(i for i, log in enumerate(logs) if log["transactionHash"] == scenario.batch_tx) + 17
    return logs, position


def _topic_with_padding(topic: str) -> str:
    return "0x" + "0" * 23 + "1" + topic[26:]


MUTATIONS: dict[str, Any] = {
    "removed": lambda log: log.update(removed=True),
    "malformed hex": lambda log: log.update(data="0x" + "zz" + log["data"][4:]),
    "short data": lambda log: log.update(data=log["data"][:-2]),
    "long data": lambda log: log.update(data=log["data"] + "00"),
    "4 topics (ERC-721 shape)": lambda log: log.update(topics=[*log["topics"], log["data"]], data="0x"),
    "non-zero padding": lambda log: log["topics"].__setitem__(1, _topic_with_padding(log["topics"][1])),
    "unknown address": lambda log: log.update(address="0x" + "ab" * 20),
    "pending (null block number)": lambda log: log.update(blockNumber=None),
    "whitespace in data": lambda log: log.update(data=log["data"][:-1] + " "),
    "underscore in amount": lambda log: log.update(data="0x_" + log["data"][3:]),
    "missing data": lambda log: log.pop("data"),
}
EXPECTED_WORDS = {
    "removed": "removed",
    "malformed hex": "not 0x-prefixed hex",
    "short data": "31 bytes",
    "long data": "33 bytes",
    "4 topics (ERC-721 shape)": "4 topics",
    "non-zero padding": "padding",
    "unknown address": "not requested",
    "pending (null block number)": "blockNumber is None",
    "whitespace in data": "not 0x-prefixed hex",
    "underscore in amount": "not 0x-prefixed hex",
    "missing data": "'data' is missing",
}


@pytest.mark.anvil
@pytest.mark.parametrize("kind", list(MUTATIONS))
def test_bad_logs_raise_naming_tx_and_log_index(scenario: Scenario, kind: str) -> None:
    logs, position = _sample(scenario)
    logs = copy.deepcopy(logs)
    bad = logs[position]
    tx, index = bad["transactionHash"], int(bad["logIndex"], 16)
    MUTATIONS[kind](bad)
    flows = FlowColumns("polygon")
    expected = EvmReorgError if kind == "removed" else EvmDecodeError
    with pytest.raises(expected) as caught:
        decode_transfer_logs(logs, scenario.tokens, flows)
    message = str(caught.value)
    assert tx in message and f"log index {index}" in message, message
    assert EXPECTED_WORDS[kind] in message, message
    assert len(flows) == 0  # the valid logs before it were not kept either


@pytest.mark.anvil
def test_null_or_wrong_block_headers_are_errors(scenario: Scenario) -> None:
    first = scenario.first_block
    real = scenario.chain.get_block(first)
    future = scenario.last_block + 1000
    assert scenario.chain.get_block(future) is None  # what a lagging endpoint answers
    with pytest.raises(EvmDecodeError, match=f"block {future}: the endpoint returned null"):
        decode_block_headers([real, None], [first, future])
    with pytest.raises(EvmDecodeError, match=rf"block #1 of the batch \(after block {first}\).*null"):
        decode_block_headers([real, None])
    with pytest.raises(EvmDecodeError, match=f"block {first + 1}: the endpoint returned block {first}"):
        decode_block_headers([real], [first + 1])
    with pytest.raises(EvmDecodeError, match="parentHash is 31 bytes"):
        decode_block_headers([{**real, "parentHash": real["parentHash"][:-2]}])
    with pytest.raises(EvmDecodeError, match="2 block results for 1"):
        decode_block_headers([real, real], [first])


# --------------------------------------------------------------------------- native coin


@pytest.mark.anvil
def test_native_transfers_on_the_aioz_chain_id(chain168: Chain) -> None:
    chain = chain168
    assert chain.chain_id == 168
    payer, node, stranger, other = chain.accounts[:4]
    treasury = "0x" + "7e" * 20  # a labelled address with no key: only receives
    labelled = {treasury, node.lower()}
    chain.set_next_timestamp(at(2024, 3, 1))
    paid = chain.transfer_native(payer, treasury, 10**18 + 1)  # a customer payment
    big = chain.transfer_native(payer, treasury, 25 * 10**18)  # 2.5e19 attoaioz: above 2**64
    reward = chain.transfer_native(node, stranger, 3)  # paid by a labelled address
    chain.transfer_native(stranger, other, 7)  # nobody labelled: not a flow of ours
    chain.send({"to": Web3.to_checksum_address(treasury), "value": 0})  # no value: no flow
    token = chain.deploy("TestToken", "x", "X", 18)
    # Value sent to a contract without a payable fallback: mined, reverted, nothing moved.
    failed = chain.send({"to": token.address, "value": 9}, sender=node, gas=100_000)
    assert failed["status"] == 0
    created = chain.transfer_native(node, None, 11, data="0x00")  # a creation paid by a labelled address
    last = chain.block_number()

    blocks = [chain.get_block(n, full=True) for n in range(1, last + 1)]
    transactions = [tx for block in blocks if block for tx in block["transactions"]]
    receipts = {tx["hash"]: chain.get_receipt(tx["hash"]) for tx in transactions}
    flows = FlowColumns("aioz")
    count = decode_native_transfers(transactions, receipts, flows, labelled)

    def expect(receipt: Any, src: str, dst: str, value: int) -> Row:
        tx = Web3.to_hex(receipt["transactionHash"]).lower()
        onchain = chain.w3.eth.get_transaction(tx)  # the oracle for sender, recipient and value
        assert onchain["value"] == value and onchain["from"].lower() == src.lower()
        return (int(receipt["blockNumber"]), tx, NATIVE_IDX, "native", src.lower(), dst.lower(), value)

    assert rows(flows) == [
        expect(paid, payer, treasury, 10**18 + 1),
        expect(big, payer, treasury, 25 * 10**18),
        expect(reward, node, stranger, 3),
        expect(created, node, created["contractAddress"], 11),
    ]
    assert count == 4 and 25 * 10**18 > 2**64
    # Without labels every successful value transfer counts (the caller filtered already).
    everything = FlowColumns("aioz")
    decode_native_transfers(transactions, receipts, everything)
    assert len(everything) == 5

    creation = next(tx for tx in transactions if tx["to"] is None and int(tx["value"], 16) == 11)
    with pytest.raises(EvmDecodeError, match=f"tx {creation['hash']}: no receipt given"):
        decode_native_transfers([creation], {}, FlowColumns("aioz"))
    broken = {creation["hash"]: {**receipts[creation["hash"]], "contractAddress": None}}
    with pytest.raises(EvmDecodeError, match=f"tx {creation['hash']}: a contract creation"):
        decode_native_transfers([creation], broken, FlowColumns("aioz"))
    moved = {creation["hash"]: {**receipts[creation["hash"]], "blockNumber": hex(last + 5)}}
    with pytest.raises(EvmReorgError, match="receipt is from block"):
        decode_native_transfers([creation], moved, FlowColumns("aioz"))


# --------------------------------------------------------------------------- properties

TOKENS = ("0x61299774020da444af134c82fa83e3810b309991", "0x" + "11" * 20)
addresses = st.one_of(st.just(0), st.integers(0, 2**160 - 1), st.integers(0, 2**20))
quantities = st.integers(0, 2**31 - 1)


@st.composite
def transfer_logs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid Transfer log in canonical eth_getLogs form (zero addresses included)."""
    return {
        "address": draw(st.sampled_from(TOKENS)),
        "topics": [
            TRANSFER_TOPIC,
            f"0x{draw(addresses):064x}",
            f"0x{draw(addresses):064x}",
        ],
        "data": f"0x{draw(st.integers(0, MAX_UINT256)):064x}",
        "blockNumber": hex(draw(st.integers(0, 2**63 - 1))),
        "blockHash": f"0x{draw(st.integers(0, MAX_UINT256)):064x}",
        "transactionHash": f"0x{draw(st.integers(0, MAX_UINT256)):064x}",
        "transactionIndex": hex(draw(quantities)),
        "logIndex": hex(draw(quantities)),
        "removed": draw(st.sampled_from([False, False, False, None])),
    }


def expected_row(log: dict[str, Any]) -> Row:
    """What a valid generated log must decode to, computed independently of the decoder."""
    src = "0x" + log["topics"][1][-40:]
    dst = "0x" + log["topics"][2][-40:]
    return (
        int(log["blockNumber"], 16),
        log["transactionHash"],
        int(log["logIndex"], 16),
        log["address"],
        None if src == ZERO else src,
        None if dst == ZERO else dst,
        int(log["data"], 16),
    )


TOKEN_MAP = {t: t for t in TOKENS}


def fast_path(logs: list[dict[str, Any]]) -> list[list[Any]]:
    """The fast path alone (raises where it declines the batch)."""
    out: tuple[list[Any], ...] = ([], [], [], [], [], [], [])
    evm._transfers_fast(logs, TOKEN_MAP, out)
    return [list(column) for column in out]


@settings(max_examples=300, deadline=None)
@given(st.lists(transfer_logs(), min_size=0, max_size=40))
def test_random_valid_transfers_round_trip_exactly(logs: list[dict[str, Any]]) -> None:
    expected = [expected_row(log) for log in logs]
    assert decode(logs, TOKEN_MAP) == expected
    # The fast path takes every canonical batch, and agrees with the careful one.
    assert fast_path(logs) == [list(c) for c in evm._transfers_careful(logs, TOKEN_MAP)]


JUNK = ["g", "x", "X", "_", " ", "\t", "\n", "-", "+", "é", "\u0663", "\uff10", "\x00", "0x", ""]
HEX_FIELDS = ("topic0", "from", "to", "data", "transactionHash", "blockNumber", "logIndex", "address")
QUANTITY_FIELDS = ("blockNumber", "logIndex")


def _get(log: dict[str, Any], name: str) -> Any:
    slot = {"topic0": 0, "from": 1, "to": 2}
    return log["topics"][slot[name]] if name in slot else log[name]


def _set(log: dict[str, Any], name: str, value: Any) -> None:
    slot = {"topic0": 0, "from": 1, "to": 2}
    if name in slot:
        log["topics"][slot[name]] = value
    else:
        log[name] = value


@st.composite
def corruptions(draw: st.DrawFn, log: dict[str, Any]) -> tuple[str, Any]:
    """(field, new value) that either keeps the log's meaning or breaks its form.

    Substituting a hex digit by another digit would make a different valid log, which no
    decoder can notice: never generated. Case changes of digits keep the meaning.
    """
    kind = draw(st.sampled_from(["junk", "case", "cut", "grow", "type", "missing", "removed", "topics", "pad"]))
    name = draw(st.sampled_from(HEX_FIELDS))
    value = _get(log, name)
    if kind == "junk":
        at_ = draw(st.integers(0, len(value)))
        junk = draw(st.sampled_from(JUNK))
        replace = draw(st.booleans())
        new = value[:at_] + junk + value[at_ + (1 if replace else 0) :]
        if replace and at_ < len(value) and junk.lower() == value[at_].lower():
            new = value  # replacing a character by itself (in any case) is not a corruption
        if name in QUANTITY_FIELDS and replace and junk == "" and at_ >= 2:
            new = value  # deleting a digit of a number makes another valid number
        return name, new
    if kind == "case":
        digits = value[2:]
        flips = draw(st.lists(st.integers(0, max(0, len(digits) - 1)), max_size=8))
        chars = list(digits)
        for i in flips:
            if chars:
                chars[i] = chars[i].upper()
        prefix = draw(st.sampled_from(["0x", "0x", "0X"]))
        return name, prefix + "".join(chars)
    if kind == "cut":
        if name in QUANTITY_FIELDS:
            return name, value[: draw(st.integers(0, 2))]  # only the prefix: no valid shorter number
        return name, value[: draw(st.integers(0, len(value) - 1))]
    if kind == "grow":
        if name in QUANTITY_FIELDS:
            return name, "0x" + "0" * draw(st.integers(1, 3)) + value[2:]  # leading zeros: same value
        return name, value + draw(st.sampled_from(["0", "00", "a", "0" * 64]))
    if kind == "type":
        return name, draw(st.sampled_from([None, 0, 1, 2**70, b"0x00", [value], {"v": value}]))
    if kind == "missing":
        return draw(st.sampled_from(["data", "transactionHash", "blockNumber", "logIndex", "address", "topics"])), ...
    if kind == "removed":
        return "removed", draw(st.sampled_from([True, False, None, 0, 1, "false", "true", ...]))
    if kind == "topics":
        topics = list(log["topics"])
        choice = draw(st.sampled_from(["extra", "drop", "empty", "tuple", "string"]))
        if choice == "extra":
            return "topics", [*topics, topics[1]]
        if choice == "drop":
            return "topics", topics[:2]
        if choice == "empty":
            return "topics", []
        if choice == "tuple":
            return "topics", tuple(topics)
        return "topics", "".join(topics)
    # pad: a non-zero byte in an address topic's padding
    which = draw(st.sampled_from(["from", "to"]))
    topic = _get(log, which)
    position = draw(st.integers(2, 25))
    digit = draw(st.sampled_from("123456789abcdefABCDEF"))
    return which, topic[:position] + digit + topic[position + 1 :]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_corrupted_logs_decode_the_same_or_raise(data: st.DataObject) -> None:
    logs = data.draw(st.lists(transfer_logs(), min_size=1, max_size=6))
    victim = data.draw(st.integers(0, len(logs) - 1))
    original = [expected_row(log) for log in logs]
    name, new = data.draw(corruptions(logs[victim]))
    mutated = copy.deepcopy(logs)
    log = mutated[victim]
    if new is ...:
        log.pop(name, None)
    elif name in ("topic0", "from", "to"):
        _set(log, name, new)
    else:
        log[name] = new
    # Dropping the Transfer topic turns the log into another event (or an anonymous
    # one): skipped, by the rule "only Transfer logs are flows".
    may_vanish = name == "topic0" or (name == "topics" and new == [])
    flows = FlowColumns("polygon")
    try:
        decode_transfer_logs(mutated, TOKEN_MAP, flows)
    except EvmDecodeError as exc:
        event("raised")
        assert len(flows) == 0
        message = str(exc)
        if name not in ("transactionHash", "logIndex"):
            assert logs[victim]["transactionHash"] in message, message
            assert f"log index {int(logs[victim]['logIndex'], 16)}" in message, message
    else:
        got = rows(flows)
        event("same rows" if got == original else "log skipped")
        without_victim = original[:victim] + original[victim + 1 :]
        assert got == original or (may_vanish and got == without_victim), (name, new)
    # The fast path never accepts what the careful path refuses, nor decodes differently.
    try:
        fast = fast_path(mutated)
    except (evm._Fallback, TypeError, KeyError, IndexError, ValueError, AttributeError):
        return  # declined: the careful path decides, as checked above
    event("fast path accepted the mutated batch")
    assert fast == [list(c) for c in evm._transfers_careful(mutated, TOKEN_MAP)]


# --------------------------------------------------------------------------- purity


def test_importing_the_decoder_loads_no_compiled_extension() -> None:
    # sys.modules is read before json is imported to print it (json loads _json.so).
    code = (
        "import sys\n"
        "import indexer.decode.evm\n"
        "modules = {name: getattr(module, '__file__', None) for name, module in sys.modules.items()}\n"
        "import json\n"
        "print(json.dumps(modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    modules: dict[str, str | None] = json.loads(done.stdout)
    assert "indexer.decode.evm" in modules
    forbidden = (
        "solders",
        "pydantic_core",
        "pydantic",
        "orjson",
        "msgspec",  # parses RPC answers in indexer/chains: it must not reach the decoder
        "eth_abi",
        "eth_utils",
        "web3",
        "eth_hash",
        "cytoolz",
    )
    loaded = sorted(n for n in modules if n.split(".")[0] in forbidden)
    assert loaded == [], loaded
    # The standard library's own extension modules live in lib-dynload of the base
    # interpreter (not of the virtualenv).
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    dynload = {
        (Path(sys.base_exec_prefix) / "lib" / version / "lib-dynload").resolve(),
        Path(sysconfig.get_config_var("DESTSHARED") or "/nonexistent").resolve(),
    }
    compiled = sorted(
        f for f in modules.values() if f and f.endswith((".so", ".pyd")) and Path(f).resolve().parent not in dynload
    )
    assert compiled == [], compiled
    assert all(Path(f).resolve().parent in dynload for f in modules.values() if f and f.endswith(".so"))
