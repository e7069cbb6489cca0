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

import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaTimeoutError

from producer import wire
from producer.publish import unreachable
from router import Snapshots
from router.config import Config, KafkaConfig


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
        return f"{self.records} records ({'; '.join(parts) or 'none'}); end records for runs " + (
            ", ".join(ends) or "none"
        )


def _add(runs: _Runs, record, topic: str) -> None:
    where = f"topic {topic} partition {record.partition} offset {record.offset}"
    header = dict(record.headers or [])
    kind, run = header.get("sor.type"), header.get("sor.run")
    if kind is None or run is None:
        raise ConsumeError(f"{where}: not a sor-sweep record (no sor.type/sor.run headers)")
    run = run.decode()
    runs.records += 1
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


def _end_record(value: bytes, run: str, where: str) -> dict:
    try:
        end = json.loads(value)
        if not isinstance(end, dict):
            raise ValueError("not a JSON object")
        if end.get("version") != wire.VERSION:
            raise ValueError(
                f"wire version {end.get('version', 2)}, expected {wire.VERSION}: produced by an "
                "older sor-sweep; produce the data again with this version"
            )
        if end["run"] != run or not all(
            isinstance(end[k], int) for k in ("count", "prints", "day", "days")
        ):
            raise ValueError("run id, counts or day numbers inconsistent")
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
    """Every day of the topic's latest complete stream (waits up to ``timeout_s``)."""
    timeout_s = kafka.timeout_s if timeout_s is None else timeout_s
    deadline = time.monotonic() + timeout_s
    consumer = _connect(kafka)
    try:
        partitions = _partitions(consumer, kafka.topic, deadline)
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)  # the topic's end when we started
        runs = _Runs()
        while True:
            batch = consumer.poll(timeout_ms=200, max_records=100_000)
            for records in batch.values():
                for record in records:
                    _add(runs, record, kafka.topic)
            if all(consumer.position(p) >= ends[p] for p in partitions):
                stream = runs.latest_complete()
                if stream is not None:
                    break
                ends = consumer.end_offsets(partitions)  # caught up: wait for a run to finish
            if time.monotonic() > deadline:
                raise ConsumeError(
                    f"no complete run on topic {kafka.topic} within {timeout_s:g} s: "
                    f"received {runs.describe()}"
                )
    finally:
        consumer.close()
    order = [runs.streams[stream][day] for day in sorted(runs.streams[stream])]
    try:
        days = [
            wire.decode(wire.Payloads(runs.snapshots[r], runs.prints[r]), runs.ends[r])
            for r in order
        ]
    except ValueError as exc:
        raise ConsumeError(f"topic {kafka.topic}: {exc}") from None
    return Consumed(stream, order, days, runs.ends[order[-1]]["produced_at"])


def consume_days(config: Config) -> Consumed:
    """The sweep driver's entry point: consume once, report what was read on stderr."""
    consumed = consume(config.kafka)
    rows = sum(len(d) for d in consumed.days)
    print(
        f"consumed {rows} snapshots of {len(consumed.days)} day(s) from topic "
        f"{config.kafka.topic} (stream {consumed.stream}, produced {consumed.produced_at})",
        file=sys.stderr,
    )
    return consumed
