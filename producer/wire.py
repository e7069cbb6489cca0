"""The Kafka wire format of sor-sweep, shared by the producer and the consumer.

A producer run streams one or several trading days. Each day is its own run (a run id, its
block records, one end record); the runs of one producer invocation share a stream id. Headers:
``sor.type`` (``block`` or ``eos``), ``sor.run`` (the day's run id), ``sor.v`` (the version).

Version 4 values, packed little-endian:

- block: consecutive snapshot rows of one day and their prints, column after column as
  :class:`router.Snapshots` holds them, so that each column is one ``numpy.frombuffer`` and one
  copy: a 32-byte header ``u1 version, u1 depth, u2 0, i4 rows, i8 first_row, i8 first_print,
  i4 prints, i4 0``, then for its n rows ``i8 ts[n], i8 ts_recv[n], i4 publisher_id[n],
  i4 prints[n], f8 ask_px[n][d], i8 ask_sz[n][d], f8 bid_px[n][d], i8 bid_sz[n][d]`` (24 + 32d
  bytes a row; an empty level has size 0 and a NaN price), then for its m prints ``f8
  price[m], i8 size[m], u1 side[m]`` (17 bytes a print; ``side`` the aggressor as ASCII: ``A``
  seller, ``B`` buyer, ``N`` unknown). A block never spans more than ``batch_ms`` of exchange
  time nor holds more than ``batch_rows`` rows or :data:`MAX_BLOCK_BYTES`.
- end of stream, one per day, on partition 0, after every block of the day was acknowledged:
  JSON ``{"version", "stream", "run", "day", "days", "rows", "prints", "blocks", "sha256",
  "depth", "window", "quality", "produced_at", "offsets", "files", "earlier"}``. ``files``
  names the files the stream was produced from (``name``, ``bytes``; none if sent from
  arrays). ``offsets`` maps each partition holding the day's blocks to the first and last
  offset of its blocks there, so a consumer reads exactly those ranges; ``earlier`` holds the
  end records of the stream's earlier days (without their own ``earlier``), so the last day's
  end record describes the whole stream and a consumer finds it by reading partition 0 from
  its tail. ``sha256`` is the SHA-256 of
  the blocks' CRC32Cs (4 bytes each, little-endian) in row order.

Version 3 sent one record per snapshot row and one per print; 2 had no ts_recv; 1 no prints.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
from crc32c import crc32c

from router import DataQuality, Snapshots, Window

VERSION = 4
#: Kafka's default limit on one record (broker ``message.max.bytes``, producer
#: ``max_request_size``) is about 1 MiB: a block stays under it whatever ``batch_rows`` says.
MAX_BLOCK_BYTES = 1_000_000
BLOCK_HEADER = np.dtype(
    [
        ("version", "u1"),
        ("depth", "u1"),
        ("reserved", "<u2"),
        ("rows", "<i4"),
        ("first_row", "<i8"),
        ("first_print", "<i8"),
        ("prints", "<i4"),
        ("reserved2", "<i4"),
    ]
)  # 32 bytes: the 8-byte columns after it start aligned
#: A block's columns after its header, in order: name, type, per row (else per print), and
#: whether it has a value per book level.
COLUMNS = (
    ("ts", "<i8", True, False),
    ("ts_recv", "<i8", True, False),
    ("publisher_id", "<i4", True, False),
    ("prints", "<i4", True, False),
    ("ask_px", "<f8", True, True),
    ("ask_sz", "<i8", True, True),
    ("bid_px", "<f8", True, True),
    ("bid_sz", "<i8", True, True),
    ("print_px", "<f8", False, False),
    ("print_sz", "<i8", False, False),
    ("print_side", "u1", False, False),
)
PRINT_BYTES = 17


def row_bytes(depth: int) -> int:
    """A row's bytes in a block: 24 + 32 x depth."""
    return 24 + 32 * depth


def headers(kind: str, run: str) -> list[tuple[str, bytes]]:
    return [("sor.type", kind.encode()), ("sor.run", run.encode()), ("sor.v", b"%d" % VERSION)]


def block_bounds(
    ts: np.ndarray, print_start: np.ndarray, depth: int, batch_rows: int, batch_ms: float
) -> list[tuple[int, int]]:
    """Consecutive row ranges ``[first, stop)`` of a day (its rows' ``ts`` and ``print_start``):
    each at most ``batch_rows`` rows, spanning at most ``batch_ms`` of exchange time and at
    most :data:`MAX_BLOCK_BYTES`, except a single row whose prints alone exceed it (some 58,800
    of them): it is a block of its own, which Kafka refuses and the producer names."""
    span_ns = round(batch_ms * 1_000_000)
    room = MAX_BLOCK_BYTES - BLOCK_HEADER.itemsize
    bytes_before = np.arange(len(ts) + 1) * row_bytes(depth) + print_start * PRINT_BYTES
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
    """The day's blocks in row order, made one at a time: each column's slice copied as is."""
    source = {
        "publisher_id": day.publisher_id,
        "prints": np.diff(day.print_start),
    }
    columns = {
        name: np.ascontiguousarray(source[name] if name in source else getattr(day, name), kind)
        for name, kind, _, _ in COLUMNS
    }
    header = np.zeros(1, dtype=BLOCK_HEADER)
    header["version"], header["depth"] = VERSION, day.depth
    for first, stop in block_bounds(day.ts, day.print_start, day.depth, batch_rows, batch_ms):
        p0, p1 = int(day.print_start[first]), int(day.print_start[stop])
        header["first_row"], header["rows"] = first, stop - first
        header["first_print"], header["prints"] = p0, p1 - p0
        parts = [header.tobytes()]
        for name, _, per_row, _ in COLUMNS:
            parts.append(columns[name][first:stop] if per_row else columns[name][p0:p1])
        yield Block(b"".join(parts), first, stop)


