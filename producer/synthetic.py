"""Synthetic multi-venue days in Databento's CSV or DBN form: MBP-10, or MBO order by order.

Why: the router backtester needs realistic order-book data that anyone can regenerate
bit-for-bit from a seed, without a data licence. The file mimics a Databento ``mbp-10`` file
for AAPL across several US equity venues; by default the window 13:36:32-13:45:14 UTC, and any
window up to the whole regular session (13:30-20:00 UTC).

How it works:
1. ``producer.market`` simulates one market on several venues (a latent price, queue-reactive
   books, Reg NMS routing; see docs/market.md) and emits each venue's book after every event.
2. Each venue's feed reaches us a little later (``ts_recv``), in order, with its own sequence
   numbers; rows are merged in ``ts_recv`` order.
3. Rows are written in blocks as they are made (CSV, or DBN with databento-dbn's metadata;
   ``.zst``: zstd-compressed), so a whole session never sits in memory at once.
4. With ``--schema mbo``, :mod:`producer.orders` says which orders each event was, and the
   day is written as Databento MBO records instead (the DBN layout databento-dbn publishes; the
   CSV its Transcoder writes), each record received when its event's MBP-10 row is: the MBP-10
   the same seed writes is what our book builder makes of the MBO.

Usage: ``python -m producer.synthetic --seed 1 --venues 4 --out data/aapl.csv [--schema mbo]``
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import BinaryIO

import databento_dbn
import numpy as np
import pandas as pd
import zstandard

from producer.market import (
    LEVELS,
    Market,
    MarketParams,
    VenueStyle,
    draw_styles,
    event_times,
    expected_events,
)
from producer.orders import NO_EVENT, Orders
from router.data.dbn_reader import record_dtype
from router.data.marketdata import Window, parse_time_of_day
from router.data.prices import FIXED_SCALE

PUBLISHER_IDS = (2, 5, 8, 9, 37, 38, 43, 44)  # Databento US-equities publishers, in use order
MAX_VENUES = len(PUBLISHER_IDS)
RTYPE_MBP10 = 10
RTYPE_MBO = 160
SCHEMAS = ("mbp-10", "mbo")
INSTRUMENT_ID = 38
SYMBOL = "AAPL"
DATASET = "SOR.SYNTHETIC"  # not a Databento dataset: the file says it is ours
FORMATS = ("csv", "dbn")
CENT_FIXED = FIXED_SCALE // 100  # Databento fixed-point units (1e-9 dollars) per cent
UNDEF_PRICE = databento_dbn.UNDEF_PRICE

WINDOW_START, WINDOW_END = "13:36:32", "13:45:14"  # the task's window, inclusive at 1 s
SESSION_OPEN = "13:30:00"  # the regular session opens at 9:30 New York (6.5 h: market.SESSION_S)
END_MARGIN_NS = 5_000_000  # events stop this early so every ts_recv falls inside the window
START_MID_CENTS = 22_290.0  # AAPL near $222.90, as on 2024-08-01
OVERNIGHT_SD = 0.003  # day d+1 opens within about 0.3 % of day d's close
ROWS_PER_EVENT = 1.11  # a trade writes two rows per venue it prints on (measured)
BLOCK_EVENTS = 50_000  # events simulated between two writes

BOOK_FIELDS = ("bid_px", "ask_px", "bid_sz", "ask_sz", "bid_ct", "ask_ct")
BOOK_COLUMNS = [f"{field}_{level:02d}" for level in range(LEVELS) for field in BOOK_FIELDS]
COLUMNS = [
    "ts_recv", "ts_event", "rtype", "publisher_id", "instrument_id", "action", "side",
    "depth", "price", "size", "flags", "ts_in_delta", "sequence", *BOOK_COLUMNS, "symbol",
]  # fmt: skip
PRICE_COLUMNS = ["price", *(c for c in BOOK_COLUMNS if "_px_" in c)]


class _Feed:
    """Each venue's feed as we receive it: ``ts_recv`` one feed latency after the event (every
    row of an event in one packet, a feed never out of order), ``ts_in_delta``, sequence
    numbers with gaps (other symbols share the feed); rows merged in ``ts_recv`` order."""

    def __init__(self, rng: np.random.Generator, styles: list[VenueStyle]) -> None:
        self.rng = rng
        self.latency = np.array([style.latency_ns for style in styles])
        self.last_recv = np.zeros(len(styles), np.int64)
        self.sequence = rng.integers(1_000_000, 90_000_000, len(styles))
        self.held: dict[str, np.ndarray] | None = None

    def receive(self, rows: dict[str, np.ndarray], horizon: int | None) -> dict[str, np.ndarray]:
        """Stamp ``rows`` and return, in ``ts_recv`` order, every row received by ``horizon``
        (None: all); later rows wait for the next call. Rows made after ``horizon`` have
        events after it, so nothing still to come is received before what is returned."""
        count, venue = len(rows["venue"]), rows["venue"]
        latency = self.latency[venue] + self.rng.exponential(15_000, count)
        latency = np.clip(latency, 10_000, 200_000).astype(np.int64)
        steps = np.arange(count)
        same_event = np.r_[False, (np.diff(rows["ts_event"]) == 0) & (np.diff(venue) == 0)]
        latency = latency[np.maximum.accumulate(np.where(same_event, 0, steps))]
        recv = rows["ts_event"] + latency
        gaps = self.rng.integers(1, 4, count)
        sequence = np.empty(count, np.int64)
        for k in range(len(self.latency)):
            mine = venue == k
            if mine.any():
                recv[mine] = np.maximum.accumulate(np.r_[self.last_recv[k], recv[mine]])[1:]
                sequence[mine] = self.sequence[k] + np.cumsum(gaps[mine])
                self.last_recv[k], self.sequence[k] = recv[mine][-1], sequence[mine][-1]
        rows = rows | {
            "ts_recv": recv,
            "ts_in_delta": self.rng.integers(10_000, 300_001, count),
            "sequence": sequence,
        }
        if self.held is not None:
            rows = {name: np.concatenate([self.held[name], rows[name]]) for name in rows}
        order = np.argsort(rows["ts_recv"], kind="stable")  # ties keep the order of events
        rows = {name: values[order] for name, values in rows.items()}
        cut = len(order) if horizon is None else np.searchsorted(rows["ts_recv"], horizon, "right")
        self.held = {name: values[cut:] for name, values in rows.items()}
        return {name: values[:cut] for name, values in rows.items()}


class _Writer:
    """Databento CSV or DBN, written block by block to a temp file that replaces ``path`` only
    when complete (readers never see half a file); ``.zst``: one zstd stream. MBO CSV is what
    databento-dbn's Transcoder writes from the DBN records."""

    def __init__(
        self, path: Path, fmt: str, window: Window, publishers: np.ndarray, schema: str
    ) -> None:
        self.path, self.fmt, self.window, self.publishers = path, fmt, window, publishers
        self.schema = schema
        self.count = 0

    @contextlib.contextmanager
    def open(self) -> Iterator[_Writer]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "wb") as raw:
                if self.path.suffix == ".zst":
                    with zstandard.ZstdCompressor().stream_writer(raw) as packed:
                        yield self._start(packed)
                        self._finish()
                else:
                    yield self._start(raw)
                    self._finish()
            os.chmod(tmp, 0o644)  # mkstemp creates owner-only files; data files are shared
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _start(self, out: BinaryIO) -> _Writer:
        self.out = out
        metadata = _dbn_metadata(self.window, self.schema)
        if self.schema == "mbo" and self.fmt == "csv":
            self.out = databento_dbn.Transcoder(
                out, databento_dbn.Encoding.CSV, databento_dbn.Compression.NONE,
                pretty_px=True, pretty_ts=True, map_symbols=True,
            )  # fmt: skip
            self.out.write(metadata)
        elif self.fmt == "dbn":
            out.write(metadata)
        else:
            out.write((",".join(COLUMNS) + "\n").encode())
        return self

    def _finish(self) -> None:
        if isinstance(self.out, databento_dbn.Transcoder):
            self.out.flush()

    def write(self, rows: dict[str, np.ndarray]) -> None:
        if not len(rows["ts_recv"]):
            return
        if self.schema == "mbo":
            write = _mbo_records
        else:
            write = _dbn_records if self.fmt == "dbn" else _csv_rows
        self.out.write(write(rows, self.publishers[rows["venue"]]))
        self.count += len(rows["ts_recv"])


