"""The Kafka wire format of sor-sweep, shared by the producer and the consumer.

Topic records (one partition or several; keyed by publisher id as ASCII digits):

- snapshot, one per (ts_event, venue) row of :class:`router.Snapshots`; headers
  ``sor.type=snapshot``, ``sor.run=<run id>``, ``sor.v=2``. Value: a packed little-endian
  record, version 2: ``u8 version, i8 ts (ns UTC), i4 publisher_id, i8 volume, f8 low_trade_px,
  i8 low_trade_sz`` then, for the stream's depth d, ``f8 ask_px[d], i8 ask_sz[d], f8 bid_px[d],
  i8 bid_sz[d]`` (37 + 32d bytes; an empty level has size 0 and a NaN price, no trade a NaN
  low_trade_px). Version 1 lacked the two trade fields.
- end of stream, one per complete run, sent after every snapshot was acknowledged; headers
  ``sor.type=eos``, ``sor.run``, ``sor.v``. Value: JSON ``{"run", "count", "sha256", "depth",
  "window", "quality"}``; ``sha256`` covers the snapshot values in (ts, publisher_id) order.

Fixed-size binary records decode with one ``numpy.frombuffer`` for the whole day.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict

import numpy as np

from router import DataQuality, Snapshots, Window

VERSION = 2
HEADER_BYTES = 37
LEVEL_BYTES = 32


def record_dtype(depth: int) -> np.dtype:
    """The packed snapshot record for a given book depth."""
    return np.dtype(
        [
            ("version", "u1"),
            ("ts", "<i8"),
            ("publisher_id", "<i4"),
            ("volume", "<i8"),
            ("low_trade_px", "<f8"),
            ("low_trade_sz", "<i8"),
            ("ask_px", "<f8", (depth,)),
            ("ask_sz", "<i8", (depth,)),
            ("bid_px", "<f8", (depth,)),
            ("bid_sz", "<i8", (depth,)),
        ]
    )


def headers(kind: str, run: str) -> list[tuple[str, bytes]]:
    return [("sor.type", kind.encode()), ("sor.run", run.encode()), ("sor.v", b"%d" % VERSION)]


def encode(snapshots: Snapshots) -> list[bytes]:
    """One packed record per snapshot row, in row order."""
    records = np.zeros(len(snapshots), dtype=record_dtype(snapshots.depth))
    records["version"] = VERSION
    for name in Snapshots._ARRAYS:
        records[name] = getattr(snapshots, name)
    raw, size = records.tobytes(), records.dtype.itemsize
    return [raw[i : i + size] for i in range(0, len(raw), size)]


def checksum(payloads: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for payload in payloads:
        digest.update(payload)
    return digest.hexdigest()


def end_of_stream(run: str, snapshots: Snapshots, payloads: list[bytes]) -> bytes:
    return json.dumps(
        {
            "run": run,
            "count": len(payloads),
            "sha256": checksum(payloads),
            "depth": snapshots.depth,
            "window": asdict(snapshots.window),
            "quality": asdict(snapshots.quality),
        }
    ).encode()


def decode(payloads: list[bytes], eos: dict) -> Snapshots:
    """Rebuild the snapshot arrays of one run; raises ValueError on any inconsistency."""
    dtype = record_dtype(eos["depth"])
    if len(payloads) != eos["count"]:
        raise ValueError(
            f"run {eos['run']}: {len(payloads)} snapshots, end record says {eos['count']}"
        )
    records = np.frombuffer(b"".join(payloads), dtype=dtype) if payloads else np.zeros(0, dtype)
    order = np.lexsort((records["publisher_id"], records["ts"]))
    if checksum(payloads[i] for i in order) != eos["sha256"]:
        raise ValueError(f"run {eos['run']}: checksum mismatch: payloads differ from those sent")
    records = records[order]
    return Snapshots(
        ts=records["ts"].copy(),
        publisher_id=records["publisher_id"].astype(np.int64),
        volume=records["volume"].copy(),
        low_trade_px=records["low_trade_px"].copy(),
        low_trade_sz=records["low_trade_sz"].copy(),
        ask_px=records["ask_px"].reshape(-1, eos["depth"]).copy(),
        ask_sz=records["ask_sz"].reshape(-1, eos["depth"]).copy(),
        bid_px=records["bid_px"].reshape(-1, eos["depth"]).copy(),
        bid_sz=records["bid_sz"].reshape(-1, eos["depth"]).copy(),
        window=Window(**eos["window"]),
        quality=DataQuality(**eos["quality"]),
    )


def check_payload(value: bytes | None) -> str | None:
    """Why a snapshot value is malformed, or None if it is well formed."""
    if not value:
        return "empty value"
    if value[0] != VERSION:
        return f"wire version {value[0]}, expected {VERSION}"
    if (len(value) - HEADER_BYTES) % LEVEL_BYTES or len(value) <= HEADER_BYTES:
        return f"{len(value)} bytes is not a version-{VERSION} snapshot record (37 + 32 x depth)"
    return None
