"""One file's messages as columns, whatever the format: checked, then folded into Snapshots.

The CSV and DBN readers both produce :class:`Messages` (one entry per message, in file order);
everything after that is shared: value checks that name the offending line or record, and the
fold into one row per (ts_event, venue) with the prints kept in a side table.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from router.data.marketdata import (
    BUY_AGGRESSOR,
    SELL_AGGRESSOR,
    SIDES,
    UNKNOWN_SIDE,
    DataError,
    DataQuality,
    Snapshots,
    Window,
)

TRADE = ord("T")
F_LAST = 128  # Databento: the last record of an event (the book after it is complete)


@dataclass(frozen=True)
class Where:
    """How errors name a message: the file, and "line" (CSV) or "record" (DBN)."""

    path: object
    unit: str

    def error(self, number: int, message: str) -> DataError:
        return DataError(f"{self.path}: {self.unit} {number}: {message}")


@dataclass(eq=False)
class Messages:
    """Messages in file order, one entry each; books are messages x depth.

    Prices are dollars (NaN: undefined); sizes and ids may be any integer type (DBN's are
    uint32 and uint16, kept narrow until the fold). ``number`` is each message's file line or
    record number. :meth:`concat` and :func:`fold` consume their input column by column, so a
    large file never needs two copies of its messages at once.
    """

    ts_event: np.ndarray
    ts_recv: np.ndarray
    publisher_id: np.ndarray
    instrument_id: np.ndarray | None  # None: the file has no instrument_id column
    sequence: np.ndarray | None  # the venue feed's sequence number; None: not in the file
    flags: np.ndarray | None  # Databento's flags (F_LAST: an event's last record); None: absent
    action: np.ndarray  # uint8 ASCII
    side: np.ndarray  # uint8 ASCII
    price: np.ndarray
    size: np.ndarray
    bid_px: np.ndarray
    ask_px: np.ndarray
    bid_sz: np.ndarray
    ask_sz: np.ndarray
    number: np.ndarray

    def __len__(self) -> int:
        return len(self.ts_event)

    def select(self, keep: np.ndarray) -> Messages:
        """The messages at ``keep`` (a mask or indices)."""
        return replace(
            self,
            **{
                f.name: getattr(self, f.name)[keep]
                for f in fields(self)
                if getattr(self, f.name) is not None
            },
        )

    @classmethod
    def concat(cls, parts: list[Messages]) -> Messages:
        """One Messages of several parts, in order; empties the parts column by column."""
        columns = {}
        for f in fields(cls):
            pieces = [_release(p, f.name) for p in parts]
            columns[f.name] = None if pieces[0] is None else np.concatenate(pieces)
            del pieces
        return cls(**columns)


def _release(messages: Messages, name: str) -> np.ndarray | None:
    """A column, dropped from ``messages``: what the caller keeps is the only reference."""
    column = getattr(messages, name)
    setattr(messages, name, None)
    return column


#: A price more than this factor above or below the file's median price is off the
#: instrument's scale: a price written in other units (dollars read as fixed-point, cents).
OFF_SCALE = 100.0


def check(messages: Messages, where: Where) -> None:
    """Every book level and trade must make sense; the first that does not is named. Prices
    with size must be positive (Databento writes an empty level as its undefined price, never
    0) and on the file's scale: within :data:`OFF_SCALE` of its median price."""
    scale = _median_price(messages)
    low, high = scale / OFF_SCALE, scale * OFF_SCALE
    off_scale = (
        f"on the file's scale (its median price is {scale:g}: between {low:g} and {high:g}; "
        "a price written in other units, such as dollars read as fixed-point?)"
    )
    for side in ("bid", "ask"):
        px, sz = getattr(messages, f"{side}_px"), getattr(messages, f"{side}_sz")
        shown = sz > 0
        for what, bad, expected in (
            ("sz", sz < 0, "a non-negative whole number of shares"),
            (
                "px",
                shown & ~(np.isfinite(px) & (px > 0)),
                "a finite positive price (blank only when the size is 0)",
            ),
            ("px", shown & ((px < low) | (px > high)), f"a price {off_scale}"),
        ):
            rows, levels = np.nonzero(bad)
            if len(rows):
                value = (px if what == "px" else sz)[rows[0], levels[0]]
                raise where.error(
                    int(messages.number[rows[0]]),
                    f"{side}_{what}_{levels[0]:02d} is {_show(value)}; expected {expected}",
                )
    trade = messages.action == TRADE
    price = messages.price
    for bad, message in (
        (trade & (messages.size < 0), "trade size {size} is not a share count"),
        (trade & ~(np.isfinite(price) & (price > 0)),
         "trade price {price} is not a finite positive price"),
        (trade & ((price < low) | (price > high)),
         "trade price {price} is not a price " + off_scale),
        (trade & ~np.isin(messages.side, list(SIDES)),
         "trade side {side!r} is not A (seller aggressor), B (buyer aggressor) or N (unknown)"),
    ):  # fmt: skip
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise where.error(
                int(messages.number[i]),
                message.format(
                    size=messages.size[i],
                    price=_show(messages.price[i]),
                    side=chr(messages.side[i]),
                ),
            )


