"""Order-level messages (one per order event, with order ids) into the MBP messages the fold
takes: the book after each event, rebuilt by :mod:`router.data.book_builder`, and every trade.

Sources map onto :class:`OrderMessages` with Databento's MBO semantics (actions ``A C M R T F
N``, sides ``B`` bid / ``A`` ask for orders and the aggressor's side for trades); Databento MBO
is that already, LOBSTER is translated (:mod:`router.data.lobster`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from router.data.book_builder import FILL, TRADE, Built, build_book
from router.data.marketdata import ASK_ORDER, BID_ORDER, EXECUTED, LEFT, OrderEvents, Snapshots
from router.data.messages import F_LAST, Messages


@dataclass(eq=False)
class OrderMessages:
    """Order-level messages in file order; ``price`` in dollars (NaN: undefined); ``last``: the
    event's last record (Databento's ``F_LAST``); ``number``: the file's line or record."""

    ts_event: np.ndarray
    ts_recv: np.ndarray
    publisher_id: np.ndarray
    order_id: np.ndarray
    action: np.ndarray  # uint8 ASCII
    side: np.ndarray  # uint8 ASCII
    price: np.ndarray
    size: np.ndarray
    last: np.ndarray
    number: np.ndarray

    def __len__(self) -> int:
        return len(self.ts_event)


@dataclass(frozen=True)
class Reference:
    """The source's own book after each message (LOBSTER's orderbook file), dollars and
    shares, messages x levels; an empty level has size 0."""

    bid_px: np.ndarray
    bid_sz: np.ndarray
    ask_px: np.ndarray
    ask_sz: np.ndarray


