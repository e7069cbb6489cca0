"""Publish trading days of snapshot arrays to Kafka, paced like the original feed: each day a
run of block records ending with its end record."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

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
    rows: int
    prints: int
    blocks: int  # block records
    checksum: str


@dataclass(frozen=True)
class PublishSummary:
    stream: str
    topic: str
    days: list[DaySummary]
    rows: int  # snapshot rows of every day
    records: int  # block and end records of every day
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
    """A reliable producer: acks=all, idempotent, bounded retries with backoff, the configured
    compression (the broker keeps batches as produced)."""
    options = {
        "acks": "all",
        "enable_idempotence": True,
        "retries": 5,
        "retry_backoff_ms": 200,
        "delivery_timeout_ms": 60_000,
        "max_block_ms": 10_000,
        "bootstrap_timeout_ms": 10_000,
        "linger_ms": 5,
        "batch_size": 1024 * 1024,
        "compression_type": None if kafka.compression == "none" else kafka.compression,
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
    files: Sequence[Path] = (),
) -> PublishSummary:
    """Send each day as its own run (its blocks, then its end record), in date order.

    ``pace`` (default ``kafka.pace``): 1 reproduces the data's inter-arrival times within each
    day at ``kafka.batch_ms`` resolution (a block leaves when its last row is due), 60 is sixty
    times faster, 0 sends as fast as the broker takes it; days follow each other at once. Due
    times are absolute offsets from each day's start, so lateness never accumulates.
    ``files``: what the days were read from, named in every end record so that a consumer
    configured for other files refuses the stream.
    """
    pace = kafka.pace if pace is None else pace
    if pace < 0:
        raise ValueError(f"pace must be >= 0, got {pace}")
    days = [days] if isinstance(days, Snapshots) else sorted(days, key=lambda d: d.window.date)
    stream = uuid.uuid4().hex
    named = [{"name": Path(f).name, "bytes": Path(f).stat().st_size} for f in files]
    producer = connect_producer(kafka)
    begin = time.monotonic()
    summaries, ends, max_lag = [], [], 0.0
    try:
        total = sum(len(d) for d in days)
        # only on a terminal: piped into a log, its redraws would garble the lines around it
        bar = tqdm(total=total, unit="row", file=sys.stderr, disable=None if progress else True)
        for number, day in enumerate(days):
            run = uuid.uuid4().hex
            bar.write(  # always (--quiet only hides the bar): scripts wait for it before acting
                f"sending day {day.window.date} to topic {kafka.topic} "
                f"({len(day)} snapshots, {len(day.print_px)} prints)",
                file=sys.stderr,
            )
            end, lag = send_day(
                producer, kafka, day, stream=stream, run=run, number=number, days=len(days),
                earlier=ends, pace=pace, bar=bar, files=named,
            )  # fmt: skip
            max_lag = max(max_lag, lag)
            ends = [*ends, {k: v for k, v in end.items() if k != "earlier"}]
            date, prints = day.window.date, len(day.print_px)
            summaries.append(DaySummary(date, run, len(day), prints, end["blocks"], end["sha256"]))
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
        rows=sum(d.rows for d in summaries),
        records=sum(d.blocks + 1 for d in summaries),
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


def send_day(
    producer: KafkaProducer, kafka: KafkaConfig, day: Snapshots, *, stream: str, run: str,
    number: int, days: int, earlier: list[dict], pace: float = 0, bar: tqdm | None = None,
    files: list[dict] | None = None,
) -> tuple[dict, float]:  # fmt: skip
    """Send day ``number`` of ``days`` of a stream as run ``run``: its blocks, each at its last
    row's paced due time, then, once every block is acknowledged, its end record (``earlier``:
    the stream's earlier days' end records). The end record sent and the worst lateness."""
    failures: list[BaseException] = []
    placed: list[tuple[int, int]] = []  # (partition, offset) of every block acknowledged
    block_headers = wire.headers("block", run)
    digests, ts = [], day.ts
    begin, max_lag = time.monotonic(), 0.0
    for index, block in enumerate(wire.encode(day, kafka.batch_rows, kafka.batch_ms)):
        offset_s = (ts[block.stop_row - 1] - ts[0]) / 1e9
        if pace > 0:
            wait = begin + offset_s / pace - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            else:
                max_lag = max(max_lag, -wait)
        future = producer.send(
            kafka.topic, value=block.value, key=b"%d" % index, headers=block_headers
        )
        future.add_callback(lambda meta: placed.append((meta.partition, meta.offset)))
        future.add_errback(failures.append)
        digests.append(wire.digest(block.value))
        if bar is not None:
            bar.update(block.stop_row - block.first_row)
            bar.set_postfix_str(f"{day.window.date} +{offset_s:.1f}s", refresh=False)
    producer.flush(timeout=60)
    if failures:
        raise ProducerError(f"{len(failures)} block(s) not delivered: {failures[0]!r}")
    if len(placed) != len(digests):
        raise ProducerError(f"{len(digests) - len(placed)} block(s) never acknowledged")
    offsets: dict[int, tuple[int, int]] = {}
    for partition, offset in placed:
        low, high = offsets.get(partition, (offset, offset))
        offsets[partition] = (min(low, offset), max(high, offset))
    end = wire.end_of_stream(
        stream=stream, run=run, day=number, days=days, snapshots=day, blocks=len(digests),
        sha256=wire.day_checksum(digests), offsets=offsets, earlier=earlier,
        produced_at=datetime.now(UTC).isoformat(), files=files,
    )  # fmt: skip
    producer.send(
        kafka.topic, value=wire.encode_end(end), key=b"eos", headers=wire.headers("eos", run),
        partition=0,
    ).get(timeout=60)  # fmt: skip
    return end, max_lag
