"""``load_mbp``: one Databento file (CSV or DBN, plain or zstd) into Snapshots for a window;
``load_days``: several files, one trading day each.

The format is recognised by content (:mod:`router.data.files`); the CSV and DBN readers produce the
same :class:`~router.data.messages.Messages`, so the window, the checks and the fold are shared.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from router.data import lobster
from router.data.csv_reader import read_csv
from router.data.dbn_reader import open_dbn
from router.data.files import open_market_file
from router.data.lobster import is_pair
from router.data.marketdata import (
    MAX_DEPTH,
    NS_PER_DAY,
    NS_PER_SECOND,
    DataError,
    DataQuality,
    EmptyWindowError,
    Snapshots,
    Window,
)
from router.data.messages import Messages, Where, check, fold
from router.data.order_level import OrderMessages, Reference, order_events, rebuild


def load_mbp(
    path: str | Path,
    start: str = "13:36:32",
    end: str = "13:45:14",
    depth: int = 1,
    *,
    date: str | None = None,
    prices: str = "auto",
    warmup_s: float = 0.0,
) -> Snapshots:
    """Load a Databento MBP-1/MBP-10/TBBO/CMBP-1 file into :class:`Snapshots` for a UTC
    time-of-day window, with ``warmup_s`` seconds before it (as far as the file has them) for
    estimation only.

    ``path`` may be CSV or DBN, either compressed with zstd. ``date`` (YYYY-MM-DD) defaults to
    the file's trading date, the UTC date of its rows; a file spanning several dates needs it.
    ``prices`` says how CSV prices are written: ``auto`` (decide from the file, refusing what
    cannot be decided), ``decimal`` or ``fixed`` (Databento's integer units of 1e-9); DBN prices
    are always fixed-point. Rows outside the window are counted in ``quality``.
    """
    path = Path(path)
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_DEPTH}, got {depth}")
    if not path.is_file():
        raise FileNotFoundError(f"market data file not found: {path}")
    asked = Window.on(date or "1970-01-01", start, end, warmup_s)
    if is_pair(path):
        return _load_lobster(path, asked, date, depth)
    with open_market_file(path) as (source_format, stream):
        if source_format == "zip":
            return _load_lobster(path, asked, date, depth)
        if source_format.startswith("dbn"):
            schema, chunks = open_dbn(path, stream, depth)
            price_format, unit = "fixed", "record"
        else:
            chunks, schema, price_format = read_csv(path, stream, depth, prices)
            unit = "line"
        if isinstance(chunks, OrderMessages):
            counts = {"source_format": source_format, "schema": schema,
                      "price_format": price_format, "order_messages": len(chunks)}  # fmt: skip
            return order_snapshots(Where(path, unit), chunks, asked, date, depth, None, **counts)
        chunks = chunks if unit == "record" else [chunks]
        messages, window, counts = _in_window(Where(path, unit), chunks, asked, date)
    quality = DataQuality(
        source_format=source_format, schema=schema, price_format=price_format, **counts
    )
    return fold(messages, window, quality)


def read_order_messages(
    path: str | Path, date: str | None = None
) -> tuple[OrderMessages, Reference | None]:
    """An order-level file's messages (Databento MBO, or LOBSTER with its orderbook file as the
    reference book), whole: what exact queue positions are computed from."""
    path = Path(path)
    if is_pair(path):
        return lobster.order_messages(path, date)[:2]
    with open_market_file(path) as (source_format, stream):
        if source_format == "zip":
            return lobster.order_messages(path, date)[:2]
        if source_format.startswith("dbn"):
            schema, messages = open_dbn(path, stream, 1)
        else:
            messages, schema, _ = read_csv(path, stream, 1, "auto")
    if not isinstance(messages, OrderMessages):
        raise DataError(f"{path}: a {schema} file has no order ids; exact queue positions need "
                        "order-level data (Databento MBO or LOBSTER)")  # fmt: skip
    return messages, None


def _load_lobster(path: Path, asked: Window, date: str | None, depth: int) -> Snapshots:
    """A LOBSTER day (:mod:`router.data.lobster`), its orderbook file the reference book."""
    events, reference, counts = lobster.order_messages(path, date)
    text = {key: counts.pop(key) for key in ("source_format", "schema")}
    return order_snapshots(Where(path, "line"), events, asked, date, depth, reference,
                           price_format="lobster", **text, **counts)  # fmt: skip


def order_snapshots(
    where: Where,
    events: OrderMessages,
    asked: Window,
    date: str | None,
    depth: int,
    reference: Reference | None,
    **counts,
) -> Snapshots:
    """An order-level day's Snapshots for the window ``asked``: its book rebuilt from every
    message (the window's first state needs all those before it), then windowed and folded as
    any file's; ``counts`` go to quality. ``where`` names the messages in errors."""
    messages, built, prices = rebuild(events, depth, reference)
    if built.disagrees_at >= 0:
        line = int(events.number[built.disagrees_at])
        raise where.error(line, f"LOBSTER's orderbook line {line} disagrees with this message: "
                          "a level the previous line showed changed without a message (files "
                          "from different days or tickers, or cut?)")  # fmt: skip
    messages, window, window_counts = _in_window(where, [messages], asked, date)
    quality = DataQuality(**counts, **built.counts, **window_counts)
    snap = fold(messages, window, quality)
    orders, past = order_events(events, built, prices, snap)
    quality = replace(snap.quality, order_events=len(orders), order_events_past_last_row=past)
    return replace(snap, orders=orders, quality=quality)


def _in_window(
    where: Where, chunks: Iterable, asked: Window, date: str | None
) -> tuple[Messages, Window, dict[str, int]]:
    """The messages inside the window, checked chunk by chunk (one instrument, sensible
    values), and how many fell before and after it. A chunk has ``ts_event``,
    ``instrument_id`` (or None) and ``select(mask) -> Messages``."""
    path = where.path
    start, end = asked.start, asked.end
    window, days, instrument = None, [], None
    kept: list[Messages] = []
    read = before = warmup = after = 0
    for chunk in chunks:
        if not len(chunk):
            continue
        if window is None:
            first = date or _date_of(int(chunk.ts_event[0]))
            window = Window.on(first, start, end, asked.warmup_ns / NS_PER_SECOND)
        ts = chunk.ts_event
        days += [int(ts.min()) // NS_PER_DAY, int(ts.max()) // NS_PER_DAY]
        read += len(ts)
        before += int((ts < window.data_start_ns).sum())
        warmup += int(((ts >= window.data_start_ns) & (ts < window.start_ns)).sum())
        after += int((ts >= window.end_ns).sum())
        instrument = _one_instrument(chunk.instrument_id, where, instrument)
        inside = chunk.select((ts >= window.data_start_ns) & (ts < window.end_ns))
        del chunk, ts
        check(inside, where)
        kept.append(inside)
    if window is None:
        raise DataError(f"{path}: no records in the file")
    if date is None and min(days) != max(days):
        first, last = (_date_of(d * NS_PER_DAY) for d in (min(days), max(days)))
        raise DataError(
            f"{path}: rows span dates {first} to {last}; one trading day per file: pick the "
            "date with data.date (a single file), or split the file by date"
        )
    messages = Messages.concat(kept)
    if len(messages) == warmup:
        raise EmptyWindowError(
            f"{path}: no rows inside the window {window.date} {start} to {end} UTC "
            f"({before + warmup} rows before it, {after} after); check data.window and data.date",
            window.date,
        )
    counts = {
        "rows_read": read,
        "rows_before_window": before,
        "rows_in_warmup": warmup,
        "rows_after_window": after,
    }
    return messages, window, counts


def _date_of(ts_ns: int) -> str:
    return pd.Timestamp(ts_ns, tz="UTC").strftime("%Y-%m-%d")


def _one_instrument(ids: np.ndarray | None, where: Where, seen: int | None) -> int | None:
    """The file's one instrument id (``seen``: the one earlier chunks had), or an error naming
    the ids found."""
    if ids is None or not len(ids):
        return seen
    first = int(ids[0]) if seen is None else seen
    if (ids != first).any():
        listed = ", ".join(str(i) for i in np.unique(np.r_[first, ids])[:5])
        raise DataError(
            f"{where.path}: several instruments ({listed}); load one instrument per file"
        )
    return first


def expand_paths(patterns: Sequence[str | Path]) -> list[Path]:
    """Files named or matched by glob patterns, each once, in the order given (a pattern's
    matches sorted). A pattern that matches nothing is an error naming it."""
    paths: list[Path] = []
    for pattern in patterns:
        text = str(pattern)
        matches = sorted(glob.glob(text)) if glob.has_magic(text) else [text]
        if glob.has_magic(text) and not matches:
            raise DataError(f"data.path: the pattern {text} matches no file")
        paths += [Path(m) for m in matches if Path(m) not in paths]
    return paths


def load_days(
    paths: Sequence[str | Path],
    start: str = "13:36:32",
    end: str = "13:45:14",
    depth: int = 1,
    *,
    prices: str = "auto",
    warmup_s: float = 0.0,
    skip_empty: bool = False,
) -> tuple[list[Snapshots], list[str]]:
    """One Snapshots per file, each its own trading day, in date order; and the days skipped.

    Each file's date is its own (the window applies to each); two files of the same date are an
    error naming both. A day with no rows in the window is an error, or skipped and named when
    ``skip_empty``.
    """
    days: list[Snapshots] = []
    skipped: list[str] = []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            day = load_mbp(path, start, end, depth, prices=prices, warmup_s=warmup_s)
        except EmptyWindowError as exc:
            if not skip_empty:
                raise EmptyWindowError(
                    f"{exc} (or set data.skip_empty_days: true to skip such days)", exc.date
                ) from None
            skipped.append(f"{exc.date} ({path})")
            continue
        date = day.window.date
        if date in seen:
            raise DataError(
                f"{path}: trading date {date} again (also {seen[date]}); one file per day"
            )
        seen[date] = Path(path)
        days.append(day)
    if not days:
        raise DataError(f"no day has rows inside the window {start} to {end} UTC: {skipped}")
    return sorted(days, key=lambda d: d.window.date), skipped
