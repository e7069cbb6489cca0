"""Publish snapshot arrays to Kafka, paced like the original feed, ending with a run record."""

from __future__ import annotations

import itertools
import sys
import time
import uuid
from dataclasses import dataclass

import numpy as np
from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from tqdm import tqdm

from producer import wire
from router import Snapshots
from router.config import KafkaConfig


class ProducerError(RuntimeError):
    """Kafka refused or could not be reached; the message says which servers."""


@dataclass(frozen=True)
class PublishSummary:
    run: str
    topic: str
    messages: int
    checksum: str
    seconds: float
    stream_seconds: float  # span of the data's ts_event
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
    snapshots: Snapshots, kafka: KafkaConfig, *, pace: float | None = None, progress: bool = True
) -> PublishSummary:
    """Send every snapshot row, then the end-of-stream record.

    ``pace`` (default ``kafka.pace``): 1 reproduces the data's inter-arrival times, 60 is sixty
    times faster, 0 sends as fast as the broker takes it. Due times are absolute offsets from
    the start, so lateness never accumulates.
    """
    pace = kafka.pace if pace is None else pace
    if pace < 0:
        raise ValueError(f"pace must be >= 0, got {pace}")
    run = uuid.uuid4().hex
    payloads = wire.encode(snapshots)
    keys = [b"%d" % p for p in snapshots.publisher_id.tolist()]
    headers = wire.headers("snapshot", run)
    ts = snapshots.ts
    starts = np.r_[0, np.flatnonzero(ts[1:] != ts[:-1]) + 1, len(ts)].tolist()
    failures: list[BaseException] = []
    producer = connect_producer(kafka)
    begin = time.monotonic()
    max_lag = 0.0
    try:
        bar = tqdm(total=len(payloads), unit="msg", file=sys.stderr, disable=not progress)
        for first, end in itertools.pairwise(starts):
            offset_s = (ts[first] - ts[0]) / 1e9
            if pace > 0:
                wait = begin + offset_s / pace - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                else:
                    max_lag = max(max_lag, -wait)
            for i in range(first, end):
                future = producer.send(kafka.topic, value=payloads[i], key=keys[i], headers=headers)
                future.add_errback(failures.append)
            bar.update(end - first)
            bar.set_postfix_str(f"stream +{offset_s:.1f}s", refresh=False)
        producer.flush(timeout=60)
        bar.close()
        if failures:
            raise ProducerError(f"{len(failures)} message(s) not delivered: {failures[0]!r}")
        eos = wire.end_of_stream(run, snapshots, payloads)
        producer.send(
            kafka.topic, value=eos, key=b"eos", headers=wire.headers("eos", run), partition=0
        ).get(timeout=60)
    except KafkaError as exc:
        raise ProducerError(
            f"Kafka at {', '.join(kafka.bootstrap_servers)} failed: {exc!r}"
        ) from exc
    finally:
        producer.close(timeout=10)
    return PublishSummary(
        run=run,
        topic=kafka.topic,
        messages=len(payloads),
        checksum=wire.checksum(payloads),
        seconds=time.monotonic() - begin,
        stream_seconds=float((ts[-1] - ts[0]) / 1e9) if len(ts) else 0.0,
        max_lag_s=max_lag,
    )