class _OrderFeed:
    """The MBO records of events whose MBP-10 rows were received: each record gets its row's
    ``ts_recv``, ``ts_in_delta`` and sequence number, in the rows' received order (an event's
    records in the order made); the opening snapshot first, received as it happens."""

    def __init__(self) -> None:
        self.held: dict[str, np.ndarray] | None = None

    def receive(
        self, rows: dict[str, np.ndarray], records: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """The records ready once ``rows`` (received, from :class:`_Feed`) are: the rest wait."""
        if self.held is not None:
            records = {name: np.concatenate([self.held[name], records[name]]) for name in records}
        event = records["event"]
        position = np.full(len(event), -1, dtype=np.int64)  # the row of each record's event
        found = event == NO_EVENT
        if len(rows["id"]):
            by_id = np.argsort(rows["id"])
            j = np.minimum(np.searchsorted(rows["id"], event, sorter=by_id), len(by_id) - 1)
            hit = rows["id"][by_id[j]] == event
            position[hit] = by_id[j][hit]
            found |= hit
        self.held = {name: values[~found] for name, values in records.items()}
        chosen = np.flatnonzero(found)
        chosen = chosen[np.argsort(position[chosen], kind="stable")]  # the opening first
        out = {name: values[chosen] for name, values in records.items()}
        row, opening = position[chosen], position[chosen] < 0
        for name in ("ts_recv", "ts_in_delta", "sequence"):
            inherited = rows[name][np.maximum(row, 0)] if len(rows["id"]) else row * 0
            alone = out["ts_event"] if name == "ts_recv" else 0
            out[name] = np.where(opening, alone, inherited)
        return out


def _csv_rows(rows: dict[str, np.ndarray], publisher: np.ndarray) -> bytes:
    """Databento's CSV: ISO-8601 UTC timestamps with nanoseconds and a Z, prices in dollars
    with two decimals."""
    frame = pd.DataFrame(rows["book"], columns=BOOK_COLUMNS)
    for column in ("ts_recv", "ts_event"):
        text = np.datetime_as_string(rows[column].astype("datetime64[ns]"), unit="ns")
        frame[column] = np.char.add(text, "Z")
    frame["rtype"], frame["instrument_id"], frame["symbol"] = RTYPE_MBP10, INSTRUMENT_ID, SYMBOL
    frame["publisher_id"] = publisher
    frame["action"] = rows["action"].astype(np.uint8).view("S1").astype(str)
    frame["side"] = rows["side"].astype(np.uint8).view("S1").astype(str)
    for name in ("depth", "price", "size", "flags", "ts_in_delta", "sequence"):
        frame[name] = rows[name]
    frame[PRICE_COLUMNS] = frame[PRICE_COLUMNS] / 100
    return (
        frame[COLUMNS]
        .to_csv(index=False, header=False, float_format="%.2f", lineterminator="\n")
        .encode()
    )


def _packed(
    schema: str, rtype: int, rows: dict[str, np.ndarray], publisher: np.ndarray, fields: tuple
) -> np.ndarray:
    """Records of ``schema`` in the layout databento-dbn publishes: the header, ``fields`` as
    they are, action and side as one ASCII character each; prices are the caller's."""
    records = np.zeros(len(publisher), dtype=record_dtype(schema))
    records["length"] = records.dtype.itemsize // 4
    records["rtype"], records["instrument_id"] = rtype, INSTRUMENT_ID
    records["publisher_id"] = publisher
    for name in fields:
        records[name] = rows[name]
    for name in ("action", "side"):
        records[name] = rows[name].astype(np.uint8).view("S1")
    return records


def _dbn_records(rows: dict[str, np.ndarray], publisher: np.ndarray) -> bytes:
    """MBP-10 records (prices in databento-dbn's fixed-point units of 1e-9 dollars)."""
    fields = ("ts_recv", "ts_event", "depth", "size", "flags", "ts_in_delta", "sequence")
    records = _packed("mbp-10", RTYPE_MBP10, rows, publisher, fields)
    records["price"] = rows["price"] * CENT_FIXED
    for index, column in enumerate(BOOK_COLUMNS):
        values = rows["book"][:, index].astype(np.int64)
        records[column] = values * CENT_FIXED if "_px_" in column else values
    return records.tobytes()


def _mbo_records(rows: dict[str, np.ndarray], publisher: np.ndarray) -> bytes:
    """MBO records (prices in 1e-9 dollars; a clear has none)."""
    fields = ("ts_recv", "ts_event", "order_id", "size", "flags", "ts_in_delta", "sequence")
    records = _packed("mbo", RTYPE_MBO, rows, publisher, fields)
    undefined = rows["action"] == ord("R")
    records["price"] = np.where(undefined, UNDEF_PRICE, rows["price"] * CENT_FIXED)
    return records.tobytes()


def _dbn_metadata(window: Window, schema: str = "mbp-10") -> bytes:
    """databento-dbn's own metadata encoder: dataset, schema, window, the symbol mapping."""
    day = dt.date.fromisoformat(window.date)
    mapping = SimpleNamespace(
        raw_symbol=SYMBOL,
        intervals=[SimpleNamespace(start_date=day, end_date=day + dt.timedelta(days=1),
                                   symbol=str(INSTRUMENT_ID))],
    )  # fmt: skip
    metadata = databento_dbn.Metadata(
        dataset=DATASET, schema=databento_dbn.Schema.from_str(schema), start=window.start_ns,
        end=window.end_ns, stype_in=databento_dbn.SType.RAW_SYMBOL,
        stype_out=databento_dbn.SType.INSTRUMENT_ID, symbols=[SYMBOL], mappings=[mapping],
    )  # fmt: skip
    return metadata.encode()


def generate(
    path: str | Path,
    *,
    seed: int | np.random.SeedSequence = 0,
    venues: int = 4,
    date: str = "2024-08-01",
    start: str = WINDOW_START,
    end: str = WINDOW_END,
    rows: int | None = None,
    fmt: str = "csv",
    open_mid: float = START_MID_CENTS,
    schema: str = "mbp-10",
) -> int:
    """Write one synthetic day to ``path``; the same arguments give the same bytes.

    ``start``/``end``: the UTC window, ``end`` inclusive at the resolution written (as in the
    config). ``rows``: about this many records (the event rate is scaled to it); None: the
    market's own rate. ``fmt`` is ``csv`` or ``dbn``; a path ending in ``.zst`` is compressed
    with zstd. ``open_mid``: the latent price at ``start``, in cents. ``schema``: ``mbp-10``,
    or ``mbo`` (the same market order by order, with an opening snapshot). Returns the number
    of records written.
    """
    return _day(Path(path), seed, venues, date, start, end, rows, fmt, open_mid, schema)[0]


def _day(
    path: Path,
    seed: int | np.random.SeedSequence,
    venues: int,
    date: str,
    start: str,
    end: str,
    rows: int | None,
    fmt: str,
    open_mid: float,
    schema: str = "mbp-10",
) -> tuple[int, float]:
    """``generate``, also returning the latent price at the close (the next day opens near)."""
    if not 1 <= venues <= MAX_VENUES:
        raise ValueError(f"venues must be between 1 and {MAX_VENUES}, got {venues}")
    if rows is not None and rows < 1:
        raise ValueError(f"rows must be positive, got {rows}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if schema not in SCHEMAS:
        raise ValueError(f"schema must be one of {', '.join(SCHEMAS)}, got {schema!r}")
    window = Window.on(date, start, end)
    last_ns = window.end_ns - END_MARGIN_NS
    if last_ns <= window.start_ns:
        raise ValueError(f"window {start}-{end} is too short: it must last more than 5 ms")
    open_offset_s = (window.start_ns - Window.on(date, SESSION_OPEN, SESSION_OPEN).start_ns) / 1e9
    market_rng, feed_rng, order_rng = np.random.default_rng(seed).spawn(3)
    params = MarketParams()
    styles = draw_styles(market_rng, venues)
    if rows is None:
        events = market_rng.poisson(
            expected_events(params.events_per_s, window.start_ns, last_ns, open_offset_s)
        )
    else:
        events = max(1, round(rows / ROWS_PER_EVENT))
    times = event_times(market_rng, window.start_ns, last_ns, events, open_offset_s)
    mbo = schema == "mbo"
    book = Orders(order_rng, venues, record=mbo)
    market = Market(market_rng, styles, params, open_mid, book, window.start_ns - 1)
    feed, orders = _Feed(feed_rng, styles), _OrderFeed()

    def received(horizon: int | None) -> dict[str, np.ndarray]:
        rows = feed.receive(market.rows.drain(), horizon)
        return orders.receive(rows, book.records.drain()) if mbo else rows

    publishers = np.array(PUBLISHER_IDS[:venues])
    with _Writer(path, fmt, window, publishers, schema).open() as out:
        for first in range(0, len(times), BLOCK_EVENTS):
            block = times[first : first + BLOCK_EVENTS]
            draws = market_rng.random((len(block), 8)).tolist()
            for ts, u in zip(block.tolist(), draws, strict=True):
                market.step(ts, u)
            out.write(received(int(block[-1])))
        out.write(received(None))
    return out.count, market.latent


def trading_days(first: str, count: int) -> list[str]:
    """``count`` consecutive weekdays from ``first`` (itself moved to a weekday if needed)."""
    return [d.strftime("%Y-%m-%d") for d in pd.bdate_range(first, periods=count)]


def day_seed(seed: int, day: int) -> int | np.random.SeedSequence:
    """Day 0 keeps ``seed`` itself (``--days 1`` writes the same file as ``--days 3``'s first);
    later days get independent streams derived from it."""
    return seed if day == 0 else np.random.SeedSequence([seed, day])


def day_path(out: Path, date: str) -> Path:
    """``aapl.csv`` -> ``aapl-20240801.csv`` (``.dbn.zst`` and other suffixes kept)."""
    stem = out.name.split(".", 1)
    suffix = "." + stem[1] if len(stem) > 1 else ""
    return out.with_name(f"{stem[0]}-{date.replace('-', '')}{suffix}")


def generate_days(
    out: str | Path,
    *,
    seed: int,
    days: int,
    date: str = "2024-08-01",
    venues: int = 4,
    start: str = WINDOW_START,
    end: str = WINDOW_END,
    rows: int | None = None,
    fmt: str = "csv",
    schema: str = "mbp-10",
) -> list[Path]:
    """``days`` consecutive trading days, one file each (``day_path``), distinct seeds; each
    day opens near the previous day's close (an overnight move of about ``OVERNIGHT_SD``)."""
    paths, mid = [], START_MID_CENTS
    for number, day in enumerate(trading_days(date, days)):
        path = day_path(Path(out), day)
        seed_of_day = day_seed(seed, number)
        if number:
            gap = np.random.default_rng(seed_of_day).normal(0, OVERNIGHT_SD)
            mid *= float(np.exp(gap))
        _, mid = _day(path, seed_of_day, venues, day, start, end, rows, fmt, mid, schema)
        paths.append(path)
    return paths


def ensure(path: str | Path, *, seed: int, venues: int) -> bool:
    """Generate the file at ``path`` unless it exists (the embedded default day); True if made."""
    path = Path(path)
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    generate(path, seed=seed, venues=venues)
    return True


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point; see the module docstring for an example."""
    parser = argparse.ArgumentParser(description="Write synthetic Databento MBP-10 or MBO days.")
    parser.add_argument("--seed", type=int, required=True, help="random seed")
    parser.add_argument("--venues", type=int, default=4, help=f"1-{MAX_VENUES} venues")
    parser.add_argument(
        "--out", type=Path, required=True,
        help="file to write (.zst: zstd-compressed); with --days N, one file per day named "
        "STEM-YYYYMMDD.SUFFIX",
    )  # fmt: skip
    parser.add_argument("--date", default="2024-08-01", help="(first) trading day, YYYY-MM-DD")
    parser.add_argument("--days", type=int, default=1, help="consecutive weekdays to write")
    parser.add_argument("--start", default=WINDOW_START, help="window start, HH:MM[:SS] UTC")
    parser.add_argument(
        "--end", default=WINDOW_END,
        help="window end, HH:MM[:SS] UTC, inclusive at the resolution written (a whole regular "
        "session: --start 13:30 --end 19:59:59)",
    )  # fmt: skip
    parser.add_argument(
        "--rows", type=int, help="about this many records per day (default: the market's own "
        "rate, ~120 rows/s near the open)",
    )  # fmt: skip
    parser.add_argument("--format", choices=FORMATS, default="csv", help="Databento CSV or DBN")
    parser.add_argument(
        "--schema", choices=SCHEMAS, default="mbp-10",
        help="mbp-10, or mbo: the same market order by order (what our book builder makes of it "
        "is the mbp-10 the same seed writes)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if not 1 <= args.venues <= MAX_VENUES:
        parser.error(f"--venues must be between 1 and {MAX_VENUES}")
    if args.days < 1:
        parser.error("--days must be at least 1")
    for name in ("start", "end"):
        try:
            parse_time_of_day(getattr(args, name))
        except ValueError as exc:
            parser.error(f"--{name}: {exc}")
    options = {"venues": args.venues, "start": args.start, "end": args.end, "rows": args.rows,
               "fmt": args.format, "schema": args.schema}  # fmt: skip
    if args.days == 1:
        written = generate(args.out, seed=args.seed, date=args.date, **options)
        print(f"wrote {written} rows to {args.out}")
        return
    for path in generate_days(args.out, seed=args.seed, days=args.days, date=args.date, **options):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
