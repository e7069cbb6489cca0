"""The Kafka wire format of sor-sweep, shared by the producer and the consumer.

A producer run streams one or several trading days. Each day is its own run (a run id, its
records, one end record); the runs of one producer invocation share a stream id. Records are
keyed by publisher id as ASCII digits, on one partition or several. Headers: ``sor.type``
(``snapshot``, ``print`` or ``eos``), ``sor.run`` (the day's run id), ``sor.v`` (the version).

Version 3 values, packed little-endian:

- snapshot, one per (ts_event, venue) row of :class:`router.Snapshots`: ``u1 version, i8 ts,
  i8 ts_recv, i4 publisher_id, i4 prints`` (how many prints belong to this row) then, for the
  stream's depth d, ``f8 ask_px[d], i8 ask_sz[d], f8 bid_px[d], i8 bid_sz[d]`` (25 + 32d
  bytes; an empty level has size 0 and a NaN price).
- print, one per trade: ``u1 version, i8 ts, i4 publisher_id, i8 index, f8 price, i8 size,
  u1 side`` (38 bytes); ``index`` is its place in the day's print table, ``side`` the
  aggressor as ASCII (``A`` seller, ``B`` buyer, ``N`` unknown).
- end of stream, one per day, on partition 0, after every record of the day was acknowledged:
  JSON ``{"version", "stream", "run", "day", "days", "count", "prints", "sha256", "depth",
  "window", "quality", "produced_at"}``; ``sha256`` covers the snapshot values in (ts,
  publisher_id) order, then the print values in index order.

Version 2 had no ts_recv and kept only each row's lowest trade price, without sides; version 1
had no trade fields at all. Fixed-size binary records decode with one ``numpy.frombuffer`` per
record type for the whole day.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from router import DataQuality, Snapshots, Window

VERSION = 3
SNAPSHOT_HEADER_BYTES = 25
LEVEL_BYTES = 32
PRINT_DTYPE = np.dtype(
    [
        ("version", "u1"),
        ("ts", "<i8"),
        ("publisher_id", "<i4"),
        ("index", "<i8"),
        ("price", "<f8"),
        ("size", "<i8"),
        ("side", "u1"),
    ]
)


def snapshot_dtype(depth: int) -> np.dtype:
    """The packed snapshot record for a given book depth."""
    return np.dtype(
        [
            ("version", "u1"),
            ("ts", "<i8"),
            ("ts_recv", "<i8"),
            ("publisher_id", "<i4"),
            ("prints", "<i4"),
            ("ask_px", "<f8", (depth,)),
            ("ask_sz", "<i8", (depth,)),
            ("bid_px", "<f8", (depth,)),
            ("bid_sz", "<i8", (depth,)),
        ]
    )


def headers(kind: str, run: str) -> list[tuple[str, bytes]]:
    return [("sor.type", kind.encode()), ("sor.run", run.encode()), ("sor.v", b"%d" % VERSION)]


@dataclass(frozen=True)
class Payloads:
    """One day's values: snapshots in row order, then prints in index order."""

    snapshots: list[bytes]
    prints: list[bytes]

    def checksum(self) -> str:
        return checksum([*self.snapshots, *self.prints])


def _split(records: np.ndarray) -> list[bytes]:
    raw, size = records.tobytes(), records.dtype.itemsize
    return [raw[i : i + size] for i in range(0, len(raw), size)]


def encode(snapshots: Snapshots) -> Payloads:
    """One packed record per snapshot row and per print, in order."""
    rows = np.zeros(len(snapshots), dtype=snapshot_dtype(snapshots.depth))
    rows["version"] = VERSION
    for name in ("ts", "ts_recv", "publisher_id", "ask_px", "ask_sz", "bid_px", "bid_sz"):
        rows[name] = getattr(snapshots, name)
    rows["prints"] = np.diff(snapshots.print_start)
    prints = np.zeros(len(snapshots.print_px), dtype=PRINT_DTYPE)
    prints["version"] = VERSION
    owner = snapshots.print_row
    prints["ts"] = snapshots.ts[owner]
    prints["publisher_id"] = snapshots.publisher_id[owner]
    prints["index"] = np.arange(len(prints))
    prints["price"], prints["size"] = snapshots.print_px, snapshots.print_sz
    prints["side"] = snapshots.print_side
    return Payloads(_split(rows), _split(prints))


