"""Replay engine: one strategy buys a parent order against the snapshot arrays.

Semantics (the README states them for users):

- Instants are the distinct ``ts`` values, in order. At each instant every venue's new state
  is applied first.
- Each strategy runs in its own simulation, with its own :class:`~router.liquidity.Liquidity`:
  a displayed ask share it took is never sold to it again, and a level it emptied does not come
  back until the data show that level gone and rebuilt.
- A strategy is a cumulative target per instant (non-decreasing, ending at the order size) and a
  taker that buys toward it at this instant, walking the displayed levels (cheapest first) as a
  marketable order would. Each fill costs ``shares * (level price + fee)``.

Only instants where the target exceeds what is filled are visited, so a strategy that fills early
costs almost nothing to replay, and venue state is brought forward lazily (row by row only for
venues where something taken still counts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from router.fees import VenueFees
from router.liquidity import ASK, Liquidity
from router.marketdata import Snapshots


@dataclass(frozen=True, eq=False)
class Timeline:
    """Instants of a snapshot set and, per row, the index of its venue (ascending publisher id)."""

    snapshots: Snapshots
    instant_ts: np.ndarray  # ts of each instant
    instant_end: np.ndarray  # one past the last row of each instant
    venue_index: np.ndarray  # per row, index into ``publishers``
    venue_rows: tuple[np.ndarray, ...]  # per venue, its rows in order
    publishers: np.ndarray  # publisher ids, ascending
    fee: np.ndarray  # per venue, $/share
    rebate: np.ndarray

    @classmethod
    def of(cls, snapshots: Snapshots, fees: VenueFees) -> Timeline:
        ts = snapshots.ts
        boundary = np.flatnonzero(ts[1:] != ts[:-1]) + 1
        publishers = snapshots.venues
        rates = [fees.of(p) for p in publishers]
        venue_index = np.searchsorted(publishers, snapshots.publisher_id)
        return cls(
            snapshots=snapshots,
            instant_ts=ts[np.r_[0, boundary]] if len(ts) else ts,
            instant_end=np.r_[boundary, len(ts)] if len(ts) else ts,
            venue_index=venue_index,
            venue_rows=tuple(np.flatnonzero(venue_index == v) for v in range(len(publishers))),
            publishers=publishers,
            fee=np.array([r.fee for r in rates], dtype=float),
            rebate=np.array([r.rebate for r in rates], dtype=float),
        )

    def __len__(self) -> int:
        return len(self.instant_ts)


class Market:
    """One strategy's view of every venue: its latest state, less the liquidity it took."""

    _VECTOR_ADVANCE = 16  # rows; fewer are applied one by one

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        snap = timeline.snapshots
        self.ask_px, self.ask_sz = snap.ask_px, snap.ask_sz
        venues = len(timeline.publishers)
        self.latest = np.full(venues, -1, dtype=np.int64)  # row of each venue's state, -1: none yet
        self.asks = Liquidity(venues, ASK)
        self.applied = 0

    def advance(self, end_row: int) -> None:
        """Apply every row before ``end_row``; venues where something taken still counts see
        each of their states, so that a level gone in between is noticed."""
        start, self.applied = self.applied, max(self.applied, end_row)
        if end_row <= start:
            return
        for venue, rows in enumerate(self.timeline.venue_rows):
            if self.asks.consumed(venue):
                first, last = np.searchsorted(rows, (start, end_row))
                for row in rows[first:last]:
                    self.asks.observe(venue, self.ask_px[row], self.ask_sz[row])
        if end_row - start <= self._VECTOR_ADVANCE:
            for row in range(start, end_row):
                self.latest[self.timeline.venue_index[row]] = row
        else:
            reversed_venues = self.timeline.venue_index[start:end_row][::-1]
            venues, first = np.unique(reversed_venues, return_index=True)
            self.latest[venues] = end_row - 1 - first

    def levels(self, venue: int) -> list[tuple[float, int]]:
        """The venue's ask levels we may still take, (price, shares), best first."""
        row = self.latest[venue]
        if row < 0:
            return []
        return self.asks.levels(venue, self.ask_px[row], self.ask_sz[row])

    def quotes(self) -> tuple[np.ndarray, np.ndarray]:
        """(best ask we may take, its shares) per venue; NaN and 0 where nothing shows."""
        ask = np.full(len(self.latest), np.nan)
        size = np.zeros(len(self.latest), dtype=np.int64)
        for venue in range(len(self.latest)):
            levels = self.levels(venue)
            if levels:
                ask[venue], size[venue] = levels[0]
        return ask, size

    def take(self, venue: int, price: float, shares: int) -> None:
        self.asks.take(venue, price, shares)


#: Given the market view and the shortfall, buys now (through ``Market.take``) and returns
#: what it bought: (venue index, shares, price) per fill.
Taker = Callable[[Market, int], list[tuple[int, int, float]]]


#: How a fill happened (``Fills.how``): a marketable order took a displayed level; a resting
#: order filled from a print at its price past the queue, from a print below it (the level was
#: swept), or from an ask crossing it; or the clean-up at the window's end bought what a passive
#: strategy had not filled.
HOWS = ("take", "queue", "swept", "quote_cross", "cleanup")
HOW = {name: code for code, name in enumerate(HOWS)}
#: What a fill did to the book (``Fills.liquidity``): took liquidity, rested, or cleaned up.
TAKE, PASSIVE, CLEANUP = 0, 1, 2
_LIQUIDITY = np.array([TAKE, PASSIVE, PASSIVE, PASSIVE, CLEANUP], dtype=np.int8)


@dataclass(frozen=True, eq=False)
class Fills:
    """Every fill of one strategy's run, in time order; prices exclude fees.

    Each fill names what justified it: ``row`` is the snapshot row (the venue state whose level
    was taken or crossed, or whose print filled a resting order) and ``print_index`` the print,
    -1 when a displayed level did.
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

    _COLUMNS = (np.int64, np.int64, np.int64, float, float, np.int8, np.int64, np.int64)

    @classmethod
    def of(cls, name: str, order_size: int, records: list[tuple]) -> Fills:
        """From (ts, publisher_id, shares, price, fee, how, row, print_index) tuples."""
        columns = list(zip(*records, strict=True)) if records else [[]] * len(cls._COLUMNS)
        arrays = (np.array(c, dtype=d) for c, d in zip(columns, cls._COLUMNS, strict=True))
        return cls(name, order_size, *arrays)

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
    """Run one strategy: at each instant where ``targets`` exceeds the filled shares, let the
    taker buy toward it. ``targets[i]`` is the cumulative target at instant ``i``."""
    market = Market(timeline)
    records: list[tuple[int, int, int, float, float, int]] = []
    filled, instant = 0, 0
    while filled < order_size:
        instant = max(instant, int(np.searchsorted(targets, filled, side="right")))
        if instant >= len(timeline):
            break
        market.advance(int(timeline.instant_end[instant]))
        for venue, shares, price in taker(market, int(targets[instant]) - filled):
            records.append(
                (
                    int(timeline.instant_ts[instant]),
                    int(timeline.publishers[venue]),
                    shares,
                    price,
                    float(timeline.fee[venue]),
                    HOW["take"],
                    int(market.latest[venue]),
                    -1,
                )
            )
            filled += shares
        instant += 1
    return Fills.of(name, order_size, records)
