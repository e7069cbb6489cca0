"""Consume the topic once into snapshot arrays: every day of the latest complete stream, verified.

Reads every partition from the beginning, groups records by run id (one run per day) and runs
by stream (one per producer invocation), and stops once it has caught up with the topic's end
as of the start and holds every record of a stream whose every day has its end-of-stream record
(if none is complete yet, it keeps reading until one is). Of several complete streams, the one
completed last is used. Runs without an end record (cut short) are never used; re-running the
producer never doubles data, because only one stream is kept. A malformed record, or one of an
older wire version, is an error naming its topic, partition and offset.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError, KafkaTimeoutError

from producer import wire
from producer.publish import unreachable
from router import DataQuality, Snapshots, Window
from router.data.marketdata import MAX_DEPTH
from sweep.config import Config, DataConfig, KafkaConfig


class ConsumeError(RuntimeError):
    """The stream is missing, incomplete, malformed, or the broker cannot be reached."""


@dataclass
class _Runs:
    """What has been read so far: each run's records, each run's end record, and the order in
    which streams completed their last end record."""

    snapshots: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    prints: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    ends: dict[str, dict] = field(default_factory=dict)
    streams: dict[str, dict[int, str]] = field(default_factory=lambda: defaultdict(dict))
    records: int = 0
    older: list[str] = field(default_factory=list)  # where records of older versions were

    def complete(self, stream: str) -> bool:
        days = self.streams[stream]
        runs = list(days.values())
        return len(days) == self.ends[runs[0]]["days"] and all(
            len(self.snapshots[r]) >= self.ends[r]["count"]
            and len(self.prints[r]) >= self.ends[r]["prints"]
            for r in runs
        )

    def latest_complete(self) -> str | None:
        """The stream whose last end record came last among the complete ones."""
        finished = [s for s in self.streams if self.complete(s)]
        return max(finished, key=self._finished_at, default=None)

    def _finished_at(self, stream: str) -> int:
        return max(self.ends[r]["_seen"] for r in self.streams[stream].values())

    def describe(self) -> str:
        parts = [
            f"{len(v)} snapshots and {len(self.prints[k])} prints of run {k}"
            for k, v in self.snapshots.items()
        ]
        ends = [f"{r} (day {e['day'] + 1} of {e['days']})" for r, e in self.ends.items()]
        older = (
            f"; {len(self.older)} records of an older wire version skipped (the first at "
            f"{self.older[0]}): produce the data again with this version"
            if self.older
            else ""
        )
        return (
            f"{self.records} records ({'; '.join(parts) or 'none'}); end records for runs "
            + (", ".join(ends) or "none")
            + older
        )


def _add(runs: _Runs, record, topic: str) -> None:
    where = f"topic {topic} partition {record.partition} offset {record.offset}"
    header = dict(record.headers or [])
    kind, run = header.get("sor.type"), header.get("sor.run")
    if kind is None or run is None:
        raise ConsumeError(f"{where}: not a sor-sweep record (no sor.type/sor.run headers)")
    run = run.decode()
    runs.records += 1
    if header.get("sor.v") != b"%d" % wire.VERSION:  # an older producer's run: never used
        runs.older.append(f"partition {record.partition} offset {record.offset}")
        return
    if kind in (b"snapshot", b"print"):
        problem = wire.check_payload(kind, record.value)
        if problem:
            raise ConsumeError(f"{where}: malformed {kind.decode()} of run {run}: {problem}")
        (runs.snapshots if kind == b"snapshot" else runs.prints)[run].append(record.value)
    elif kind == b"eos":
        runs.ends[run] = _end_record(record.value, run, where)
        runs.ends[run]["_seen"] = runs.records
        runs.streams[runs.ends[run]["stream"]][runs.ends[run]["day"]] = run
    else:
        raise ConsumeError(f"{where}: unknown record type {kind!r}")


_END_KEYS = {
    "version", "stream", "run", "day", "days", "count", "prints", "sha256", "depth", "window",
    "quality", "produced_at",
}  # fmt: skip


def _end_record(value: bytes, run: str, where: str) -> dict:
    """The end record's JSON, every field checked: what decoding relies on is never assumed."""
    try:
        end = json.loads(value)
        if not isinstance(end, dict) or set(end) != _END_KEYS:
            raise ValueError(f"expected the keys {sorted(_END_KEYS)}")
        if end["run"] != run or not isinstance(end["stream"], str):
            raise ValueError("run or stream id inconsistent")
        if not all(isinstance(end[k], int) for k in ("count", "prints", "day", "days", "depth")):
            raise ValueError("counts, day numbers and depth must be whole numbers")
        if not (0 <= end["day"] < end["days"] and 1 <= end["depth"] <= MAX_DEPTH):
            raise ValueError(f"day {end['day']} of {end['days']}, depth {end['depth']}")
        if end["count"] <= 0:
            raise ValueError(f"{end['count']} snapshots: an empty day is never a run to use")
        window = Window(**end["window"])
        if not window.start_ns < window.end_ns:
            raise ValueError(f"the window {end['window']} is empty")
        DataQuality(**end["quality"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConsumeError(f"{where}: malformed end-of-stream record: {exc}") from None
    return end


def _connect(kafka: KafkaConfig) -> KafkaConsumer:
    options = {
        "group_id": None,
        "enable_auto_commit": False,
        "max_partition_fetch_bytes": 8 * 1024 * 1024,
        "fetch_max_bytes": 64 * 1024 * 1024,
        "bootstrap_timeout_ms": 10_000,
    } | kafka.client
    try:
        return KafkaConsumer(bootstrap_servers=list(kafka.bootstrap_servers), **options)
    except KafkaTimeoutError:
        raise ConsumeError(unreachable(kafka)) from None


def _partitions(consumer: KafkaConsumer, topic: str, deadline: float) -> list[TopicPartition]:
    while True:
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            return [TopicPartition(topic, p) for p in sorted(partitions)]
        if time.monotonic() > deadline:
            raise ConsumeError(f"topic {topic} does not exist (nothing produced to it yet?)")
        time.sleep(0.2)


@dataclass(frozen=True)
class Consumed:
    """The days of one complete producer stream, in date order, and where they came from."""

    stream: str
    runs: list[str]
    days: list[Snapshots]
    produced_at: str


def consume(kafka: KafkaConfig, *, timeout_s: float | None = None) -> Consumed:
    """Every day of the topic's latest complete stream (waits up to ``timeout_s``; a broker
    that stops answering is an error within that time, plus at most a few seconds)."""
    timeout_s = kafka.timeout_s if timeout_s is None else timeout_s
    deadline = time.monotonic() + timeout_s
    consumer = _connect(kafka)
    runs = _Runs()

    def left_ms() -> int:
        return max(int((deadline - time.monotonic()) * 1000), 1)

    try:
        partitions = _partitions(consumer, kafka.topic, deadline)
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions, timeout_ms=left_ms())  # the end at the start
        while True:
            batch = consumer.poll(timeout_ms=min(200, left_ms()), max_records=100_000)
            for records in batch.values():
                for record in records:
                    _add(runs, record, kafka.topic)
            if all(consumer.position(p, timeout_ms=left_ms()) >= ends[p] for p in partitions):
                stream = runs.latest_complete()
                if stream is not None:
                    break
                ends = consumer.end_offsets(partitions, timeout_ms=left_ms())  # wait for a run
            if time.monotonic() > deadline:
                raise KafkaTimeoutError("deadline")
    except KafkaTimeoutError:
        raise ConsumeError(
            f"no complete run on topic {kafka.topic} at {', '.join(kafka.bootstrap_servers)} "
            f"within {timeout_s:g} s: received {runs.describe()}"
        ) from None
    except KafkaError as exc:
        raise ConsumeError(
            f"Kafka at {', '.join(kafka.bootstrap_servers)} failed while reading topic "
            f"{kafka.topic}: {exc!r}; received {runs.describe()}"
        ) from None
    finally:
        _close_quietly(consumer)
    order = [runs.streams[stream][day] for day in sorted(runs.streams[stream])]
    try:
        days = [
            wire.decode(wire.Payloads(runs.snapshots[r], runs.prints[r]), runs.ends[r])
            for r in order
        ]
    except (ValueError, TypeError) as exc:
        raise ConsumeError(f"topic {kafka.topic}: {exc}") from None
    return Consumed(stream, order, days, runs.ends[order[-1]]["produced_at"])


def _close_quietly(consumer: KafkaConsumer) -> None:
    """Close without letting a dead broker turn the error being raised into another one."""
    with contextlib.suppress(Exception):
        consumer.close(timeout_ms=1000)


def check_matches(data: DataConfig, consumed: Consumed, topic: str) -> None:
    """The config's data settings that shape the arrays (window, date, depth, prices) must be
    the ones the stream was produced with: the sweep would otherwise silently use other data."""
    for day in consumed.days:
        window = day.window
        asked = Window.on(data.date or window.date, data.start, data.end, data.warmup_s)
        found = {
            "data.window": f"{window.start} to {window.end}",
            "data.warmup_s": window.warmup_ns / 1e9,
            "data.date": window.date,
            "data.depth": day.depth,
            "data.prices": day.quality.price_format,
        }
        wanted = {
            "data.window": f"{data.start} to {data.end}",
            "data.warmup_s": asked.warmup_ns / 1e9,
            "data.date": asked.date,
            "data.depth": data.depth,
            "data.prices": (
                data.prices
                if data.prices != "auto" and day.quality.source_format.startswith("csv")
                else found["data.prices"]  # auto, or DBN (always fixed-point): nothing to match
            ),
        }
        if (asked.start_ns, asked.end_ns) == (window.start_ns, window.end_ns):
            wanted["data.window"] = found["data.window"]
        differ = [k for k in found if found[k] != wanted[k]]
        if differ:
            raise ConsumeError(
                f"topic {topic}: stream {consumed.stream} was produced with "
                + ", ".join(f"{k} {found[k]}" for k in differ)
                + "; the config asks for "
                + ", ".join(f"{k} {wanted[k]}" for k in differ)
                + ": produce the data again with this config, or make the config match"
            )


def consume_days(config: Config) -> Consumed:
    """The sweep driver's entry point: consume once, check the stream is what the config
    describes, report what was read on stderr."""
    consumed = consume(config.kafka)
    check_matches(config.data, consumed, config.kafka.topic)
    rows = sum(len(d) for d in consumed.days)
    print(
        f"consumed {rows} snapshots of {len(consumed.days)} day(s) from topic "
        f"{config.kafka.topic} (stream {consumed.stream}, produced {consumed.produced_at})",
        file=sys.stderr,
    )
    return consumed
