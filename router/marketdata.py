"""Databento MBP-1/MBP-10 CSV into columnar snapshot arrays, one row per (ts_event, venue).

Each CSV row carries one venue's book after one event. The simulator only needs a venue's state
after its last message at each instant, so rows are stably ordered by (ts_event, publisher_id,
file order) and each (ts_event, venue) group collapses to its last row, with the group's traded
shares summed into ``volume`` and its lowest trade price kept with the shares traded at it (what
a resting bid needs to advance in its queue). Memory is a few arrays of the row count, never
rows x venues.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

NS_PER_SECOND = 1_000_000_000
MAX_DEPTH = 10
_TIME_OF_DAY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$")


def level_columns(level: int) -> dict[str, str]:
    """Databento's column names for one book level (0-based)."""
    return {k: f"{k}_{level:02d}" for k in ("bid_px", "ask_px", "bid_sz", "ask_sz")}


@dataclass(frozen=True)
class Window:
    """A UTC time-of-day window on one trading date; ``end_ns`` is exclusive.

    Times compare at the resolution written: an end of ``13:45:14`` covers that whole second,
    ``13:45:14.5`` covers up to (not including) 13:45:14.6.
    """

    date: str
    start: str
    end: str
    start_ns: int
    end_ns: int

    @classmethod
    def on(cls, date: str, start: str, end: str) -> Window:
        midnight = pd.Timestamp(date, tz="UTC").value
        start_ns, _ = parse_time_of_day(start)
        end_ns, resolution = parse_time_of_day(end)
        if end_ns < start_ns:
            raise ValueError(f"window end {end!r} is before its start {start!r}")
        return cls(date, start, end, midnight + start_ns, midnight + end_ns + resolution)

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
    """What the loader read, kept, folded and skipped, and why."""

    rows_read: int = 0
    rows_before_window: int = 0
    rows_after_window: int = 0
    rows_in_window: int = 0
    trade_rows: int = 0
    messages_folded: int = 0  # superseded by a later message of the same venue at the same instant
    snapshots: int = 0
    crossed_snapshots: int = 0  # bid >= ask on one venue: kept, counted
    empty_ask_snapshots: int = 0  # no displayed ask at the top level: kept, no liquidity


@dataclass(frozen=True, eq=False)
class Snapshots:
    """Book state of each venue after its last message at each instant, as numpy arrays.

    ``ts`` (int64 ns UTC), ``publisher_id``, ``volume`` (shares traded), ``low_trade_px`` (the
    lowest trade price printed, NaN when none) and ``low_trade_sz`` (shares traded at it) have one
    entry per row; a trade above a resting bid's price never reaches it, one below it means the
    level was traded through, so these two are all a queue model needs of the trades;
    ``ask_px``/``ask_sz``/``bid_px``/``bid_sz`` are rows x depth. Empty levels have size 0 and a
    NaN price. Rows are ordered by (ts, publisher_id).
    """

    ts: np.ndarray
    publisher_id: np.ndarray
    ask_px: np.ndarray
    ask_sz: np.ndarray
    bid_px: np.ndarray
    bid_sz: np.ndarray
    volume: np.ndarray
    low_trade_px: np.ndarray
    low_trade_sz: np.ndarray
    window: Window
    quality: DataQuality = field(default_factory=DataQuality)

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def depth(self) -> int:
        return self.ask_px.shape[1]

    @property
    def venues(self) -> np.ndarray:
        """Publisher ids present, ascending."""
        return np.unique(self.publisher_id)

    _ARRAYS = (
        "ts", "publisher_id", "ask_px", "ask_sz", "bid_px", "bid_sz", "volume",
        "low_trade_px", "low_trade_sz",
    )  # fmt: skip

    def save(self, path: str | Path) -> None:
        """Write an uncompressed ``.npz`` that :meth:`load` reads back identically."""
        meta = json.dumps({"window": asdict(self.window), "quality": asdict(self.quality)})
        with open(path, "wb") as fh:
            np.savez(fh, meta=np.array(meta), **{k: getattr(self, k) for k in self._ARRAYS})

    @classmethod
    def load(cls, path: str | Path) -> Snapshots:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            arrays = {k: npz[k] for k in cls._ARRAYS}
        return cls(
            **arrays, window=Window(**meta["window"]), quality=DataQuality(**meta["quality"])
        )