def event_ends(flags: np.ndarray, ts: np.ndarray, venue: np.ndarray) -> np.ndarray:
    """Each record that ends an event: Databento's ``F_LAST`` where the file sets it anywhere;
    else (a file whose flags were dropped) the last record of each run of one instant on one
    venue."""
    last = (flags & F_LAST) != 0
    if last.any() or not len(ts):
        return last
    return np.r_[(ts[1:] != ts[:-1]) | (venue[1:] != venue[:-1]), True]


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each value's index among the distinct values, sorted, and those values: a hash
    (``pandas.factorize``, one pass) and a sort of the distinct values only. NaN is -1."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    order = np.argsort(distinct, kind="stable")
    rank = np.empty(len(order) + 1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    rank[-1] = -1  # a NaN's code, -1, reads the last entry
    return rank[codes], np.asarray(distinct)[order]


def order_index(venue: np.ndarray, order_id: np.ndarray, venues: int) -> np.ndarray:
    """A dense index per (venue, order id), since ids are each venue's own, numbered in order
    of first appearance: one compiled hash pass where both fit one 64-bit key."""
    ids = np.asarray(order_id, dtype=np.uint64)
    if venues == 1:
        return _first_seen(ids)
    if venues <= 16 and int(ids.max()) < 1 << 59:  # both in one 64-bit key
        return _first_seen(ids * np.uint64(16) + np.asarray(venue, dtype=np.uint64))
    return pd.MultiIndex.from_arrays([venue, ids]).factorize()[0]


@njit(cache=True)
def _first_seen(keys):
    """Each key's number in order of first appearance (as ``pandas.factorize``, about four
    times faster here): an open-addressing table of at least 1.5 slots per key, Fibonacci
    hashing, linear probing."""
    n = len(keys)
    bits = 4
    while (1 << bits) < n + n // 2:
        bits += 1
    mask = (1 << bits) - 1
    slot_key = np.empty(mask + 1, np.uint64)
    slot_code = np.full(mask + 1, -1, np.int64)
    shift = np.uint64(64 - bits)
    golden = np.uint64(0x9E3779B97F4A7C15)
    codes = np.empty(n, np.int64)
    seen = 0
    for i in range(n):
        key = keys[i]
        h = np.int64((key * golden) >> shift)
        while slot_code[h] >= 0 and slot_key[h] != key:
            h = (h + 1) & mask
        if slot_code[h] < 0:
            slot_key[h], slot_code[h] = key, seen
            seen += 1
        codes[i] = slot_code[h]
    return codes


@dataclass(frozen=True)
class BookRun:
    """The compiled book's run over a day's messages, and the dense indices it ran on."""

    built: Built
    price: np.ndarray  # per message, its index into ``prices`` (-1: undefined)
    prices: np.ndarray  # the day's sorted prices (the reference's too)
    venue: np.ndarray  # per message, its index into ``venues``
    venues: np.ndarray  # publisher ids, ascending


def run_book(messages: OrderMessages, depth: int, reference: Reference | None = None) -> BookRun:
    """Order ids, prices and venues hashed to dense indices, then the compiled book."""
    price, universe = _sorted_codes(messages.price)
    refs = None
    if reference is not None:  # the reference's prices too: the universe is the day's
        shown = [reference.bid_px[reference.bid_sz > 0], reference.ask_px[reference.ask_sz > 0]]
        universe = np.union1d(universe, np.concatenate(shown))
        price = np.where(price >= 0, np.searchsorted(universe, messages.price), -1)
        refs = tuple(
            np.where(sz > 0, np.searchsorted(universe, np.where(sz > 0, px, universe[0])), -1)
            if kind == "px" else sz.astype(np.int64)
            for px, sz, kind in (
                (reference.bid_px, reference.bid_sz, "px"), (None, reference.bid_sz, "sz"),
                (reference.ask_px, reference.ask_sz, "px"), (None, reference.ask_sz, "sz"),
            )
        )  # fmt: skip
    venues = np.unique(messages.publisher_id)
    venue = np.searchsorted(venues, messages.publisher_id)
    built = build_book(
        np.asarray(messages.ts_event, dtype=np.int64),
        np.asarray(venue, dtype=np.int64),
        order_index(venue, messages.order_id, len(venues)),
        np.asarray(messages.action, dtype=np.uint8),
        np.asarray(messages.side, dtype=np.uint8),
        np.asarray(price, dtype=np.int64),
        np.asarray(messages.size, dtype=np.int64),
        np.asarray(messages.last, dtype=np.bool_),
        universe,
        depth,
        refs,
    )
    return BookRun(built, price, universe, venue, venues)


def rebuild(
    messages: OrderMessages, depth: int, reference: Reference | None = None
) -> tuple[Messages, Built, np.ndarray]:
    """The MBP messages of the rebuilt book (the book after each event's last record and each
    trade, to ``depth`` levels), the kernel's output, and the day's sorted prices."""
    run = run_book(messages, depth, reference)
    built, venue, venues, universe = run.built, run.venue, run.venues, run.prices
    at = built.emitted
    trade = messages.action[at] == TRADE
    mbp = Messages(
        ts_event=messages.ts_event[at],
        ts_recv=messages.ts_recv[at],
        publisher_id=venues[venue[at]],
        instrument_id=None,
        sequence=None,
        flags=np.where(messages.last[at], F_LAST, 0).astype(np.uint8),
        action=np.where(trade, TRADE, ord("N")).astype(np.uint8),
        side=messages.side[at],
        price=np.where(trade, messages.price[at], np.nan),
        size=np.where(trade, messages.size[at], 0),
        bid_px=built.bid_px,
        ask_px=built.ask_px,
        bid_sz=built.bid_sz,
        ask_sz=built.ask_sz,
        number=messages.number[at],
    )
    return mbp, built, universe


def order_events(
    messages: OrderMessages, built: Built, prices: np.ndarray, snap: Snapshots
) -> tuple[OrderEvents, int]:
    """The events that move queues (shares leaving their place, executions of resting orders)
    inside the window of ``snap`` (built from these messages), each given to the first row of
    its venue at or after it; and how many came after their venue's last row."""
    executed = (messages.action == FILL) & (messages.size > 0)
    keep = (built.gone_sz > 0) | executed
    keep &= (messages.side == BID_ORDER) | (messages.side == ASK_ORDER)
    window = snap.window
    keep &= (messages.ts_event >= window.data_start_ns) & (messages.ts_event < window.end_ns)
    pick = np.flatnonzero(keep)
    ts = messages.ts_event[pick].astype(np.int64)
    row = np.full(len(pick), -1, dtype=np.int64)
    publisher = messages.publisher_id[pick]
    for venue in snap.venues:
        rows = np.flatnonzero(snap.publisher_id == venue)
        mine = np.flatnonzero(publisher == venue)
        at = np.searchsorted(snap.ts[rows], ts[mine], side="left")
        inside = at < len(rows)
        row[mine[inside]] = rows[at[inside]]
    past = int((row < 0).sum())
    order = np.lexsort((pick, row))[past:]  # by row, message order within one: the -1s first
    pick, row, ts = pick[order], row[order], ts[order]
    fill = executed[pick]
    gone = np.where(built.gone_px[pick] >= 0, built.gone_px[pick], 0)
    events = OrderEvents(
        start=np.searchsorted(row, np.arange(len(snap) + 1)).astype(np.int64),
        ts=ts,
        kind=np.where(fill, EXECUTED, LEFT).astype(np.uint8),
        side=messages.side[pick].astype(np.uint8),
        price=np.where(fill, messages.price[pick], prices[gone]).astype(np.float64),
        size=np.where(fill, messages.size[pick], built.gone_sz[pick]).astype(np.int64),
        priority=built.priority[pick].astype(np.int64),
    )
    return events, past
