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

A resting bid at price p on venue k fills, at p less the venue's rebate and with no taker fee,
only from that venue's seller-initiated prints (side ``A``; ``N`` too with
``fills.unsigned_trades: both``), each traded share filling at most one of ours
(:mod:`router.exchange.passive`):
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
When the router learns that its fills complete the order, it cancels every resting order (those
posted with the completing take too); until each cancel lands, a resting order can still fill,
beyond the order. At the close, what the router does not know filled is bought at the asks it
has received, one latency later, and reported as clean-up.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, fields

import numpy as np

from router.data.marketdata import NS_PER_SECOND
from router.exchange.passive import FillRules, Resting, displayed_at, passive_fills
from router.exchange.queues import QueueModel, RiskAverseQueueModel
from router.exchange.replay import HOW, Fills, Market, Plan, Timeline
from router.strategies.outflow import SellerFlow
from router.strategies.placement import Problem, RouterParams, Schedule, optimise

#: The shortest horizon, s: decisions are whole nanoseconds apart and outflow windows slide by
#: a tenth of a horizon, so a horizon that rounds to 0 ns would never move the clock.
MIN_TAU_S = 0.001


@dataclass(frozen=True)
class PlacementSettings:
    """What the Cont & Kukanov router needs besides the penalties."""

    tau_s: float = 10.0
    queue_model: QueueModel = field(default_factory=RiskAverseQueueModel)
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
        self.answers: list[tuple[int, int]] = []  # (when we learn of a fill, its shares)
        self.sent: list[tuple[int, int]] = []  # (when an order's answer comes back, its shares)
        self.filled = 0  # every share filled, known to us or not yet
        self.complete_at: int | None = None  # when we learn the order is complete (local)
        self.stats = DecisionStats()

    def known(self, now: int) -> int:
        """Shares whose fills we have learnt of by local time ``now``."""
        return sum(shares for when, shares in self.answers if when <= now)

    def in_flight(self, now: int) -> int:
        """Shares of orders (market or limit) sent before local time ``now`` whose answer has
        not come back by then: none of their fills can be known yet, so a decision counts them
        as pending and never sends them again."""
        return sum(shares for when, shares in self.sent if when > now)

    def to_buy(self, now: int) -> int:
        """The order less what is known filled and what is still travelling."""
        return self.order_size - self.known(now) - self.in_flight(now)

    def _send(self, venue: int, shares: int, now: int) -> int:
        """An order of ``shares`` sent at local time ``now``: when it reaches the venue. Its
        answer comes back one latency after that; until then its shares are in flight."""
        latency = int(self.t.latency_ns[venue])
        self.sent.append((now + 2 * latency, shares))
        return now + latency

    def fill(
        self,
        ts: int,
        row: int,
        venue: int,
        shares: int,
        price: float,
        fee: float,
        how: str,
        print_index: int = -1,
        level: float | None = None,
    ) -> None:
        """Record a fill at exchange time ``ts``, justified by a print or by the displayed ask
        ``level`` (by default the fill's price); we learn of it one latency later. Once the
        fills complete the order, every resting order is cancelled when we learn it (and still
        fills until the cancel lands)."""
        level_price = math.nan if print_index >= 0 else price if level is None else level
        publisher = int(self.t.publishers[venue])
        self.records.append(
            (ts, publisher, shares, price, fee, HOW[how], row, print_index, level_price)
        )
        self.answers.append((ts + int(self.t.latency_ns[venue]), shares))
        self.filled += shares
        if self.filled >= self.order_size:
            self.complete_at = self._learnt_complete()
            for other, order in self.resting.items():
                self._cancel_when_complete(other, order)

    def _learnt_complete(self) -> int:
        """The local time at which the fills we have learnt of first reach the order size (the
        fills, all of them, reach it)."""
        when, shares = np.array(sorted(self.answers), dtype=np.int64).T
        return int(when[np.searchsorted(np.cumsum(shares), self.order_size)])

    def _cancel_when_complete(self, venue: int, order: Resting) -> None:
        """Once we know the order complete, the cancel we send then lands one latency later."""
        if self.complete_at is not None:
            cancel = self.complete_at + int(self.t.latency_ns[venue])
            order.expires = min(order.expires, cancel)

    def run_until(self, horizon: np.ndarray) -> None:
        """Apply each venue's states up to its exchange-time ``horizon[venue]``, filling the
        orders resting there: the states of venues where we rest in time order, one by one (a
        fill at one may cancel the others); a venue where nothing rests at once."""
        parts = [np.zeros(0, dtype=np.int64)]
        for venue, rows in enumerate(self.t.venue_rows):
            stop = int(np.searchsorted(self.s.ts[rows], horizon[venue], side="right"))
            if venue not in self.resting:
                self.market.apply_rows(venue, stop)
                continue
            parts.append(rows[self.market.cursor[venue] : stop])
        for row in np.sort(np.concatenate(parts)):
            venue = int(self.t.venue_index[row])
            self.market.step(venue)
            order = self.resting.get(venue)
            if order is not None and self.s.ts[row] < order.expires:
                self._check(int(row), venue, order)

    def _check(self, row: int, venue: int, order: Resting) -> None:
        """One state of a venue where we rest: its prints, the quote, the queue."""
        for cause, shares, index in passive_fills(order, self.s, row, self.rules, self.queue_model):
            self._passive(row, venue, order, cause, shares, index)
        if self.rules.quote_cross:
            for price, shares in self.market.levels(venue):
                if price > order.price or order.left <= 0:
                    break
                done = self._passive(row, venue, order, "quote_cross", shares, level=price)
                self.market.take(venue, price, done)

    def _passive(
        self,
        row: int,
        venue: int,
        order: Resting,
        cause: str,
        shares: int,
        index: int = -1,
        level: float | None = None,
    ) -> int:
        """Fill our resting order with up to ``shares`` (never more than it has left), from the
        print ``index`` or the displayed ask ``level``; what filled."""
        shares = min(shares, order.left)
        if shares <= 0:
            return 0
        rebate = -float(self.t.rebate[venue])
        ts = int(self.s.ts[row])
        self.fill(ts, row, venue, shares, order.price, rebate, cause, index, level)
        self.stats.limit_filled += shares
        self.stats.fill_reasons[cause] += shares
        order.left -= shares
        return shares

    def take(self, plan: Plan, now: int, how: str) -> int:
        """Send the plan's child orders at local time ``now``: each acts at its venue one
        latency later on the book as it is then (immediate-or-cancel); shares bought."""
        bought = 0
        for venue, shares, limit in plan.send():
            arrival = self._send(venue, shares, now)
            for price, q, row in self.market.execute(venue, shares, limit, arrival):
                self.fill(arrival, row, venue, q, price, float(self.t.fee[venue]), how)
                bought += q
        return bought

    def close(self, end: int) -> None:
        """The window closes at local time ``end``: every resting order is cancelled then (each
        cancel lands one latency later), and what we do not know filled by then is bought at
        the asks received by then, each child order acting one latency later on the book as
        the data leave it (shares still travelling are not bought again). A fill we learn of
        only after the close is bought again: overfill."""
        for venue, order in self.resting.items():
            order.expires = min(order.expires, end + int(self.t.latency_ns[venue]))
        self.run_until(end + self.t.latency_ns)
        self.resting.clear()
        missing = self.to_buy(end)
        if missing > 0:
            plan = Plan(self.market, self.market.seen_rows(end))
            plan_cheapest(plan, missing, self.t.fee)
            self.take(plan, end, "cleanup")

    def post(self, venue: int, price: float, shares: int, now: int, seen_size: int) -> None:
        """A limit buy sent at ``now``: one latency later it takes what the venue's displayed
        asks (less what we took) offer at or below ``price``, as any marketable order would
        (the taker fee, no rebate); the rest joins the queue at ``price``, behind what the
        venue displays there then. The venue's states up to its arrival are applied here, so
        no print before it can fill it."""
        arrival = self._send(venue, shares, now)
        for ask, q, row in self.market.execute(venue, shares, price, arrival):
            self.fill(arrival, row, venue, q, ask, float(self.t.fee[venue]), "take")
            self.stats.limit_taken += q
            shares -= q
        if shares <= 0:
            return
        row = int(self.market.latest[venue])
        ahead = displayed_at(self.s, row, price)
        if ahead is None:  # our level not shown: we are the best bid, or it lies too deep
            ahead = seen_size if self.s.bid_px[row, 0] > price else 0
        self.resting[venue] = order = Resting(price, shares, float(ahead), ahead)
        self._cancel_when_complete(venue, order)  # posted with a take that completes the order


