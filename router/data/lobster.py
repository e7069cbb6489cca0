"""LOBSTER's order-level files (lobsterdata.com): a message file and its orderbook partner, as
two csv files or the ``.zip`` LOBSTER ships, read as order-level messages and rebuilt into our
book (:mod:`router.data.order_level`).

The mapping (LOBSTER's ReadMe defines the columns):

- time: seconds after midnight, New York time, on a date the files do not carry
  (``data.date``); read to the nanosecond and converted to UTC (EDT or EST as on that date);
- price: dollars x 10,000; size: shares; direction: 1 a buy (bid) order, -1 a sell (ask) order;
- type 1 add; 2 partial cancel (``size`` shares leave); 3 deletion (the order's last ``size``
  shares leave); 4 execution of a visible order: a print whose aggressor is the other side
  (a sell order executed is a buyer's trade), the resting order's fill, and its shares leaving
  the book; 5 execution of a hidden order: a print that no book shows; 7 trading halt or
  resume: counted, the book unchanged.
- Every message is one event; LOBSTER's data carry no receive time, so ``ts_recv`` is the event
  time; the venue is Nasdaq, publisher id 2 (Databento's XNAS.ITCH).

A level-N file holds only the messages inside the N levels it shows. Orders resting before the
file begins, or added beyond its depth and later seen, appear only as the orderbook file shows
them: the rebuild takes them from it as anonymous shares at prices the previous row did not show
(counted in ``quality``), and any other difference between the two files is an error naming the
line.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from router.data.marketdata import NS_PER_SECOND, DataError
from router.data.order_level import OrderMessages, Reference

#: Databento's publisher id for Nasdaq TotalView-ITCH (XNAS.ITCH).
NASDAQ = 2
PRICE_SCALE = 10_000
#: The name LOBSTER gives its files: TICKER_DATE_START_END_(message|orderbook)_LEVELS.csv.
NAME = re.compile(r"^(?P<stem>.+_(?P<date>\d{4}-\d{2}-\d{2})_\d+_\d+)_(?P<kind>message|orderbook)"
                  r"_(?P<levels>\d+)\.csv$")  # fmt: skip
_EMPTY = 9_999_999_999  # LOBSTER's dummy price of an empty level (negative on the bid side)
ADD, CANCEL, DELETE, EXECUTE, HIDDEN, HALT = 1, 2, 3, 4, 5, 7
A, B, C, F, N, T = (ord(c) for c in "ABCFNT")


def is_pair(path: Path) -> bool:
    """A file named as LOBSTER names its message and orderbook files. (LOBSTER's zip is
    recognised by content, as a zip: :func:`router.data.files.open_market_file`.)"""
    return NAME.match(path.name) is not None


def read_pair(path: Path) -> tuple[str, str, pd.DataFrame, pd.DataFrame, int]:
    """(message file's name, orderbook file's name, messages, orderbook, levels) of a LOBSTER
    zip or of either file of a pair on disk."""
    if not is_pair(path):  # then the loader found a zip
        with zipfile.ZipFile(path) as archive:
            pairs = _pair([Path(n).name for n in archive.namelist()], path)
            full = {Path(n).name: n for n in archive.namelist()}
            message, orderbook = (f"{path}:{name}" for name in pairs[:2])
            frames = [
                _csv(io.BytesIO(archive.read(full[name])), label, name == pairs[0])
                for name, label in zip(pairs[:2], (message, orderbook), strict=True)
            ]
        return message, orderbook, frames[0], frames[1], pairs[2]
    match = NAME.match(path.name)
    stem, levels = match["stem"], int(match["levels"])
    message = path.with_name(f"{stem}_message_{levels}.csv")
    orderbook = path.with_name(f"{stem}_orderbook_{levels}.csv")
    for partner in (message, orderbook):
        if not partner.is_file():
            raise DataError(
                f"{path}: LOBSTER's {partner.name} is missing beside it; a LOBSTER day is a "
                "message file and its orderbook file (or the zip LOBSTER ships)"
            )
    frames = _csv(message, message, True), _csv(orderbook, orderbook, False)
    return str(message), str(orderbook), *frames, levels


def _pair(names: list[str], path: Path) -> tuple[str, str, int]:
    """The one message and orderbook file pair among a zip's names."""
    found = {(m["stem"], m["levels"], m["kind"]): n for n in names if (m := NAME.match(n))}
    stems = {(stem, levels) for stem, levels, _ in found}
    if len(stems) != 1:
        listed = ", ".join(sorted(names)[:6]) or "nothing"
        raise DataError(
            f"{path}: expected one LOBSTER message file and its orderbook file "
            f"(TICKER_DATE_START_END_message_N.csv and ..._orderbook_N.csv); it holds {listed}"
        )
    stem, levels = stems.pop()
    for kind in ("message", "orderbook"):
        if (stem, levels, kind) not in found:
            raise DataError(f"{path}: {stem}_{kind}_{levels}.csv is missing from the zip")
    return found[(stem, levels, "message")], found[(stem, levels, "orderbook")], int(levels)