def _median_price(messages: Messages) -> float:
    """The median of the file's best bids and asks shown with size, and of its trade prices
    (NaN if it has none: then no price is off the scale)."""
    prices = [messages.price[(messages.action == TRADE) & (messages.price > 0)]]
    for side in ("bid", "ask"):
        px, sz = getattr(messages, f"{side}_px")[:, 0], getattr(messages, f"{side}_sz")[:, 0]
        prices.append(px[(sz > 0) & (px > 0)])
    values = np.concatenate(prices)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else float("nan")


def _show(value) -> str:
    return "blank" if isinstance(value, float) and np.isnan(value) else repr(value.item())


_CONTENT = ("ts_recv", "action", "side", "price", "size", "bid_px", "ask_px", "bid_sz", "ask_sz")


def _drop_duplicates(
    messages: Messages, sequence: np.ndarray, flags: np.ndarray | None, order: np.ndarray
) -> tuple[np.ndarray, int]:
    """``order`` without exact repeats: messages with the ts_event, venue, sequence number,
    flags and content of an earlier one (a file concatenated twice, a feed replayed). Only
    messages sharing (ts_event, venue, sequence) with another are compared, so clean files cost
    one pass."""
    ts, venue, seq = messages.ts_event[order], messages.publisher_id[order], sequence[order]
    same = (ts[1:] == ts[:-1]) & (venue[1:] == venue[:-1]) & (seq[1:] == seq[:-1])
    if not same.any():
        return order, 0
    grouped = np.r_[same, False] | np.r_[False, same]
    candidates = order[grouped]  # in sorted order: file order within a key
    columns = [messages.ts_event, messages.publisher_id, sequence]
    columns += [getattr(messages, name) for name in _CONTENT]
    if flags is not None:
        columns.append(flags)
    content = np.column_stack(
        [_as_int64(column[candidates]).reshape(len(candidates), -1) for column in columns]
    )
    first = np.unique(content, axis=0, return_index=True)[1]
    repeat = np.ones(len(candidates), dtype=bool)
    repeat[first] = False
    keep = np.ones(len(messages), dtype=bool)
    keep[candidates[repeat]] = False
    return order[keep[order]], int(repeat.sum())


def _as_int64(values: np.ndarray) -> np.ndarray:
    """Exact comparison of any column: floats by their bits (NaN equals NaN), ints widened."""
    if values.dtype.kind == "f":
        return np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
    return values.astype(np.int64)


def _out_of_sequence(venue: np.ndarray, sequence: np.ndarray) -> int:
    """Messages whose sequence number is below the one before them on the same venue, in
    (ts_event, sequence) order: rows whose timestamps and feed order disagree."""
    by_venue = np.argsort(venue, kind="stable")
    venue, sequence = venue[by_venue], sequence[by_venue]
    return int(((venue[1:] == venue[:-1]) & (sequence[1:] < sequence[:-1])).sum())


