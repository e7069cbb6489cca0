"""Databento MBP-1 / MBP-10 / TBBO / CMBP-1 CSV into :class:`Messages`; MBO CSV (an
``order_id`` column, no book levels) into :class:`~router.data.order_level.OrderMessages`.

Accepts every form Databento writes: the ``Transcoder``/batch CSV and ``to_df().to_csv()``,
pretty or raw prices (see :mod:`router.data.prices`), ISO-8601 timestamps (``Z``, ``+00:00`` or any
offset) or integer nanoseconds, with or without ``symbol``. Every column is read as text, so a
bad value is reported with its file line and the text found.
"""

from __future__ import annotations

import csv
import io
from typing import BinaryIO

import numpy as np
import pandas as pd

from router.data.marketdata import MAX_DEPTH, DataError, level_columns
from router.data.messages import Messages, Where
from router.data.order_level import OrderMessages, event_ends
from router.data.prices import read_prices
from router.data.schemas import CONSOLIDATED, SCHEMA_OF_RTYPE, unsupported_rtype

REQUIRED = ["ts_recv", "ts_event", "publisher_id", "action", "side", "price", "size"]


def read_csv(
    path: object, stream: BinaryIO, depth: int, prices: str
) -> tuple[Messages | OrderMessages, str, str]:
    """The file's messages (order messages for MBO), its schema and the price format read."""
    where = Where(path, "line")
    header_line = stream.readline().decode("utf-8-sig", errors="replace")
    header = next(csv.reader([header_line]), [])
    if "order_id" in header and level_columns(0)["bid_px"] not in header:
        messages, price_format = _read_mbo(where, stream, header, prices)
        return messages, "mbo", price_format
    needed = REQUIRED + [c for n in range(depth) for c in level_columns(n).values()]
    missing = [c for c in needed if c not in header]
    if missing:
        levels = sum(1 for n in range(MAX_DEPTH) if level_columns(n)["ask_px"] in header)
        hint = f" (the file has {levels} book level(s); depth {depth} needs MBP-{depth} or deeper)"
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; expected Databento MBP-1, MBP-10,"
            " TBBO, CMBP-1 or MBO CSV" + (hint if levels and levels < depth else "")
        )
    frame, lines = _frame(where, stream, header, needed)
    schema = _schema(frame, header, depth, where, lines)
    price_columns = ["price"] + [
        level_columns(n)[f"{s}_px"] for n in range(depth) for s in ("bid", "ask")
    ]
    px, price_format = read_prices({c: frame[c] for c in price_columns}, lines, prices, where)
    _one_symbol(frame, where, lines)
    numbered = ["publisher_id", "instrument_id", "rtype", "sequence", "flags"]
    integers = {c: _whole(frame[c], c, lines, where) for c in numbered if c in frame}
    action = _letters(frame["action"], "action", lines, where)
    size = _whole(frame["size"], "size", lines, where, blank_ok=action != ord("T"))
    publisher = integers["publisher_id"]
    if schema == "cmbp-1":
        publisher = np.full(len(frame), CONSOLIDATED, dtype=np.int64)
    book = {}
    for side in ("bid", "ask"):
        book[f"{side}_px"] = np.column_stack(
            [px[level_columns(n)[f"{side}_px"]] for n in range(depth)]
        )
        book[f"{side}_sz"] = np.column_stack(
            [
                _whole(frame[c], c, lines, where)
                for c in (level_columns(n)[f"{side}_sz"] for n in range(depth))
            ]
        )
    messages = Messages(
        ts_event=timestamps(frame["ts_event"], "ts_event", lines, where),
        ts_recv=timestamps(frame["ts_recv"], "ts_recv", lines, where),
        publisher_id=publisher,
        instrument_id=integers.get("instrument_id"),
        sequence=integers.get("sequence"),
        flags=integers.get("flags"),
        action=action,
        side=_letters(frame["side"], "side", lines, where),
        price=px["price"],
        size=size,
        number=lines,
        **book,
    )
    return messages, schema, price_format


_OPTIONAL = ("instrument_id", "rtype", "sequence", "flags", "symbol")


