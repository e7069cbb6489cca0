"""Consume one stream of the topic into snapshot arrays, day by day, verified.

A producer stream's last end record describes the whole stream: every day's run, counts,
checksum, and the first and last offset of its blocks on each partition. So the consumer reads
partition 0 backwards from its tail (one record, then two, four, ...) until it meets the end
record of a complete stream (the last day of its stream), then reads exactly each day's ranges:
what it reads never depends on how many runs came before on the topic. Of several complete
streams, the one completed last is used; a stream cut short (no last end record) after it is
read through and never used. If no stream is complete yet, it waits for one.

Each day is filled block by block into its arrays, checked against its end record (every row
once, the checksum), handed to ``on_day`` (the sweep puts it in Ray's object store) and
dropped: the consumer holds one day's arrays and one poll's records at a time. A malformed
record, an end record pointing outside the log or into another run, records deleted by
retention while read, a broker that stops answering: each an error naming the topic, and
partition and offset where there is one; no day is used unless every day of its stream was.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError, KafkaTimeoutError, OffsetOutOfRangeError

from producer import wire
from producer.publish import unreachable
from router import DataQuality, Snapshots, Window
from router.data.marketdata import MAX_DEPTH
from sweep.config import Config, DataConfig, KafkaConfig

#: Records per poll are chosen so that one poll returns about this many bytes of blocks.
POLL_BYTES = 8 * 1024 * 1024


class ConsumeError(RuntimeError):
    """The stream is missing, incomplete, malformed, or the broker cannot be reached."""


@dataclass(frozen=True)
class Consumed:
    """The days of one complete producer stream, in date order, and where they came from.

    ``days``: what ``on_day`` returned for each day (the day itself by default)."""

    stream: str
    runs: list[str]
    days: list[Any]
    produced_at: str
    records_read: int  # records looked at: the tail search's and the days' ranges
    peak_bytes: int  # the most the consumer held at once: a day's arrays and one poll's records


_END_KEYS = {
    "version", "stream", "run", "day", "days", "rows", "prints", "blocks", "sha256", "depth",
    "window", "quality", "produced_at", "offsets", "files", "earlier",
}  # fmt: skip


def _end_record(value: bytes, run: str, where: str) -> dict:
    """The end record's JSON, every field checked: what decoding relies on is never assumed."""
    try:
        end = json.loads(value)
        if not isinstance(end, dict) or end.get("run") != run:
            raise ValueError("not an object of this run")
        stream, count = end["stream"], end["days"]
        days = [_entry(e, stream, count) for e in end["earlier"]]
        days.append(_entry({k: v for k, v in end.items() if k != "earlier"}, stream, count))
        if [d["day"] for d in days] != list(range(end["day"] + 1)):
            raise ValueError(f"day {end['day']} lists the earlier days {[d['day'] for d in days]}")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConsumeError(f"{where}: malformed end-of-stream record: {exc}") from None
    end = days[-1] | {"earlier": days[:-1]}
    return end


def _entry(end: dict, stream: str, days: int) -> dict:
    """One day's part of an end record, checked."""
    if set(end) != _END_KEYS - {"earlier"}:
        raise ValueError(f"expected the keys {sorted(_END_KEYS)}")
    if end["stream"] != stream or end["days"] != days or not isinstance(stream, str):
        raise ValueError("stream id or day count inconsistent")
    counts = ("rows", "prints", "blocks", "day", "days", "depth")
    if not all(isinstance(end[k], int) for k in counts):
        raise ValueError("counts, day numbers and depth must be whole numbers")
    if not (0 <= end["day"] < end["days"] and 1 <= end["depth"] <= MAX_DEPTH):
        raise ValueError(f"day {end['day']} of {end['days']}, depth {end['depth']}")
    if end["rows"] <= 0 or not 1 <= end["blocks"] <= end["rows"] or end["prints"] < 0:
        raise ValueError(
            f"{end['rows']} snapshots in {end['blocks']} blocks: an empty day is never a run to use"
        )
    offsets = end["offsets"]
    spans = [(int(p), s) for p, s in offsets.items()] if isinstance(offsets, dict) else []
    if not spans or not all(
        p >= 0 and isinstance(s, list) and len(s) == 2 and all(isinstance(o, int) for o in s)
        and 0 <= s[0] <= s[1]
        for p, s in spans
    ):  # fmt: skip
        raise ValueError(f"offsets {offsets!r}: expected partition -> [first, last]")
    end["offsets"] = {p: (s[0], s[1]) for p, s in spans}
    files = end["files"]
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and set(f) == {"name", "bytes"} and isinstance(f["name"], str)
        and isinstance(f["bytes"], int)
        for f in files
    ):  # fmt: skip
        raise ValueError(f"files {files!r}: expected a list of {{name, bytes}}")
    window = Window(**end["window"])
    if not window.start_ns < window.end_ns:
        raise ValueError(f"the window {end['window']} is empty")
    DataQuality(**end["quality"])
    return end


