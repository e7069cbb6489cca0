"""Synthetic multi-venue MBP-10 data in Databento's CSV schema.

Why: the router backtester needs realistic order-book data that anyone can regenerate
bit-for-bit from a seed, without a data licence. The file mimics a Databento ``mbp-10``
CSV for AAPL across several US equity venues during 13:36:32-13:45:14 UTC.

How it works, in three steps:
1. Draw bursty event times and a common mid price (a mean-reverting random walk).
2. Replay the events one by one: each touches one venue's 10-level book (add, cancel,
   modify or trade) and emits one row with that venue's full book after the event.
   Books drift towards the mid, so venues follow the same price with their own spread.
3. Add receive timestamps and sequence numbers, sort by ``ts_recv`` and write the CSV.

Usage: ``python -m producer.synthetic --seed 1 --venues 4 --out data/aapl.csv``
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import databento_dbn
import numpy as np
import pandas as pd
import zstandard

from router.dbn_reader import record_dtype
from router.prices import FIXED_SCALE

PUBLISHER_IDS = (2, 5, 8, 9, 37, 38, 43, 44)  # Databento US-equities publishers, in use order
MAX_VENUES = len(PUBLISHER_IDS)
LEVELS = 10
RTYPE_MBP10 = 10
INSTRUMENT_ID = 38
SYMBOL = "AAPL"
DATASET = "SOR.SYNTHETIC"  # not a Databento dataset: the file says it is ours
FORMATS = ("csv", "dbn")
CENT_FIXED = FIXED_SCALE // 100  # Databento fixed-point units (1e-9 dollars) per cent

WINDOW_START = "13:36:32"
WINDOW_NS = 522_999_999_999  # up to and including 13:45:14.999999999
BUCKET_NS = 100_000_000  # activity and mid price change every 100 ms
END_MARGIN_NS = 1_000_000  # keeps ts_recv (event time + latency) inside the window

START_MID_CENTS = 22_290.0
MID_FLOOR_CENTS, MID_CEIL_CENTS = 22_255.0, 22_345.0  # keeps the mid near 222.5-223.5
MID_VOL_CENTS = 0.45  # shock per 100 ms bucket at average activity (~1.4 cent per sqrt(s))
MID_REVERSION = 0.9997  # per bucket; pulls the mid back to its start over minutes

TRADE_P = 0.08  # share of free (non-realigning) events that are trades
ADD_P, CANCEL_P = 0.40, 0.47  # the remaining non-trade events are modifies
DEPTH_WEIGHTS = 0.75 ** np.arange(LEVELS)  # activity concentrates near the top of book
DEPTH_CDF = np.cumsum(DEPTH_WEIGHTS / DEPTH_WEIGHTS.sum()).tolist()

FLAG_LAST = 130  # F_LAST plus the publisher bit that Databento's equity feeds carry
FLAG_MORE = 0  # a row followed by another row of the same event

BOOK_FIELDS = ("bid_px", "ask_px", "bid_sz", "ask_sz", "bid_ct", "ask_ct")
COLUMNS = [
    "ts_recv", "ts_event", "rtype", "publisher_id", "instrument_id", "action", "side",
    "depth", "price", "size", "flags", "ts_in_delta", "sequence",
    *[f"{field}_{level:02d}" for level in range(LEVELS) for field in BOOK_FIELDS],
    "symbol",
]  # fmt: skip

Row = tuple[str, str, int, int, int, int, list[int]]  # action, side, depth, px, size, flags, book


@dataclass(frozen=True)
class Venue:
    """Per-venue personality, so venues differ the way real exchanges do."""

    publisher_id: int
    spread: int  # usual spread in cents
    offset: float  # where the venue's quotes sit around the common mid, in cents
    level_size: float  # typical displayed shares of a newly created top level
    odd_lot_p: float  # chance an order is an odd or mixed lot (37, 250, ...)
    large_lot_p: float  # chance an order is a 1,000-5,000 share block
    share: float  # this venue's share of all events
    latency_ns: float  # typical gap between ts_event and ts_recv
    responsiveness: float  # chance an event re-centres a stale book on the mid


def _draw_venues(rng: np.random.Generator, count: int) -> list[Venue]:
    """Draw venue parameters; venue 0 (XNAS) is the tightest and busiest, as in practice."""
    weights = np.concatenate([[rng.uniform(1.8, 2.2)], rng.uniform(0.7, 1.3, count - 1)])
    shares = weights / weights.sum()  # 4 venues: XNAS ~40%, the rest ~20% each
    venues = []
    for k in range(count):
        venues.append(
            Venue(
                publisher_id=PUBLISHER_IDS[k],
                spread=1 if k == 0 else int(rng.choice([1, 2, 3], p=[0.15, 0.5, 0.35])),
                offset=rng.uniform(-0.45, 0.45),
                level_size=rng.uniform(500, 900) if k == 0 else rng.uniform(100, 700),
                odd_lot_p=rng.uniform(0.05, 0.2),
                large_lot_p=rng.uniform(0.005, 0.03),
                share=float(shares[k]),
                latency_ns=rng.uniform(20_000, 120_000),
                responsiveness=rng.uniform(0.5, 0.9),
            )
        )
    return venues


def _order_size(rng: np.random.Generator, venue: Venue) -> int:
    """One order's shares: mostly round lots, some odd/mixed lots, rare large blocks."""
    u = rng.random()
    if u < venue.large_lot_p:
        return 100 * int(10 + 41 * rng.random())
    if u < venue.large_lot_p + venue.odd_lot_p:
        odd = int(1 + 99 * rng.random())
        return odd if rng.random() < 0.5 else odd + 100 * int(1 + 4 * rng.random())
    return 100 * int(rng.geometric(0.55))


