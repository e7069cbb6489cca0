"""Order-level messages (one per order event, with order ids) into the MBP messages the fold
takes: the book after each event, rebuilt by :mod:`router.data.book_builder`, and every trade.

Sources map onto :class:`OrderMessages` with Databento's MBO semantics (actions ``A C M R T F
N``, sides ``B`` bid / ``A`` ask for orders and the aggressor's side for trades); Databento MBO
is that already, LOBSTER is translated (:mod:`router.data.lobster`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router.data.book_builder import TRADE, Built, build_book
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


def _dense(*keys: np.ndarray) -> np.ndarray:
    """Each row's index among the distinct rows of ``keys`` (sorted)."""
    order = np.lexsort(keys[::-1])
    sorted_keys = [k[order] for k in keys]
    new = np.ones(len(order), dtype=bool)
    if len(order):
        new[1:] = np.any([k[1:] != k[:-1] for k in sorted_keys], axis=0)
    index = np.empty(len(order), dtype=np.int64)
    index[order] = np.cumsum(new) - 1
    return index


def rebuild(
    messages: OrderMessages, depth: int, reference: Reference | None = None
) -> tuple[Messages, Built, np.ndarray]:
    """The MBP messages of the rebuilt book (the book after each event's last record and each
    trade, to ``depth`` levels), the kernel's output, and the day's sorted prices."""
    prices = [messages.price[np.isfinite(messages.price)]]
    if reference is not None:
        prices += [reference.bid_px[reference.bid_sz > 0], reference.ask_px[reference.ask_sz > 0]]
    universe = np.unique(np.concatenate(prices))
    price = np.where(np.isfinite(messages.price), np.searchsorted(universe, messages.price), -1)
    venues, venue = np.unique(messages.publisher_id, return_inverse=True)
    refs = None
    if reference is not None:
        refs = tuple(
            np.where(sz > 0, np.searchsorted(universe, np.where(sz > 0, px, universe[0])), -1)
            if kind == "px" else sz.astype(np.int64)
            for px, sz, kind in (
                (reference.bid_px, reference.bid_sz, "px"), (None, reference.bid_sz, "sz"),
                (reference.ask_px, reference.ask_sz, "px"), (None, reference.ask_sz, "sz"),
            )
        )  # fmt: skip
    built = build_book(
        messages.ts_event.astype(np.int64),
        venue.astype(np.int64),
        _dense(venue.astype(np.int64), messages.order_id.astype(np.uint64)),
        messages.action.astype(np.uint8),
        messages.side.astype(np.uint8),
        price.astype(np.int64),
        messages.size.astype(np.int64),
        messages.last.astype(np.bool_),
        universe,
        depth,
        refs,
    )
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
