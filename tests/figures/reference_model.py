"""An independent, slow, obviously-correct Python model of the figures (the test oracle).

It applies the label rules of docs/methodology.md flow by flow with Decimal arithmetic
and builds every analytics view as a dict keyed like the view's unique columns.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any


@dataclass(frozen=True)
class Flow:
    chain: str
    day: date
    tx: str
    idx: int
    token: str
    src: str | None
    dst: str | None
    amount: int


@dataclass(frozen=True)
class Label:
    network: str
    chain: str
    address: str
    role: str
    valid_from: date | None = None
    valid_to: date | None = None

    def valid(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True)
class Token:
    chain: str
    address: str
    symbol: str
    decimals: int
    stablecoin: bool = False


def _sum_or_none(values: list[Decimal | None]) -> Decimal | None:
    return None if any(v is None for v in values) else sum(values, Decimal(0))  # type: ignore[arg-type]


def model(*args: Any) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """Every analytics view, computed from scratch, with exact decimal arithmetic.

    Python's default decimal context keeps 28 digits; amounts of 10^30 raw units at 18
    decimals with prices need more, so the model computes with 200.
    """
    with localcontext(prec=200):
        return _model(*args)


def _model(
    flows: list[Flow],
    labels: list[Label],
    tokens: list[Token],
    prices: dict[tuple[date, str], Decimal],
    assumptions: dict[str, tuple[Decimal, Decimal]],
) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    token = {(t.chain, t.address): t for t in tokens}
    networks = sorted({lb.network for lb in labels})
    revenue: list[tuple[str, date, str, str, Decimal, Decimal | None]] = []  # network, day, symbol, payer, amount, usd
    rewards: list[tuple[str, date, str, str, Decimal, Decimal | None]] = []  # network, day, symbol, node, amount, usd
    for f in flows:
        t = token.get((f.chain, f.token))
        if t is None:
            continue
        amount = Decimal(f.amount).scaleb(-t.decimals)
        price = prices.get((f.day, t.symbol), Decimal(1) if t.stablecoin else None)
        usd = None if price is None else amount * price
        for n in networks:
            valid = [lb for lb in labels if lb.network == n and lb.chain == f.chain and lb.valid(f.day)]
            own = {lb.address for lb in valid}
            roles = {(lb.address, lb.role) for lb in valid}
            if f.src is not None and (f.dst, "revenue") in roles and f.src not in own:
                revenue.append((n, f.day, t.symbol, f.src, amount, usd))
            if f.dst is not None and (f.src, "rewards") in roles and f.dst not in own:
                rewards.append((n, f.day, t.symbol, f.dst, amount, usd))
            if f.dst is None and (f.token, "burn_revenue") in roles and f.src not in own:
                revenue.append((n, f.day, t.symbol, f.src, amount, usd))  # type: ignore[arg-type]
            if f.src is None and f.dst is not None and (f.token, "mint_rewards") in roles and f.dst not in own:
                rewards.append((n, f.day, t.symbol, f.dst, amount, usd))

    def month(d: date) -> date:
        return d.replace(day=1)

    views: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for n, d, s, payer, a, u in revenue:
        groups[(n, month(d), s)].append((payer, a, u))
    views["monthly_revenue"] = {
        k: (sum((a for _, a, _ in v), Decimal(0)), _sum_or_none([u for *_, u in v]), len(v), len({p for p, *_ in v}))
        for k, v in groups.items()
    }
    for name, period in (("node_earnings_daily", lambda d: d), ("node_earnings_monthly", month)):
        groups = defaultdict(list)
        for n, d, s, node, a, u in rewards:
            groups[(n, node, period(d), s)].append((a, u))
        views[name] = {
            k: (sum((a for a, _ in v), Decimal(0)), _sum_or_none([u for _, u in v]), len(v)) for k, v in groups.items()
        }
    first: dict[tuple[str, str], date] = {}
    for n, d, _s, node, *_ in rewards:
        first[(n, node)] = min(d, first.get((n, node), d))
    daily: dict[tuple[str, date], dict[str, Any]] = defaultdict(
        lambda: {"nodes": set(), "payers": set(), "rev": [], "rew": []}
    )
    for n, d, _s, node, _a, u in rewards:
        daily[(n, d)]["nodes"].add(node)
        daily[(n, d)]["rew"].append(u)
    for n, d, _s, payer, _a, u in revenue:
        daily[(n, d)]["payers"].add(payer)
        daily[(n, d)]["rev"].append(u)
    views["network_utilisation_daily"] = {
        (n, d): (
            len(v["nodes"]),
            sum(1 for (nn, _node), fd in first.items() if nn == n and fd == d),
            len(v["payers"]),
            _sum_or_none(v["rev"]) if v["rev"] else Decimal(0),
            _sum_or_none(v["rew"]) if v["rew"] else Decimal(0),
        )
        for (n, d), v in daily.items()
    }
    monthly: dict[tuple[str, date], dict[str, Any]] = defaultdict(
        lambda: {"nodes": set(), "node_days": set(), "payers": set(), "rev": [], "rew": []}
    )
    for n, d, _s, node, _a, u in rewards:
        m = monthly[(n, month(d))]
        m["nodes"].add(node)
        m["node_days"].add((node, d))
        m["rew"].append(u)
    for n, d, _s, payer, _a, u in revenue:
        monthly[(n, month(d))]["payers"].add(payer)
        monthly[(n, month(d))]["rev"].append(u)
    views["network_utilisation_monthly"] = {}
    for (n, m0), v in monthly.items():
        days_in_month = ((m0.replace(day=28) + __import__("datetime").timedelta(days=4)).replace(day=1) - m0).days
        active, nda = len(v["nodes"]), len(v["node_days"])
        rev = _sum_or_none(v["rev"]) if v["rev"] else Decimal(0)
        rew = _sum_or_none(v["rew"]) if v["rew"] else Decimal(0)
        utilisation = (
            (Decimal(nda) / (active * days_in_month)).quantize(Decimal("0.000001"), ROUND_HALF_UP) if active else None
        )
        ratio = (
            (rev / rew).quantize(Decimal("0.000001"), ROUND_HALF_UP) if rew and rew > 0 and rev is not None else None
        )
        views["network_utilisation_monthly"][(n, m0)] = (active, nda, utilisation, len(v["payers"]), rev, rew, ratio)
    profit: dict[tuple[str, str, date], dict[str, Any]] = defaultdict(lambda: {"days": set(), "usd": []})
    for n, d, _s, node, _a, u in rewards:
        profit[(n, node, month(d))]["days"].add(d)
        profit[(n, node, month(d))]["usd"].append(u)
    views["node_profitability_monthly"] = {}
    for (n, node, m0), v in profit.items():
        watts, kwh = assumptions.get(n, assumptions["*"])
        electricity = watts * 24 * _days_online(profit, n, node, m0, v["days"]) / 1000 * kwh
        earnings = _sum_or_none(v["usd"])
        views["node_profitability_monthly"][(n, node, m0)] = (
            earnings,
            electricity,
            None if earnings is None else earnings - electricity,
        )
    return views


QUERIES = {
    "monthly_revenue": "select network, month, token, amount, amount_usd, payments, payers from analytics.monthly_revenue",
    "node_earnings_daily": "select network, node, day, token, amount, amount_usd, payouts from analytics.node_earnings_daily",
    "node_earnings_monthly": "select network, node, month, token, amount, amount_usd, payouts from analytics.node_earnings_monthly",
    "network_utilisation_daily": "select network, day, active_nodes, new_nodes, paying_customers, revenue_usd, rewards_usd "
    "from analytics.network_utilisation_daily",
    "network_utilisation_monthly": "select network, month, active_nodes, node_days_active, utilisation, paying_customers, "
    "revenue_usd, rewards_usd, demand_ratio from analytics.network_utilisation_monthly",
    "node_profitability_monthly": "select network, node, month, earnings_usd, electricity_usd, net_usd "
    "from analytics.node_profitability_monthly",
}
KEY_WIDTH = {
    "monthly_revenue": 3,
    "node_earnings_daily": 4,
    "node_earnings_monthly": 4,
    "network_utilisation_daily": 2,
    "network_utilisation_monthly": 2,
    "node_profitability_monthly": 3,
}


async def views_in_database(conn: Any) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    out = {}
    for name, query in QUERIES.items():
        width = KEY_WIDTH[name]
        out[name] = {tuple(r)[:width]: tuple(r)[width:] for r in await conn.fetch(query)}
    return out


def _days_online(
    profit: dict[tuple[str, str, date], dict[str, Any]], network: str, node: str, m0: date, days: set[date]
) -> int:
    """Days a node was online in month ``m0`` (docs/methodology.md, "Profitability"): its
    first to last payout, from the month's first day if it was paid the month before, to
    the month's last day if it is paid the month after."""
    before = m0.replace(year=m0.year - 1, month=12) if m0.month == 1 else m0.replace(month=m0.month - 1)
    after = m0.replace(year=m0.year + 1, month=1) if m0.month == 12 else m0.replace(month=m0.month + 1)
    start = m0 if (network, node, before) in profit else min(days)
    end = (after - timedelta(days=1)) if (network, node, after) in profit else max(days)
    return (end - start).days + 1
