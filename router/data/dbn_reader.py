"""Databento DBN (MBP-1, MBP-10, TBBO, CMBP-1) into :class:`Messages`, chunk by chunk; MBO
into :class:`~router.data.order_level.OrderMessages`, whole (its book needs every record).

The metadata header is decoded by ``databento-dbn`` (Databento's own decoder). Records of one
schema have a fixed size, so each chunk of them is one ``numpy.frombuffer`` with the record
layout ``databento-dbn`` publishes (``Mbp10Msg._dtypes`` and friends): no per-record Python.
Chunks keep memory bounded: the loader drops what falls outside its window chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import databento_dbn
import numpy as np

from router.data.marketdata import DataError
from router.data.messages import Messages, Where
from router.data.order_level import OrderMessages, event_ends
from router.data.prices import fixed_to_dollars
from router.data.schemas import (
    CONSOLIDATED,
    RTYPES,
    SCHEMA_OF_RTYPE,
    SCHEMAS,
    unsupported_rtype,
    unsupported_schema,
)

_RECORDS = {
    "mbo": databento_dbn.MBOMsg,
    "mbp-1": databento_dbn.MBP1Msg,
    "tbbo": databento_dbn.MBP1Msg,
    "mbp-10": databento_dbn.MBP10Msg,
    "cmbp-1": databento_dbn.CMBP1Msg,
}
_PREFIX = 8  # b"DBN", the version byte, the metadata length (u32 little-endian)
CHUNK_RECORDS = 1 << 14


def record_dtype(schema: str, ts_out: bool = False) -> np.dtype:
    """The packed record of ``schema`` as a numpy dtype, from databento-dbn's own layout."""
    fields = list(_RECORDS[schema]._dtypes)
    if ts_out:  # Databento's live gateway send time, appended to every record
        fields.append(("ts_out", "u8"))
    return np.dtype(fields)


def levels_of(schema: str) -> int:
    """Book levels a schema's records carry (MBO: as deep as the rebuild goes)."""
    return 10 if schema in ("mbp-10", "mbo") else 1


def open_dbn(
    path: object, stream: BinaryIO, depth: int
) -> tuple[str, Iterator[RecordChunk] | OrderMessages]:
    """The file's schema and an iterator over its records, in chunks; for MBO, its order
    messages."""
    prefix = stream.read(_PREFIX)
    length = int.from_bytes(prefix[4:8], "little") if len(prefix) == _PREFIX else 0
    header = stream.read(length)
    if len(prefix) < _PREFIX or len(header) < length:
        raise DataError(f"{path}: truncated DBN file: it ends inside its metadata header")
    try:
        metadata = databento_dbn.Metadata.decode(prefix + header)
    except databento_dbn.DBNError as exc:
        raise DataError(f"{path}: unreadable DBN metadata ({exc})") from None
    schema = None if metadata.schema is None else str(metadata.schema)
    if schema not in SCHEMAS:
        raise DataError(f"{path}: {unsupported_schema(schema)}")
    levels = levels_of(schema)
    if depth > levels:
        raise DataError(
            f"{path}: a {schema} file has {levels} book level(s); depth {depth} needs MBP-10"
        )
    dtype = record_dtype(schema, metadata.ts_out)
    if schema == "mbo":
        return schema, _order_messages(Where(path, "record"), stream, dtype)
    return schema, _chunks(Where(path, "record"), stream, dtype, schema, depth)