class DataError(ValueError):
    """Bad market data: the message names the file, the row (file line) and what was expected."""


def _fail(path: Path, line: int, message: str) -> DataError:
    return DataError(f"{path}: line {line}: {message}")


def _timestamps(path: Path, raw: pd.Series, lines: np.ndarray) -> np.ndarray:
    """ISO-8601 (ns, trailing Z) or integer-ns strings into int64 ns since epoch, UTC."""
    text = raw.astype(str).str.strip()
    if text.str.fullmatch(r"\d+").all():
        return text.astype("int64").to_numpy()
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        first = bad[0]
        raise _fail(
            path,
            lines[first],
            f"ts_event {text.iloc[first]!r} is not an ISO-8601 UTC timestamp "
            "(e.g. 2024-08-01T13:36:32.491911683Z) or integer nanoseconds",
        )
    return parsed.dt.tz_convert(None).astype("datetime64[ns]").to_numpy().view("int64")


def _book(path: Path, frame: pd.DataFrame, depth: int, lines: np.ndarray) -> dict[str, np.ndarray]:
    """Validated rows x depth price and size arrays."""
    book: dict[str, np.ndarray] = {}
    for side in ("bid", "ask"):
        prices = np.column_stack(
            [
                pd.to_numeric(frame[level_columns(n)[f"{side}_px"]], errors="coerce")
                for n in range(depth)
            ]
        ).astype(float)
        raw_sizes = [frame[level_columns(n)[f"{side}_sz"]] for n in range(depth)]
        sizes = np.column_stack([pd.to_numeric(s, errors="coerce") for s in raw_sizes]).astype(
            float
        )
        for what, bad in (
            (f"{side}_sz", ~np.isfinite(sizes) | (sizes < 0) | (sizes % 1 != 0)),
            (f"{side}_px", (prices < 0) | (np.isnan(prices) & (sizes > 0))),
        ):
            rows, cols = np.nonzero(bad)
            if len(rows):
                column = f"{what}_{cols[0]:02d}"
                raise _fail(
                    path,
                    lines[rows[0]],
                    f"{column} is {frame[column].iloc[rows[0]]!r}; expected a non-negative "
                    + (
                        "whole number of shares"
                        if what.endswith("sz")
                        else "price (blank only when the size is 0)"
                    ),
                )
        prices[sizes == 0] = np.nan
        book[f"{side}_px"] = prices
        book[f"{side}_sz"] = sizes.astype(np.int64)
    return book


def _trade_numbers(
    path: Path, frame: pd.DataFrame, lines: np.ndarray, is_trade: np.ndarray,
    column: str, what: str, expected: str,
) -> np.ndarray:  # fmt: skip
    """``column`` as numbers; every trade row must hold a finite non-negative one."""
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy()
    bad = is_trade & ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise _fail(path, lines[first], f"{what} {frame[column].iloc[first]!r} is not {expected}")
    return values


