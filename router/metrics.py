"""Per-strategy figures, a pure function of fills (and, for the objective, the last quotes)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from router.replay import CLEANUP, PASSIVE, TAKE, Fills, Timeline


@dataclass(frozen=True)
class StrategyResult:
    """What a strategy paid. ``avg_fill_px`` is None when nothing filled.

    Shares split by how they filled: ``taken`` by marketable orders, ``passive`` by resting
    limit orders, ``cleanup`` bought at the window's end for a passive strategy's shortfall.
    ``fees_paid`` and ``rebates_earned`` are in dollars and included in ``total_cash``.
    """

    total_cash: float
    avg_fill_px: float | None
    filled_shares: int
    unfilled_shares: int
    taken_shares: int = 0
    passive_shares: int = 0
    cleanup_shares: int = 0
    fees_paid: float = 0.0
    rebates_earned: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def summarize(fills: Fills) -> StrategyResult:
    """total_cash includes fees; avg_fill_px = total_cash / filled_shares."""
    filled = int(fills.shares.sum())
    cash = float(math.fsum(fills.cash))
    by_kind = np.bincount(fills.liquidity, weights=fills.shares, minlength=3).astype(int)
    charges = fills.shares * fills.fee
    return StrategyResult(
        total_cash=cash,
        avg_fill_px=cash / filled if filled else None,
        filled_shares=filled,
        unfilled_shares=fills.order_size - filled,
        taken_shares=int(by_kind[TAKE]),
        passive_shares=int(by_kind[PASSIVE]),
        cleanup_shares=int(by_kind[CLEANUP]),
        fees_paid=float(math.fsum(charges[charges > 0])),
        rebates_earned=float(math.fsum(-charges[charges < 0])),
    )


def combine(results: list[StrategyResult]) -> StrategyResult:
    """Several days' figures as one: shares, cash, fees and rebates summed; the average price
    over all of them."""
    if len(results) == 1:
        return results[0]
    summed = {
        f.name: (math.fsum if f.type == "float" else sum)(getattr(r, f.name) for r in results)
        for f in fields(StrategyResult)
        if f.name != "avg_fill_px"
    }
    filled = summed["filled_shares"]
    return StrategyResult(avg_fill_px=summed["total_cash"] / filled if filled else None, **summed)


def savings_bps(baseline: StrategyResult, router: StrategyResult) -> float | None:
    """(avg_baseline - avg_router) / avg_baseline * 10,000; None if either filled nothing."""
    if baseline.avg_fill_px is None or router.avg_fill_px is None:
        return None
    return (baseline.avg_fill_px - router.avg_fill_px) / baseline.avg_fill_px * 10_000


def closing_price(timeline: Timeline) -> float:
    """The window's last best ask plus that venue's fee: what a leftover share would cost.

    Uses each venue's last state in the window; inf if no venue shows an ask then.
    """
    snap = timeline.snapshots
    last_rows = np.full(len(timeline.publishers), -1)
    np.maximum.at(last_rows, timeline.venue_index, np.arange(len(snap)))
    last_rows = last_rows[last_rows >= 0]
    showing = last_rows[snap.ask_sz[last_rows, 0] > 0]
    if not len(showing):
        return math.inf
    venue_of = timeline.venue_index[showing]
    all_in = snap.ask_px[showing, 0] + timeline.fee[venue_of]
    best = int(np.lexsort((timeline.publishers[venue_of], snap.ask_px[showing, 0]))[0])
    return float(all_in[best])


def objective(result: StrategyResult, closing: float) -> float:
    """A run's cost for the sweep: cash plus unfilled shares at the closing price, so a
    partial fill never looks cheap."""
    if result.unfilled_shares == 0:
        return result.total_cash
    return result.total_cash + result.unfilled_shares * closing
