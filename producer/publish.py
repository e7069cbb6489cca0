"""Publish trading days of snapshot arrays to Kafka, paced like the original feed: each day a
run of snapshot and print records ending with its end record."""

from __future__ import annotations

import itertools
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from tqdm import tqdm

from producer import wire
from router import Snapshots
from sweep.config import KafkaConfig


class ProducerError(RuntimeError):
    """Kafka refused or could not be reached; the message says which servers."""


@dataclass(frozen=True)
class DaySummary:
    date: str
    run: str
    messages: int  # snapshot records
    prints: int
    checksum: str


@dataclass(frozen=True)
class PublishSummary:
    stream: str
    topic: str
    days: list[DaySummary]
    messages: int  # snapshot and print records of every day
    seconds: float
    stream_seconds: float  # span of the data's ts_event, summed over days
    max_lag_s: float  # worst lateness of an instant against its paced due time


def unreachable(kafka: KafkaConfig) -> str:
    timeout = {"bootstrap_timeout_ms": 10_000} | kafka.client
    return (
        f"no Kafka broker reachable at {', '.join(kafka.bootstrap_servers)} within "
        f"{timeout['bootstrap_timeout_ms'] / 1000:g} s (start one with: kafka/broker.sh start)"
    )


def connect_producer(kafka: KafkaConfig) -> KafkaProducer:
    """A reliable producer: acks=all, idempotent, bounded retries with backoff."""
    options = {
        "acks": "all",
        "enable_idempotence": True,
        "retries": 5,
        "retry_backoff_ms": 200,
        "delivery_timeout_ms": 60_000,
        "max_block_ms": 10_000,
        "bootstrap_timeout_ms": 10_000,
        "linger_ms": 5,
        "batch_size": 256 * 1024,
    } | kafka.client
    try:
        return KafkaProducer(bootstrap_servers=list(kafka.bootstrap_servers), **options)
    except KafkaTimeoutError:
        raise ProducerError(unreachable(kafka)) from None


def publish(
    days: Snapshots | Sequence[Snapshots],
    kafka: KafkaConfig,
    *,
    pace: float | None = None,
    progress: bool = True,
) -> PublishSummary:
    """Send each day as its own run (its records, then its end record), in date order.

    ``pace`` (default ``kafka.pace``): 1 reproduces the data's inter-arrival times within each
    day, 60 is sixty times faster, 0 sends as fast as the broker takes it; days follow each other
    at once. Due times are absolute offsets from each day's start, so lateness never accumulates.
    """
    pace = kafka.pace if pace is None else pace
    if pace < 0:
        raise ValueError(f"pace must be >= 0, got {pace}")
    days = [days] if isinstance(days, Snapshots) else sorted(days, key=lambda d: d.window.date)
    stream = uuid.uuid4().hex
    producer = connect_producer(kafka)
    begin = time.monotonic()
    summaries, max_lag = [], 0.0
    try:
        total = sum(len(d) + len(d.print_px) for d in days)
        # only on a terminal: piped into a log, its redraws would garble the lines around it
        bar = tqdm(total=total, unit="msg", file=sys.stderr, disable=None if progress else True)
        for number, day in enumerate(days):
            run = uuid.uuid4().hex
            payloads = wire.encode(day)
            bar.write(  # always (--quiet only hides the bar): scripts wait for it before acting
                f"sending day {day.window.date} to topic {kafka.topic} "
                f"({len(payloads.snapshots)} snapshots, {len(payloads.prints)} prints)",
                file=sys.stderr,
            )
            max_lag = max(max_lag, _send_day(producer, kafka, run, day, payloads, pace, bar))
            checksum = payloads.checksum()
            eos = wire.end_of_stream(
                stream=stream, run=run, day=number, days=len(days), snapshots=day,
                payloads=payloads, sha256=checksum, produced_at=datetime.now(UTC).isoformat(),
            )  # fmt: skip
            producer.send(
                kafka.topic, value=eos, key=b"eos", headers=wire.headers("eos", run), partition=0
            ).get(timeout=60)
            summary = DaySummary(
                day.window.date, run, len(payloads.snapshots), len(payloads.prints), checksum
            )
            summaries.append(summary)
        bar.close()
    except KafkaError as exc:
        _close(producer, kafka, quietly=True)
        raise ProducerError(
            f"Kafka at {', '.join(kafka.bootstrap_servers)} failed: {exc!r}"
        ) from exc
    except BaseException:
        _close(producer, kafka, quietly=True)  # the first error is the one to report
        raise
    _close(producer, kafka, quietly=False)
    return PublishSummary(
        stream=stream,
        topic=kafka.topic,
        days=summaries,
        messages=sum(d.messages + d.prints for d in summaries),
        seconds=time.monotonic() - begin,
        stream_seconds=sum(float((d.ts[-1] - d.ts[0]) / 1e9) for d in days if len(d)),
        max_lag_s=max_lag,
    )


def _close(producer: KafkaProducer, kafka: KafkaConfig, *, quietly: bool) -> None:
    """Close the producer; after an error, quietly, so that its own failure (the broker gone)
    never hides the error that ended the run."""
    try:
        producer.close(timeout=10)
    except Exception as exc:
        if not quietly:
            raise ProducerError(
                f"closing the producer for {', '.join(kafka.bootstrap_servers)} failed: {exc!r}"
            ) from exc


def _send_day(
    producer: KafkaProducer, kafka: KafkaConfig, run: str, day: Snapshots,
    payloads: wire.Payloads, pace: float, bar: tqdm,
) -> float:  # fmt: skip
    """Send one day's records, each instant at its paced due time, and flush; the worst
    lateness. An instant's prints go right after its snapshots."""
    failures: list[BaseException] = []
    keys = [b"%d" % p for p in day.publisher_id.tolist()]
    snapshot_headers, print_headers = wire.headers("snapshot", run), wire.headers("print", run)
    ts, print_start = day.ts, day.print_start
    starts = np.r_[0, np.flatnonzero(ts[1:] != ts[:-1]) + 1, len(ts)].tolist()
    begin, max_lag = time.monotonic(), 0.0
    for first, end in itertools.pairwise(starts):
        offset_s = (ts[first] - ts[0]) / 1e9
        if pace > 0:
            wait = begin + offset_s / pace - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            else:
                max_lag = max(max_lag, -wait)
        for i in range(first, end):
            producer.send(
                kafka.topic, value=payloads.snapshots[i], key=keys[i], headers=snapshot_headers
            ).add_errback(failures.append)
        for i in range(first, end):
            for p in range(print_start[i], print_start[i + 1]):
                producer.send(
                    kafka.topic, value=payloads.prints[p], key=keys[i], headers=print_headers
                ).add_errback(failures.append)
        sent = end - first + int(print_start[end] - print_start[first])
        bar.update(sent)
        bar.set_postfix_str(f"{day.window.date} +{offset_s:.1f}s", refresh=False)
    producer.flush(timeout=60)
    if failures:
        raise ProducerError(f"{len(failures)} message(s) not delivered: {failures[0]!r}")
    return max_lag
