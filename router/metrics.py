"""Per-strategy figures, a pure function of fills (and, for the objective, the last quotes)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from router.replay import CLEANUP, PASSIVE, TAKE, Fills, Timeline


@dataclass(frozen=True)
class Closing:
    """What shares cost or fetch at the window's end, from each venue's last state: buying
    missing shares walks every venue's displayed asks, cheapest ask plus its venue's fee first;
    selling back shares bought too many walks the displayed bids, highest bid less its venue's
    fee first. Shares beyond the displayed depth are priced at the worst level displayed (and
    counted): the book beyond it is unknown, and a price past every level shown would be a
    guess. With nothing displayed, a missing share cannot be bought (inf) and a surplus one
    fetches ``unpriced_surplus``: nothing for a buy (prices are positive, so that is the worst
    case), minus infinity for a sell's mirrored book (buying the surplus back cannot be priced,
    and free would be the best case)."""

    asks: tuple[tuple[float, int], ...] = ()  # (ask + fee, shares shown), cheapest first
    bids: tuple[tuple[float, int], ...] = ()  # (bid - fee, shares shown), best first
    unpriced_surplus: float = 0.0

    def buy(self, shares: int) -> tuple[float, int]:
        """The cash buying ``shares`` costs, and how many of them lie beyond the asks shown."""
        return _walk(self.asks, shares, math.inf)

    def sell(self, shares: int) -> tuple[float, int]:
        """The cash selling ``shares`` fetches, and how many lie beyond the bids shown."""
        return _walk(self.bids, shares, self.unpriced_surplus)


def _walk(levels: tuple[tuple[float, int], ...], shares: int, none: float) -> tuple[float, int]:
    """Cash for ``shares`` down ``levels`` (price, size), the shares left beyond them at the
    last level's price (at ``none`` each when no level shows); and how many were beyond."""
    cash, left = 0.0, shares
    for price, size in levels:
        taken = min(left, size)
        cash += taken * price
        left -= taken
    if left:
        cash += left * (levels[-1][0] if levels else none)
    return cash, left


@dataclass(frozen=True)
class StrategyResult:
    """What a strategy paid. ``avg_fill_px`` is None when nothing filled.

    Shares split by how they filled: ``taken`` by marketable orders, ``passive`` by resting
    limit orders, ``cleanup`` bought at the window's end for a passive strategy's shortfall.
    ``fees_paid`` and ``rebates_earned`` are in dollars and included in ``total_cash``.
    ``order_cost`` prices the order as it ended: the cash, plus shares still missing bought
    up the closing asks, less shares bought beyond the order sold back down the closing bids
    (:class:`Closing`); ``closing_shares_beyond_depth`` of those were priced beyond the
    displayed depth, at its worst level. ``cost_per_share`` is the order cost over the order's
    shares, what savings compare.
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
    closing_shares_beyond_depth: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def order_cost(
    total_cash: float, unfilled: int, overfilled: int, closing: Closing
) -> tuple[float, int]:
    """The sweep's objective: cash, plus missing shares bought up the closing asks, less
    surplus shares sold down the closing bids; a partial fill never looks cheap, and buying too
    much costs what the surplus loses when sold back (spread, fee and depth). Also the shares
    priced beyond the displayed depth."""
    bought, short_beyond = closing.buy(unfilled)
    sold, surplus_beyond = closing.sell(overfilled)
    return total_cash + bought - sold, short_beyond + surplus_beyond


def summarize(fills: Fills, closing: Closing) -> StrategyResult:
    """total_cash includes fees; avg_fill_px = total_cash / filled_shares."""
    filled = int(fills.shares.sum())
    cash = float(math.fsum(fills.cash))
    by_kind = np.bincount(fills.liquidity, weights=fills.shares, minlength=3).astype(int)
    charges = fills.shares * fills.fee
    unfilled = max(fills.order_size - filled, 0)
    overfilled = max(filled - fills.order_size, 0)
    cost, beyond = order_cost(cash, unfilled, overfilled, closing)
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
        closing_shares_beyond_depth=beyond,
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
    """(cost_baseline - cost_router) / |cost_baseline| * 10,000 on the cost per share of one
    order (a sell's cost is minus its proceeds per share, fees added: lower is better on both
    sides); None if either cost is not finite."""
    return pooled_savings_bps([(baseline, router)])


def pooled_savings_bps(pairs: list[tuple[StrategyResult, StrategyResult]]) -> float | None:
    """Several orders' (baseline, router) results as one figure: the total saved over the
    total |baseline cost|, in bps; so each order weighs by its notional, and buys and sells
    pool without cancelling out. None if any cost is not finite."""
    base = np.array([b.order_cost for b, _ in pairs])
    mine = np.array([r.order_cost for _, r in pairs])
    if not (np.isfinite(base).all() and np.isfinite(mine).all()):
        return None
    return pooled_bps(base, mine)


def pooled_bps(baseline: np.ndarray, router: np.ndarray) -> float:
    """Finite costs of the same orders: the total saved over the total |baseline cost|, in
    bps (the figure :func:`pooled_savings_bps` and the evaluation's ``weighted_bps`` give)."""
    return float((baseline - router).sum() / np.abs(baseline).sum() * 10_000)


def closing_prices(timeline: Timeline) -> Closing:
    """Every level displayed in each venue's last state in the window: the asks plus their
    venue's fee, cheapest first, and the bids less their venue's fee, best first (ties: lower
    publisher id)."""
    snap = timeline.snapshots
    last_rows = np.full(len(timeline.publishers), -1)
    np.maximum.at(last_rows, timeline.venue_index, np.arange(len(snap)))
    asks, bids = [], []
    for venue, row in enumerate(last_rows):
        if row < 0:
            continue
        publisher, fee = int(timeline.publishers[venue]), float(timeline.fee[venue])
        for px, sz in zip(snap.ask_px[row], snap.ask_sz[row], strict=True):
            if sz > 0:
                asks.append((float(px) + fee, publisher, int(sz)))
        for px, sz in zip(snap.bid_px[row], snap.bid_sz[row], strict=True):
            if sz > 0:
                bids.append((-(float(px) - fee), publisher, int(sz)))
    return Closing(
        asks=tuple((price, size) for price, _, size in sorted(asks)),
        bids=tuple((-price, size) for price, _, size in sorted(bids)),
        unpriced_surplus=-math.inf if snap.mirrored_book else 0.0,
    )