def _csv(source, label, time_column: bool) -> pd.DataFrame:
    """A LOBSTER csv file: numbers, read by pandas' C parser; the message file's time column as
    text, so that its nanoseconds are exact."""
    try:
        return pd.read_csv(source, header=None, dtype={0: str} if time_column else None)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{label}: not a LOBSTER csv file ({exc})") from None


def _numbers(frame: pd.DataFrame, label: str, columns: int) -> np.ndarray:
    """The frame's whole numbers, ``columns`` wide; the first line that has anything else is
    named."""
    if frame.shape[1] != columns:
        raise DataError(f"{label}: line 1: {frame.shape[1]} columns; expected {columns}")
    if all(dtype.kind == "i" for dtype in frame.dtypes):
        return frame.to_numpy(dtype=np.int64)
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values).all(axis=1) | (values != np.round(values)).any(axis=1)
    if not bad.any():  # whole numbers written with a decimal point
        return values.astype(np.int64)
    line = int(np.flatnonzero(bad)[0])
    raise DataError(f"{label}: line {line + 1}: {list(frame.iloc[line])} is not whole numbers")


def order_messages(
    path: Path, date: str | None
) -> tuple[OrderMessages, Reference, dict[str, int | str]]:
    """A LOBSTER day as order-level messages, its orderbook file as the reference book, and
    counts for ``quality``."""
    message_name, orderbook_name, messages, orderbook, levels = read_pair(path)
    named = NAME.match(Path(message_name.split(":")[-1]).name)
    if date is None:
        raise DataError(
            f"{path}: LOBSTER files carry no date; set data.date (the file name says "
            f"{named['date']})"
        )
    # Times and ids as text, so that nanoseconds and 64-bit ids are read exactly.
    if messages.shape[1] != 6:
        raise DataError(f"{message_name}: line 1: {messages.shape[1]} columns; expected 6")
    seconds = messages[0].astype(str).str.strip()
    parts = seconds.str.extract(r"^(\d+)(?:\.(\d{1,9}))?$")
    valid = parts[0].notna().to_numpy()
    if not valid.all():
        line = int(np.flatnonzero(~valid)[0]) + 1
        raise DataError(f"{message_name}: line {line}: time {seconds.iloc[line - 1]!r} is not "
                        "seconds after midnight")  # fmt: skip
    fraction = parts[1].fillna("").str.ljust(9, "0").astype(np.int64).to_numpy()
    ns = parts[0].astype(np.int64).to_numpy() * NS_PER_SECOND + fraction
    body = _numbers(messages.iloc[:, 1:], message_name, 5)
    kind, order_id, size, price, direction = body.T
    _check_messages(message_name, ns, kind, size, price, direction)
    book = _numbers(orderbook, orderbook_name, 4 * levels)
    if len(book) != len(kind):
        raise DataError(
            f"{orderbook_name}: {len(book)} lines, but {message_name} has {len(kind)} messages; "
            "LOBSTER writes one book line per message"
        )
    midnight = pd.Timestamp(date, tz="America/New_York").value
    events = _events(midnight + ns, kind, order_id, size, price, direction)
    reference = _reference(book, levels)
    expanded = events.number - 1  # each record's message: its reference row
    reference = Reference(*(getattr(reference, f)[expanded] for f in
                            ("bid_px", "bid_sz", "ask_px", "ask_sz")))  # fmt: skip
    counts = {
        "order_messages": len(kind),
        "halts": int((kind == HALT).sum()),
        "hidden_executions": int((kind == HIDDEN).sum()),
        "source_format": "lobster" if is_pair(path) else "lobster+zip",
        "schema": f"lobster-{levels}",
    }
    return events, reference, counts