@dataclass
class _Reader:
    """The consumer, with what it has read and held so far, for the stream's errors."""

    consumer: KafkaConsumer
    kafka: KafkaConfig
    timeout_s: float
    deadline: float = 0.0
    records: int = 0
    peak_bytes: int = 0
    older: int = 0  # records of an older wire version, skipped
    first_older: str = ""  # where the first of them was
    days_done: int = 0
    days_total: int | None = None

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout_s

    def left_ms(self) -> int:
        return max(int((self.deadline - time.monotonic()) * 1000), 1)

    def poll(self, max_records: int, holding: int = 0) -> list:
        """The next records (the deadline moves on while records come), in partition order."""
        if time.monotonic() > self.deadline:
            raise KafkaTimeoutError("deadline")
        batch = self.consumer.poll(timeout_ms=min(200, self.left_ms()), max_records=max_records)
        records = [r for part in batch.values() for r in part]
        if records:
            self.deadline = time.monotonic() + self.timeout_s
            held = holding + sum(len(r.value or b"") for r in records)
            self.peak_bytes = max(self.peak_bytes, held)
        return records

    def kind(self, record) -> tuple[bytes, str] | None:
        """A record's type and run (counting it as read); None for an older version's; an
        error for a record that is not sor-sweep's."""
        self.records += 1
        header = dict(record.headers or [])
        kind, run = header.get("sor.type"), header.get("sor.run")
        if kind is None or run is None:
            raise ConsumeError(f"{self.where(record)}: not a sor-sweep record "
                               "(no sor.type/sor.run headers)")  # fmt: skip
        if header.get("sor.v") != b"%d" % wire.VERSION:
            self.older += 1
            self.first_older = self.first_older or (
                f"partition {record.partition} offset {record.offset}"
            )
            return None
        if kind not in (b"block", b"eos"):
            raise ConsumeError(f"{self.where(record)}: unknown record type {kind!r}")
        return kind, run.decode()

    def where(self, record) -> str:
        return f"topic {self.kafka.topic} partition {record.partition} offset {record.offset}"

    def describe(self) -> str:
        days = (
            f"{self.days_done} of {self.days_total} days of the stream complete; no day of the "
            "stream is used"
            if self.days_total is not None
            else "no complete stream found"
        )
        older = (
            f"; {self.older} records of an older wire version skipped (the first at "
            f"{self.first_older}): produce the data again with this version"
            if self.older
            else ""
        )
        return f"{self.records} records read, {days}{older}"


def _connect(kafka: KafkaConfig) -> KafkaConsumer:
    options = {
        "group_id": None,
        "enable_auto_commit": False,
        "auto_offset_reset": "none",  # records deleted under the reader: an error, never a skip
        "retry_backoff_ms": 10,  # kafka-python idles this long after a seek: 100 ms each day
        "max_partition_fetch_bytes": 8 * 1024 * 1024,
        "fetch_max_bytes": 16 * 1024 * 1024,
        "bootstrap_timeout_ms": 10_000,
    } | kafka.client
    try:
        return KafkaConsumer(bootstrap_servers=list(kafka.bootstrap_servers), **options)
    except KafkaTimeoutError:
        raise ConsumeError(unreachable(kafka)) from None


def _partitions(reader: _Reader) -> list[TopicPartition]:
    topic = reader.kafka.topic
    while True:
        partitions = reader.consumer.partitions_for_topic(topic)
        if partitions:
            return [TopicPartition(topic, p) for p in sorted(partitions)]
        if time.monotonic() > reader.deadline:
            raise ConsumeError(f"topic {topic} does not exist (nothing produced to it yet?)")
        time.sleep(0.2)


def _end_records(reader: _Reader, tp: TopicPartition, low: int, high: int) -> list[dict]:
    """The end records at offsets ``low``..``high - 1`` of partition ``tp``, each with its
    ``_offset``; the blocks between them are read and dropped."""
    consumer, ends = reader.consumer, []
    consumer.assign([tp])
    consumer.seek(tp, low)
    position = low
    while position < high:
        for record in reader.poll(64):
            position = max(position, record.offset + 1)
            end = _end_of(reader, record) if record.offset < high else None
            if end is not None:
                ends.append(end)
    return ends


def _end_of(reader: _Reader, record) -> dict | None:
    """The record's end record, checked, with its ``_offset``; None for a block or a record
    of an older version."""
    kind = reader.kind(record)
    if kind is None or kind[0] != b"eos":
        return None
    return _end_record(record.value, kind[1], reader.where(record)) | {"_offset": record.offset}


