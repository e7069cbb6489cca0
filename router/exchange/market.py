"""One strategy's book: every venue's state as the exchange has applied it, less the liquidity
the strategy took (each displayed share is its at most once, :mod:`router.exchange.liquidity`);
and, for planning, what the strategy had received by a local time, less what it sent orders to
take.

What a strategy plans to take comes from that second view, built from the states it has
received only: the shares it sent orders for are counted taken there until a state it has
received shows the level gone (or fewer shares). So no plan reads a state after it was
received, even where the venue's book has been applied further for orders in flight. A
:class:`Plan` is the ticket a decision fills in: buys at the levels seen, one displayed share
planned once, then one immediate-or-cancel child order per venue.

Venue state is brought forward lazily: row by row only for venues where something taken still
counts.
"""

from __future__ import annotations

import math

import numpy as np

from router.exchange.closing import Closing
from router.exchange.liquidity import ASK, Liquidity
from router.exchange.timeline import Timeline


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
        stop = int(np.searchsorted(self.timeline.venue_ts[venue], ts, side="right"))
        self.apply_rows(venue, stop)

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
