"""One synthetic equity market on several venues, in the spirit of the queue-reactive model.

Huang, Lehalle & Rosenbaum, "Simulating and analyzing order book data: the queue-reactive
model" (JASA 2015): order arrivals, cancellations and market orders at the best queues, with
intensities that depend on the queue sizes. Here, on top of it:

- **One market.** A latent efficient price (a random walk) pulls the order flow: buyers are
  more likely when it is above the mid, and a widened spread is refilled on its side first.
  Every venue quotes the same national best bid and offer (NBBO) or behind it, and a limit
  order is never marketable, so quotes never lock or cross.
- **Reg NMS routing.** A marketable order takes every venue's displayed size at the best price
  before the next price (Rule 611), printing on each venue it trades with, at that venue's own
  best price, with the aggressor side (``A`` a seller, ``B`` a buyer). Large orders sweep.
- **Queues.** Cancellations come at a rate proportional to a queue's size, so they, not trades,
  deplete most queues (as in real books); arrivals are denser at the best levels.
- **Order signs** come from metaorders (Lillo, Mike & Farmer 2005): a trader splits a large
  order into many with one sign, with lengths drawn from a power law, so trade signs are
  positively and slowly autocorrelated.
- **Sessions.** Activity follows the intraday U shape (busier at the open and close).

Each event changes one venue's book and emits its MBP-10 row (a trade: the print row with the
book before it, then the book row after it). Prices are integer cents. Rows collect in numpy
blocks (``Rows``) that the caller drains, so a whole session never sits in Python objects.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from producer.orders import Orders

LEVELS = 10
FLAG_LAST = 130  # F_LAST plus the publisher bit that Databento's equity feeds carry
FLAG_MORE = 0  # a row followed by another row of the same event
ACTION = {"A": ord("A"), "C": ord("C"), "T": ord("T")}
BID, ASK = ord("B"), ord("A")
WANDER_PHI, WANDER_SD = 0.995, 0.4  # activity's log-level per 100 ms: memory ~20 s, sd 0.4
SESSION_S = 23_400.0  # a regular session, 9:30-16:00 New York, in seconds
MAX_BEHIND = 2  # ticks a venue's best may stand behind the NBBO before it is quoted back
CANCEL_DECAY = [0.6**level for level in range(LEVELS)]


@dataclass(frozen=True)
class MarketParams:
    """The market's rates and scales; per-venue personalities are drawn from the seed."""

    events_per_s: float = 80.0  # all venues, averaged over the session (U-shaped)
    market_share: float = 0.06  # of events: marketable orders
    cancel_share: float = 0.47  # of events: cancellations (the rest: limit orders)
    vol_bps_per_sqrt_s: float = 1.1  # latent price: ~1.7 % over a 6.5 h session
    flow_pull: float = 0.9  # how strongly the latent price tilts order signs
    metaorder_alpha: float = 1.4  # metaorder lengths: P(L > l) ~ l^-alpha
    metaorder_share: float = 0.75  # of marketable orders: part of a metaorder (the rest: noise)
    informed_share: float = 0.5  # of cancels and adds: on the side the latent price points to
    hop_ns: int = 60_000  # a routed order reaches each next venue this much later
    at_best_p: float = 0.55  # of limit orders: at the venue's best price


@dataclass
class _Side:
    """One side of a venue's book: size per price (cents), prices sorted best first through
    ``key`` (bids descending, asks ascending); which orders make each level is
    :class:`~producer.orders.Orders`' to say."""

    sign: int  # +1 asks (worse is higher), -1 bids
    size: dict
    prices: list  # sorted by sign * price: best first

    def best(self) -> int | None:
        return self.prices[0] if self.prices else None

    def add(self, price: int, shares: int) -> None:
        if price in self.size:
            self.size[price] += shares
        else:
            self.size[price] = shares
            bisect.insort(self.prices, price, key=lambda p: self.sign * p)

    def remove(self, price: int, shares: int) -> None:
        left = self.size[price] - shares
        if left <= 0:
            del self.size[price]
            self.prices.remove(price)
        else:
            self.size[price] = left


class _Venue:
    def __init__(self, queue_scale: float) -> None:
        self.bids = _Side(-1, {}, [])
        self.asks = _Side(+1, {}, [])
        self.queue_scale = queue_scale


@dataclass(frozen=True)
class VenueStyle:
    """How a venue differs: its share of the flow, queue sizes, how often it joins the NBBO,
    how late its feed reaches us."""

    share: float
    queue_scale: float  # typical shares at a price level
    join_p: float  # chance a limit order at the best goes to the NBBO rather than behind it
    latency_ns: float  # typical gap between an event (ts_event) and its receipt (ts_recv)