def _frame(
    where: Where, stream: BinaryIO, header: list[str], needed: list[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The rest of the file, checked line by line, as text columns (``needed`` and the optional
    ones present); and each row's file line."""
    optional = [c for c in _OPTIONAL if c in header and c not in needed]
    body = stream.read()
    if not body.strip():
        raise DataError(f"{where.path}: no data rows after the header")
    check_fields(body, len(header), where)
    try:
        frame = pd.read_csv(
            io.BytesIO(body), header=None, names=header, usecols=needed + optional, dtype=str,
            keep_default_na=False, skip_blank_lines=False,
        )  # fmt: skip
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{where.path}: not readable as CSV ({exc})") from None
    return frame, np.arange(len(frame), dtype=np.int64) + 2  # the header is line 1


MBO_REQUIRED = [*REQUIRED, "order_id"]


def _read_mbo(
    where: Where, stream: BinaryIO, header: list[str], prices: str
) -> tuple[OrderMessages, str]:
    """An MBO CSV's order messages and the price format read."""
    missing = [c for c in MBO_REQUIRED if c not in header]
    if missing:
        raise DataError(f"{where.path}: missing column(s) {', '.join(missing)}; expected "
                        "Databento MBO CSV")  # fmt: skip
    frame, lines = _frame(where, stream, header, MBO_REQUIRED)
    if "rtype" in frame:
        rtypes = _whole(frame["rtype"], "rtype", lines, where)
        if (rtypes != 160).any():
            i = int(np.flatnonzero(rtypes != 160)[0])
            raise where.error(int(lines[i]), f"record type {rtypes[i]} in an MBO file; expected "
                              "only MBO records (160)")  # fmt: skip
    _one_symbol(frame, where, lines)
    px, price_format = read_prices({"price": frame["price"]}, lines, prices, where)
    ts = timestamps(frame["ts_event"], "ts_event", lines, where)
    publisher = _whole(frame["publisher_id"], "publisher_id", lines, where)
    flags = _whole(frame["flags"], "flags", lines, where) if "flags" in frame else np.zeros_like(ts)
    # Ids are 64-bit: checked as digits and read as text, never through a float.
    text = frame["order_id"]
    too_big = (text.str.len() == 20) & (text > str(np.iinfo(np.uint64).max))
    digits = (text.str.fullmatch(r"\d{1,20}") & ~too_big).to_numpy(dtype=bool)
    if not digits.all():
        i = int(np.flatnonzero(~digits)[0])
        raise where.error(int(lines[i]), f"order_id is {frame['order_id'].iloc[i]!r}; expected "
                          "a whole number")  # fmt: skip
    messages = OrderMessages(
        ts_event=ts,
        ts_recv=timestamps(frame["ts_recv"], "ts_recv", lines, where),
        publisher_id=publisher,
        order_id=frame["order_id"].astype(np.uint64).to_numpy(),
        action=_letters(frame["action"], "action", lines, where),
        side=_letters(frame["side"], "side", lines, where),
        price=px["price"],
        size=_whole(frame["size"], "size", lines, where),
        last=event_ends(flags, ts, publisher),
        number=lines,
    )
    return messages, price_format


_BLOCK = 1 << 24  # bytes of lines counted at once


def check_fields(body: bytes, fields: int, where: Where) -> None:
    """Every line after the header must have exactly the header's ``fields`` and end with a
    line end: pandas would shift a row missing a middle field, pad a short one and read a cut
    last line as if whole. Databento never quotes, so fields are counted by commas (a quoted
    file is counted with the csv module)."""
    if not body.endswith(b"\n"):
        raise where.error(
            body.count(b"\n") + 2,
            "the file ends inside this line (no line end after it): the row may be cut "
            "(an interrupted download?); download the file again",
        )
    if b'"' in body:
        counts = [len(row) for row in csv.reader(io.StringIO(body.decode("utf-8", "replace")))]
        _first_bad(np.array(counts), fields, where, first_line=2)
        return
    line, start = 2, 0
    while start < len(body):
        end = body.find(b"\n", min(start + _BLOCK, len(body) - 1)) + 1
        block = np.frombuffer(body, np.uint8, count=end - start, offset=start)
        ends = np.flatnonzero(block == ord("\n"))
        starts = np.r_[0, ends[:-1] + 1]
        commas = np.add.reduceat((block == ord(",")).astype(np.int32), starts)
        length = ends - starts  # without the line end
        blank = (length == 0) | ((length == 1) & (block[starts] == ord("\r")))
        _first_bad(np.where(blank, 0, commas + 1), fields, where, first_line=line)
        line += len(starts)
        start = end


def _first_bad(counts: np.ndarray, fields: int, where: Where, first_line: int) -> None:
    bad = np.flatnonzero(counts != fields)
    if len(bad):
        found = int(counts[bad[0]])
        raise where.error(
            first_line + int(bad[0]),
            "a blank line; expected a row" if found == 0 else
            f"{found} fields, the header has {fields}: a field is "
            f"{'missing' if found < fields else 'extra'} and the columns after it would shift",
        )  # fmt: skip


def _one_symbol(frame: pd.DataFrame, where: Where, lines: np.ndarray) -> None:
    """Several symbols in one file are several instruments, whatever ``instrument_id`` says."""
    if "symbol" not in frame:
        return
    named = frame["symbol"].to_numpy()
    symbols = pd.unique(named[named != ""])
    if len(symbols) > 1:
        second = int(np.flatnonzero(named == symbols[1])[0])
        raise where.error(
            int(lines[second]),
            f"symbol {symbols[1]!r}, and {symbols[0]!r} before it: several instruments in one "
            "file; load one instrument per file",
        )


def _schema(
    frame: pd.DataFrame, header: list[str], depth: int, where: Where, lines: np.ndarray
) -> str:
    """mbp-1, tbbo, mbp-10 or cmbp-1, from ``rtype`` when present, else from the columns."""
    if "rtype" in frame:
        rtypes = _whole(frame["rtype"], "rtype", lines, where)
        unknown = ~np.isin(rtypes, list(SCHEMA_OF_RTYPE))
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise where.error(int(lines[i]), unsupported_rtype(int(rtypes[i])))
        found = sorted(set(rtypes.tolist()))
        if len(found) > 1:
            raise DataError(f"{where.path}: several record types ({found}); one schema per file")
        schema = SCHEMA_OF_RTYPE[found[0]]
    elif "bid_pb_00" in header:
        schema = "cmbp-1"
    else:
        schema = "mbp-10" if "ask_px_01" in header else "mbp-1"
    if schema == "mbp-1" and (frame["action"] == "T").all():
        schema = "tbbo"
    return schema


def _letters(text: pd.Series, name: str, lines: np.ndarray, where: Where) -> np.ndarray:
    """One-letter codes (Databento's action and side) as ASCII bytes; blank is 0, anything
    longer than one character is an error naming its line."""
    long = (text.str.len() > 1).to_numpy()
    if long.any():
        i = int(np.flatnonzero(long)[0])
        raise where.error(int(lines[i]), f"{name} is {text.iloc[i]!r}; expected one letter")
    codes = text.to_numpy(dtype="U1").view(np.uint32)
    return np.where(codes < 128, codes, ord("?")).astype(np.uint8)


def _whole(
    text: pd.Series, name: str, lines: np.ndarray, where: Where, blank_ok: np.ndarray | None = None
) -> np.ndarray:
    """Whole numbers; blank is 0 where ``blank_ok``; anything else names its line."""
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    if blank_ok is not None:
        values = np.where(blank_ok & np.isnan(values), 0.0, values)
    bad = ~np.isfinite(values) | (values != np.floor(values))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise where.error(int(lines[i]), f"{name} is {text.iloc[i]!r}; expected a whole number")
    return values.astype(np.int64)


def timestamps(raw: pd.Series, name: str, lines: np.ndarray, where: Where) -> np.ndarray:
    """ISO-8601 (any offset, ns) or integer-ns text into int64 ns since epoch, UTC."""
    text = raw.str.strip()
    digits = text.str.fullmatch(r"\d+").to_numpy(dtype=bool)
    if digits.all():
        values = pd.to_numeric(text).to_numpy()
        if values.dtype != np.int64:  # beyond 2^63: not a time this century
            i = int(np.argmax(values))
            raise where.error(int(lines[i]), f"{name} {text.iloc[i]!r} is out of range")
        return values
    if digits.any():
        number, stamp = int(np.flatnonzero(digits)[0]), int(np.flatnonzero(~digits)[0])
        raise where.error(
            int(lines[max(number, stamp)]),
            f"{name} {text.iloc[max(number, stamp)]!r} is "
            + (
                f"integer nanoseconds but line {lines[stamp]} has an ISO-8601 timestamp "
                f"({text.iloc[stamp]!r})"
                if number > stamp
                else f"not integer nanoseconds as line {lines[number]} is ({text.iloc[number]!r})"
            )
            + "; a file must write every timestamp one way",
        )
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        first = bad[0]
        raise where.error(
            int(lines[first]),
            f"{name} {text.iloc[first]!r} is not an ISO-8601 timestamp "
            "(e.g. 2024-08-01T13:36:32.491911683Z) or integer nanoseconds",
        )
    return parsed.dt.tz_convert(None).astype("datetime64[ns]").to_numpy().view("int64")