def digest(value: bytes) -> bytes:
    """A block's CRC32C (in hardware: ~10x faster than its SHA-256 here, and the checksum
    Kafka's own record batches carry)."""
    return crc32c(value).to_bytes(4, "little")


def day_checksum(digests: list[bytes]) -> str:
    """The day's checksum: the SHA-256 of its blocks' CRC32Cs, in row order."""
    return hashlib.sha256(b"".join(digests)).hexdigest()


def end_of_stream(
    *, stream: str, run: str, day: int, days: int, snapshots: Snapshots, blocks: int,
    sha256: str, offsets: dict[int, tuple[int, int]], earlier: list[dict], produced_at: str,
    files: list[dict] | None = None,
) -> dict:  # fmt: skip
    """One day's end record (encode it with :func:`encode_end`); ``files``: the name and size
    of each file the stream was produced from (none when it was sent from arrays)."""
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
        "files": files or [],
        "earlier": earlier,
    }


def encode_end(end: dict) -> bytes:
    return json.dumps(end).encode()


@dataclass(frozen=True)
class _Placed:
    """What a day keeps of a block once its columns are in place."""

    rows: int
    first_print: int
    crc: bytes


class DayBuilder:
    """One day's arrays, filled block by block in any order as they arrive, then checked
    against its end record: every row exactly once, the checksum, the prints' places.

    Holds the day's arrays (allocated once from the end record's counts) and a CRC32C per
    block: never the raw records."""

    def __init__(self, end: dict) -> None:
        self.end, depth = end, end["depth"]
        self.arrays = {
            name: np.zeros(
                (end["rows" if per_row else "prints"], *((depth,) if level else ())),
                np.int64 if kind == "<i4" else kind,  # publisher ids and counts as int64
            )
            for name, kind, per_row, level in COLUMNS
        }
        self.blocks: dict[int, _Placed] = {}  # by first row

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values())

    def add(self, value: bytes) -> None:
        """Place one block; raises ValueError if it is malformed or does not fit the day."""
        end, depth = self.end, self.end["depth"]
        if len(value) < BLOCK_HEADER.itemsize:
            raise ValueError(f"{len(value)} bytes is shorter than a block header")
        head = np.frombuffer(value, BLOCK_HEADER, count=1)[0]
        first, n = int(head["first_row"]), int(head["rows"])
        p0, m = int(head["first_print"]), int(head["prints"])
        if head["version"] != VERSION or head["depth"] != depth:
            raise ValueError(f"block of version {head['version']} depth {head['depth']}, the "
                             f"end record says version {VERSION} depth {depth}")  # fmt: skip
        expected = BLOCK_HEADER.itemsize + n * row_bytes(depth) + m * PRINT_BYTES
        if len(value) != expected or n < 1 or m < 0:
            raise ValueError(f"block of {len(value)} bytes does not hold {n} rows and {m} prints")
        if not (0 <= first <= end["rows"] - n and 0 <= p0 <= end["prints"] - m):
            raise ValueError(
                f"block of rows {first}..{first + n - 1} and prints {p0}..{p0 + m - 1} lies "
                f"outside the day's {end['rows']} rows and {end['prints']} prints"
            )
        if first in self.blocks:
            raise ValueError(f"two blocks start at row {first}")
        offset, rows, prints = BLOCK_HEADER.itemsize, slice(first, first + n), slice(p0, p0 + m)
        for name, kind, per_row, level in COLUMNS:
            count = (n if per_row else m) * (depth if level else 1)
            column = np.frombuffer(value, kind, count=count, offset=offset)
            offset += column.nbytes
            if name == "prints" and ((column < 0).any() or int(column.sum()) != m):
                raise ValueError(f"block's rows count {int(column.sum())} prints, its header {m}")
            self.arrays[name][rows if per_row else prints] = (
                column.reshape(n, depth) if level else column
            )
        self.blocks[first] = _Placed(n, p0, digest(value))

    def finish(self) -> Snapshots:
        """The day, once every block is in; raises ValueError naming what disagrees."""
        end, run, arrays = self.end, self.end["run"], self.arrays
        placed = [self.blocks[first] for first in sorted(self.blocks)]
        filled = sum(block.rows for block in placed)
        if len(placed) != end["blocks"] or filled != end["rows"]:
            raise ValueError(
                f"run {run}: {len(placed)} blocks of {filled} rows, the end record "
                f"says {end['blocks']} blocks of {end['rows']} rows"
            )
        starts = np.array(sorted(self.blocks), dtype=np.int64)
        sizes = np.diff(np.r_[starts, end["rows"]])
        print_start = np.r_[0, np.cumsum(arrays["prints"])].astype(np.int64)
        if (
            starts[0] != 0
            or sizes.tolist() != [block.rows for block in placed]
            or print_start[-1] != end["prints"]
        ):
            raise ValueError(f"run {run}: the blocks overlap or leave rows or prints out")
        if print_start[starts].tolist() != [block.first_print for block in placed]:
            raise ValueError(f"run {run}: a block's prints are not those of its rows")
        if day_checksum([block.crc for block in placed]) != end["sha256"]:
            raise ValueError(f"run {run}: checksum mismatch: blocks differ from those sent")
        return Snapshots(
            **{name: array for name, array in arrays.items() if name != "prints"},
            print_start=print_start,
            window=Window(**end["window"]),
            quality=DataQuality(**end["quality"]),
        )