def draw_styles(rng: np.random.Generator, count: int) -> list[VenueStyle]:
    """Venue 0 (XNAS) is the busiest with the deepest queues, as in practice."""
    weights = np.concatenate([[rng.uniform(1.8, 2.2)], rng.uniform(0.7, 1.3, count - 1)])
    shares = weights / weights.sum()
    return [
        VenueStyle(
            share=float(shares[k]),
            queue_scale=rng.uniform(300, 600) if k == 0 else rng.uniform(100, 350),
            join_p=rng.uniform(0.85, 0.97) if k == 0 else rng.uniform(0.6, 0.9),
            latency_ns=rng.uniform(20_000, 120_000),
        )
        for k in range(count)
    ]


def order_size(u: float, v: float) -> int:
    """A limit order's shares: round lots mostly, odd and mixed lots, a few larger orders."""
    if u < 0.18:
        return 1 + int(99 * v)  # odd lot
    if u < 0.28:
        return 100 * (1 + int(4 * v)) + int(99 * v)  # mixed lot
    if u < 0.985:
        return 100 * (1 + int(-math.log(1 - v * 0.999) / 0.9))  # round lots, mostly 100-300
    return 100 * (10 + int(40 * v))  # a block of 1,000-5,000


def market_size(u: float, v: float) -> int:
    """A marketable order's shares: many odd lots, mostly one or two round lots, rare sweeps."""
    if u < 0.40:
        return 1 + int(99 * v)
    if u < 0.90:
        return 100 * (1 + int(2 * v))
    if u < 0.995:
        return 100 * (3 + int(17 * v))
    return 100 * (50 + int(150 * v))  # a sweep of 5,000-20,000: several venues and levels


def intraday_profile(seconds_from_open: np.ndarray, session_s: float) -> np.ndarray:
    """Relative activity through a session: a U shape, twice as busy at the ends as in the
    middle, averaging 1 over the session (flat at its end value outside it)."""
    x = np.clip(2 * seconds_from_open / session_s - 1, -1, 1)
    return 0.75 + 0.75 * x**2


class Rows:
    """Records emitted so far, in numpy blocks: one entry per record, one int64 column per
    field, and a book of ``book_width`` int32 columns (MBP-10: 60; none for order records).
    ``drained`` counts the records handed out, so each has a number in emission order."""

    MBP_FIELDS = ("ts_event", "venue", "action", "side", "depth", "price", "size", "flags")
    BLOCK = 65_536

    def __init__(self, fields: tuple[str, ...] = MBP_FIELDS, book_width: int = 6 * LEVELS) -> None:
        self.names, self.width = fields, book_width
        self.blocks: list[dict[str, np.ndarray]] = []
        self.drained = 0
        self.total = 0  # records appended so far
        self._new()

    def _new(self) -> None:
        self.fields = {name: np.zeros(self.BLOCK, np.int64) for name in self.names}
        self.book = np.zeros((self.BLOCK, self.width), np.int32)
        self.used = 0

    def append(self, values: tuple, book: list[int] | None = None) -> None:
        i = self.used
        for name, value in zip(self.names, values, strict=True):
            self.fields[name][i] = value
        if book is not None:
            self.book[i] = book
        self.used += 1
        self.total += 1
        if self.used == self.BLOCK:
            self._close()

    def _close(self) -> None:
        block = {name: values[: self.used] for name, values in self.fields.items()}
        self.blocks.append(block | {"book": self.book[: self.used]})
        self._new()

    def drain(self) -> dict[str, np.ndarray]:
        """Everything emitted since the last drain, as one array per field (and ``book``), and
        ``id``: each record's number in emission order."""
        if self.used:
            self._close()
        blocks, self.blocks = self.blocks, []
        names = (*self.names, "book")
        if not blocks:
            out = {name: np.zeros((0, self.width) if name == "book" else 0, np.int64)
                   for name in names}  # fmt: skip
        else:
            out = {name: np.concatenate([block[name] for block in blocks]) for name in names}
        count = len(out["book"])
        out["id"] = np.arange(self.drained, self.drained + count, dtype=np.int64)
        self.drained += count
        return out