def _find_stream(reader: _Reader, tp: TopicPartition, begin: int, end: int) -> dict | None:
    """The last end record of the latest complete stream, searched from the tail back in
    windows of 1, 2, 4, ... records. A stream cut short at the tail is read through, not
    jumped over: another producer's complete stream may end inside it."""
    high, width = end, 1
    while high > begin:
        low = max(begin, high - width)
        for found in reversed(_end_records(reader, tp, low, high)):
            if found["day"] == found["days"] - 1:
                return found
        high, width = low, width * 2
    return None


def _wait_for_stream(reader: _Reader, tp: TopicPartition, start: int) -> dict:
    """The first complete stream to finish at or after offset ``start`` (until the deadline)."""
    reader.consumer.assign([tp])
    reader.consumer.seek(tp, start)
    while True:
        for record in reader.poll(64):
            end = _end_of(reader, record)
            if end is not None and end["day"] == end["days"] - 1:
                return end


def _read_day(reader: _Reader, day: dict, begin: dict, end: dict) -> Snapshots:
    """One day's blocks, from exactly the ranges its end record names."""
    topic, run = reader.kafka.topic, day["run"]
    for partition, (first, last) in day["offsets"].items():
        tp = TopicPartition(topic, partition)
        where = f"topic {topic}: the end record of run {run} (day {day['day'] + 1})"
        if tp not in end or last >= end[tp]:
            raise ConsumeError(
                f"{where} names offsets {first}..{last} of partition {partition}, past the "
                f"log's end ({end.get(tp, 'no such partition')})"
            )
        if first < begin[tp]:
            raise ConsumeError(
                f"{where} starts at offset {first} of partition {partition}, but the log now "
                f"starts at {begin[tp]}: retention deleted part of the run; produce it again "
                "or raise the topic's retention"
            )
    ranges = {TopicPartition(topic, p): span for p, span in day["offsets"].items()}
    consumer, builder = reader.consumer, wire.DayBuilder(day)
    consumer.assign(list(ranges))
    for tp, (first, _) in ranges.items():
        consumer.seek(tp, first)
    block = max(1, day["rows"] * wire.row_bytes(day["depth"]) // day["blocks"])
    waiting = set(ranges)
    while waiting:
        for record in reader.poll(max(1, POLL_BYTES // block), holding=builder.nbytes):
            tp = TopicPartition(record.topic, record.partition)
            first, last = ranges[tp]
            if tp not in waiting or record.offset > last:
                continue  # fetched along, past the range: not looked at
            kind = reader.kind(record)
            ours = kind == (b"block", run)
            if record.offset in (first, last) and not ours:
                raise ConsumeError(
                    f"{reader.where(record)}: the end record of run {run} names this offset "
                    "as one of its blocks, but it belongs to another run"
                )
            if ours:
                try:
                    builder.add(record.value)
                except ValueError as exc:
                    where = reader.where(record)
                    raise ConsumeError(f"{where}: block of run {run}: {exc}") from None
            if record.offset == last:  # this partition's range is read: stop fetching it
                waiting.discard(tp)
                if waiting:  # (not pause: kafka-python 3.0 parks a paused partition's
                    consumer.assign(sorted(waiting))  # fetched records, and may never resume it)
    return builder.finish()


def consume(
    kafka: KafkaConfig,
    *,
    timeout_s: float | None = None,
    on_day: Callable[[Snapshots], Any] | None = None,
    check: Callable[[str, list[dict]], None] | None = None,
) -> Consumed:
    """Every day of the topic's latest complete stream, each handed to ``on_day`` as soon as
    it is read and verified (default: kept). ``check(stream, end_records)`` runs before any
    day is read. Waits up to ``timeout_s`` for a complete stream and for each next record; a
    broker that stops answering is an error within that time."""
    timeout_s = kafka.timeout_s if timeout_s is None else timeout_s
    on_day = on_day or (lambda day: day)
    reader = _Reader(_connect(kafka), kafka, timeout_s)
    servers = ", ".join(kafka.bootstrap_servers)
    try:
        partitions = _partitions(reader)
        begin = reader.consumer.beginning_offsets(partitions, timeout_ms=reader.left_ms())
        end = reader.consumer.end_offsets(partitions, timeout_ms=reader.left_ms())
        tail = partitions[0]
        last = _find_stream(reader, tail, begin[tail], end[tail])
        if last is None:
            last = _wait_for_stream(reader, tail, end[tail])
            end = reader.consumer.end_offsets(partitions, timeout_ms=reader.left_ms())
        stream = [*last["earlier"], last]
        if check is not None:
            check(last["stream"], stream)
        reader.days_total, days = len(stream), []
        for day in stream:
            try:
                days.append(on_day(_read_day(reader, day, begin, end)))
            except ValueError as exc:
                raise ConsumeError(f"topic {kafka.topic}: {exc}") from None
            reader.days_done += 1
    except KafkaTimeoutError:
        raise ConsumeError(
            f"no complete stream read from topic {kafka.topic} at {servers} within "
            f"{timeout_s:g} s of waiting: {reader.describe()}"
        ) from None
    except OffsetOutOfRangeError as exc:
        raise ConsumeError(
            f"topic {kafka.topic} at {servers}: records were deleted while being read "
            f"({exc}; retention?): {reader.describe()}"
        ) from None
    except KafkaError as exc:
        raise ConsumeError(
            f"Kafka at {servers} failed while reading topic {kafka.topic}: {exc!r}; "
            f"{reader.describe()}"
        ) from None
    finally:
        _close_quietly(reader.consumer)
    return Consumed(
        last["stream"], [d["run"] for d in stream], days, last["produced_at"], reader.records,
        reader.peak_bytes,
    )  # fmt: skip


def _close_quietly(consumer: KafkaConsumer) -> None:
    """Close without letting a dead broker turn the error being raised into another one."""
    with contextlib.suppress(Exception):
        consumer.close(timeout_ms=1000)


def check_matches(data: DataConfig, topic: str, stream: str, ends: list[dict]) -> None:
    """The config's data settings that shape the arrays (window, date, depth, prices) must be
    the ones the stream was produced with (its end records say): the sweep would otherwise
    silently use other data."""
    for end in ends:
        window, quality = Window(**end["window"]), DataQuality(**end["quality"])
        asked = Window.on(data.date or window.date, data.start, data.end, data.warmup_s)
        found = {
            "data.window": f"{window.start} to {window.end}",
            "data.warmup_s": window.warmup_ns / 1e9,
            "data.date": window.date,
            "data.depth": end["depth"],
            "data.prices": quality.price_format,
        }
        wanted = {
            "data.window": f"{data.start} to {data.end}",
            "data.warmup_s": asked.warmup_ns / 1e9,
            "data.date": asked.date,
            "data.depth": data.depth,
            "data.prices": (
                data.prices
                if data.prices != "auto" and quality.source_format.startswith("csv")
                else found["data.prices"]  # auto, or DBN (always fixed-point): nothing to match
            ),
        }
        if (asked.start_ns, asked.end_ns) == (window.start_ns, window.end_ns):
            wanted["data.window"] = found["data.window"]
        differ = [k for k in found if found[k] != wanted[k]]
        if differ:
            raise ConsumeError(
                f"topic {topic}: stream {stream} was produced with "
                + ", ".join(f"{k} {found[k]}" for k in differ)
                + "; the config asks for "
                + ", ".join(f"{k} {wanted[k]}" for k in differ)
                + ": produce the data again with this config, or make the config match"
            )


def check_files(data: DataConfig, topic: str, stream: str, ends: list[dict]) -> None:
    """The files the stream was produced from must be the ones the config names: by name and
    size where they are on this machine, by name against its patterns where they are not. A
    stream sent from arrays (no files named) is not compared."""
    produced = sorted((f["name"], f["bytes"]) for f in ends[-1]["files"])
    if not produced:
        return
    here = [(p.name, p.stat().st_size) for p in data.files()]
    if here:
        same, named = sorted(here) == produced, ", ".join(f"{n} ({b:,} bytes)" for n, b in here)
    else:
        patterns = [p.name for p in data.paths]
        same = all(any(fnmatch.fnmatchcase(n, pat) for pat in patterns) for n, _ in produced)
        same &= any(glob.has_magic(p) for p in patterns) or len(produced) == len(patterns)
        named = ", ".join(patterns) + " (not on this machine)"
    if not same:
        raise ConsumeError(
            f"topic {topic}: stream {stream} was produced from "
            + ", ".join(f"{n} ({b:,} bytes)" for n, b in produced)
            + f"; the config's data.path names {named}: produce the data again with this "
            "config, or make the config match"
        )


def consume_days(config: Config, on_day: Callable[[Snapshots], Any] | None = None) -> Consumed:
    """The sweep driver's entry point: check the stream is what the config describes, consume
    it once day by day (``on_day``: see :func:`consume`), report what was read on stderr."""
    rows = 0

    def counted(day: Snapshots) -> Any:
        nonlocal rows
        rows += len(day)
        return day if on_day is None else on_day(day)

    def check(stream: str, ends: list[dict]) -> None:
        check_matches(config.data, config.kafka.topic, stream, ends)
        check_files(config.data, config.kafka.topic, stream, ends)
        config.check_work(len(ends))  # the stream's days, now that they are known

    consumed = consume(config.kafka, on_day=counted, check=check)
    print(
        f"consumed {rows} snapshots of {len(consumed.days)} day(s) from topic "
        f"{config.kafka.topic} (stream {consumed.stream}, produced {consumed.produced_at}; "
        f"{consumed.records_read} records read)",
        file=sys.stderr,
    )
    return consumed
