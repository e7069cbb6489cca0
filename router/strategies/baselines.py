"""The static router and the three baselines, each a cumulative schedule plus a taker
(:mod:`router.strategies.schedule`).

- router(params): whenever shares remain, buy ``allocate(...)``'s split of
  ``min(remaining, sum of each venue's best available size rounded down to step)``, again over
  the levels left, until short of a lot.
- best_ask: a marketable order for everything it can: the lowest ask across venues first.
- twap: 60-second buckets from the window start, cumulative target floor(order*(b+1)/n).
- vwap: cumulative target floor(order * V(t) / V_total) from the window's trade volume: a
  hindsight benchmark, since V_total is known only once the window has closed (the report
  labels it so).
"""

from __future__ import annotations

import numpy as np

from router.data.marketdata import NS_PER_SECOND, Snapshots
from router.exchange.fees import VenueFees
from router.exchange.fills import Fills
from router.exchange.market import Plan
from router.exchange.timeline import Timeline
from router.strategies.allocator import Venue, allocate
from router.strategies.placement import RouterParams
from router.strategies.schedule import follow

TWAP_BUCKET_NS = 60 * NS_PER_SECOND


def plan_cheapest(plan: Plan, shares: int, fee: np.ndarray | None = None) -> None:
    """Plan ``shares`` from the levels seen, cheapest ask (plus ``fee``, when given) first
    (ties: lower publisher id), then the next, each level as deep as displayed."""
    while shares > 0:
        ask, size = plan.quotes()
        showing = np.flatnonzero(size > 0)
        if not len(showing):
            return
        price = ask[showing] if fee is None else ask[showing] + fee[showing]
        venue = int(showing[np.argmin(price)])  # argmin keeps the first: lower id
        q = min(shares, int(size[venue]))
        plan.buy(venue, q)
        shares -= q


def best_ask_taker(plan: Plan, shortfall: int) -> None:
    """A marketable order for the shortfall: the lowest ask across venues first, then the
    next, as deep as the book is displayed."""
    plan_cheapest(plan, shortfall)


def router_taker(params: RouterParams, step: int, fee: np.ndarray, rebate: np.ndarray):
    """The static allocator over venues showing size, in ascending publisher id order."""

    def take(plan: Plan, shortfall: int) -> None:
        while True:  # allocate over each venue's best level left, until short of a lot
            ask, size = plan.quotes()
            showing = np.flatnonzero(size > 0)
            # whole lots only: a partial fill can leave an odd remainder, which the close prices
            target = min(shortfall // step, int((size[showing] // step).sum())) * step
            if target < step:
                return
            venues = [
                Venue(float(ask[v]), int(size[v]), float(fee[v]), float(rebate[v])) for v in showing
            ]
            split, _ = allocate(
                target, venues, params.lambda_over, params.lambda_under, params.theta_queue, step
            )
            for v, q in zip(showing, split, strict=True):
                if q > 0:
                    plan.buy(int(v), q)
            shortfall -= target

    return take


def trading(timeline: Timeline) -> np.ndarray:
    """Per decision time, whether it lies in the window (not in the warmup before it)."""
    return timeline.decision_ts >= timeline.snapshots.window.start_ns


def whole_order(timeline: Timeline, order_size: int) -> np.ndarray:
    """The whole order from the window's first instant on."""
    return np.where(trading(timeline), order_size, 0)


def twap_targets(timeline: Timeline, order_size: int) -> np.ndarray:
    """Bucket b = [start + 60b s, start + 60(b+1) s), the last one running to the window's end."""
    window = timeline.snapshots.window
    buckets = max(1, -(-window.nominal_ns // TWAP_BUCKET_NS))  # ceil
    bucket = np.minimum((timeline.decision_ts - window.start_ns) // TWAP_BUCKET_NS, buckets - 1)
    return np.where(trading(timeline), order_size * (bucket + 1) // buckets, 0)


def vwap_targets(timeline: Timeline, order_size: int) -> np.ndarray:
    """Volume traded in the window and received by each decision time, as a share of the
    window's total: the hindsight VWAP schedule (the total is known only at the close)."""
    snap = timeline.snapshots
    rows = np.concatenate([*timeline.venue_rows, np.zeros(0, dtype=np.int64)])
    seen = np.concatenate([*timeline.venue_seen, np.zeros(0, dtype=np.int64)])
    volume = np.where(snap.ts[rows] >= snap.window.start_ns, snap.volume[rows], 0)
    order = np.argsort(seen, kind="stable")
    total = np.r_[0, np.cumsum(volume[order])]
    cumulative = total[np.searchsorted(seen[order], timeline.decision_ts, side="right")]
    if not len(cumulative) or cumulative[-1] == 0:
        return twap_targets(timeline, order_size)
    return order_size * cumulative // cumulative[-1]


def run_router(timeline: Timeline, order_size: int, step: int, params: RouterParams) -> Fills:
    targets = whole_order(timeline, order_size)
    taker = router_taker(params, step, timeline.fee, timeline.rebate)
    return follow(timeline, "router", order_size, targets, taker)


def run_baselines(timeline: Timeline, order_size: int) -> dict[str, Fills]:
    full = whole_order(timeline, order_size)
    schedules = {
        "best_ask": full,
        "twap": twap_targets(timeline, order_size),
        "vwap": vwap_targets(timeline, order_size),
    }
    return {
        name: follow(timeline, name, order_size, targets, best_ask_taker)
        for name, targets in schedules.items()
    }


def check_order(order_size: int, step: int) -> None:
    """The order must be a positive multiple of the allocator's step."""
    if step <= 0:
        raise ValueError(f"order.step must be a positive whole number of shares, got {step}")
    if order_size <= 0 or order_size % step:
        raise ValueError(
            f"order.size must be a positive multiple of order.step ({step}), got {order_size}"
        )


def simulate_all(
    snapshots: Snapshots, fees: VenueFees, order_size: int, step: int, params: RouterParams
) -> dict[str, Fills]:
    """The router and every baseline on one snapshot set."""
    check_order(order_size, step)
    timeline = Timeline.of(snapshots, fees)
    return {"router": run_router(timeline, order_size, step, params)} | run_baselines(
        timeline, order_size
    )