def load_mbp(
    path: str | Path,
    start: str = "13:36:32",
    end: str = "13:45:14",
    depth: int = 1,
    *,
    date: str | None = None,
) -> Snapshots:
    """Load a Databento MBP-1/MBP-10 CSV into :class:`Snapshots` for a UTC time-of-day window.

    ``date`` (YYYY-MM-DD) defaults to the file's trading date, the UTC date of its rows; a file
    spanning several dates needs it. Rows outside the window are counted in ``quality``.
    """
    path = Path(path)
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_DEPTH}, got {depth}")
    if not path.is_file():
        raise FileNotFoundError(f"market data file not found: {path}")
    header = pd.read_csv(path, nrows=0).columns
    needed = ["ts_event", "publisher_id", "action", "price", "size"]
    needed += [c for n in range(depth) for c in level_columns(n).values()]
    missing = [c for c in needed if c not in header]
    if missing:
        levels = sum(1 for n in range(MAX_DEPTH) if level_columns(n)["ask_px"] in header)
        hint = f" (the file has {levels} book level(s); depth {depth} needs MBP-{depth} or deeper)"
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; expected Databento MBP-1/MBP-10 CSV"
            + (hint if levels and levels < depth else "")
        )
    optional = [c for c in ("instrument_id",) if c in header]
    frame = pd.read_csv(path, usecols=needed + optional, dtype=str, keep_default_na=False)
    if frame.empty:
        raise DataError(f"{path}: no data rows after the header")
    lines = np.arange(len(frame)) + 2  # file line of each row: the header is line 1
    ts = _timestamps(path, frame["ts_event"], lines)
    for column in ["publisher_id", *optional]:
        if not frame[column].str.fullmatch(r"\d+").all():
            first = int(np.flatnonzero(~frame[column].str.fullmatch(r"\d+").to_numpy())[0])
            raise _fail(
                path, lines[first], f"{column} {frame[column].iloc[first]!r} is not a whole number"
            )
    if optional and frame["instrument_id"].nunique() > 1:
        ids = sorted(frame["instrument_id"].unique())
        raise DataError(
            f"{path}: several instruments ({', '.join(ids)}); load one instrument per file"
        )

    dates = pd.to_datetime(ts, utc=True).strftime("%Y-%m-%d")
    if date is None:
        unique_dates = sorted(set(dates))
        if len(unique_dates) > 1:
            raise DataError(
                f"{path}: rows span dates {unique_dates[0]} to {unique_dates[-1]}; "
                "pass date='YYYY-MM-DD' (config key data.date) to pick the trading date"
            )
        date = unique_dates[0]
    window = Window.on(date, start, end)
    keep = (ts >= window.start_ns) & (ts < window.end_ns)
    before, after = int((ts < window.start_ns).sum()), int((ts >= window.end_ns).sum())
    if not keep.any():
        raise DataError(
            f"{path}: no rows inside the window {date} {start} to {end} UTC "
            f"({before} rows before it, {after} after); check data.window and data.date"
        )
    frame, ts, lines = frame[keep], ts[keep], lines[keep]
    book = _book(path, frame, depth, lines)
    publisher = frame["publisher_id"].astype(np.int64).to_numpy()
    is_trade = (frame["action"] == "T").to_numpy()
    traded = _trade_numbers(path, frame, lines, is_trade, "size", "trade size", "a share count")
    traded = np.where(is_trade, traded, 0).astype(np.int64)
    trade_px = _trade_numbers(path, frame, lines, is_trade, "price", "trade price", "a price")
    trade_px = np.where(is_trade, trade_px, np.nan)

    # Stable sort by (ts_event, publisher_id); equal keys stay in file order.
    order = np.argsort(publisher, kind="stable")
    order = order[np.argsort(ts[order], kind="stable")]
    ts, publisher, traded, trade_px = ts[order], publisher[order], traded[order], trade_px[order]
    starts = np.flatnonzero(np.r_[True, (ts[1:] != ts[:-1]) | (publisher[1:] != publisher[:-1])])
    low_px = np.fmin.reduceat(trade_px, starts)  # fmin skips NaN: non-trade rows
    at_low = trade_px == np.repeat(low_px, np.diff(np.r_[starts, len(ts)]))
    last = np.r_[starts[1:], len(ts)] - 1
    rows = order[last]
    snapshot_book = {k: v[rows] for k, v in book.items()}
    quality = DataQuality(
        rows_read=len(keep),
        rows_before_window=before,
        rows_after_window=after,
        rows_in_window=len(ts),
        trade_rows=int(is_trade.sum()),
        messages_folded=len(ts) - len(starts),
        snapshots=len(starts),
        crossed_snapshots=int(
            (snapshot_book["bid_px"][:, 0] >= snapshot_book["ask_px"][:, 0]).sum()
        ),
        empty_ask_snapshots=int((snapshot_book["ask_sz"][:, 0] == 0).sum()),
    )
    return Snapshots(
        ts=ts[last],
        publisher_id=publisher[last],
        volume=np.add.reduceat(traded, starts),
        low_trade_px=low_px,
        low_trade_sz=np.add.reduceat(np.where(at_low, traded, 0), starts),
        window=window,
        quality=quality,
        **snapshot_book,
    )
