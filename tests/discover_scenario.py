"""A random token economy with three hidden network wallets among noise: the record that
``discover`` tests play on a real chain and check the answer against.

One seed makes one token's history, chain-agnostic: wallets are names, amounts raw
integers, times unix seconds. The network's own traffic is

* an hourly **distributor** paying 50 to 200 nodes, each node with its own uptime, uneven
  amounts, some hours skipped (gaps), funded by
* a monthly **emission recipient** (the token is minted to it every month), and
* a **collector** paid by 20 to 100 customers, one to four times each, that never sends;

and around it, at least ten times its volume in tokens (and at least as many transfers):
traders trading among themselves (a few trade very often), an exchange's hot wallet taking
deposits and paying withdrawals to hundreds of wallets, a few large holders moving large
amounts, genesis mints to the large holders and some traders, and one-off transfers to
fresh wallets. Every transfer
is affordable at its time (balances are simulated), so each plays on a real chain as is.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

HOUR = 3600
DAY = 86_400
START = 1_735_689_600  # 2025-01-01T00:00:00Z; the emissions are minted on days 0, 30 and 60
BUSY = START + 58 * DAY  # the days when the distributor, the customers and most trades run

Wallet = str
"""A wallet's name in the scenario, e.g. ``"trader-12"``; each chain maps it to an address."""


@dataclass(frozen=True, slots=True)
class Action:
    """One transaction: a mint (``sender`` None) or transfers from ``sender``."""

    time: int
    sender: Wallet | None
    payouts: tuple[tuple[Wallet, int], ...]
    network: bool
    """Part of the network's own traffic (not noise)."""


@dataclass
class Scenario:
    """One seed's history, in time order, and what discover must find."""

    seed: int
    decimals: int
    actions: list[Action] = field(default_factory=list)
    distributor: Wallet = "distributor"
    collector: Wallet = "collector"
    emissions: Wallet = "emissions"
    nodes: int = 0
    customers: int = 0

    @property
    def wallets(self) -> list[Wallet]:
        """Every wallet that holds the token at some point, in first-seen order."""
        seen: dict[Wallet, None] = {}
        for action in self.actions:
            if action.sender is not None:
                seen.setdefault(action.sender)
            for dst, _ in action.payouts:
                seen.setdefault(dst)
        return list(seen)

    def volume(self, *, network: bool) -> tuple[int, int]:
        """(transfers, raw amount) of the network's traffic or of the noise, mints excluded."""
        moves = [a for p in self.actions if p.network == network and p.sender is not None for a in p.payouts]
        return len(moves), sum(amount for _, amount in moves)


class _Step(NamedTuple):
    time: int
    order: int
    kind: str  # "mint" or "send"
    src: Wallet | None
    payouts: list[tuple[Wallet, int]]
    network: bool


Plan = list[_Step]


def _step(plan: Plan, time: int, src: Wallet | None, payouts: list[tuple[Wallet, int]], *, network: bool) -> None:
    plan.append(_Step(time, len(plan), "mint" if src is None else "send", src, payouts, network))


class _Book:
    """Balances in raw units, so that no transfer exceeds what its sender holds."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.balance: dict[Wallet, int] = defaultdict(int)

    def mint(self, time: int, dst: Wallet, amount: int, *, network: bool) -> None:
        self.balance[dst] += amount
        self.scenario.actions.append(Action(time, None, ((dst, amount),), network))

    def send(self, time: int, src: Wallet, payouts: list[tuple[Wallet, int]], *, network: bool) -> None:
        paid = [(dst, amount) for dst, amount in payouts if amount > 0 and dst != src]
        if not paid or sum(a for _, a in paid) > self.balance[src]:
            return
        for dst, amount in paid:
            self.balance[src] -= amount
            self.balance[dst] += amount
        self.scenario.actions.append(Action(time, src, tuple(paid), network))


def build(seed: int, *, decimals: int = 8, noise_per_network_transfer: float = 1.0) -> Scenario:
    """The history of seed ``seed``; noise trades number ``noise_per_network_transfer``
    times the network's transfers (their amounts are always ten times larger or more)."""
    rng = random.Random(seed)
    unit = 10**decimals
    scenario = Scenario(seed, decimals, nodes=rng.randint(50, 200), customers=rng.randint(20, 100))
    plan: Plan = []
    _emissions(rng, unit, plan)
    _distributor(rng, unit, scenario.nodes, plan)
    _customers(rng, unit, scenario.customers, plan)
    network_transfers = sum(len(s.payouts) for s in plan if s.network and s.src is not None)
    _noise(rng, unit, int(network_transfers * noise_per_network_transfer) + 1, plan)
    book = _Book(scenario)
    for step in sorted(plan, key=lambda s: (s.time, s.order)):
        if step.src is None:
            book.mint(step.time, *step.payouts[0], network=step.network)
        else:
            book.send(step.time, step.src, step.payouts, network=step.network)
    return scenario