class Market:
    """The simulation: books of every venue, the latent price, the metaorders."""

    def __init__(
        self,
        rng: np.random.Generator,
        styles: list[VenueStyle],
        params: MarketParams,
        mid_cents: float,
        orders: Orders,
        opening_ts: int = 0,
    ) -> None:
        """``orders`` says which orders every event was, from the opening book (a snapshot at
        ``opening_ts``) on."""
        self.rng, self.styles, self.params = rng, styles, params
        self.venues = [_Venue(style.queue_scale) for style in styles]
        self.latent = mid_cents
        self.meta_sign, self.meta_left = 1, 0
        self.clock = 0  # the last row's time: events never go back in time
        self.previous = 0  # the last event's drawn time, for the latent price's step
        bid = math.floor(mid_cents - 0.5)
        for venue, style in zip(self.venues, styles, strict=True):
            for level in range(LEVELS + 2):
                depth_scale = style.queue_scale * (1 + 0.15 * level)
                venue.bids.add(bid - level, max(1, int(rng.gamma(2.0, depth_scale / 2))))
                venue.asks.add(bid + 1 + level, max(1, int(rng.gamma(2.0, depth_scale / 2))))
        self.rows = Rows()
        self.orders = orders
        for k, venue in enumerate(self.venues):
            orders.clear(opening_ts, k)
            for side, book in ((BID, venue.bids), (ASK, venue.asks)):
                for price in book.prices:
                    orders.opening(opening_ts, k, side, price, book.size[price])
        orders.close_opening()

    def book(self, k: int) -> list[int]:
        """Venue ``k``'s book in Databento's column order: per level bid/ask price, size and
        order count."""
        venue, out = self.venues[k], []
        for level in range(LEVELS):
            shown = [(book, side, book.prices[level]) if level < len(book.prices) else None
                     for book, side in ((venue.bids, BID), (venue.asks, ASK))]  # fmt: skip
            out += [s[2] if s else 0 for s in shown]
            out += [s[0].size[s[2]] if s else 0 for s in shown]
            out += [self.orders.count(k, s[1], s[2]) if s else 0 for s in shown]
        return out

    # ------------------------------------------------------------------ the NBBO
    def nbb(self) -> int:
        return max(v.bids.prices[0] for v in self.venues if v.bids.prices)

    def nbo(self) -> int:
        return min(v.asks.prices[0] for v in self.venues if v.asks.prices)

    # ------------------------------------------------------------------ events
    def step(self, ts: int, u: np.ndarray) -> None:
        """One event drawn at ``ts`` from the uniform draws ``u`` (8 of them). It happens at
        ``ts`` or just after the previous event's last row (a sweep's hops take time)."""
        params = self.params
        dt_s = max(ts - self.previous, 0) / 1e9 if self.previous else 0.0
        self.previous = ts
        ts = max(ts, self.clock + 1)
        self.latent *= math.exp(params.vol_bps_per_sqrt_s * 1e-4 * math.sqrt(dt_s) * _normal(u[0]))
        nbb, nbo = self.nbb(), self.nbo()
        venue_index = _pick(self.styles, u[1])
        if nbo - nbb > 1 and u[2] < 0.6:  # a gap: refill it, on the latent price's side first
            toward_bid = u[3] < _tilt(self.latent - (nbb + nbo) / 2, params.flow_pull)
            self._improve(ts, venue_index, BID if toward_bid else ASK, nbb, nbo, u)
        elif (behind := self._behind(venue_index, nbb, nbo)) is not None:
            self._add(ts, venue_index, behind, nbb, nbo, u, requote=True)
        elif u[2] < params.market_share:
            self._market(ts, nbb, nbo, u)
        elif u[2] < params.market_share + params.cancel_share:
            is_bid, informed = self._side(u[3], nbb, nbo, pulled=True)
            stale = abs(self.latent - (nbb + nbo) / 2) > (nbo - nbb) / 2
            self._cancel(ts, venue_index, is_bid, u, fade=informed and stale)
        else:
            is_bid, _ = self._side(u[3], nbb, nbo, pulled=False)
            self._add(ts, venue_index, is_bid, nbb, nbo, u)

    def _behind(self, k: int, nbb: int, nbo: int) -> bool | None:
        """Which side of venue ``k`` stands more than ``MAX_BEHIND`` ticks behind the NBBO
        (True: its bid), if any: its market makers quote it back, so a venue's top never
        falls back to stale orders far from the market."""
        venue = self.venues[k]
        if nbb - venue.bids.prices[0] > MAX_BEHIND:
            return True
        if venue.asks.prices[0] - nbo > MAX_BEHIND:
            return False
        return None

    def _side(self, u: float, nbb: int, nbo: int, *, pulled: bool) -> tuple[bool, bool]:
        """Whether a cancel or an add is on the bid side, and whether it is informed: with
        the latent price above the mid, informed traders pull asks and join bids (and the
        reverse); the rest pick a side at random."""
        informed = self.params.informed_share
        if u < informed:
            up = self.latent > (nbb + nbo) / 2
            return up != pulled, True  # up: adds on the bid, cancels on the ask
        return (u - informed) / (1 - informed) < 0.5, False

    def _improve(self, ts: int, k: int, side: int, nbb: int, nbo: int, u: np.ndarray) -> None:
        venue = self.venues[k]
        shares = order_size(u[4], u[5])
        book, price = (venue.bids, nbb + 1) if side == BID else (venue.asks, nbo - 1)
        book.add(price, shares)
        self.orders.add(ts, k, side, price, shares)
        self._row(ts, k, "A", side, book.prices.index(price), price, shares)

    def _add(
        self,
        ts: int,
        k: int,
        is_bid: bool,
        nbb: int,
        nbo: int,
        u: np.ndarray,
        requote: bool = False,
    ) -> None:
        """A limit order at the NBBO or one tick behind (always, for a ``requote``), or
        deeper."""
        venue, style = self.venues[k], self.styles[k]
        book = venue.bids if is_bid else venue.asks
        national = nbb if is_bid else nbo
        if requote or u[4] < self.params.at_best_p:
            ticks = 0 if u[5] < style.join_p else 1
        else:
            ticks = 1 + int(-math.log(1 - u[5] * 0.999) / 0.35) % (LEVELS - 1)
        price = national - ticks if is_bid else national + ticks
        shares = order_size(u[6], u[7])
        if shares >= 1000 and ticks == 0:  # blocks rest behind the best, not at it
            price = price - 2 if is_bid else price + 2
        book.add(price, shares)
        self.orders.add(ts, k, BID if is_bid else ASK, price, shares)
        self._row(ts, k, "A", BID if is_bid else ASK, book.prices.index(price), price, shares)

    def _cancel(self, ts: int, k: int, is_bid: bool, u: np.ndarray, fade: bool) -> None:
        """Queue-reactive: a level's chance to lose an order grows with its size and falls
        with its distance from the best (most cancellations are near the top); the order, one
        of the level's at random, leaves whole. A stale quote (the latent price beyond it)
        fades: the venue's whole best level is pulled."""
        venue = self.venues[k]
        book = venue.bids if is_bid else venue.asks
        side = BID if is_bid else ASK
        prices = book.prices[:LEVELS]
        if not prices:
            return
        if fade:
            level = 0
        else:
            weights = [book.size[p] * CANCEL_DECAY[i] for i, p in enumerate(prices)]
            cut = u[4] * sum(weights)
            level = min(
                bisect.bisect_right(list(itertools.accumulate(weights)), cut), len(prices) - 1
            )
        price = prices[level]
        order = None if fade else self.orders.pick(k, side, price)
        shares = book.size[price] if fade else self.orders.size(k, side, price, order)
        if len(book.prices) <= LEVELS and shares == book.size[price]:
            return  # never empty a thin book side
        book.remove(price, shares)
        self.orders.cancel(ts, k, side, price, order)
        self._row(ts, k, "C", side, level, price, shares)
        self._refill(k, book, side, u[5], None)  # shown from the venue's next row on

    def _market(self, ts: int, nbb: int, nbo: int, u: np.ndarray) -> None:
        """A marketable order routed as Reg NMS requires: every venue's size at the best price,
        then the next price; a print on each venue it trades with."""
        buy_p = _tilt(self.latent - (nbb + nbo) / 2, self.params.flow_pull)
        if u[4] < self.params.metaorder_share:  # part of the running metaorder
            if self.meta_left <= 0:  # a new one: its sign leans toward the latent price
                self.meta_sign = 1 if u[3] < buy_p else -1
                self.meta_left = int(
                    (1 - u[4] / self.params.metaorder_share) ** (-1 / self.params.metaorder_alpha)
                )
            self.meta_left -= 1
            buying = self.meta_sign > 0
        else:  # noise: its own sign
            buying = u[3] < buy_p
        left = market_size(u[5], u[6])
        limit = (nbo + 2) if buying else (nbb - 2)  # a marketable limit: at most 2 cents through
        order = sorted(range(len(self.venues)), key=lambda i: (u[7] + i * 0.618) % 1)
        hops = 0
        while left > 0:
            price = self.nbo() if buying else self.nbb()
            if (buying and price > limit) or (not buying and price < limit):
                return
            for k in order:
                book = self.venues[k].asks if buying else self.venues[k].bids
                if not book.prices or book.prices[0] != price or left <= 0:
                    continue
                shares = min(left, book.size[price])
                side = BID if buying else ASK  # the aggressor: B a buyer, A a seller
                at = ts + hops * self.params.hop_ns  # each venue in turn along the route
                self._row(at, k, "T", side, 0, price, shares, FLAG_MORE)
                book.remove(price, shares)
                resting = ASK if buying else BID
                self.orders.execute(at, k, resting, price, shares)
                self._refill(k, book, resting, u[6], at)  # shown in this event's row
                self._row(at, k, "C", resting, 0, price, shares)
                left -= shares
                hops += 1

    def _row(
        self,
        ts: int,
        k: int,
        action: str,
        side: int,
        depth: int,
        price: int,
        size: int,
        flags: int = FLAG_LAST,
    ) -> None:
        self.clock = max(self.clock, ts)
        self.rows.append((ts, k, ACTION[action], side, depth, price, size, flags), self.book(k))
        if flags == FLAG_LAST:
            self.orders.close(self.rows.total - 1)

    def _refill(self, k: int, book: _Side, side: int, u: float, ts: int | None) -> None:
        """Keep depth beyond what is shown: a level emptied near the top makes room behind
        (an order of the event under way at ``ts``; None: of the venue's next event)."""
        if len(book.prices) < LEVELS + 2:
            price = book.prices[-1] + book.sign
            shares = max(1, int(self.venues[k].queue_scale * (0.5 + u)))
            book.add(price, shares)
            self.orders.refill(k, side, price, shares, ts)


