"""Kafka benchmark: unpaced produce and consume of the default day against the local broker.

    kafka/with-broker.sh .venv/bin/python -m bench.kafka [--repeats 5]

Consume-into-arrays (``sweep.kafka_source.consume``) is timed side by side, alternating, with a
bare kafka-python loop that only reads the same topic to its end, so their ratio is meaningful
on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import uuid
from dataclasses import replace

from kafka import KafkaConsumer, TopicPartition

from bench.common import default_day, machine, median, timed
from producer.publish import publish
from sweep.config import KafkaConfig
from sweep.kafka_source import consume


def bare_read(kafka: KafkaConfig, expected: int) -> int:
    """Read every record of the topic once, doing nothing with them."""
    consumer = KafkaConsumer(
        bootstrap_servers=list(kafka.bootstrap_servers),
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    partition = TopicPartition(kafka.topic, 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    seen = 0
    while seen < expected:
        for records in consumer.poll(timeout_ms=200, max_records=100_000).values():
            seen += len(records)
    consumer.close()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config, day = default_day()
    produce_s, topics = [], []
    for _ in range(args.repeats):
        kafka = replace(config.kafka, topic=f"bench-{uuid.uuid4().hex[:10]}")
        summary = publish(day, kafka, pace=0, progress=False)
        produce_s.append(summary.seconds)
        topics.append(kafka)
    records = len(day) + len(day.print_px) + 1  # snapshots, prints, the end-of-stream record
    consume_s, bare_s = [], []
    for kafka in topics:  # alternate the two readers, each on a topic it has not read yet
        consume_s.append(timed(lambda kafka=kafka: consume(kafka, timeout_s=60)))
        bare_s.append(timed(lambda kafka=kafka: bare_read(kafka, records)))
    figures = {
        "messages": records,
        "produce_median_s": median(produce_s),
        "produce_msgs_per_s": records / median(produce_s),
        "consume_into_arrays_median_s": median(consume_s),
        "consume_msgs_per_s": records / median(consume_s),
        "bare_loop_median_s": median(bare_s),
        "bare_loop_msgs_per_s": records / median(bare_s),
        "consume_rate_vs_bare_loop": median(bare_s) / median(consume_s),
        "repeats": args.repeats,
        "machine": machine(),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