def plan_cheapest(plan: Plan, shares: int, fee: np.ndarray) -> None:
    """Plan ``shares`` from the levels seen, cheapest ask + fee first (ties: lower publisher
    id), each level as deep as displayed."""
    while shares > 0:
        ask, size = plan.quotes()
        showing = np.flatnonzero(size > 0)
        if not len(showing):
            return
        venue = int(showing[np.argmin(ask[showing] + fee[showing])])
        q = min(shares, int(size[venue]))
        plan.buy(venue, q)
        shares -= q


def run_cont_kukanov(
    timeline: Timeline, order_size: int, penalties: RouterParams, settings: PlacementSettings
) -> tuple[Fills, DecisionStats]:
    """Replay the Cont & Kukanov router over the window; its fills and decision statistics."""
    run = _Run(timeline, order_size, settings.queue_model, settings.fills)
    snap = timeline.snapshots
    tau_ns = round(settings.tau_s * NS_PER_SECOND)
    flow = SellerFlow.of(timeline, settings.fills)
    now = snap.window.start_ns
    number = 0
    while now < snap.window.end_ns:
        # Cancel what rests: each cancel lands one latency later, and the orders of this
        # decision arrive then too; until then, what rests can still fill.
        for venue, order in run.resting.items():
            order.expires = min(order.expires, now + int(timeline.latency_ns[venue]))
        run.run_until(now + timeline.latency_ns)
        run.resting.clear()
        if run.known(now) >= order_size:
            break
        if flow.count(now, tau_ns) >= settings.min_samples:
            _decide(run, flow, penalties, settings, now, tau_ns, number)
            number += 1
        now += tau_ns
    run.close(snap.window.end_ns)
    records = sorted(run.records, key=lambda record: record[0])
    return Fills.of("router", order_size, records, run.market.closing()), run.stats


def _decide(
    run: _Run,
    flow: SellerFlow,
    penalties: RouterParams,
    settings: PlacementSettings,
    now_ns: int,
    tau_ns: int,
    number: int,
) -> None:
    """One decision at local time ``now_ns``, on the states received by then: the placement
    problem for the shares not yet known filled, then the orders."""
    snap, timeline = run.s, run.t
    remaining = run.to_buy(now_ns)
    if remaining <= 0:
        return
    seen = run.market.seen_rows(now_ns)
    ask, ask_size = run.market.quotes(seen)
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
    run.stats.decisions += 1
    run.stats.samples.append(len(outflow))
    market = min(round(placement.market), remaining)
    run.stats.market_ordered += market
    plan = Plan(run.market, seen)
    plan_cheapest(plan, market, timeline.fee)
    run.take(plan, now_ns, "take")
    for venue, row, price, limit in zip(venues, rows, bid, placement.limits, strict=True):
        shares = round(limit)
        if shares > 0 and price < best_ask:  # a bid at or above an ask would be marketable
            run.post(int(venue), float(price), shares, now_ns, int(snap.bid_sz[row, 0]))
            run.stats.limit_posted += shares
