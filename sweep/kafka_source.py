"""Consume the topic once into snapshot arrays: the latest complete run, verified.

Reads every partition from the beginning, groups snapshot values by run id, and stops once it
has caught up with the topic's end as of the start and holds every message of the latest run
that has an end-of-stream record (if none is complete yet, it keeps reading until one is).
Runs without an end record (cut short) are never used; re-running the producer never doubles
data, because only one run is kept. A malformed record is an error naming its offset.
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
    """What has been read so far, by run id."""

    payloads: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    ends: dict[str, dict] = field(default_factory=dict)
    latest: str | None = None  # run of the last end-of-stream record read
    records: int = 0

    def complete(self) -> bool:
        run = self.latest
        return run is not None and len(self.payloads[run]) >= self.ends[run]["count"]

    def describe(self) -> str:
        parts = [f"{len(v)} snapshots of run {k}" for k, v in self.payloads.items()]
        return f"{self.records} records ({'; '.join(parts) or 'none'}); end records for runs " + (
            ", ".join(self.ends) or "none"
        )


def _add(runs: _Runs, record, topic: str) -> None:
    where = f"topic {topic} partition {record.partition} offset {record.offset}"
    header = dict(record.headers or [])
    kind, run = header.get("sor.type"), header.get("sor.run")
    if kind is None or run is None:
        raise ConsumeError(f"{where}: not a sor-sweep record (no sor.type/sor.run headers)")
    run = run.decode()
    runs.records += 1
    if kind == b"snapshot":
        problem = wire.check_payload(record.value)
        if problem:
            raise ConsumeError(f"{where}: malformed snapshot of run {run}: {problem}")
        runs.payloads[run].append(record.value)
    elif kind == b"eos":
        try:
            end = json.loads(record.value)
            if end["run"] != run or not isinstance(end["count"], int):
                raise ValueError("run id or count inconsistent")
        except (ValueError, KeyError, TypeError) as exc:
            raise ConsumeError(f"{where}: malformed end-of-stream record: {exc}") from None
        runs.ends[run] = end
        runs.latest = run
    else:
        raise ConsumeError(f"{where}: unknown record type {kind!r}")


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


def consume(kafka: KafkaConfig, *, timeout_s: float | None = None) -> Snapshots:
    """The snapshot arrays of the topic's latest complete run (waits up to ``timeout_s``)."""
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
                if runs.complete():
                    break
                ends = consumer.end_offsets(partitions)  # caught up: wait for a run to finish
            if time.monotonic() > deadline:
                raise ConsumeError(
                    f"no complete run on topic {kafka.topic} within {timeout_s:g} s: "
                    f"received {runs.describe()}"
                )
    finally:
        consumer.close()
    try:
        return wire.decode(runs.payloads[runs.latest], runs.ends[runs.latest])
    except ValueError as exc:
        raise ConsumeError(f"topic {kafka.topic}: {exc}") from None


def consume_snapshots(config: Config) -> Snapshots:
    """The sweep driver's entry point: consume once, report what was read on stderr."""
    snapshots = consume(config.kafka)
    print(f"consumed {len(snapshots)} snapshots from topic {config.kafka.topic}", file=sys.stderr)
    return snapshots
