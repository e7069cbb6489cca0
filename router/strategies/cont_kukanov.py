"""The Cont & Kukanov router in replay: market orders plus limit orders resting in bid queues.

Every ``tau_s`` seconds from the window's start until it closes, once the outflow estimate has
``min_samples`` windows of history (the warmup before the window counts), the router:

1. applies every venue state up to that instant, filling resting orders as the queue model says;
2. cancels what is still resting and, for the shares that remain, solves the placement problem
   (:mod:`router.strategies.placement`) with the causal outflow samples
   (:mod:`router.strategies.outflow`);
3. buys M at once from the displayed asks, cheapest ask + fee first (ties: lower publisher id),
   never more than is displayed, as the static router would;
4. posts L_k at venue k's best bid, behind the displayed bid size; where the venue's displayed
   ask has fallen to that price by the time the order arrives, the order takes it first (the
   taker fee), and only the rest rests.

The exchange (:class:`~router.exchange.simulator.Exchange`) owns these orders: a resting bid at
price p on venue k fills, at p less the venue's rebate and with no taker fee, only from that
venue's seller-initiated prints (side ``A``; ``N`` too with ``fills.unsigned_trades: both``),
each traded share filling at most one of ours (:mod:`router.exchange.passive`):
- a print at p takes the front of the queue: its shares beyond those still ahead of us fill us;
  cancellations at p move us forward as the queue model says;
- a print below p, with the state showing p gone or nothing ahead of us, means the level p was
  swept: everything at p went first, ours included, so the print's shares fill us (the shares
  at p already printed at p); while the state still shows shares at p, the print takes the
  queue ahead of us first;
- the venue's ask falling to p or below fills us from the displayed ask shares at prices up to
  p, each share once (:mod:`router.exchange.liquidity`), unless ``fills.quote_cross: false``.
A buyer-initiated print never fills a bid. When the bid moves below p, the level is gone:
nothing is ahead of us any more.
When the fills reported complete the order, the exchange cancels every resting order (those
posted with the completing take too); until each cancel lands, a resting order can still fill,
beyond the order. At the close, what the router does not know filled is bought at the asks it
has received, one latency later, and reported as clean-up. This module only decides.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields

import numpy as np

from router.data.marketdata import NS_PER_SECOND
from router.exchange.fifo import FifoQueue
from router.exchange.fills import Fills
from router.exchange.passive import FillRules
from router.exchange.queues import QueueModel
from router.exchange.simulator import Exchange
from router.exchange.timeline import Timeline
from router.strategies.baselines import plan_cheapest
from router.strategies.outflow import SellerFlow
from router.strategies.placement import Problem, RouterParams, Schedule, optimise

#: The shortest horizon, s: decisions are whole nanoseconds apart and outflow windows slide by
#: a tenth of a horizon, so a horizon that rounds to 0 ns would never move the clock.
MIN_TAU_S = 0.001


@dataclass(frozen=True)
class PlacementSettings:
    """What the Cont & Kukanov router needs besides the penalties."""

    tau_s: float = 10.0
    queue_model: QueueModel | FifoQueue | None = None  # None: the exchange's default
    seed: int = 0
    schedule: Schedule = field(default_factory=Schedule)
    fills: FillRules = field(default_factory=FillRules)
    min_samples: int = 30  # outflow windows a decision needs before it places anything

    def __post_init__(self) -> None:
        if not self.tau_s >= MIN_TAU_S:
            raise ValueError(f"tau_s must be at least {MIN_TAU_S} s, got {self.tau_s!r}")


@dataclass
class DecisionStats:
    """What the router decided and how its limit orders ended."""

    decisions: int = 0
    samples: list[int] = field(default_factory=list)  # outflow windows behind each decision
    market_ordered: int = 0  # shares decisions chose to buy at market (planned, not filled)
    limit_posted: int = 0  # shares posted as limit orders, summed over decisions (reposts too)
    limit_filled: int = 0  # of those, filled while resting
    limit_taken: int = 0  # of those, taken on arrival from asks at or below their price
    fill_reasons: Counter = field(default_factory=Counter)  # passive fills by cause, in shares

    def __add__(self, other: DecisionStats) -> DecisionStats:
        """Two runs' statistics together (several days)."""
        return DecisionStats(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
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
            "limit_taken": self.limit_taken,
            "limit_fill_rate": self.limit_filled / posted if posted else None,
            "passive_fills_by_cause": dict(sorted(self.fill_reasons.items())),
        }