def _emissions(rng: random.Random, unit: int, plan: Plan) -> None:
    """Mints to the emissions wallet on days 0, 30 and 60 (jittered by hours), each
    forwarded in part to the distributor a few hours later."""
    for month in range(3):
        when = START + month * 30 * DAY + rng.randint(0, 6) * HOUR
        amount = rng.randint(400_000, 600_000) * unit + rng.randrange(unit)
        _step(plan, when, None, [("emissions", amount)], network=True)
        _step(plan, when + 3 * HOUR, "emissions", [("distributor", amount // 3)], network=True)


def _distributor(rng: random.Random, unit: int, nodes: int, plan: Plan) -> None:
    """Hourly rounds on the busy days; a round pays each node with its own uptime."""
    uptime = [rng.uniform(0.5, 1.0) for _ in range(nodes)]
    hours = rng.randint(16, 22)
    start = BUSY + rng.randint(0, 12) * HOUR
    for hour in range(hours):
        if hour not in (0, hours - 1) and rng.random() < 0.15:
            continue  # a missed round: a gap in the cadence
        paid = [
            (f"node-{k}", int(rng.uniform(0.5, 40) * unit) + rng.randrange(unit))
            for k in range(nodes)
            if rng.random() < uptime[k]
        ]
        _step(plan, start + hour * HOUR + rng.randint(60, 40 * 60), "distributor", paid, network=True)


def _customers(rng: random.Random, unit: int, customers: int, plan: Plan) -> None:
    """Customers, funded at genesis, pay the collector one to four times each."""
    for c in range(customers):
        name = f"customer-{c}"
        _step(plan, START + 2 * HOUR, None, [(name, 20_000 * unit)], network=False)
        for _ in range(rng.randint(1, 4)):
            when = BUSY + rng.randint(0, 3 * DAY)
            amount = rng.randint(10, 4_000) * unit + rng.randrange(unit)
            _step(plan, when, name, [("collector", amount)], network=True)


def _noise(rng: random.Random, unit: int, trades: int, plan: Plan) -> None:
    """Large holders, traders (skewed activity), one-off transfers, genesis mints."""
    whales = [f"whale-{i}" for i in range(rng.randint(3, 5))]
    traders = [f"trader-{i}" for i in range(rng.randint(120, 250))]
    weights = [1 / (i + 1) ** 0.8 for i in range(len(traders))]
    for whale in whales:
        _step(plan, START + HOUR, None, [(whale, rng.randint(50, 90) * 10**6 * unit)], network=False)
    bought: dict[Wallet, list[Wallet]] = {whale: [] for whale in whales}
    for trader in traders:
        if rng.random() < 0.3:  # some traders got their tokens at genesis
            _step(plan, START + HOUR, None, [(trader, rng.randint(1, 9) * 10**5 * unit)], network=False)
        else:  # the others bought from a large holder
            bought[rng.choice(whales)].append(trader)
    for whale, group in bought.items():  # in batches
        for k in range(0, len(group), 20):
            payouts = [(t, rng.randint(1, 9) * 10**5 * unit) for t in group[k : k + 20]]
            _step(plan, START + 2 * DAY + rng.randint(0, DAY), whale, payouts, network=False)
    # An exchange's hot wallet: deposits from traders, withdrawals to hundreds of wallets,
    # each paid once, at no cadence. It has more recipients than the distributor and more
    # payers than the collector: breadth alone would rank it first in both kinds.
    _step(plan, START + 2 * DAY, whales[0], [("exchange", 5 * 10**6 * unit)], network=False)
    for _ in range(trades):
        src, dst = rng.choices(traders, weights, k=2)
        if rng.random() < 0.15:
            dst = "exchange"
        when = BUSY - 2 * DAY + rng.randint(0, 6 * DAY)
        amount = int(rng.lognormvariate(8, 1.5) * unit) + rng.randrange(unit)
        _step(plan, when, src, [(dst, amount)], network=False)
    for i in range(rng.randint(250, 400)):
        amount = int(rng.lognormvariate(8, 1) * unit)
        _step(plan, BUSY - 2 * DAY + rng.randint(0, 6 * DAY), "exchange", [(f"withdrawal-{i}", amount)], network=False)
    for _ in range(rng.randint(8, 15)):  # large holders move large amounts now and then
        src, dst = rng.sample(whales, 2)
        _step(plan, BUSY + rng.randint(-5 * DAY, 5 * DAY), src, [(dst, 10**7 * unit)], network=False)
    for i in range(rng.randint(20, 40)):  # one-off transfers to fresh wallets
        src = rng.choice(whales + traders)
        _step(plan, BUSY + rng.randint(0, 3 * DAY), src, [(f"one-off-{i}", 10**4 * unit)], network=False)