def checksum(payloads: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for payload in payloads:
        digest.update(payload)
    return digest.hexdigest()


def end_of_stream(
    *, stream: str, run: str, day: int, days: int, snapshots: Snapshots, payloads: Payloads,
    sha256: str, produced_at: str,
) -> bytes:  # fmt: skip
    return json.dumps(
        {
            "version": VERSION,
            "stream": stream,
            "run": run,
            "day": day,
            "days": days,
            "count": len(payloads.snapshots),
            "prints": len(payloads.prints),
            "sha256": sha256,
            "depth": snapshots.depth,
            "window": asdict(snapshots.window),
            "quality": asdict(snapshots.quality),
            "produced_at": produced_at,
        }
    ).encode()


def decode(payloads: Payloads, eos: dict) -> Snapshots:
    """Rebuild one day's snapshot arrays; raises ValueError on any inconsistency."""
    run, depth = eos["run"], eos["depth"]
    for kind, values, expected in (
        ("snapshots", payloads.snapshots, eos["count"]),
        ("prints", payloads.prints, eos["prints"]),
    ):
        if len(values) != expected:
            raise ValueError(f"run {run}: {len(values)} {kind}, end record says {expected}")
    rows = _records(payloads.snapshots, snapshot_dtype(depth))
    prints = _records(payloads.prints, PRINT_DTYPE)
    row_order = np.lexsort((rows["publisher_id"], rows["ts"]))
    print_order = np.argsort(prints["index"], kind="stable")
    ordered = [payloads.snapshots[i] for i in row_order] + [payloads.prints[i] for i in print_order]
    if checksum(ordered) != eos["sha256"]:
        raise ValueError(f"run {run}: checksum mismatch: payloads differ from those sent")
    rows, prints = rows[row_order], prints[print_order]
    print_start = np.r_[0, np.cumsum(rows["prints"])].astype(np.int64)
    owner = np.repeat(np.arange(len(rows)), rows["prints"])
    if not (
        np.array_equal(prints["index"], np.arange(len(prints)))
        and np.array_equal(prints["ts"], rows["ts"][owner])
        and np.array_equal(prints["publisher_id"], rows["publisher_id"][owner])
    ):
        raise ValueError(f"run {run}: prints do not match the snapshots they belong to")
    return Snapshots(
        ts=rows["ts"].copy(),
        ts_recv=rows["ts_recv"].copy(),
        publisher_id=rows["publisher_id"].astype(np.int64),
        ask_px=rows["ask_px"].reshape(-1, depth).copy(),
        ask_sz=rows["ask_sz"].reshape(-1, depth).copy(),
        bid_px=rows["bid_px"].reshape(-1, depth).copy(),
        bid_sz=rows["bid_sz"].reshape(-1, depth).copy(),
        print_start=print_start,
        print_px=prints["price"].copy(),
        print_sz=prints["size"].copy(),
        print_side=prints["side"].copy(),
        window=Window(**eos["window"]),
        quality=DataQuality(**eos["quality"]),
    )


def _records(payloads: list[bytes], dtype: np.dtype) -> np.ndarray:
    return np.frombuffer(b"".join(payloads), dtype=dtype) if payloads else np.zeros(0, dtype)


def check_payload(kind: bytes, value: bytes | None) -> str | None:
    """Why a snapshot or print value is malformed, or None if it is well formed."""
    if not value:
        return "empty value"
    if value[0] != VERSION:
        return (
            f"wire version {value[0]}, expected {VERSION}: produced by an older sor-sweep; "
            "produce the data again with this version (python -m producer CONFIG)"
        )
    if kind == b"print":
        if len(value) != PRINT_DTYPE.itemsize:
            return f"{len(value)} bytes is not a version-{VERSION} print ({PRINT_DTYPE.itemsize})"
    elif (len(value) - SNAPSHOT_HEADER_BYTES) % LEVEL_BYTES or len(value) <= SNAPSHOT_HEADER_BYTES:
        return (
            f"{len(value)} bytes is not a version-{VERSION} snapshot record "
            f"({SNAPSHOT_HEADER_BYTES} + {LEVEL_BYTES} x depth)"
        )
    return None
