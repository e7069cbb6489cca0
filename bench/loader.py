"""Loader benchmark: the same MBP-10 records from .dbn.zst, .dbn and Databento's CSV.

    .venv/bin/python -m bench.loader [--records 1000000] [--repeats 3] [--depth 10]

One synthetic day of ``--records`` MBP-10 records is written as DBN with zstd (our generator),
then as plain DBN and as the CSV Databento's own ``Transcoder`` makes of it (pretty prices and
timestamps). Every load runs in a fresh process, the formats alternating within each repeat, and
reports its wall time and its peak resident memory above the process's size just before the
load (VmHWM, reset first); one more traced run per DBN form gives the peak of Python and numpy
allocations (``tracemalloc``), which leaves out the C allocator's own retention (tracing the
CSV load takes minutes: pandas makes millions of small strings). Memory figures are compared
with the bytes of the Snapshots arrays the load returns.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import databento_dbn
import zstandard

from bench.common import machine, median
from producer.synthetic import generate
from router import Snapshots, load_mbp

FORMATS = ("dbn.zst", "dbn", "csv")


def _resident() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def _high_water() -> int:
    """Peak resident bytes since the last reset (VmHWM; ru_maxrss would include the parent's
    peak, which Linux carries into a child across fork and exec)."""
    with open("/proc/self/status") as fh:
        line = next(line for line in fh if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def measure(path: Path, depth: int, traced: bool) -> dict:
    """One load, in this process: seconds, rows, bytes of the result, peak memory above start."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # resets VmHWM to the current resident size
    base = _resident()
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    snapshots = load_mbp(path, "00:00", "23:59", depth)
    seconds = time.perf_counter() - start
    figures = {
        "seconds": seconds,
        "records": snapshots.quality.rows_read,
        "rows": len(snapshots),
        "array_bytes": sum(getattr(snapshots, k).nbytes for k in Snapshots._ARRAYS),
        "peak_rss_bytes": _high_water() - base,
    }
    if traced:
        figures["peak_traced_bytes"] = tracemalloc.get_traced_memory()[1]
    return figures


def run_one(path: Path, depth: int, traced: bool = False) -> dict:
    command = [sys.executable, "-m", "bench.loader", "--measure", str(path), "--depth", str(depth)]
    done = subprocess.run(
        command + (["--traced"] if traced else []), check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout)


def write_files(folder: Path, records: int) -> dict[str, Path]:
    """The same records as .dbn.zst (generated), .dbn and Databento-transcoded CSV."""
    paths = {fmt: folder / f"day.{fmt}" for fmt in FORMATS}
    generate(paths["dbn.zst"], seed=11, rows=records, fmt="dbn")
    raw = zstandard.ZstdDecompressor().stream_reader(paths["dbn.zst"].open("rb")).read()
    paths["dbn"].write_bytes(raw)
    with open(paths["csv"], "wb") as out:
        transcoder = databento_dbn.Transcoder(
            out, databento_dbn.Encoding.CSV, databento_dbn.Compression.NONE
        )
        view = io.BytesIO(raw)
        while block := view.read(1 << 24):
            transcoder.write(block)
        transcoder.flush()
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.depth, args.traced)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-loader-") as tmp:
        paths = write_files(Path(tmp), args.records)
        runs = {fmt: [] for fmt in FORMATS}
        for _ in range(args.repeats):
            for fmt in FORMATS:
                runs[fmt].append(run_one(paths[fmt], args.depth))
        traced = {fmt: run_one(paths[fmt], args.depth, traced=True) for fmt in FORMATS[:2]}
        sizes = {fmt: paths[fmt].stat().st_size for fmt in FORMATS}
    written = runs[FORMATS[0]][0]["records"]  # about --records: the generator scales its rate
    figures = {"records": written, "depth": args.depth, "repeats": args.repeats}
    for fmt in FORMATS:
        first = runs[fmt][0]
        seconds = median([r["seconds"] for r in runs[fmt]])
        rss = median([r["peak_rss_bytes"] for r in runs[fmt]])
        figures[fmt] = {
            "file_mb": sizes[fmt] / 1e6,
            "median_s": seconds,
            "records_per_s": first["records"] / seconds,
            "snapshot_rows": first["rows"],
            "arrays_mb": first["array_bytes"] / 1e6,
            "peak_rss_mb": rss / 1e6,
            "peak_rss_vs_arrays": rss / first["array_bytes"],
        }
        if fmt in traced:
            peak = traced[fmt]["peak_traced_bytes"]
            figures[fmt] |= {
                "peak_traced_mb": peak / 1e6,
                "peak_traced_vs_arrays": peak / first["array_bytes"],
            }
    for fmt in ("dbn.zst", "dbn"):
        figures[f"csv_vs_{fmt}_time"] = figures["csv"]["median_s"] / figures[fmt]["median_s"]
    figures["machine"] = machine()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