def run_cont_kukanov(
    timeline: Timeline, order_size: int, penalties: RouterParams, settings: PlacementSettings
) -> tuple[Fills, DecisionStats]:
    """Replay the Cont & Kukanov router over the window; its fills and decision statistics."""
    exchange = Exchange(timeline, order_size, settings.queue_model, settings.fills)
    stats = DecisionStats()
    snap = timeline.snapshots
    tau_ns = round(settings.tau_s * NS_PER_SECOND)
    flow = SellerFlow.of(timeline, settings.fills)
    now = snap.window.start_ns
    number = 0
    while now < snap.window.end_ns:
        # Cancel what rests: each cancel lands one latency later, and the orders of this
        # decision arrive then too; until then, what rests can still fill.
        exchange.cancel_all(now)
        if exchange.known(now) >= order_size:
            break
        if flow.count(now, tau_ns) >= settings.min_samples:
            _decide(exchange, stats, flow, penalties, settings, now, tau_ns, number)
            number += 1
        now += tau_ns
    close(exchange, snap.window.end_ns)
    stats.limit_taken = exchange.limit_taken
    stats.fill_reasons = exchange.fill_reasons
    stats.limit_filled = sum(exchange.fill_reasons.values())
    return exchange.fills("router"), stats


def close(exchange: Exchange, end: int) -> None:
    """The window closes at local time ``end``: every resting order is cancelled then (each
    cancel lands one latency later), and what is not known filled by then is bought at the asks
    received by then, each child order acting one latency later on the book as the data leave
    it (shares still travelling are not bought again). A fill reported only after the close is
    bought again: overfill."""
    exchange.cancel_all(end)
    missing = exchange.to_buy(end)
    if missing > 0:
        plan = exchange.plan(exchange.received(end))
        plan_cheapest(plan, missing, exchange.t.fee)
        exchange.take(plan, end, "cleanup")


def _decide(
    exchange: Exchange,
    stats: DecisionStats,
    flow: SellerFlow,
    penalties: RouterParams,
    settings: PlacementSettings,
    now_ns: int,
    tau_ns: int,
    number: int,
) -> None:
    """One decision at local time ``now_ns``, on the states received by then: the placement
    problem for the shares not yet known filled, then the orders."""
    snap, timeline = exchange.s, exchange.t
    remaining = exchange.to_buy(now_ns)
    if remaining <= 0:
        return
    seen = exchange.received(now_ns)
    ask, ask_size = exchange.quotes(seen)
    bid_size = np.where(seen >= 0, snap.bid_sz[seen, 0], 0)
    venues = np.flatnonzero((ask_size > 0) & (seen >= 0) & (bid_size > 0))
    if not len(venues):
        return
    rows, bid = seen[venues], snap.bid_px[seen[venues], 0]
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
    stats.decisions += 1
    stats.samples.append(len(outflow))
    market = min(round(placement.market), remaining)
    stats.market_ordered += market
    plan = exchange.plan(seen)
    plan_cheapest(plan, market, timeline.fee)
    exchange.take(plan, now_ns, "take")
    for venue, row, price, limit in zip(venues, rows, bid, placement.limits, strict=True):
        shares = round(limit)
        if shares > 0 and price < best_ask:  # a bid at or above an ask would be marketable
            exchange.post(int(venue), float(price), shares, now_ns, int(snap.bid_sz[row, 0]))
            stats.limit_posted += shares
