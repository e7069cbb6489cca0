"""Synthetic market benchmark: a whole regular session (13:30-20:00 UTC, 6.5 h), 4 venues,
MBP-10, written as .dbn.zst, .dbn and CSV.

    .venv/bin/python -m bench.market [--repeats 1] [--formats dbn.zst,dbn,csv]

Each write runs in a fresh process (the formats alternating within each repeat) and reports
its wall time, records, records per second, file size and peak resident memory (VmHWM). The
target (issue 13): a full session in under 3 minutes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import machine, median
from producer.synthetic import generate

FORMATS = ("dbn.zst", "dbn", "csv")
SESSION = ("13:30", "19:59:59")


def measure(path: Path, seed: int) -> dict:
    """One full session written, in this process."""
    start = time.perf_counter()
    records = generate(path, seed=seed, start=SESSION[0], end=SESSION[1],
                       fmt="csv" if path.suffix == ".csv" else "dbn")  # fmt: skip
    seconds = time.perf_counter() - start
    with open("/proc/self/status") as fh:
        peak = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))
    return {"seconds": seconds, "records": records, "file_bytes": path.stat().st_size,
            "peak_rss_bytes": peak}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.seed)))
        return
    formats = args.formats.split(",")
    runs = {fmt: [] for fmt in formats}
    with tempfile.TemporaryDirectory(prefix="bench-market-") as tmp:
        for _ in range(args.repeats):
            for fmt in formats:
                command = [sys.executable, "-m", "bench.market", "--seed", str(args.seed),
                           "--measure", str(Path(tmp) / f"session.{fmt}")]  # fmt: skip
                done = subprocess.run(command, check=True, capture_output=True, text=True)
                runs[fmt].append(json.loads(done.stdout))
    figures: dict = {"session_utc": SESSION, "venues": 4, "seed": args.seed,
                     "repeats": args.repeats}  # fmt: skip
    for fmt, results in runs.items():
        seconds = median([r["seconds"] for r in results])
        figures[fmt] = {
            "median_s": seconds,
            "records": results[0]["records"],
            "records_per_s": results[0]["records"] / seconds,
            "file_mb": results[0]["file_bytes"] / 1e6,
            "peak_rss_mb": median([r["peak_rss_bytes"] for r in results]) / 1e6,
        }
    figures["machine"] = machine()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
