"""Per-strategy figures, a pure function of fills (and, for the objective, the last quotes)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from router.replay import CLEANUP, PASSIVE, TAKE, Fills, Timeline


@dataclass(frozen=True)
class Closing:
    """What a share costs or fetches at the window's end, from each venue's last state: the
    best ask plus its venue's fee (buying a share still missing) and the best bid less its
    venue's fee (selling back a share bought too many). ``ask`` is inf and ``bid`` 0 where
    nothing shows: a missing share cannot be bought, a surplus one cannot be sold."""

    ask: float
    bid: float


@dataclass(frozen=True)
class StrategyResult:
    """What a strategy paid. ``avg_fill_px`` is None when nothing filled.

    Shares split by how they filled: ``taken`` by marketable orders, ``passive`` by resting
    limit orders, ``cleanup`` bought at the window's end for a passive strategy's shortfall.
    ``fees_paid`` and ``rebates_earned`` are in dollars and included in ``total_cash``.
    ``order_cost`` prices the order as it ended: the cash, plus shares still missing bought at
    the closing ask, less shares bought beyond the order sold back at the closing bid;
    ``cost_per_share`` is that over the order's shares, what savings compare.
    """

    total_cash: float
    avg_fill_px: float | None
    filled_shares: int
    unfilled_shares: int
    overfilled_shares: int
    order_cost: float
    cost_per_share: float
    taken_shares: int = 0
    passive_shares: int = 0
    cleanup_shares: int = 0
    fees_paid: float = 0.0
    rebates_earned: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def order_cost(total_cash: float, unfilled: int, overfilled: int, closing: Closing) -> float:
    """The sweep's objective: cash, plus missing shares at the closing ask, less surplus shares
    at the closing bid; a partial fill never looks cheap, and buying too much costs what the
    surplus loses when sold back (spread and fee)."""
    cost = total_cash
    if unfilled:
        cost += unfilled * closing.ask
    if overfilled:
        cost -= overfilled * closing.bid
    return cost


def summarize(fills: Fills, closing: Closing) -> StrategyResult:
    """total_cash includes fees; avg_fill_px = total_cash / filled_shares."""
    filled = int(fills.shares.sum())
    cash = float(math.fsum(fills.cash))
    by_kind = np.bincount(fills.liquidity, weights=fills.shares, minlength=3).astype(int)
    charges = fills.shares * fills.fee
    unfilled = max(fills.order_size - filled, 0)
    overfilled = max(filled - fills.order_size, 0)
    cost = order_cost(cash, unfilled, overfilled, closing)
    return StrategyResult(
        total_cash=cash,
        avg_fill_px=cash / filled if filled else None,
        filled_shares=filled,
        unfilled_shares=unfilled,
        overfilled_shares=overfilled,
        order_cost=cost,
        cost_per_share=cost / fills.order_size,
        taken_shares=int(by_kind[TAKE]),
        passive_shares=int(by_kind[PASSIVE]),
        cleanup_shares=int(by_kind[CLEANUP]),
        fees_paid=float(math.fsum(charges[charges > 0])),
        rebates_earned=float(math.fsum(-charges[charges < 0])),
    )


def combine(results: list[StrategyResult]) -> StrategyResult:
    """Several days' figures as one: shares, cash, costs, fees and rebates summed; the
    average price over all shares filled, the cost per share over all orders' shares."""
    if len(results) == 1:
        return results[0]
    summed = {
        f.name: (math.fsum if f.type == "float" else sum)(getattr(r, f.name) for r in results)
        for f in fields(StrategyResult)
        if f.name not in ("avg_fill_px", "cost_per_share")
    }
    filled = summed["filled_shares"]
    ordered = filled + summed["unfilled_shares"] - summed["overfilled_shares"]
    return StrategyResult(
        avg_fill_px=summed["total_cash"] / filled if filled else None,
        cost_per_share=summed["order_cost"] / ordered,
        **summed,
    )


def savings_bps(baseline: StrategyResult, router: StrategyResult) -> float | None:
    """(cost_baseline - cost_router) / cost_baseline * 10,000 on the cost per share of the
    order; None if either cost is not finite."""
    base, mine = baseline.cost_per_share, router.cost_per_share
    if not (math.isfinite(base) and math.isfinite(mine)):
        return None
    return (base - mine) / base * 10_000


def closing_prices(timeline: Timeline) -> Closing:
    """The window's last best ask plus its venue's fee, and last best bid less its venue's fee
    (ties: lower publisher id), from each venue's last state in the window."""
    snap = timeline.snapshots
    last_rows = np.full(len(timeline.publishers), -1)
    np.maximum.at(last_rows, timeline.venue_index, np.arange(len(snap)))
    last_rows = last_rows[last_rows >= 0]
    asks = last_rows[snap.ask_sz[last_rows, 0] > 0]
    bids = last_rows[snap.bid_sz[last_rows, 0] > 0]
    ask, bid = math.inf, 0.0
    if len(asks):
        venue = timeline.venue_index[asks]
        best = int(np.lexsort((timeline.publishers[venue], snap.ask_px[asks, 0]))[0])
        ask = float(snap.ask_px[asks[best], 0] + timeline.fee[venue[best]])
    if len(bids):
        venue = timeline.venue_index[bids]
        best = int(np.lexsort((timeline.publishers[venue], -snap.bid_px[bids, 0]))[0])
        bid = float(snap.bid_px[bids[best], 0] - timeline.fee[venue[best]])
    return Closing(ask, bid)