class RecordChunk:
    """A chunk of raw records: its timestamps and instruments are read in place, and only the
    records a caller selects (those inside the window) are converted into Messages."""

    def __init__(self, records: np.ndarray, schema: str, depth: int, first: int) -> None:
        self.records, self.schema, self.depth, self.first = records, schema, depth, first
        self.ts_event = records["ts_event"].astype(np.int64)
        self.instrument_id = records["instrument_id"]

    def __len__(self) -> int:
        return len(self.records)

    def select(self, keep: np.ndarray) -> Messages:
        """The selected records as Messages (instrument ids, already checked, left out)."""
        chosen = np.flatnonzero(keep)
        records = self.records if len(chosen) == len(self) else self.records[chosen]
        book = {}
        for side in ("bid", "ask"):
            names = [f"{side}_{{}}_{n:02d}" for n in range(self.depth)]
            px = [fixed_to_dollars(records[n.format("px")]) for n in names]
            book[f"{side}_px"] = np.column_stack(px)
            book[f"{side}_sz"] = np.column_stack([records[n.format("sz")] for n in names])
        publisher = records["publisher_id"].copy()
        if self.schema == "cmbp-1":
            publisher[:] = CONSOLIDATED
        return Messages(
            ts_event=self.ts_event[chosen],
            ts_recv=records["ts_recv"].astype(np.int64),
            publisher_id=publisher,
            instrument_id=None,
            sequence=None if self.schema == "cmbp-1" else records["sequence"].copy(),
            flags=records["flags"].copy(),
            action=records["action"].view(np.uint8).copy(),
            side=records["side"].view(np.uint8).copy(),
            price=fixed_to_dollars(records["price"]),
            size=records["size"].copy(),
            number=self.first + 1 + chosen,
            **book,
        )


def _order_messages(where: Where, stream: BinaryIO, dtype: np.dtype) -> OrderMessages:
    """Every MBO record of the file, one instrument, as order messages."""
    columns = ("ts_event", "ts_recv", "publisher_id", "order_id", "price", "size", "flags")
    parts: dict[str, list] = {name: [] for name in (*columns, "action", "side", "instrument")}
    for records, _ in _raw_chunks(where, stream, dtype, "mbo"):
        for name in columns:
            parts[name].append(records[name].copy())
        parts["action"].append(records["action"].view(np.uint8).copy())
        parts["side"].append(records["side"].view(np.uint8).copy())
        parts["instrument"].append(records["instrument_id"].copy())
    whole = {name: np.concatenate(chunks) if chunks else np.zeros(0) for name, chunks in
             parts.items()}  # fmt: skip
    instruments = np.unique(whole["instrument"])
    if len(instruments) > 1:
        listed = ", ".join(str(i) for i in instruments[:5])
        raise DataError(
            f"{where.path}: several instruments ({listed}); load one instrument per file"
        )
    ts = whole["ts_event"].astype(np.int64)
    publisher = whole["publisher_id"]
    return OrderMessages(
        ts_event=ts,
        ts_recv=whole["ts_recv"].astype(np.int64),
        publisher_id=publisher,
        order_id=whole["order_id"],
        action=whole["action"],
        side=whole["side"],
        price=fixed_to_dollars(whole["price"]),
        size=whole["size"].astype(np.int64),
        last=event_ends(whole["flags"], ts, publisher),
        number=np.arange(1, len(ts) + 1),
    )


def _chunks(
    where: Where, stream: BinaryIO, dtype: np.dtype, schema: str, depth: int
) -> Iterator[RecordChunk]:
    for records, done in _raw_chunks(where, stream, dtype, schema):
        yield RecordChunk(records, schema, depth, done)


def _raw_chunks(
    where: Where, stream: BinaryIO, dtype: np.dtype, schema: str
) -> Iterator[tuple[np.ndarray, int]]:
    """Chunks of records, checked, and how many records came before each."""
    size, done = dtype.itemsize, 0
    while data := stream.read(CHUNK_RECORDS * size):
        whole = len(data) // size
        if len(data) % size:
            raise where.error(
                done + whole + 1,
                f"truncated DBN file: it ends {len(data) % size} bytes into a {size}-byte "
                f"{schema} record",
            )
        records = np.frombuffer(data, dtype=dtype)
        _check_layout(where, records, size, schema, done)
        yield records, done
        done += whole


def _check_layout(where: Where, records: np.ndarray, size: int, schema: str, done: int) -> None:
    """Every record must be of the file's schema: same type, same length."""
    bad = ~np.isin(records["rtype"], RTYPES[schema]) | (records["length"].astype(int) * 4 != size)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rtype, length = int(records["rtype"][i]), int(records["length"][i]) * 4
        reason = (
            unsupported_rtype(rtype)
            if rtype not in SCHEMA_OF_RTYPE
            else f"a {length}-byte record of type {rtype}"
        )
        raise where.error(
            done + i + 1,
            f"{reason} in a {schema} file; expected only {schema} records of {size} bytes "
            "(files mixing record types, such as live captures, are not read)",
        )
