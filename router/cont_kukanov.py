"""The Cont & Kukanov router in replay: market orders plus limit orders resting in bid queues.

Every ``tau_s`` seconds, from one horizon after the window opens (the outflow estimate needs one
window of history) until it closes, the router:

1. applies every venue state up to that instant, filling resting orders as the queue model says;
2. cancels what is still resting and, for the shares that remain, solves the placement problem
   (:mod:`router.placement`) with the causal outflow samples (:mod:`router.outflow`);
3. buys M at once from the displayed asks, cheapest ask + fee first (ties: lower publisher id),
   never more than is displayed, as the static router would;
4. posts L_k at venue k's best bid, behind the displayed bid size.

A resting bid at price p fills, at p less the venue's rebate and with no taker fee:
- by the shares traded at p beyond those still ahead of it (trades take the front of the queue);
  cancellations at p move it forward as the queue model says;
- when a trade prints below p (the level was traded through: under price-time priority nothing
  trades below p while we rest at p), by the instant's traded shares beyond those ahead of it:
  the sweep would have taken our shares before the lower levels';
- up to the displayed ask size when the venue's ask falls to p or below (a seller crossed us).
When the bid moves below p, the level is gone: nothing is ahead of us any more, and our order
fills on the next trade evidence (a trade at or below p, an ask at p). Fills are never larger
than the trades or the ask size that justify them.
Fills stop at the order size: the router then cancels every resting order. What is still missing
when the window closes is bought at the last displayed asks and reported as clean-up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from router.marketdata import NS_PER_SECOND
from router.outflow import Depletion
from router.placement import Problem, RouterParams, Schedule, optimise
from router.queues import QueueModel, RiskAverseQueueModel
from router.replay import CLEANUP, PASSIVE, TAKE, Fills, Market, Timeline


@dataclass(frozen=True)
class PlacementSettings:
    """What the Cont & Kukanov router needs besides the penalties."""

    tau_s: float = 10.0
    queue_model: QueueModel = field(default_factory=RiskAverseQueueModel)
    seed: int = 0
    schedule: Schedule = field(default_factory=Schedule)


@dataclass
class DecisionStats:
    """What the router decided and how its limit orders ended."""

    decisions: int = 0
    market_ordered: int = 0  # shares sent as marketable orders at decisions
    limit_posted: int = 0  # shares posted as limit orders, over all decisions
    limit_filled: int = 0
    fill_reasons: Counter = field(default_factory=Counter)  # passive fills by cause, in shares

    def __add__(self, other: DecisionStats) -> DecisionStats:
        """Two runs' statistics together (several days)."""
        return DecisionStats(
            self.decisions + other.decisions,
            self.market_ordered + other.market_ordered,
            self.limit_posted + other.limit_posted,
            self.limit_filled + other.limit_filled,
            self.fill_reasons + other.fill_reasons,
        )

    def as_dict(self) -> dict:
        posted = self.limit_posted
        return {
            "decisions": self.decisions,
            "market_ordered": self.market_ordered,
            "limit_posted": posted,
            "limit_filled": self.limit_filled,
            "limit_fill_rate": self.limit_filled / posted if posted else None,
            "passive_fills_by_cause": dict(sorted(self.fill_reasons.items())),
        }


@dataclass
class _Resting:
    price: float
    left: int
    ahead: float
    shown: int  # displayed bid size at our price when last seen