def _check_messages(label, ns, kind, size, price, direction) -> None:
    """Types, directions, sizes and prices as LOBSTER's ReadMe defines them, time in order."""
    trading = kind != HALT
    for bad, what in (
        (~np.isin(kind, [ADD, CANCEL, DELETE, EXECUTE, HIDDEN, HALT]),
         "type {} is not 1-5 or 7"),
        (trading & ~np.isin(direction, [1, -1]), "direction {} is not 1 (buy) or -1 (sell)"),
        (trading & (size <= 0), "size {} is not a positive number of shares"),
        (trading & (price <= 0), "price {} is not a positive price x 10,000"),
        (np.r_[False, ns[1:] < ns[:-1]], "time {} ns goes back"),
    ):  # fmt: skip
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            value = [kind, direction, size, price, ns][
                ["type", "direction", "size", "price", "time"].index(what.split()[0])
            ][i]
            raise DataError(f"{label}: line {i + 1}: {what.format(value)}")


def _events(ts, kind, order_id, size, price, direction) -> OrderMessages:
    """LOBSTER's messages in Databento's MBO terms: an execution of a visible order is a trade
    (the aggressor the other side), the resting order's fill and the cancel of its shares."""
    side = np.where(direction == 1, B, A).astype(np.uint8)
    other = np.where(direction == 1, A, B).astype(np.uint8)
    records = np.where(kind == EXECUTE, 3, 1)  # records per message
    message = np.repeat(np.arange(len(kind)), records)
    within = np.arange(len(message)) - np.repeat(np.cumsum(records) - records, records)
    k = kind[message]
    action = np.select(
        [k == ADD, (k == CANCEL) | (k == DELETE), k == HIDDEN,
         (k == EXECUTE) & (within == 0), (k == EXECUTE) & (within == 1)],
        [ord("A"), C, T, T, F], default=N,
    ).astype(np.uint8)  # fmt: skip  # the execution's third record: C
    action[(k == EXECUTE) & (within == 2)] = C
    trade = action == T
    return OrderMessages(
        ts_event=ts[message],
        ts_recv=ts[message],
        publisher_id=np.full(len(message), NASDAQ, dtype=np.uint16),
        order_id=np.where(trade, 0, order_id[message]).astype(np.uint64),
        action=action,
        side=np.where(trade, other[message], side[message]).astype(np.uint8),
        price=np.where(k == HALT, np.nan, price[message] / PRICE_SCALE),
        size=np.where(k == HALT, 0, size[message]),
        last=within == records[message] - 1,
        number=message + 1,
    )


def _reference(book: np.ndarray, levels: int) -> Reference:
    """LOBSTER's orderbook lines (ask price, ask size, bid price, bid size per level) in
    dollars; dummy prices of empty levels have size 0."""
    columns = book.reshape(len(book), levels, 4)
    ask_px, ask_sz, bid_px, bid_sz = (columns[:, :, j] for j in range(4))
    ask_sz = np.where(np.abs(ask_px) == _EMPTY, 0, ask_sz)
    bid_sz = np.where(np.abs(bid_px) == _EMPTY, 0, bid_sz)
    return Reference(bid_px / PRICE_SCALE, bid_sz, ask_px / PRICE_SCALE, ask_sz)
