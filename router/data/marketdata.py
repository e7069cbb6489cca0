"""The market-data model the simulator replays: one row per (instant, venue), plus the prints.

Each row is a venue's book after its last message at one ``ts_event`` instant. The trades that
printed at that instant on that venue are kept in a side table of prints (price, shares,
aggressor side), indexed from the rows CSR-style, so memory grows with prints, not rows x trades.
Loading lives in :mod:`router.data.loader`; this module is what every other part reads.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

NS_PER_SECOND = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_SECOND
MAX_DEPTH = 10
_TIME_OF_DAY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$")

#: Databento's ``side`` of a trade, as stored in ``Snapshots.print_side`` (ASCII codes):
#: ``A`` a seller hit the bid, ``B`` a buyer lifted the offer, ``N`` not known.
SELL_AGGRESSOR, BUY_AGGRESSOR, UNKNOWN_SIDE = ord("A"), ord("B"), ord("N")
SIDES = {SELL_AGGRESSOR: "A", BUY_AGGRESSOR: "B", UNKNOWN_SIDE: "N"}
#: A resting order's side in :class:`OrderEvents` (Databento's MBO sides): a bid, an ask.
BID_ORDER, ASK_ORDER = ord("B"), ord("A")
#: What an order event did (``OrderEvents.kind``): shares left their place in a queue (a
#: cancel, a smaller modify, a modify that lost priority), or a resting order executed.
LEFT, EXECUTED = ord("C"), ord("F")


def level_columns(level: int) -> dict[str, str]:
    """Databento's column names for one book level (0-based)."""
    return {k: f"{k}_{level:02d}" for k in ("bid_px", "ask_px", "bid_sz", "ask_sz")}


@dataclass(frozen=True)
class Window:
    """A UTC time-of-day window on one trading date; ``end_ns`` is exclusive.

    Times compare at the resolution written: an end of ``13:45:14`` covers that whole second,
    ``13:45:14.5`` covers up to (not including) 13:45:14.6. The ``warmup_ns`` before
    ``start_ns`` are loaded for estimation only: no strategy trades in them, but they give every
    venue a state and an outflow history at the start.
    """

    date: str
    start: str
    end: str
    start_ns: int
    end_ns: int
    warmup_ns: int = 0

    @classmethod
    def on(cls, date: str, start: str, end: str, warmup_s: float = 0.0) -> Window:
        midnight = pd.Timestamp(date, tz="UTC").value
        start_ns, _ = parse_time_of_day(start)
        end_ns, resolution = parse_time_of_day(end)
        if end_ns < start_ns:
            raise ValueError(f"window end {end!r} is before its start {start!r}")
        if warmup_s < 0:
            raise ValueError(f"warmup must be >= 0 seconds, got {warmup_s}")
        warmup = round(warmup_s * NS_PER_SECOND)
        return cls(date, start, end, midnight + start_ns, midnight + end_ns + resolution, warmup)

    @property
    def data_start_ns(self) -> int:
        """Where the loaded data begin: the warmup before the window."""
        return self.start_ns - self.warmup_ns

    @property
    def nominal_ns(self) -> int:
        """``end - start`` as written (522 s for 13:36:32 to 13:45:14)."""
        return parse_time_of_day(self.end)[0] - parse_time_of_day(self.start)[0]


def parse_time_of_day(text: str) -> tuple[int, int]:
    """``HH:MM[:SS[.fffffffff]]`` into (nanoseconds after midnight, resolution in ns)."""
    match = _TIME_OF_DAY.match(str(text).strip())
    if not match:
        raise ValueError(f"time of day {text!r} is not HH:MM[:SS[.fraction]] (e.g. '13:36:32')")
    hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds or 0) > 59:
        raise ValueError(f"time of day {text!r} is out of range")
    ns = ((int(hours) * 60 + int(minutes)) * 60 + int(seconds or 0)) * NS_PER_SECOND
    if fraction:
        ns += int(fraction.ljust(9, "0"))
        return ns, 10 ** (9 - len(fraction))
    return ns, NS_PER_SECOND if seconds else 60 * NS_PER_SECOND