class _Side:
    """One side of a book: ten (price, size, count) levels, best first, prices in cents."""

    def __init__(self, best: int, step: int, sizes: list[int], counts: list[int]) -> None:
        self.step = step  # -1 for bids (deeper is cheaper), +1 for asks
        self.px = [best + step * level for level in range(LEVELS)]
        self.sz = sizes
        self.ct = counts

    def change(self, depth: int, shares: int, orders: int) -> None:
        """Apply a size change; keep the order count plausible for the new size."""
        self.sz[depth] += shares
        self.ct[depth] = max(1, min(self.ct[depth] + orders, self.sz[depth] // 100 + 1))

    def pop_best(self, gap: int, size: int, count: int) -> None:
        """Drop the emptied best level; a new level appears at the back of the book."""
        for levels in (self.px, self.sz, self.ct):
            del levels[0]
        self.px.append(self.px[-1] + self.step * gap)
        self.sz.append(size)
        self.ct.append(count)

    def push_best(self, size: int) -> None:
        """Open a new best level one cent better; the deepest level falls out of view."""
        self.px.insert(0, self.px[0] - self.step)
        self.sz.insert(0, size)
        self.ct.insert(0, 1)
        for levels in (self.px, self.sz, self.ct):
            del levels[LEVELS]


class _VenueBook:
    """A venue's book plus the rules that turn one random draw into one event."""

    def __init__(self, rng: np.random.Generator, venue: Venue, mid_cents: float) -> None:
        self.rng = rng
        self.venue = venue
        best_bid, best_ask = self.targets(mid_cents)
        self.bid = _Side(best_bid, -1, *self._fresh_levels())
        self.ask = _Side(best_ask, +1, *self._fresh_levels())

    def targets(self, mid_cents: float) -> tuple[int, int]:
        """Where this venue's best bid and ask belong for the given mid."""
        bid = math.floor(mid_cents + self.venue.offset - self.venue.spread / 2)
        return bid, bid + self.venue.spread

    def snapshot(self) -> list[int]:
        """The book in CSV column order: per level bid/ask price, size, count."""
        b, a = self.bid, self.ask
        return [x for lvl in zip(b.px, a.px, b.sz, a.sz, b.ct, a.ct, strict=True) for x in lvl]

    def step(self, mid_cents: float, allow_trade: bool) -> list[Row]:
        """Run one event; a trade yields two rows (the print, then the book update)."""
        rng = self.rng
        if rng.random() < self.venue.responsiveness:
            rows = self._realign(mid_cents, allow_trade)
            if rows:
                return rows
        side = self.bid if rng.random() < 0.5 else self.ask
        u = rng.random()
        if allow_trade and u < TRADE_P:
            return self._trade(side, full=False)
        depth = min(bisect.bisect_right(DEPTH_CDF, rng.random()), LEVELS - 1)
        u = rng.random()
        if u < CANCEL_P and side.sz[depth] > 1:
            shares = min(_order_size(rng, self.venue), side.sz[depth] - 1)
            side.change(depth, -shares, -1)
            return [self._row("C", side, depth, shares)]
        if u < CANCEL_P + ADD_P:
            shares = _order_size(rng, self.venue)
            side.change(depth, shares, +1)
            return [self._row("A", side, depth, shares)]
        old = min(_order_size(rng, self.venue), side.sz[depth])
        new = _order_size(rng, self.venue)
        side.change(depth, new - old, 0)
        return [self._row("M", side, depth, new)]

    def _realign(self, mid_cents: float, allow_trade: bool) -> list[Row]:
        """Move a stale best level one step towards the mid; [] when already aligned."""
        bid_target, ask_target = self.targets(mid_cents)
        bid, ask = self.bid, self.ask
        for side, too_aggressive in ((bid, bid.px[0] > bid_target), (ask, ask.px[0] < ask_target)):
            if too_aggressive:  # the price moved away: the level is traded through or pulled
                if allow_trade and self.rng.random() < 0.3:
                    return self._trade(side, full=True)
                price, shares = side.px[0], side.sz[0]
                self._pop_best(side)
                return [self._row("C", side, 0, shares, price=price)]
        if bid.px[0] < bid_target and bid.px[0] + 1 < ask.px[0]:
            return [self._improve(bid)]
        if ask.px[0] > ask_target and ask.px[0] - 1 > bid.px[0]:
            return [self._improve(ask)]
        return []

    def _improve(self, side: _Side) -> Row:
        """A new order one cent better than the best opens a new top level."""
        shares = _order_size(self.rng, self.venue)
        side.push_best(shares)
        return self._row("A", side, 0, shares)

    def _trade(self, side: _Side, full: bool) -> list[Row]:
        """An aggressor takes liquidity at the best level of ``side``.

        Databento prints the trade first (book unchanged) and the resulting book
        change as a second row with the same ts_event.
        """
        price, level_size = side.px[0], side.sz[0]
        shares = level_size if full else min(_order_size(self.rng, self.venue), level_size)
        aggressor = "A" if side is self.bid else "B"
        rows = [("T", aggressor, 0, price, shares, FLAG_MORE, self.snapshot())]
        if shares == level_size:
            self._pop_best(side)
        else:
            side.change(0, -shares, -1 if shares >= 100 else 0)
        rows.append(self._row("C", side, 0, shares, price=price))
        return rows

    def _pop_best(self, side: _Side) -> None:
        """Remove the best level and refill the back of the book."""
        sizes, counts = self._fresh_levels(1)
        gap = 2 if self.rng.random() < 0.1 else 1
        side.pop_best(gap, sizes[0], counts[0])

    def _fresh_levels(self, count: int = LEVELS) -> tuple[list[int], list[int]]:
        """Sizes and order counts for new levels; deeper levels rest a little more size."""
        sizes, counts = [], []
        for level in range(LEVELS - count, LEVELS):
            mean_orders = self.venue.level_size * (1 + 0.15 * level) / 200
            orders = 1 + int(self.rng.poisson(max(mean_orders - 1, 0.1)))
            size = sum(_order_size(self.rng, self.venue) for _ in range(orders))
            sizes.append(size)
            counts.append(min(orders, size // 100 + 1))
        return sizes, counts

    def _row(
        self, action: str, side: _Side, depth: int, shares: int, price: int | None = None
    ) -> Row:
        """A finished single-row event, carrying the book after the change."""
        px = side.px[depth] if price is None else price
        side_code = "B" if side is self.bid else "A"
        return (action, side_code, depth, px, shares, FLAG_LAST, self.snapshot())


def _activity(rng: np.random.Generator, buckets: int) -> np.ndarray:
    """Relative event rate per 100 ms: a slowly varying level times short bursts."""
    level = np.empty(buckets)
    x = 0.0
    for b in range(buckets):
        x = 0.97 * x + 0.15 * rng.standard_normal()
        level[b] = x
    burst_starts = (rng.random(buckets) < 0.01).astype(float)
    in_burst = np.convolve(burst_starts, np.ones(6))[:buckets] > 0
    rate = np.exp(level) * np.where(in_burst, 4.0, 1.0)
    return rate / rate.mean()


def _mid_path(rng: np.random.Generator, activity: np.ndarray) -> np.ndarray:
    """Common mid in cents per bucket; it moves more when the market is busy."""
    shocks = MID_VOL_CENTS * np.sqrt(activity) * rng.standard_normal(len(activity))
    mids = np.empty(len(activity))
    mid = START_MID_CENTS + rng.uniform(-3, 3)
    for b, shock in enumerate(shocks):
        mid = START_MID_CENTS + MID_REVERSION * (mid - START_MID_CENTS) + shock
        mid = min(max(mid, MID_FLOOR_CENTS), MID_CEIL_CENTS)
        mids[b] = round(mid, 1)  # a tenth-of-a-cent grid, finer than the quotes
    return mids


def _event_times(
    rng: np.random.Generator, rows: int, start_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted event times in ns over the window, plus the activity that shaped them."""
    buckets = (WINDOW_NS - END_MARGIN_NS) // BUCKET_NS
    activity = _activity(rng, buckets)
    per_bucket = rng.multinomial(rows, activity / activity.sum())
    bucket_of = np.repeat(np.arange(buckets), per_bucket)
    times = start_ns + bucket_of * BUCKET_NS + rng.integers(0, BUCKET_NS, rows)
    # About 1% of messages share the previous message's ts_event (same or other venue).
    shared = rng.random(rows) < 0.01
    shared[0] = False
    times = np.sort(times)
    return times[np.maximum.accumulate(np.where(shared, 0, np.arange(rows)))], activity


def _simulate(
    rng: np.random.Generator, venues: list[Venue], rows: int, start_ns: int
) -> pd.DataFrame:
    """Replay all events; returns one record per row in ts_event order (ns integers)."""
    times, activity = _event_times(rng, rows, start_ns)
    mids = _mid_path(rng, activity)[(times - start_ns) // BUCKET_NS]
    venue_of = rng.choice(len(venues), size=rows, p=[v.share for v in venues])
    books = [_VenueBook(rng, v, mids[0]) for v in venues]

    ts_event, venue_idx, records = [], [], []
    while len(records) < rows:
        i = len(records)
        new_rows = books[venue_of[i]].step(mids[i], allow_trade=i + 1 < rows)
        records.extend(new_rows)
        ts_event.extend([times[i]] * len(new_rows))
        venue_idx.extend([venue_of[i]] * len(new_rows))

    actions, sides, depths, prices, sizes, flags, book = zip(*records, strict=True)
    frame = pd.DataFrame(
        {
            "ts_event": np.array(ts_event, dtype=np.int64),
            "venue": np.array(venue_idx),
            "action": actions,
            "side": sides,
            "depth": depths,
            "price": np.array(prices, dtype=np.int64),
            "size": sizes,
            "flags": flags,
        }
    )
    return pd.concat([frame, _book_frame(np.array(book, dtype=np.int64))], axis=1)


def _book_frame(book: np.ndarray) -> pd.DataFrame:
    """Name the 60 book columns (prices in integer cents)."""
    return pd.DataFrame(book, columns=COLUMNS[13:-1])


def _add_receive_info(rng: np.random.Generator, frame: pd.DataFrame, venues: list[Venue]) -> None:
    """ts_recv, ts_in_delta and sequence, consistent within each venue's feed."""
    rows = len(frame)
    base = np.array([v.latency_ns for v in venues])[frame["venue"]]
    latency = np.clip(base + rng.exponential(15_000, rows), 10_000, 200_000).astype(np.int64)
    # Later rows of one event arrive in the same packet as the first row.
    same_event = (frame["ts_event"].diff() == 0) & (frame["venue"].diff() == 0)
    latency = pd.Series(latency).mask(same_event).ffill().astype(np.int64)
    ts_recv = frame["ts_event"] + latency
    # A venue's feed arrives in order, so its ts_recv never goes backwards.
    frame["ts_recv"] = ts_recv.groupby(frame["venue"]).cummax()
    frame["ts_in_delta"] = rng.integers(10_000, 300_001, rows)
    starts = rng.integers(1_000_000, 90_000_000, len(venues))
    gaps = pd.Series(rng.integers(1, 4, rows))  # other symbols share each venue's feed
    frame["sequence"] = starts[frame["venue"]] + gaps.groupby(frame["venue"]).cumsum()


def _iso_ns(ns: pd.Series) -> np.ndarray:
    """Databento's CSV timestamp form: ISO-8601 UTC with nanoseconds and a Z."""
    text = np.datetime_as_string(ns.to_numpy().astype("datetime64[ns]"), unit="ns")
    return np.char.add(text, "Z")


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    """Databento's CSV: ISO timestamps, prices in dollars with two decimals."""
    text = frame.copy()
    for column in ("ts_recv", "ts_event"):
        text[column] = _iso_ns(text[column])
    prices = [c for c in COLUMNS if c == "price" or "_px_" in c]
    text[prices] = text[prices] / 100
    return text.to_csv(index=False, float_format="%.2f", lineterminator="\n").encode()


def _dbn_bytes(frame: pd.DataFrame, date: str) -> bytes:
    """Databento's DBN: databento-dbn's metadata encoder, then the records packed in the layout
    databento-dbn publishes for MBP-10 (prices in its fixed-point units of 1e-9)."""
    records = np.zeros(len(frame), dtype=record_dtype("mbp-10"))
    records["length"] = records.dtype.itemsize // 4
    for name in records.dtype.names:
        if name in frame:
            values = frame[name].to_numpy()
            if name == "price" or "_px_" in name:
                values = values * CENT_FIXED
            records[name] = values
    records["rtype"] = RTYPE_MBP10
    day = dt.date.fromisoformat(date)
    mapping = SimpleNamespace(
        raw_symbol=SYMBOL,
        intervals=[SimpleNamespace(start_date=day, end_date=day + dt.timedelta(days=1),
                                   symbol=str(INSTRUMENT_ID))],
    )  # fmt: skip
    start = int(np.datetime64(f"{date}T{WINDOW_START}", "ns").astype(np.int64))
    metadata = databento_dbn.Metadata(
        dataset=DATASET, schema=databento_dbn.Schema.MBP_10, start=start,
        end=start + WINDOW_NS + 1, stype_in=databento_dbn.SType.RAW_SYMBOL,
        stype_out=databento_dbn.SType.INSTRUMENT_ID, symbols=[SYMBOL], mappings=[mapping],
    )  # fmt: skip
    return metadata.encode() + records.tobytes()


def _write_atomic(data: bytes, path: Path) -> None:
    """Write via a temp file in the same folder so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp creates owner-only files; data files are shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def generate(
    path: str | Path,
    *,
    seed: int | np.random.SeedSequence = 0,
    venues: int = 4,
    date: str = "2024-08-01",
    rows: int = 60_000,
    fmt: str = "csv",
) -> int:
    """Write one synthetic MBP-10 day to ``path``; the same arguments give the same bytes.

    ``fmt`` is ``csv`` or ``dbn``; a path ending in ``.zst`` is compressed with zstd. Returns the
    number of records written.
    """
    if not 1 <= venues <= MAX_VENUES:
        raise ValueError(f"venues must be between 1 and {MAX_VENUES}, got {venues}")
    if rows < 1:
        raise ValueError(f"rows must be positive, got {rows}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    start_ns = int(np.datetime64(f"{date}T{WINDOW_START}", "ns").astype(np.int64))

    rng = np.random.Generator(np.random.PCG64(seed))
    venue_list = _draw_venues(rng, venues)
    frame = _simulate(rng, venue_list, rows, start_ns)
    _add_receive_info(rng, frame, venue_list)
    frame = frame.sort_values("ts_recv", kind="stable", ignore_index=True)

    frame["publisher_id"] = np.array([v.publisher_id for v in venue_list])[frame["venue"]]
    frame["rtype"] = RTYPE_MBP10
    frame["instrument_id"] = INSTRUMENT_ID
    frame["symbol"] = SYMBOL
    frame = frame[COLUMNS]
    data = _csv_bytes(frame) if fmt == "csv" else _dbn_bytes(frame, date)
    path = Path(path)
    _write_atomic(
        zstandard.ZstdCompressor().compress(data) if path.suffix == ".zst" else data, path
    )
    return len(frame)


def trading_days(first: str, count: int) -> list[str]:
    """``count`` consecutive weekdays from ``first`` (itself moved to a weekday if needed)."""
    return [d.strftime("%Y-%m-%d") for d in pd.bdate_range(first, periods=count)]


def day_seed(seed: int, day: int) -> int | np.random.SeedSequence:
    """Day 0 keeps ``seed`` itself (so the default day is the same file as ever); later days
    get independent streams derived from it."""
    return seed if day == 0 else np.random.SeedSequence([seed, day])


def day_path(out: Path, date: str) -> Path:
    """``aapl.csv`` -> ``aapl-20240801.csv`` (``.dbn.zst`` and other suffixes kept)."""
    stem = out.name.split(".", 1)
    suffix = "." + stem[1] if len(stem) > 1 else ""
    return out.with_name(f"{stem[0]}-{date.replace('-', '')}{suffix}")


def generate_days(
    out: str | Path, *, seed: int, days: int, date: str = "2024-08-01", **options
) -> list[Path]:
    """``days`` consecutive trading days, one file each (``day_path``), distinct seeds."""
    paths = []
    for number, day in enumerate(trading_days(date, days)):
        path = day_path(Path(out), day)
        generate(path, seed=day_seed(seed, number), date=day, **options)
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
    parser = argparse.ArgumentParser(description="Write synthetic Databento MBP-10 days.")
    parser.add_argument("--seed", type=int, required=True, help="random seed")
    parser.add_argument("--venues", type=int, default=4, help=f"1-{MAX_VENUES} venues")
    parser.add_argument(
        "--out", type=Path, required=True,
        help="file to write (.zst: zstd-compressed); with --days N, one file per day named "
        "STEM-YYYYMMDD.SUFFIX",
    )  # fmt: skip
    parser.add_argument("--date", default="2024-08-01", help="(first) trading day, YYYY-MM-DD")
    parser.add_argument("--days", type=int, default=1, help="consecutive weekdays to write")
    parser.add_argument("--rows", type=int, default=60_000, help="records to write per day")
    parser.add_argument("--format", choices=FORMATS, default="csv", help="Databento CSV or DBN")
    args = parser.parse_args(argv)
    if not 1 <= args.venues <= MAX_VENUES:
        parser.error(f"--venues must be between 1 and {MAX_VENUES}")
    if args.days < 1:
        parser.error("--days must be at least 1")
    options = {"venues": args.venues, "rows": args.rows, "fmt": args.format}
    if args.days == 1:
        written = generate(args.out, seed=args.seed, date=args.date, **options)
        print(f"wrote {written} rows to {args.out}")
        return
    for path in generate_days(args.out, seed=args.seed, days=args.days, date=args.date, **options):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