class _Run:
    """One replay's mutable state: the market view (venue states applied so far, less our
    takes), resting orders, fills."""

    def __init__(self, timeline: Timeline, order_size: int, queue_model: QueueModel) -> None:
        self.t = timeline
        self.s = timeline.snapshots
        self.market = Market(timeline)
        self.order_size = order_size
        self.queue_model = queue_model
        self.resting: dict[int, _Resting] = {}
        self.records: list[tuple] = []
        self.filled = 0
        self.stats = DecisionStats()

    def fill(self, row: int, venue: int, shares: int, price: float, fee: float, how: int) -> int:
        shares = min(shares, self.order_size - self.filled)
        if shares > 0:
            self.records.append(
                (int(self.s.ts[row]), int(self.t.publishers[venue]), shares, price, fee, how)
            )
            self.filled += shares
        return shares

    def apply_until(self, end_ns: int) -> None:
        """Apply every venue state with ts <= end_ns, in order, filling resting orders."""
        end = int(np.searchsorted(self.s.ts, end_ns, side="right"))
        if self.resting:
            for row in range(self.market.applied, end):
                venue = int(self.t.venue_index[row])
                if venue in self.resting:
                    self._check(row, venue)
        self.market.advance(end)

    def _check(self, row: int, venue: int) -> None:
        order, s = self.resting[venue], self.s
        low, ask, bid = s.low_trade_px[row], s.ask_px[row, 0], s.bid_px[row, 0]
        traded = int(s.low_trade_sz[row]) if low == order.price else 0
        if low < order.price:  # the sweep took our whole level: its shares past the queue are ours
            cause, shares = "traded_through", max(int(s.volume[row] - order.ahead), 0)
            order.ahead = 0.0
        elif ask <= order.price:
            cause, shares = "ask_reached", int(s.ask_sz[row, 0])
        else:
            cause, shares = "queue", max(int(traded - order.ahead), 0)
            order.ahead = max(order.ahead - traded, 0.0)
            if bid == order.price:
                before = max(order.shown - traded, 0)
                order.shown = int(s.bid_sz[row, 0])
                order.ahead = self.queue_model.cancelled(order.ahead, before, order.shown)
            elif not bid >= order.price:  # the level is gone: nothing is ahead of us now
                order.ahead, order.shown = 0.0, 0
        shares = min(shares, order.left)
        if shares <= 0:
            return
        done = self.fill(row, venue, shares, order.price, -float(self.t.rebate[venue]), PASSIVE)
        self.stats.limit_filled += done
        self.stats.fill_reasons[cause] += done
        order.left -= shares
        if self.filled >= self.order_size:
            self.resting.clear()  # the order is done: cancel everything still resting
        elif order.left <= 0:
            del self.resting[venue]

    def take(self, shares: int, how: int) -> int:
        """Buy up to ``shares`` walking the displayed asks, cheapest ask + fee first (ties:
        lower publisher id), each level as deep as displayed."""
        bought = 0
        while bought < shares:
            ask, size = self.market.quotes()
            showing = np.flatnonzero(size > 0)
            if not len(showing):
                break
            venue = int(showing[np.argmin(ask[showing] + self.t.fee[showing])])
            row = int(self.market.latest[venue])
            q = min(shares - bought, int(size[venue]))
            q = self.fill(row, venue, q, float(ask[venue]), float(self.t.fee[venue]), how)
            self.market.take(venue, float(ask[venue]), q)
            bought += q
            if q == 0:
                break
        return bought


def run_cont_kukanov(
    timeline: Timeline, order_size: int, penalties: RouterParams, settings: PlacementSettings
) -> tuple[Fills, DecisionStats]:
    """Replay the Cont & Kukanov router over the window; its fills and decision statistics."""
    run = _Run(timeline, order_size, settings.queue_model)
    snap = timeline.snapshots
    tau_ns = round(settings.tau_s * NS_PER_SECOND)
    depletion = Depletion.of(timeline)
    decision_ns = snap.window.start_ns + tau_ns
    number = 0
    while decision_ns < snap.window.end_ns and run.filled < order_size:
        run.apply_until(decision_ns)
        run.resting.clear()  # cancel what did not fill
        _decide(run, depletion, penalties, settings, decision_ns, tau_ns, number)
        decision_ns += tau_ns
        number += 1
    run.apply_until(snap.window.end_ns)
    run.resting.clear()
    if run.filled < order_size:
        run.take(order_size - run.filled, CLEANUP)
    return Fills.of("router", order_size, run.records), run.stats


def _decide(
    run: _Run,
    depletion: Depletion,
    penalties: RouterParams,
    settings: PlacementSettings,
    now_ns: int,
    tau_ns: int,
    number: int,
) -> None:
    """One decision: the placement problem for the remaining shares, then the orders."""
    snap, timeline = run.s, run.t
    remaining = run.order_size - run.filled
    ask, ask_size = run.market.quotes()
    rows = run.market.latest
    venues = np.flatnonzero((ask_size > 0) & (rows >= 0) & (snap.bid_sz[rows, 0] > 0))
    if not len(venues):
        return
    rows, bid = rows[venues], snap.bid_px[rows[venues], 0]
    best_ask = float(ask[venues].min())
    mid = (bid.max() + best_ask) / 2
    problem = Problem(
        shares=float(remaining),
        take=float((ask[venues] + timeline.fee[venues]).min() - mid),
        make=mid - bid + timeline.rebate[venues],
        queue=snap.bid_sz[rows, 0].astype(float),
        penalties=penalties,
        max_market=float(ask_size[venues].sum()),
    )
    outflow = depletion.samples(now_ns, tau_ns)[:, venues]
    rng = np.random.default_rng([settings.seed, number])
    placement = optimise(problem, outflow, rng=rng, schedule=settings.schedule)
    run.stats.decisions += 1
    market = min(round(placement.market), remaining)
    run.stats.market_ordered += market
    run.take(market, TAKE)
    if run.filled >= run.order_size:
        return
    for venue, row, price, limit in zip(venues, rows, bid, placement.limits, strict=True):
        shares = round(limit)
        if shares > 0 and price < best_ask:  # a bid at or above an ask would be marketable
            shown = int(snap.bid_sz[row, 0])
            run.resting[int(venue)] = _Resting(float(price), shares, float(shown), shown)
            run.stats.limit_posted += shares