def _normal(u: float) -> float:
    """A standard normal draw from one uniform (inverse of the logistic approximation)."""
    u = min(max(u, 1e-12), 1 - 1e-12)
    return math.log(u / (1 - u)) * 0.5513  # the logistic matched to the normal's variance


def _tilt(gap_cents: float, pull: float) -> float:
    """Chance that flow goes up, given the latent price's distance above the mid."""
    return 0.5 + 0.45 * math.tanh(pull * gap_cents)


def _pick(styles: list[VenueStyle], u: float) -> int:
    total = 0.0
    for k, style in enumerate(styles):
        total += style.share
        if u < total:
            return k
    return len(styles) - 1


def event_times(
    rng: np.random.Generator,
    start_ns: int,
    end_ns: int,
    count: int,
    open_offset_s: float,
    session_s: float = SESSION_S,
) -> np.ndarray:
    """``count`` sorted event times in [start_ns, end_ns), spread by the intraday profile
    (``open_offset_s``: where the window starts in the session), with short bursts of activity
    and a slowly wandering level."""
    duration_s = (end_ns - start_ns) / 1e9
    grid = np.linspace(0, duration_s, max(2, int(duration_s * 10)) + 1)  # 100 ms buckets
    weight = intraday_profile(open_offset_s + grid[:-1], session_s)
    burst = rng.random(len(weight)) < 0.01
    weight = weight * np.where(np.convolve(burst, np.ones(6))[: len(weight)] > 0, 4.0, 1.0)
    weight *= np.exp(_wander(rng, len(weight)))
    bucket = rng.choice(len(weight), size=count, p=weight / weight.sum())
    times = grid[bucket] + rng.random(count) * (grid[1] - grid[0])
    return np.sort(start_ns + (times * 1e9).astype(np.int64))


def _wander(rng: np.random.Generator, count: int) -> np.ndarray:
    """The activity's slowly wandering log-level per 100 ms bucket: mean-reverting (an AR(1)
    with a 20 s memory and a stationary sd of ``WANDER_SD``), so busy and quiet spells come and
    go without activity drifting off over a session."""
    shocks = rng.normal(0, WANDER_SD * math.sqrt(1 - WANDER_PHI**2), count).tolist()
    level = rng.normal(0, WANDER_SD)
    out = []
    for shock in shocks:
        level = WANDER_PHI * level + shock
        out.append(level)
    return np.array(out)


def expected_events(
    rate: float, start_ns: int, end_ns: int, open_offset_s: float, session_s: float = SESSION_S
) -> float:
    """Events the intraday profile expects in the window at ``rate`` per second on average."""
    seconds = np.linspace(0, (end_ns - start_ns) / 1e9, 1001)
    return (
        rate
        * (end_ns - start_ns)
        / 1e9
        * intraday_profile(open_offset_s + seconds, session_s).mean()
    )
