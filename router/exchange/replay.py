"""Replay engine: one strategy buys a parent order against the snapshot arrays.

Semantics (the README states them for users):

- Instants are the distinct ``ts`` values, in order. At each instant every venue's new state
  is applied first.
- Each strategy runs in its own simulation, with its own
  :class:`~router.exchange.liquidity.Liquidity`: a displayed ask share it took is never sold to
  it again, and a level it emptied does not come back until the data show that level gone and
  rebuilt.
- What a strategy plans to take comes from a second view, built from the states it has
  received only: the shares it sent orders for are counted taken there until a state it has
  received shows the level gone (or fewer shares). So no plan reads a state after it was
  received, even where the venue's book has been applied further for orders in flight.
- A strategy is a cumulative target per instant (non-decreasing, ending at the order size) and a
  taker that buys toward it at this instant, walking the displayed levels (cheapest first) as a
  marketable order would. Each fill costs ``shares * (level price + fee)``.

Only instants where the target exceeds what is filled are visited, so a strategy that fills early
costs almost nothing to replay, and venue state is brought forward lazily (row by row only for
venues where something taken still counts).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from router.data.marketdata import Snapshots
from router.exchange.closing import NOTHING_SHOWN, Closing
from router.exchange.fees import VenueFees
from router.exchange.latency import NONE as NO_LATENCY
from router.exchange.latency import VenueLatency
from router.exchange.liquidity import ASK, Liquidity


@dataclass(frozen=True, eq=False)
class Timeline:
    """Instants of a snapshot set, per row the index of its venue (ascending publisher id) and
    when we could have seen it, and per venue its fees and order latency."""

    snapshots: Snapshots
    instant_ts: np.ndarray  # ts of each instant
    instant_end: np.ndarray  # one past the last row of each instant
    venue_index: np.ndarray  # per row, index into ``publishers``
    venue_rows: tuple[np.ndarray, ...]  # per venue, its rows in order
    venue_seen: tuple[np.ndarray, ...]  # per venue, when each of its rows had been received
    decision_ts: np.ndarray  # the local times at which something new had been received
    publishers: np.ndarray  # publisher ids, ascending
    fee: np.ndarray  # per venue, $/share
    rebate: np.ndarray
    latency_ns: np.ndarray  # per venue: order entry, cancel and response

    @classmethod
    def of(
        cls, snapshots: Snapshots, fees: VenueFees, latency: VenueLatency = NO_LATENCY
    ) -> Timeline:
        ts = snapshots.ts
        boundary = np.flatnonzero(ts[1:] != ts[:-1]) + 1
        publishers = snapshots.venues
        rates = [fees.of(p) for p in publishers]
        venue_index = np.searchsorted(publishers, snapshots.publisher_id)
        venue_rows = tuple(np.flatnonzero(venue_index == v) for v in range(len(publishers)))
        # A state counts as seen once it and every earlier state of its venue arrived.
        venue_seen = tuple(np.maximum.accumulate(snapshots.ts_recv[r]) for r in venue_rows)
        return cls(
            snapshots=snapshots,
            instant_ts=ts[np.r_[0, boundary]] if len(ts) else ts,
            instant_end=np.r_[boundary, len(ts)] if len(ts) else ts,
            venue_index=venue_index,
            venue_rows=venue_rows,
            venue_seen=venue_seen,
            decision_ts=np.unique(np.concatenate([*venue_seen, np.zeros(0, dtype=np.int64)])),
            publishers=publishers,
            fee=np.array([r.fee for r in rates], dtype=float),
            rebate=np.array([r.rebate for r in rates], dtype=float),
            latency_ns=latency.ns(publishers),
        )

    def __len__(self) -> int:
        return len(self.instant_ts)


class Market:
    """One strategy's view of every venue: each venue's state as of the time its cursor has
    reached (exchange time), less the liquidity the strategy took; and, for planning, what it
    had received by a given local time (``ts_recv``), less what it sent orders to take."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        snap = timeline.snapshots
        self.ts, self.ask_px, self.ask_sz = snap.ts, snap.ask_px, snap.ask_sz
        venues = len(timeline.publishers)
        self.latest = np.full(venues, -1, dtype=np.int64)  # row of each venue's state, -1: none yet
        self.cursor = np.zeros(venues, dtype=np.int64)  # next of the venue's rows to apply
        self.asks = Liquidity(venues, ASK)
        self.seen_cursor = np.zeros(venues, dtype=np.int64)  # next of the venue's rows to see
        self.planned = Liquidity(venues, ASK)  # what we sent to take, as the states seen show it

    def apply_rows(self, venue: int, stop: int) -> None:
        """Apply the venue's rows up to (not including) its ``stop``-th; if something it took
        there still counts, each state is observed, so that a level gone in between is noticed."""
        rows = self.timeline.venue_rows[venue]
        if stop <= self.cursor[venue]:
            return
        for row in rows[self.cursor[venue] : stop]:
            if not self.asks.consumed(venue):
                break
            self.asks.observe(venue, self.ask_px[row], self.ask_sz[row])
        self.cursor[venue] = stop
        self.latest[venue] = rows[stop - 1]

    def step(self, venue: int) -> None:
        """Apply the venue's next state."""
        self.apply_rows(venue, int(self.cursor[venue]) + 1)

    def apply_to(self, venue: int, ts: int) -> None:
        """The venue's state at exchange time ``ts``: every state of it with ts_event <= ts."""
        rows = self.timeline.venue_rows[venue]
        self.apply_rows(venue, int(np.searchsorted(self.ts[rows], ts, side="right")))

    def seen_rows(self, ts: int) -> np.ndarray:
        """Per venue, the latest state received by local time ``ts`` (-1: none yet); the
        planning view is brought up to date with every state received (never with one not yet
        received), whatever the venue's exchange-time state."""
        out = np.full(len(self.latest), -1, dtype=np.int64)
        for venue, (rows, seen) in enumerate(
            zip(self.timeline.venue_rows, self.timeline.venue_seen, strict=True)
        ):
            count = int(np.searchsorted(seen, ts, side="right"))
            if self.planned.consumed(venue):
                for row in rows[self.seen_cursor[venue] : count]:
                    self.planned.observe(venue, self.ask_px[row], self.ask_sz[row])
            self.seen_cursor[venue] = max(self.seen_cursor[venue], count)
            if count:
                out[venue] = rows[count - 1]
        return out

    def levels(self, venue: int, row: int | None = None) -> list[tuple[float, int]]:
        """The venue's ask levels we may still take in a state (its latest by default),
        (price, shares), best first: the exchange's view, for orders acting there."""
        row = self.latest[venue] if row is None else row
        if row < 0:
            return []
        return self.asks.levels(venue, self.ask_px[row], self.ask_sz[row])

    def planning_levels(self, venue: int, row: int) -> list[tuple[float, int]]:
        """The ask levels of a state received (-1: none), less what we sent orders to take as
        far as the states received show: what a plan may count on, (price, shares), best
        first."""
        if row < 0:
            return []
        return self.planned.levels(venue, self.ask_px[row], self.ask_sz[row])

    def quotes(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(best ask a plan may count on, its shares) per venue in the given states received;
        NaN and 0 where nothing shows."""
        ask = np.full(len(rows), np.nan)
        size = np.zeros(len(rows), dtype=np.int64)
        for venue, row in enumerate(rows):
            levels = self.planning_levels(venue, int(row))
            if levels:
                ask[venue], size[venue] = levels[0]
        return ask, size

    def take(self, venue: int, price: float, shares: int) -> None:
        self.asks.take(venue, price, shares)

    def closing(self) -> Closing:
        """The book at the window's end as this strategy leaves it: every venue's last state,
        its asks less what the strategy took there (plus the venue's fee), cheapest first, the
        worst ask displayed (for shares beyond them all), and its bids as displayed, highest
        bid less fee first (ties: lower publisher id)."""
        timeline, snap = self.timeline, self.timeline.snapshots
        asks, bids, worst = [], [], []
        for venue, rows in enumerate(timeline.venue_rows):
            if not len(rows):
                continue
            self.apply_rows(venue, len(rows))
            fee = float(timeline.fee[venue])
            asks += [(price + fee, venue, size) for price, size in self.levels(venue)]
            row = rows[-1]
            worst += [float(px) + fee for px in snap.ask_px[row][snap.ask_sz[row] > 0]]
            for bid, size in zip(snap.bid_px[row].tolist(), snap.bid_sz[row].tolist(), strict=True):
                if size > 0:
                    bids.append((fee - bid, venue, bid, fee, size))  # highest bid less fee first
        return Closing(
            asks=tuple((price, size) for price, _, size in sorted(asks)),
            bids=tuple((bid, fee, size) for _, _, bid, fee, size in sorted(bids)),
            ask_beyond=max(worst, default=math.inf),
            unpriced_surplus=-math.inf if snap.mirrored_book else 0.0,
        )

    def execute(
        self, venue: int, shares: int, limit: float, ts: int
    ) -> list[tuple[float, int, int]]:
        """An immediate-or-cancel buy arriving at exchange time ``ts``: it walks the venue's
        levels as they are then, at prices up to ``limit``; (price, shares, row) per fill."""
        self.apply_to(venue, ts)
        fills = []
        for price, available in self.levels(venue):
            if shares <= 0 or price > limit:
                break
            q = min(shares, available)
            self.take(venue, price, q)
            fills.append((price, q, int(self.latest[venue])))
            shares -= q
        return fills


class Plan:
    """What a strategy means to buy from the levels it has seen: a local copy of them, so that
    one displayed share is planned once; then one child order per venue."""

    def __init__(self, market: Market, rows: np.ndarray) -> None:
        self.market = market
        self.levels = [[list(level) for level in market.planning_levels(v, int(r))] for v, r in
                       enumerate(rows)]  # fmt: skip
        self.buys: list[tuple[int, int, float]] = []

    def quotes(self) -> tuple[np.ndarray, np.ndarray]:
        """(best ask left, its shares) per venue; NaN and 0 where nothing is left."""
        ask = np.array([levels[0][0] if levels else np.nan for levels in self.levels])
        size = np.array([levels[0][1] if levels else 0 for levels in self.levels], dtype=np.int64)
        return ask, size

    def buy(self, venue: int, shares: int) -> None:
        """Plan ``shares`` (at most what is left) at the venue's best level left."""
        level = self.levels[venue][0]
        self.buys.append((venue, shares, level[0]))
        level[1] -= shares
        if level[1] <= 0:
            del self.levels[venue][0]

    def send(self) -> list[tuple[int, int, float]]:
        """One immediate-or-cancel order per venue, (venue, shares, limit price), to send now;
        the levels planned count as taken in the planning view from now on."""
        orders: dict[int, list] = {}
        for venue, shares, price in self.buys:
            self.market.planned.take(venue, price, shares)
            order = orders.setdefault(venue, [0, price])
            order[0] += shares
            order[1] = max(order[1], price)
        return [(venue, shares, limit) for venue, (shares, limit) in sorted(orders.items())]


#: Given what it has seen (a Plan) and the shortfall, a taker plans its buys.
Taker = Callable[[Plan, int], None]


#: How a fill happened (``Fills.how``): a marketable order took a displayed level; a resting
#: order filled from a print past the queue ahead of it (at its price, or below it while its
#: level still shows), from a print below it (the level was swept), or from an ask crossing
#: it; or the clean-up at the window's end bought what a passive strategy had not filled.
HOWS = ("take", "queue", "swept", "quote_cross", "cleanup")
HOW = {name: code for code, name in enumerate(HOWS)}
#: What a fill did to the book (``Fills.liquidity``): took liquidity, rested, or cleaned up.
TAKE, PASSIVE, CLEANUP = 0, 1, 2
_LIQUIDITY = np.array([TAKE, PASSIVE, PASSIVE, PASSIVE, CLEANUP], dtype=np.int8)


@dataclass(frozen=True, eq=False)
class Fills:
    """Every fill of one strategy's run, in time order; prices exclude fees.

    Each fill names what justified it: ``row`` is the snapshot row (the venue state whose level
    was taken or crossed, or whose print filled a resting order), ``print_index`` the print (-1
    when a displayed level did) and ``level_price`` that displayed ask level (NaN for a print):
    the fill's own price for a take, the ask at or below a resting bid for a quote-cross fill.
    """

    name: str
    order_size: int
    ts: np.ndarray
    publisher_id: np.ndarray
    shares: np.ndarray
    price: np.ndarray
    fee: np.ndarray  # $/share paid on each fill; a rebate is a negative fee
    how: np.ndarray  # index into HOWS
    row: np.ndarray
    print_index: np.ndarray
    level_price: np.ndarray
    closing: Closing = NOTHING_SHOWN  # the book the strategy leaves at the window's end

    _COLUMNS = (np.int64, np.int64, np.int64, float, float, np.int8, np.int64, np.int64, float)

    @classmethod
    def of(
        cls, name: str, order_size: int, records: list[tuple], closing: Closing = NOTHING_SHOWN
    ) -> Fills:
        """From (ts, publisher_id, shares, price, fee, how, row, print_index, level_price)
        tuples, and the book the strategy left at the close."""
        columns = list(zip(*records, strict=True)) if records else [[]] * len(cls._COLUMNS)
        arrays = (np.array(c, dtype=d) for c, d in zip(columns, cls._COLUMNS, strict=True))
        return cls(name, order_size, *arrays, closing)

    @property
    def liquidity(self) -> np.ndarray:
        """TAKE, PASSIVE or CLEANUP per fill."""
        return _LIQUIDITY[self.how]

    @property
    def cash(self) -> np.ndarray:
        """Cash paid per fill, fees included."""
        return self.shares * (self.price + self.fee)


def replay(
    timeline: Timeline, name: str, order_size: int, targets: np.ndarray, taker: Taker
) -> Fills:
    """Run one taking strategy. ``targets[i]`` is its cumulative target at local time
    ``timeline.decision_ts[i]``, when a new state has been received.

    At each decision it plans buys for the shortfall from the states it has seen, less what it
    took; each child order (immediate-or-cancel, limited to the worst price planned) reaches
    its venue one latency later and fills against that venue's book as it is then. Its answer
    comes back one more latency later; until then its shares count as pending, so they are
    never sent twice.
    """
    market = Market(timeline)
    times = timeline.decision_ts
    records: list[tuple] = []
    known = 0
    pending: list[tuple[int, int, int]] = []  # (answer time, shares sent, shares filled)
    decision = 0
    while known < order_size and decision < len(times):
        in_flight = sum(sent for _, sent, _ in pending)
        after = max(decision, int(np.searchsorted(targets, known + in_flight, side="right")))
        if pending:  # an answer may free shares for the target before the target rises
            answer = min(when for when, _, _ in pending)
            after = min(after, max(int(np.searchsorted(times, answer)), decision))
        decision = after
        if decision >= len(times):
            break
        t = int(times[decision])
        for item in [p for p in pending if p[0] <= t]:
            pending.remove(item)
            known += item[2]
        shortfall = int(targets[decision]) - known - sum(sent for _, sent, _ in pending)
        if shortfall > 0:
            plan = Plan(market, market.seen_rows(t))
            taker(plan, shortfall)
            for venue, shares, limit in plan.send():
                arrival = t + int(timeline.latency_ns[venue])
                filled = 0
                for price, q, row in market.execute(venue, shares, limit, arrival):
                    records.append(
                        (arrival, int(timeline.publishers[venue]), q, price,
                         float(timeline.fee[venue]), HOW["take"], row, -1, price)
                    )  # fmt: skip
                    filled += q
                pending.append((arrival + int(timeline.latency_ns[venue]), shares, filled))
        decision += 1
    records.sort(key=lambda record: record[0])
    return Fills.of(name, order_size, records, market.closing())
