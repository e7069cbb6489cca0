"""The Kafka wire format of sor-sweep, shared by the producer and the consumer.

A producer run streams one or several trading days. Each day is its own run (a run id, its
block records, one end record); the runs of one producer invocation share a stream id. Headers:
``sor.type`` (``block`` or ``eos``), ``sor.run`` (the day's run id), ``sor.v`` (the version).

Version 4 values, packed little-endian:

- block: consecutive snapshot rows of one day and their prints, in the columnar layout of
  :class:`router.Snapshots` so that one ``numpy.frombuffer`` reads each part:
  ``u1 version, u1 depth, i8 first_row, i4 rows, i8 first_print, i4 prints`` (26 bytes), then
  ``rows`` x ``i8 ts, i8 ts_recv, i4 publisher_id, i4 prints, f8 ask_px[d], i8 ask_sz[d],
  f8 bid_px[d], i8 bid_sz[d]`` (24 + 32d bytes; an empty level has size 0 and a NaN price),
  then ``prints`` x ``f8 price, i8 size, u1 side`` (17 bytes; ``side`` the aggressor as ASCII:
  ``A`` seller, ``B`` buyer, ``N`` unknown). A block never spans more than ``batch_ms`` of
  exchange time nor holds more than ``batch_rows`` rows or :data:`MAX_BLOCK_BYTES`.
- end of stream, one per day, on partition 0, after every block of the day was acknowledged:
  JSON ``{"version", "stream", "run", "day", "days", "rows", "prints", "blocks", "sha256",
  "depth", "window", "quality", "produced_at", "offsets", "earlier"}``. ``offsets`` maps each
  partition holding the day's blocks to the first and last offset of its blocks there, so a
  consumer reads exactly those ranges; ``earlier`` holds the end records of the stream's earlier
  days (without their own ``earlier``), so the last day's end record describes the whole stream
  and a consumer finds it by reading partition 0 from its tail. ``sha256`` is the SHA-256 of
  the blocks' own SHA-256 digests in row order.

Version 3 sent one record per snapshot row and one per print; 2 had no ts_recv; 1 no prints.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from router import DataQuality, Snapshots, Window

VERSION = 4
#: Kafka's default limit on one record (broker ``message.max.bytes``, producer
#: ``max_request_size``) is about 1 MiB: a block stays under it whatever ``batch_rows`` says.
MAX_BLOCK_BYTES = 1_000_000
BLOCK_HEADER = np.dtype(
    [
        ("version", "u1"),
        ("depth", "u1"),
        ("first_row", "<i8"),
        ("rows", "<i4"),
        ("first_print", "<i8"),
        ("prints", "<i4"),
    ]
)
PRINT_DTYPE = np.dtype([("price", "<f8"), ("size", "<i8"), ("side", "u1")])


def row_dtype(depth: int) -> np.dtype:
    """One packed snapshot row for a given book depth."""
    return np.dtype(
        [
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


def block_bounds(
    ts: np.ndarray, print_start: np.ndarray, depth: int, batch_rows: int, batch_ms: float
) -> list[tuple[int, int]]:
    """Consecutive row ranges ``[first, stop)`` of a day (its rows' ``ts`` and ``print_start``):
    each at most ``batch_rows`` rows, spanning at most ``batch_ms`` of exchange time and at
    most :data:`MAX_BLOCK_BYTES` (a single row is always a block of its own)."""
    span_ns = round(batch_ms * 1_000_000)
    room = MAX_BLOCK_BYTES - BLOCK_HEADER.itemsize
    bytes_before = (
        np.arange(len(ts) + 1) * row_dtype(depth).itemsize + print_start * PRINT_DTYPE.itemsize
    )
    bounds, first = [], 0
    while first < len(ts):
        stop = min(
            first + batch_rows,
            int(np.searchsorted(ts, ts[first] + span_ns, side="right")),
            int(np.searchsorted(bytes_before, bytes_before[first] + room, side="right")) - 1,
        )
        stop = max(stop, first + 1)
        bounds.append((first, stop))
        first = stop
    return bounds


@dataclass(frozen=True)
class Block:
    value: bytes
    first_row: int
    stop_row: int


def encode(day: Snapshots, batch_rows: int, batch_ms: float) -> Iterator[Block]:
    """The day's blocks in row order, made one at a time (the packed day is built once)."""
    rows = np.zeros(len(day), dtype=row_dtype(day.depth))
    for name in ("ts", "ts_recv", "publisher_id", "ask_px", "ask_sz", "bid_px", "bid_sz"):
        rows[name] = getattr(day, name)
    rows["prints"] = np.diff(day.print_start)
    prints = np.zeros(len(day.print_px), dtype=PRINT_DTYPE)
    prints["price"], prints["size"], prints["side"] = day.print_px, day.print_sz, day.print_side
    header = np.zeros(1, dtype=BLOCK_HEADER)
    header["version"], header["depth"] = VERSION, day.depth
    for first, stop in block_bounds(day.ts, day.print_start, day.depth, batch_rows, batch_ms):
        p0, p1 = int(day.print_start[first]), int(day.print_start[stop])
        header["first_row"], header["rows"] = first, stop - first
        header["first_print"], header["prints"] = p0, p1 - p0
        value = header.tobytes() + rows[first:stop].tobytes() + prints[p0:p1].tobytes()
        yield Block(value, first, stop)


def digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


def day_checksum(digests: list[bytes]) -> str:
    """The day's checksum from its blocks' digests, in row order."""
    return hashlib.sha256(b"".join(digests)).hexdigest()


def end_of_stream(
    *, stream: str, run: str, day: int, days: int, snapshots: Snapshots, blocks: int,
    sha256: str, offsets: dict[int, tuple[int, int]], earlier: list[dict], produced_at: str,
) -> dict:  # fmt: skip
    """One day's end record (encode it with :func:`encode_end`)."""
    return {
        "version": VERSION,
        "stream": stream,
        "run": run,
        "day": day,
        "days": days,
        "rows": len(snapshots),
        "prints": len(snapshots.print_px),
        "blocks": blocks,
        "sha256": sha256,
        "depth": snapshots.depth,
        "window": asdict(snapshots.window),
        "quality": asdict(snapshots.quality),
        "produced_at": produced_at,
        "offsets": {str(p): list(span) for p, span in sorted(offsets.items())},
        "earlier": earlier,
    }


def encode_end(end: dict) -> bytes:
    return json.dumps(end).encode()


class DayBuilder:
    """One day's arrays, filled block by block in any order as they arrive, then checked
    against its end record: every row exactly once, the checksum, the prints' places.

    Holds the day's arrays (allocated once from the end record's counts) and a digest per
    block: never the raw records."""

    def __init__(self, end: dict) -> None:
        self.end, depth, rows = end, end["depth"], end["rows"]
        self.ts = np.zeros(rows, np.int64)
        self.ts_recv = np.zeros(rows, np.int64)
        self.publisher_id = np.zeros(rows, np.int64)
        self.row_prints = np.zeros(rows, np.int64)
        self.book = {k: np.zeros((rows, depth), np.float64 if k[-2:] == "px" else np.int64)
                     for k in ("ask_px", "ask_sz", "bid_px", "bid_sz")}  # fmt: skip
        self.print_px = np.zeros(end["prints"], np.float64)
        self.print_sz = np.zeros(end["prints"], np.int64)
        self.print_side = np.zeros(end["prints"], np.uint8)
        self.print_first = np.full(rows, -1, np.int64)  # each block's first print, by first row
        self.digests: dict[int, bytes] = {}  # first row -> the block's digest
        self.sizes: dict[int, int] = {}  # first row -> the block's rows
        self.filled = 0

    @property
    def nbytes(self) -> int:
        arrays = (self.ts, self.ts_recv, self.publisher_id, self.row_prints, self.print_first,
                  self.print_px, self.print_sz, self.print_side, *self.book.values())  # fmt: skip
        return sum(a.nbytes for a in arrays)

    def add(self, value: bytes) -> None:
        """Place one block; raises ValueError if it is malformed or does not fit the day."""
        end, depth = self.end, self.end["depth"]
        if len(value) < BLOCK_HEADER.itemsize:
            raise ValueError(f"{len(value)} bytes is shorter than a block header")
        head = np.frombuffer(value, BLOCK_HEADER, count=1)[0]
        first, n = int(head["first_row"]), int(head["rows"])
        p0, m = int(head["first_print"]), int(head["prints"])
        rows_dtype = row_dtype(depth)
        expected = BLOCK_HEADER.itemsize + n * rows_dtype.itemsize + m * PRINT_DTYPE.itemsize
        if head["version"] != VERSION or head["depth"] != depth:
            raise ValueError(f"block of version {head['version']} depth {head['depth']}, the "
                             f"end record says version {VERSION} depth {depth}")  # fmt: skip
        if len(value) != expected or n < 1 or m < 0:
            raise ValueError(f"block of {len(value)} bytes does not hold {n} rows and {m} prints")
        if not (0 <= first <= end["rows"] - n and 0 <= p0 <= end["prints"] - m):
            raise ValueError(
                f"block of rows {first}..{first + n - 1} and prints {p0}..{p0 + m - 1} lies "
                f"outside the day's {end['rows']} rows and {end['prints']} prints"
            )
        if first in self.digests:
            raise ValueError(f"two blocks start at row {first}")
        rows = np.frombuffer(value, rows_dtype, count=n, offset=BLOCK_HEADER.itemsize)
        prints = np.frombuffer(
            value, PRINT_DTYPE, count=m, offset=BLOCK_HEADER.itemsize + n * rows_dtype.itemsize
        )
        span = slice(first, first + n)
        self.ts[span], self.ts_recv[span] = rows["ts"], rows["ts_recv"]
        self.publisher_id[span], self.row_prints[span] = rows["publisher_id"], rows["prints"]
        for name, array in self.book.items():
            array[span] = rows[name]
        self.print_px[p0 : p0 + m], self.print_sz[p0 : p0 + m] = prints["price"], prints["size"]
        self.print_side[p0 : p0 + m] = prints["side"]
        self.print_first[first] = p0
        self.digests[first], self.sizes[first] = digest(value), n
        self.filled += n

    def finish(self) -> Snapshots:
        """The day, once every block is in; raises ValueError naming what disagrees."""
        end, run = self.end, self.end["run"]
        if len(self.digests) != end["blocks"] or self.filled != end["rows"]:
            raise ValueError(
                f"run {run}: {len(self.digests)} blocks of {self.filled} rows, the end record "
                f"says {end['blocks']} blocks of {end['rows']} rows"
            )
        starts = np.array(sorted(self.digests), dtype=np.int64)
        sizes = np.diff(np.r_[starts, end["rows"]])
        print_start = np.r_[0, np.cumsum(self.row_prints)].astype(np.int64)
        if (
            starts[0] != 0
            or sizes.tolist() != [self.sizes[int(s)] for s in starts]
            or print_start[-1] != end["prints"]
        ):
            raise ValueError(f"run {run}: the blocks overlap or leave rows or prints out")
        if not np.array_equal(self.print_first[starts], print_start[starts]):
            raise ValueError(f"run {run}: a block's prints are not those of its rows")
        if day_checksum([self.digests[int(s)] for s in starts]) != end["sha256"]:
            raise ValueError(f"run {run}: checksum mismatch: blocks differ from those sent")
        return Snapshots(
            ts=self.ts,
            ts_recv=self.ts_recv,
            publisher_id=self.publisher_id,
            print_start=print_start,
            print_px=self.print_px,
            print_sz=self.print_sz,
            print_side=self.print_side,
            window=Window(**end["window"]),
            quality=DataQuality(**end["quality"]),
            **self.book,
        )
