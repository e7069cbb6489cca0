"""Kafka benchmarks against the local broker: what the consumer reads as the topic's history
grows, and produce / consume throughput of whole-session days beside reading the same files.

    kafka/with-broker.sh .venv/bin/python -m bench.kafka history [--runs 50] [--repeats 3]
    kafka/with-broker.sh .venv/bin/python -m bench.kafka throughput [--days 2] [--depth 10]

``history``: the default day on a topic of its own and on one holding ``--runs`` earlier runs
of it, consumed alternately: records looked at, seconds, bytes held.
``throughput``: ``--days`` whole sessions of the synthetic market (seed 7, written once to
``data/session/`` as .dbn.zst), produced unpaced with each compression, then consumed into
arrays in a fresh process (its peak RSS is the driver's), beside loading the same files in a
fresh process; medians of ``--repeats`` rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

from bench.common import ROOT, default_day, machine, median
from producer.publish import publish
from sweep.config import KafkaConfig
from sweep.kafka_source import consume

SESSION = ROOT / "data" / "session" / "aapl.dbn.zst"
SESSION_WINDOW = ("13:30:00", "20:00:00")


def local_broker() -> KafkaConfig:
    """The local broker (``KAFKA_PORT`` as kafka/broker.sh reads it), fresh topics only."""
    port = os.environ.get("KAFKA_PORT", "9092")
    return KafkaConfig(bootstrap_servers=(f"127.0.0.1:{port}",), timeout_s=120)


def history(runs: int, repeats: int) -> dict:
    _, day = default_day()
    alone = replace(local_broker(), topic=f"bench-alone-{uuid.uuid4().hex[:8]}")
    crowded = replace(local_broker(), topic=f"bench-crowded-{uuid.uuid4().hex[:8]}")
    for _ in range(runs):
        publish(day, crowded, pace=0, progress=False)
    for kafka in (alone, crowded):
        publish(day, kafka, pace=0, progress=False)
    figures: dict[str, dict[str, list]] = {"alone": {}, "crowded": {}}
    for _ in range(repeats):  # alternate, so the two share the machine's moods
        for name, kafka in (("alone", alone), ("crowded", crowded)):
            start = time.perf_counter()
            consumed = consume(kafka, timeout_s=60, on_day=len)
            seconds = time.perf_counter() - start
            for key, value in (("seconds", seconds), ("records_read", consumed.records_read),
                               ("peak_bytes", consumed.peak_bytes)):  # fmt: skip
                figures[name].setdefault(key, []).append(value)
    return {
        "rows": len(day),
        "earlier_runs": runs,
        **{
            name: {key: median(values) for key, values in found.items()}
            for name, found in figures.items()
        },
        "seconds_crowded_over_alone": median(figures["crowded"]["seconds"])
        / median(figures["alone"]["seconds"]),
        "repeats": repeats,
    }


def session_files(days: int) -> list[Path]:
    """``days`` whole sessions of the synthetic market, made once."""
    from producer.synthetic import generate_days

    SESSION.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(SESSION.parent.glob("aapl-*.dbn.zst"))
    if len(files) < days:
        start, end = SESSION_WINDOW
        generate_days(SESSION, seed=7, days=days, start=start, end=end, fmt="dbn")
        files = sorted(SESSION.parent.glob("aapl-*.dbn.zst"))
    return files[:days]


#: Runs in a fresh process: its peak RSS is that step's alone.
_CHILD = """
import json, sys, time
from pathlib import Path
from router import load_mbp
from sweep.config import KafkaConfig
from sweep.kafka_source import consume
step, depth = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
if step == "files":
    rows = sum(len(load_mbp(Path(p), depth=depth, start="{start}", end="{end}"))
               for p in sys.argv[3:])
    extra = {{}}
else:
    kafka = KafkaConfig(bootstrap_servers=(sys.argv[3],), topic=sys.argv[4], timeout_s=120)
    consumed = consume(kafka, on_day=len)
    rows, extra = sum(consumed.days), {{"peak_bytes": consumed.peak_bytes}}