def fold(messages: Messages, window: Window, quality: DataQuality) -> Snapshots:
    """One row per (ts_event, venue): the venue's book after its last message at that instant,
    with every trade of the group kept as a print. Messages are ordered by (ts_event,
    publisher_id, sequence number when the file has one), equal keys in file order; exact
    repeats are dropped and counted. Consumes ``messages``, column by column, so that its peak
    memory stays near the size of the result."""
    count = len(messages)
    _release(messages, "number")  # checked already; nothing below names a message
    sequence = _release(messages, "sequence")
    flags = _release(messages, "flags")
    keys = [messages.publisher_id, messages.ts_event]
    if sequence is not None:
        keys.insert(0, sequence)
    if flags is not None:  # within one event, its last record last, whatever the file order
        keys.insert(0, (flags & F_LAST) != 0)
    order = np.lexsort(keys)  # stable: file order on ties
    duplicates = out_of_sequence = 0
    if sequence is not None:
        order, duplicates = _drop_duplicates(messages, sequence, flags, order)
        out_of_sequence = _out_of_sequence(messages.publisher_id[order], sequence[order])
        del sequence
    del flags
    kept = len(order)
    ts = _release(messages, "ts_event")[order]
    publisher = _release(messages, "publisher_id")[order]
    starts = np.flatnonzero(np.r_[True, (ts[1:] != ts[:-1]) | (publisher[1:] != publisher[:-1])])
    last = np.r_[starts[1:], len(ts)] - 1
    ts, publisher = ts[last], publisher[last].astype(np.int64)
    rows = order[last]
    del last
    trade = _release(messages, "action")[order] == TRADE
    prints = order[trade]
    del order
    per_row = np.add.reduceat(trade, starts, dtype=np.int64) if len(starts) else starts
    del trade, starts
    # A state cannot reach us before it happened: a ts_recv before ts_event (the capture and
    # exchange clocks apart) is read as ts_event, so no decision sees it early; counted.
    ts_recv = _release(messages, "ts_recv")[rows].astype(np.int64)
    received_early = int((ts_recv < ts).sum())
    ts_recv = np.maximum(ts_recv, ts)
    print_px = _release(messages, "price")[prints].astype(float)
    print_sz = _release(messages, "size")[prints].astype(np.int64)
    book = {}
    for side in ("ask", "bid"):
        book[f"{side}_sz"] = _release(messages, f"{side}_sz")[rows].astype(np.int64)
        book[f"{side}_px"] = _release(messages, f"{side}_px")[rows]
        book[f"{side}_px"][book[f"{side}_sz"] == 0] = np.nan
    side = _release(messages, "side")[prints]
    quality = replace(
        quality,
        rows_in_window=count - quality.rows_in_warmup,
        duplicates_dropped=duplicates,
        rows_out_of_sequence=out_of_sequence,
        rows_received_before_event=received_early,
        trade_rows=len(prints),
        prints_sell_aggressor=int((side == SELL_AGGRESSOR).sum()),
        prints_buy_aggressor=int((side == BUY_AGGRESSOR).sum()),
        prints_unknown_side=int((side == UNKNOWN_SIDE).sum()),
        messages_folded=kept - len(rows),
        snapshots=len(rows),
        crossed_snapshots=int((book["bid_px"][:, 0] >= book["ask_px"][:, 0]).sum()),
        empty_ask_snapshots=int((book["ask_sz"][:, 0] == 0).sum()),
    )
    return Snapshots(
        ts=ts,
        ts_recv=ts_recv,
        publisher_id=publisher,
        print_start=np.r_[0, np.cumsum(per_row)].astype(np.int64),
        print_px=print_px,
        print_sz=print_sz,
        print_side=side,
        window=window,
        quality=quality,
        **book,
    )