@dataclass(frozen=True)
class DataQuality:
    """What the loader read, kept, folded and skipped, and why; and what it read it as."""

    source_format: str = ""  # csv, csv+zstd, dbn, dbn+zstd
    schema: str = ""  # mbp-1, mbp-10, tbbo, cmbp-1
    price_format: str = ""  # decimal or fixed (Databento's 1e-9 units)
    rows_read: int = 0
    rows_before_window: int = 0  # before the warmup, if any: not loaded
    rows_after_window: int = 0
    rows_in_warmup: int = 0  # loaded for estimation only
    rows_in_window: int = 0
    duplicates_dropped: int = 0  # same ts_event, venue, sequence and content as an earlier row
    rows_out_of_sequence: int = 0  # sequence below the venue's previous row in time order: kept
    rows_received_before_event: int = 0  # ts_recv < ts_event (clocks apart): seen at ts_event
    trade_rows: int = 0
    prints_sell_aggressor: int = 0  # side A: a seller hit the bid
    prints_buy_aggressor: int = 0  # side B: a buyer lifted the offer
    prints_unknown_side: int = 0  # side N
    messages_folded: int = 0  # superseded by a later message of the same venue at the same instant
    snapshots: int = 0
    crossed_snapshots: int = 0  # bid >= ask on one venue: kept, counted
    empty_ask_snapshots: int = 0  # no displayed ask at the top level: kept, no liquidity
    # Order-level sources only (MBO, LOBSTER), their book rebuilt from orders:
    order_messages: int = 0  # messages read, the whole file (the book needs them all)
    orders_unknown: int = 0  # cancels and fills of an order never added: counted, no crash
    modifies_of_unknown: int = 0  # read as adds
    adds_of_live_orders: int = 0  # an add reusing a live order's id replaces it
    cancels_beyond_size: int = 0  # more shares cancelled than the order had left
    clears: int = 0  # book clears (R)
    anonymous_shares_added: int = 0  # shown by the source's own book beyond its depth
    anonymous_shares_removed: int = 0
    orphan_shares: int = 0  # taken by a cancel of an id the source lost (LOBSTER replaces)
    halts: int = 0  # LOBSTER type 7
    hidden_executions: int = 0  # LOBSTER type 5: prints no book shows
    order_events: int = 0  # kept with the rows for exact queue positions (OrderEvents)
    order_events_past_last_row: int = 0  # after their venue's last row: no state applies them


@dataclass(frozen=True, eq=False)
class OrderEvents:
    """What moves a queue, from order-level data, indexed from the rows CSR-style as the prints
    are: the events of row ``i`` are ``start[i]:start[i + 1]``, in message order. Each is
    shares leaving their place in a queue (``kind`` :data:`LEFT`: a cancel, a smaller modify,
    or a modify that sent the order to the back) or a resting order's execution
    (:data:`EXECUTED`), with the resting order's ``side`` (:data:`BID_ORDER` or
    :data:`ASK_ORDER`), ``price``, ``size``, ``priority`` (when it joined the back of its
    level; -1: an order the source never showed joining) and ``ts`` (ts_event). An event
    belongs to the first row of its venue at or after it: usually its own instant's, a later
    one where the book's top levels did not change (a cancel and an add that net out)."""

    start: np.ndarray
    ts: np.ndarray
    kind: np.ndarray
    side: np.ndarray
    price: np.ndarray
    size: np.ndarray
    priority: np.ndarray

    COLUMNS = ("ts", "kind", "side", "price", "size", "priority")  # one entry per event
    ARRAYS = ("start", *COLUMNS)

    def __len__(self) -> int:
        return len(self.ts)

    def between(self, first: int, stop: int) -> OrderEvents:
        """The events of rows ``first:stop`` (views)."""
        events = slice(self.start[first], self.start[stop])
        return OrderEvents(
            self.start[first : stop + 1] - self.start[first],
            **{name: getattr(self, name)[events] for name in self.COLUMNS},
        )

    def mirrored(self) -> OrderEvents:
        """As a sell's mirrored book sees them: bids are asks at minus their price."""
        side = np.where(self.side == BID_ORDER, ASK_ORDER, BID_ORDER).astype(np.uint8)
        return replace(self, side=side, price=-self.price)


