"""The Cont & Kukanov router in replay: market orders plus limit orders resting in bid queues.

Every ``tau_s`` seconds from the window's start until it closes, once the outflow estimate has
``min_samples`` windows of history (the warmup before the window counts), the router:

1. applies every venue state up to that instant, filling resting orders as the queue model says;
2. cancels what is still resting and, for the shares that remain, solves the placement problem
   (:mod:`router.placement`) with the causal outflow samples (:mod:`router.outflow`);
3. buys M at once from the displayed asks, cheapest ask + fee first (ties: lower publisher id),
   never more than is displayed, as the static router would;
4. posts L_k at venue k's best bid, behind the displayed bid size.

A resting bid at price p on venue k fills, at p less the venue's rebate and with no taker fee,
only from that venue's seller-initiated prints (side ``A``; ``N`` too with
``fills.unsigned_trades: both``), each traded share filling at most one of ours
(:mod:`router.passive`):
- a print at p takes the front of the queue: its shares beyond those still ahead of us fill us;
  cancellations at p move us forward as the queue model says;
- a print below p means the level p was swept: everything at p went first, ours included, so
  the print's shares fill us (the shares at p already printed at p);
- with ``fills.quote_cross: true`` only, the venue's ask falling to p or below fills us from the
  displayed ask shares at prices up to p, each share once (:mod:`router.liquidity`).
A buyer-initiated print never fills a bid. When the bid moves below p, the level is gone:
nothing is ahead of us any more.
Fills stop at the order size: the router then cancels every resting order. What is still missing
when the window closes is bought at the last displayed asks and reported as clean-up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from router.marketdata import NS_PER_SECOND
from router.outflow import SellerFlow
from router.passive import FillRules, Resting, passive_fills
from router.placement import Problem, RouterParams, Schedule, optimise
from router.queues import QueueModel, RiskAverseQueueModel
from router.replay import HOW, Fills, Market, Timeline


@dataclass(frozen=True)
class PlacementSettings:
    """What the Cont & Kukanov router needs besides the penalties."""

    tau_s: float = 10.0
    queue_model: QueueModel = field(default_factory=RiskAverseQueueModel)
    seed: int = 0
    schedule: Schedule = field(default_factory=Schedule)
    fills: FillRules = field(default_factory=FillRules)
    min_samples: int = 30  # outflow windows a decision needs before it places anything


@dataclass
class DecisionStats:
    """What the router decided and how its limit orders ended."""

    decisions: int = 0
    samples: list[int] = field(default_factory=list)  # outflow windows behind each decision
    market_ordered: int = 0  # shares sent as marketable orders at decisions
    limit_posted: int = 0  # shares posted as limit orders, over all decisions
    limit_filled: int = 0
    fill_reasons: Counter = field(default_factory=Counter)  # passive fills by cause, in shares

    def __add__(self, other: DecisionStats) -> DecisionStats:
        """Two runs' statistics together (several days)."""
        return DecisionStats(
            self.decisions + other.decisions,
            self.samples + other.samples,
            self.market_ordered + other.market_ordered,
            self.limit_posted + other.limit_posted,
            self.limit_filled + other.limit_filled,
            self.fill_reasons + other.fill_reasons,
        )

    def as_dict(self) -> dict:
        posted = self.limit_posted
        return {
            "decisions": self.decisions,
            "samples_min": min(self.samples, default=None),
            "samples_median": float(np.median(self.samples)) if self.samples else None,
            "market_ordered": self.market_ordered,
            "limit_posted": posted,
            "limit_filled": self.limit_filled,
            "limit_fill_rate": self.limit_filled / posted if posted else None,
            "passive_fills_by_cause": dict(sorted(self.fill_reasons.items())),
        }


