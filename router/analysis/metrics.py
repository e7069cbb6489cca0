"""Per-strategy figures, a pure function of fills (and, for the objective, the last quotes)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from router.exchange.closing import Closing
from router.exchange.fills import CLEANUP, PASSIVE, TAKE, Fills


@dataclass(frozen=True)
class StrategyResult:
    """What a strategy paid. ``avg_fill_px`` is None when nothing filled.

    Shares split by how they filled: ``taken`` by marketable orders, ``passive`` by resting
    limit orders, ``cleanup`` bought at the window's end for a passive strategy's shortfall.
    ``fees_paid`` and ``rebates_earned`` are in dollars and included in ``total_cash``.
    ``order_cost`` prices the order as it ended: the cash, plus shares still missing bought
    up the closing asks, less shares bought beyond the order sold back at no gain
    (:mod:`router.exchange.closing`); ``closing_shares_beyond_depth`` of those were priced
    beyond the displayed depth, at its worst level. ``surplus_cost`` is what the surplus cost and
    ``surplus_mark_to_market`` what selling it down the closing bids would have gained over
    that (never credited). ``cost_per_share`` is the order cost over the order's shares, what
    savings compare.
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
    surplus_cost: float = 0.0
    surplus_mark_to_market: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def surplus_cost(fills: Fills) -> float:
    """What the shares bought beyond the order cost, fees included: the fills past the order
    size, in time order (a fill that crosses it counts for its part beyond)."""
    beyond = np.maximum(np.cumsum(fills.shares) - fills.order_size, 0)
    surplus = np.minimum(beyond, fills.shares)
    return float(math.fsum(surplus * (fills.price + fills.fee)))


def summarize(fills: Fills, closing: Closing | None = None) -> StrategyResult:
    """total_cash includes fees; avg_fill_px = total_cash / filled_shares. The order cost:
    cash, plus missing shares bought up the closing asks, less the surplus sold back at no gain
    (:mod:`router.exchange.closing`); the book is the one the strategy left
    (``fills.closing``) unless ``closing`` is given."""
    closing = fills.closing if closing is None else closing
    filled = int(fills.shares.sum())
    cash = float(math.fsum(fills.cash))
    by_kind = np.bincount(fills.liquidity, weights=fills.shares, minlength=3).astype(int)
    charges = fills.shares * fills.fee
    unfilled = max(fills.order_size - filled, 0)
    overfilled = max(filled - fills.order_size, 0)
    bought, short_beyond = closing.buy(unfilled)
    spent = surplus_cost(fills)
    sale = closing.sell_surplus(overfilled, spent)
    cost = cash + bought - sale.credit
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
        closing_shares_beyond_depth=short_beyond + sale.beyond_depth,
        surplus_cost=spent,
        surplus_mark_to_market=sale.mark_to_market,
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