seconds = time.perf_counter() - start
status = Path("/proc/self/status").read_text().split("VmHWM:")[1]  # reset by exec, unlike
peak = int(status.split()[0]) * 1024                               # ru_maxrss after a fork
print(json.dumps({{"rows": rows, "seconds": seconds, "peak_rss": peak, **extra}}))
"""


def _child(*args: str) -> dict:
    code = _CHILD.format(start=SESSION_WINDOW[0], end=SESSION_WINDOW[1])
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return json.loads(done.stdout)


def topic_disk(topic: str) -> int:
    """Bytes the broker keeps for ``topic`` (every partition's log folder)."""
    data = Path(os.environ.get("KAFKA_DATA_DIR", ROOT / "kafka" / ".data")) / "kraft-logs"
    return sum(f.stat().st_size for d in data.glob(f"{topic}-*") for f in d.iterdir())


def throughput(days: int, depth: int, codecs: list[str], batch_rows: int, repeats: int) -> dict:
    """Medians over ``repeats`` rounds; each round produces and consumes once per codec (a
    fresh topic each time) and reads the files once, so every figure shares the machine's
    moods alike."""
    from router import load_mbp

    files = session_files(days)
    start, end = SESSION_WINDOW
    loaded = [load_mbp(p, depth=depth, start=start, end=end) for p in files]
    rows = sum(len(d) for d in loaded)
    sizes = [sum(getattr(d, k).nbytes for k in d._ARRAYS) for d in loaded]
    base = replace(local_broker(), batch_rows=batch_rows)
    servers = base.bootstrap_servers[0]
    runs: dict[str, dict[str, list]] = {codec: {} for codec in [*codecs, "files"]}
    for _ in range(repeats):
        for codec in codecs:
            kafka = replace(base, topic=f"bench-{codec}-{uuid.uuid4().hex[:8]}", compression=codec)
            summary = publish(loaded, kafka, pace=0, progress=False)
            consumed = _child("kafka", str(depth), servers, kafka.topic)
            for key, value in (
                ("records", summary.records),
                ("produce_s", summary.seconds),
                ("consume_s", consumed["seconds"]),
                ("broker_disk_bytes", topic_disk(kafka.topic)),
                ("driver_peak_rss", consumed["peak_rss"]),
                ("consumer_peak_bytes", consumed["peak_bytes"]),
            ):
                runs[codec].setdefault(key, []).append(value)
        read = _child("files", str(depth), *map(str, files))
        runs["files"].setdefault("seconds", []).append(read["seconds"])
        runs["files"].setdefault("peak_rss", []).append(read["peak_rss"])
    out: dict = {"days": days, "depth": depth, "rows": rows, "array_bytes": sum(sizes),
                 "largest_day_array_bytes": max(sizes), "batch_rows": batch_rows}  # fmt: skip
    for codec in codecs:
        got = {key: median(values) for key, values in runs[codec].items()}
        out[codec] = got | {
            "produce_rows_per_s": rows / got["produce_s"],
            "produce_mb_per_s": sum(sizes) / got["produce_s"] / 1e6,
            "consume_rows_per_s": rows / got["consume_s"],
            "consume_mb_per_s": sum(sizes) / got["consume_s"] / 1e6,
        }
    got = {key: median(values) for key, values in runs["files"].items()}
    out["files"] = got | {
        "file_bytes": sum(p.stat().st_size for p in files),
        "rows_per_s": rows / got["seconds"],
    }
    return out | {"repeats": repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("history")
    one.add_argument("--runs", type=int, default=50)
    one.add_argument("--repeats", type=int, default=3)
    two = sub.add_parser("throughput")
    two.add_argument("--days", type=int, default=2)
    two.add_argument("--depth", type=int, default=10)
    two.add_argument("--batch-rows", type=int, default=KafkaConfig().batch_rows)
    two.add_argument("--codecs", nargs="+", default=["zstd", "lz4", "none"])
    two.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.what == "history":
        figures = history(args.runs, args.repeats)
    else:
        figures = throughput(args.days, args.depth, args.codecs, args.batch_rows, args.repeats)
    print(json.dumps(figures | {"machine": machine()}, indent=2))


if __name__ == "__main__":
    main()