@dataclass(frozen=True, eq=False)
class Snapshots:
    """Book state of each venue after its last message at each instant, and the prints.

    Per row: ``ts`` (ts_event, int64 ns UTC), ``ts_recv`` (when that state reached the capture
    server: what a strategy could have seen by then), ``publisher_id``, and
    ``ask_px``/``ask_sz``/``bid_px``/``bid_sz`` (rows x depth; an empty level has size 0 and a
    NaN price). Rows are ordered by (ts, publisher_id).

    Prints: the trades of row ``i`` are ``print_start[i]:print_start[i + 1]`` of ``print_px``,
    ``print_sz`` and ``print_side`` (ASCII ``A``/``B``/``N``, see :data:`SIDES`), in the order
    the venue sent them. ``orders``: the order events between rows, where the source has
    order ids (:class:`OrderEvents`), else None.
    """

    ts: np.ndarray
    ts_recv: np.ndarray
    publisher_id: np.ndarray
    ask_px: np.ndarray
    ask_sz: np.ndarray
    bid_px: np.ndarray
    bid_sz: np.ndarray
    print_start: np.ndarray
    print_px: np.ndarray
    print_sz: np.ndarray
    print_side: np.ndarray
    window: Window
    quality: DataQuality = field(default_factory=DataQuality)
    mirrored_book: bool = False  # a sell's view (see :meth:`mirrored`); never saved
    orders: OrderEvents | None = None  # order-level sources only: exact queue positions

    _ARRAYS = (
        "ts", "ts_recv", "publisher_id", "ask_px", "ask_sz", "bid_px", "bid_sz",
        "print_start", "print_px", "print_sz", "print_side",
    )  # fmt: skip

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def depth(self) -> int:
        return self.ask_px.shape[1]

    @property
    def venues(self) -> np.ndarray:
        """Publisher ids present, ascending."""
        return np.unique(self.publisher_id)

    @property
    def print_row(self) -> np.ndarray:
        """The row of each print."""
        return np.repeat(np.arange(len(self)), np.diff(self.print_start))

    @cached_property
    def volume(self) -> np.ndarray:
        """Shares printed per row, every side."""
        total = np.r_[0, np.cumsum(self.print_sz)]
        return total[self.print_start[1:]] - total[self.print_start[:-1]]

    @cached_property
    def low_trade_px(self) -> np.ndarray:
        """The lowest price printed per row, NaN where nothing printed."""
        low = np.full(len(self), np.nan)
        printed = np.diff(self.print_start) > 0
        if printed.any():
            low[printed] = np.minimum.reduceat(self.print_px, self.print_start[:-1][printed])
        return low

    @cached_property
    def low_trade_sz(self) -> np.ndarray:
        """Shares printed at each row's lowest price."""
        at_low = self.print_px == self.low_trade_px[self.print_row]
        return np.bincount(
            self.print_row[at_low], weights=self.print_sz[at_low], minlength=len(self)
        ).astype(np.int64)

    def between(self, window: Window) -> Snapshots:
        """The rows of ``window`` (its warmup included), as if the file had been loaded with it:
        one parent order's view of a day. Arrays are slices (views) of this day's."""
        first, stop = np.searchsorted(self.ts, [window.data_start_ns, window.end_ns])
        prints = slice(self.print_start[first], self.print_start[stop])
        rows = slice(first, stop)
        return replace(
            self,
            **{name: getattr(self, name)[rows] for name in self._ARRAYS if name[:6] != "print_"},
            print_start=self.print_start[first : stop + 1] - self.print_start[first],
            print_px=self.print_px[prints],
            print_sz=self.print_sz[prints],
            print_side=self.print_side[prints],
            window=window,
            orders=None if self.orders is None else self.orders.between(first, stop),
        )

    def mirrored(self) -> Snapshots:
        """The book seen from the other side: bids become asks at minus their price, and the
        reverse; sellers' prints become buyers'. Selling on this book is buying on the mirror,
        so every strategy written for buys runs sells unchanged (its cash is then minus the
        proceeds, fees added)."""
        side = self.print_side.copy()
        side[self.print_side == SELL_AGGRESSOR] = BUY_AGGRESSOR
        side[self.print_side == BUY_AGGRESSOR] = SELL_AGGRESSOR
        return replace(
            self,
            ask_px=-self.bid_px, ask_sz=self.bid_sz, bid_px=-self.ask_px, bid_sz=self.ask_sz,
            print_px=-self.print_px, print_side=side, mirrored_book=not self.mirrored_book,
            orders=None if self.orders is None else self.orders.mirrored(),
        )  # fmt: skip

    def save(self, path: str | Path) -> None:
        """Write an uncompressed ``.npz`` that :meth:`load` reads back identically."""
        meta = json.dumps({"window": asdict(self.window), "quality": asdict(self.quality)})
        arrays = {k: getattr(self, k) for k in self._ARRAYS}
        if self.orders is not None:
            arrays |= {f"orders_{k}": getattr(self.orders, k) for k in OrderEvents.ARRAYS}
        with open(path, "wb") as fh:
            np.savez(fh, meta=np.array(meta), **arrays)

    @classmethod
    def load(cls, path: str | Path) -> Snapshots:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            arrays = {k: npz[k] for k in cls._ARRAYS}
            orders = (
                OrderEvents(**{k: npz[f"orders_{k}"] for k in OrderEvents.ARRAYS})
                if "orders_start" in npz.files
                else None
            )
        return cls(
            **arrays, window=Window(**meta["window"]), quality=DataQuality(**meta["quality"]),
            orders=orders,
        )  # fmt: skip


class DataError(ValueError):
    """Bad market data: the message names the file, the row (line or record) and what was
    expected."""


class EmptyWindowError(DataError):
    """A file with no rows inside the window; ``date`` is the trading date it was read for."""

    def __init__(self, message: str, date: str) -> None:
        super().__init__(message)
        self.date = date