class _Run:
    """One replay's mutable state: the market view (venue states applied so far, less our
    takes), resting orders, fills."""

    def __init__(
        self, timeline: Timeline, order_size: int, queue_model: QueueModel, rules: FillRules
    ) -> None:
        self.t = timeline
        self.s = timeline.snapshots
        self.market = Market(timeline)
        self.order_size = order_size
        self.queue_model = queue_model
        self.rules = rules
        self.resting: dict[int, Resting] = {}
        self.records: list[tuple] = []
        self.filled = 0
        self.stats = DecisionStats()

    def fill(
        self,
        row: int,
        venue: int,
        shares: int,
        price: float,
        fee: float,
        how: str,
        print_index: int = -1,
    ) -> int:
        shares = min(shares, self.order_size - self.filled)
        if shares > 0:
            self.records.append(
                (
                    int(self.s.ts[row]),
                    int(self.t.publishers[venue]),
                    shares,
                    price,
                    fee,
                    HOW[how],
                    row,
                    print_index,
                )
            )
            self.filled += shares
        return shares

    def apply_until(self, end_ns: int) -> None:
        """Apply every venue state with ts <= end_ns, in order, filling resting orders."""
        end = int(np.searchsorted(self.s.ts, end_ns, side="right"))
        if self.resting:
            for row in range(self.market.applied, end):
                self.market.advance(row + 1)
                venue = int(self.t.venue_index[row])
                if venue in self.resting:
                    self._check(row, venue)
        self.market.advance(end)

    def _check(self, row: int, venue: int) -> None:
        """One state of a venue where we rest: its prints, the quote, the queue."""
        order = self.resting[venue]
        for cause, shares, index in passive_fills(order, self.s, row, self.rules, self.queue_model):
            self._passive(row, venue, order, cause, shares, index)
        if self.rules.quote_cross and venue in self.resting:
            for price, shares in self.market.levels(venue):
                if price > order.price or order.left <= 0 or venue not in self.resting:
                    break
                done = self._passive(row, venue, order, "quote_cross", shares)
                self.market.take(venue, price, done)

    def _passive(
        self, row: int, venue: int, order: Resting, cause: str, shares: int, index: int = -1
    ) -> int:
        """Fill our resting order with up to ``shares``; what filled."""
        shares = min(shares, order.left)
        if shares <= 0:
            return 0
        rebate = -float(self.t.rebate[venue])
        done = self.fill(row, venue, shares, order.price, rebate, cause, index)
        self.stats.limit_filled += done
        self.stats.fill_reasons[cause] += done
        order.left -= done
        if self.filled >= self.order_size:
            self.resting.clear()  # the order is done: cancel everything still resting
        elif order.left <= 0:
            del self.resting[venue]
        return done

    def take(self, shares: int, how: str) -> int:
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
    run = _Run(timeline, order_size, settings.queue_model, settings.fills)
    snap = timeline.snapshots
    tau_ns = round(settings.tau_s * NS_PER_SECOND)
    flow = SellerFlow.of(timeline, settings.fills)
    decision_ns = snap.window.start_ns
    number = 0
    while decision_ns < snap.window.end_ns and run.filled < order_size:
        run.apply_until(decision_ns)
        run.resting.clear()  # cancel what did not fill
        if flow.count(decision_ns, tau_ns) >= settings.min_samples:
            _decide(run, flow, penalties, settings, decision_ns, tau_ns, number)
            number += 1
        decision_ns += tau_ns
    run.apply_until(snap.window.end_ns)
    run.resting.clear()
    if run.filled < order_size:
        run.take(order_size - run.filled, "cleanup")
    return Fills.of("router", order_size, run.records), run.stats


def _decide(
    run: _Run,
    flow: SellerFlow,
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
    outflow = flow.samples(now_ns, tau_ns)[:, venues]
    rng = np.random.default_rng([settings.seed, number])
    placement = optimise(problem, outflow, rng=rng, schedule=settings.schedule)
    run.stats.decisions += 1
    run.stats.samples.append(len(outflow))
    market = min(round(placement.market), remaining)
    run.stats.market_ordered += market
    run.take(market, "take")
    if run.filled >= run.order_size:
        return
    for venue, row, price, limit in zip(venues, rows, bid, placement.limits, strict=True):
        shares = round(limit)
        if shares > 0 and price < best_ask:  # a bid at or above an ask would be marketable
            shown = int(snap.bid_sz[row, 0])
            run.resting[int(venue)] = Resting(float(price), shares, float(shown), shown)
            run.stats.limit_posted += shares
