"""The Kafka pipeline against the real local broker: producer, consume once, failures."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from kafka import KafkaProducer

from producer import wire
from producer.publish import ProducerError, publish, send_day
from producer.synthetic import generate
from router import Snapshots, load_mbp
from sweep.config import KafkaConfig, load_config, parse_config
from sweep.kafka_source import ConsumeError, consume
from tests.kafka_broker import SERVERS, delete_before, fresh_topic, require_broker


@pytest.fixture(autouse=True)
def broker():
    require_broker()


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Snapshots:
    path = tmp_path_factory.mktemp("kafka") / "day.csv"
    generate(path, seed=5, venues=4, rows=4000)
    return load_mbp(path)


def assert_same(got, expected: Snapshots) -> None:
    """``got``: a one-day stream consumed, or a day's Snapshots."""
    if not isinstance(got, Snapshots):
        assert len(got.days) == 1
        got = got.days[0]
    for name in Snapshots._ARRAYS:
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)
    assert got.window == expected.window and got.quality == expected.quality


def raw_producer() -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=list(SERVERS))


def blocks(day: Snapshots, batch_rows: int = 1000) -> list[bytes]:
    """The day's blocks as the producer cuts them by default (``batch_ms`` 10,000)."""
    return [b.value for b in wire.encode(day, batch_rows, KafkaConfig().batch_ms)]


def send_blocks(kafka: KafkaConfig, values: list[bytes], run: str) -> None:
    """Blocks of a run that never got its end record (or a hand-made one, sent afterwards)."""
    producer = raw_producer()
    for value in values:
        producer.send(kafka.topic, value=value, headers=wire.headers("block", run))
    producer.flush()
    producer.close()


def send_end(kafka: KafkaConfig, end: dict) -> None:
    producer = raw_producer()
    producer.send(
        kafka.topic, value=wire.encode_end(end), headers=wire.headers("eos", end["run"]),
        partition=0,
    )  # fmt: skip
    producer.flush()
    producer.close()


def hand_end(day: Snapshots, values: list[bytes], run: str, **fields) -> dict:
    """The end record a producer would write for ``values`` at offsets 0.., with ``fields``
    changed."""
    end = wire.end_of_stream(
        stream="s0", run=run, day=0, days=1, snapshots=day, blocks=len(values),
        sha256=wire.day_checksum([wire.digest(v) for v in values]),
        offsets={0: (0, len(values) - 1)}, earlier=[], produced_at="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    return end | fields


@pytest.mark.parametrize(
    ("batch_rows", "compression"), [(1, "zstd"), (1000, "zstd"), (1000, "lz4"), (1000, "none")]
)
def test_round_trip_equals_the_csv(day, batch_rows, compression):
    kafka = fresh_topic(batch_rows=batch_rows, compression=compression)
    summary = publish(day, kafka, pace=0, progress=False)
    assert summary.rows == len(day) and summary.days[0].prints == len(day.print_px) > 0
    expected_blocks = len(wire.block_bounds(day.ts, day.print_start, 1, batch_rows, kafka.batch_ms))
    assert summary.records == summary.days[0].blocks + 1 == expected_blocks + 1
    if batch_rows == 1:
        assert expected_blocks == len(day)  # a record a row, as before blocks
    consumed = consume(kafka, timeout_s=30)
    assert_same(consumed, day)
    assert consumed.records_read == summary.records  # the end record, then exactly the blocks


def test_round_trip_at_depth_ten_over_three_partitions(tmp_path):
    path = tmp_path / "deep.csv"
    generate(path, seed=9, venues=3, rows=1500)
    deep = load_mbp(path, depth=10)
    kafka = fresh_topic()
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=list(SERVERS))
    admin.create_topics([NewTopic(kafka.topic, num_partitions=3, replication_factor=1)])
    admin.close()
    summary = publish(deep, replace(kafka, batch_rows=50), pace=0, progress=False)
    consumed = consume(kafka, timeout_s=30)
    assert_same(consumed, deep)
    assert consumed.records_read == summary.records


def test_several_days_over_three_partitions_in_small_polls(monkeypatch, tmp_path):
    """Four days on three partitions, polls of a few blocks: a partition's range ends while
    records fetched beyond it wait, and the next day reads it again from its own first offset
    (pausing it lost such a partition for good in kafka-python 3.0: the read timed out)."""
    from kafka.admin import KafkaAdminClient, NewTopic

    from producer.synthetic import generate_days
    from sweep import kafka_source

    days = [load_mbp(p) for p in generate_days(tmp_path / "d.csv", seed=2, days=4, rows=1500)]
    kafka = fresh_topic(batch_rows=20)
    admin = KafkaAdminClient(bootstrap_servers=list(SERVERS))
    admin.create_topics([NewTopic(kafka.topic, num_partitions=3, replication_factor=1)])
    admin.close()
    summary = publish(days, kafka, pace=0, progress=False)
    monkeypatch.setattr(kafka_source, "POLL_BYTES", 16 * 1024)
    consumed = consume(kafka, timeout_s=15)
    for got, expected in zip(consumed.days, days, strict=True):
        assert_same(got, expected)
    assert consumed.records_read == summary.records - len(days) + 1  # one end record read


def test_rerun_never_doubles_data(day):
    kafka = fresh_topic()
    first = publish(day, kafka, pace=0, progress=False)
    second = publish(day, kafka, pace=0, progress=False)
    assert first.stream != second.stream and first.days[0].run != second.days[0].run
    consumed = consume(kafka, timeout_s=30)
    assert_same(consumed, day)
    assert consumed.stream == second.stream and consumed.records_read == second.records


def test_run_cut_short_is_never_used(day):
    kafka = fresh_topic()
    summary = publish(day, kafka, pace=0, progress=False)
    send_blocks(kafka, blocks(day, 10)[:50], "cut-short")  # a later run that died before its end
    consumed = consume(kafka, timeout_s=30)
    assert_same(consumed, day)
    # the tail search reads 1 + 2 + 4 + 8 + 16 + 32 = 63 records back: the 50 cut blocks, the
    # end record and 12 blocks before it; then the day's blocks
    assert consumed.stream == summary.stream
    assert consumed.records_read == 63 + summary.records - 1


def test_only_an_incomplete_run_times_out_with_what_it_saw(day):
    kafka = fresh_topic()
    send_blocks(kafka, blocks(day, 10)[:7], "r1")
    start = time.monotonic()
    with pytest.raises(
        ConsumeError,
        match=r"no complete stream read from topic t-\w+ at 127.0.0.1:\d+ within 2 s of waiting:"
        r" 7 records read, no complete stream found$",
    ):
        consume(kafka, timeout_s=2)
    assert time.monotonic() - start < 10


def test_malformed_block_names_its_offset(day):
    kafka = fresh_topic()
    values = [*blocks(day, 10)[:3], b"\x04garbage"]
    send_blocks(kafka, values, "r1")
    send_end(kafka, hand_end(day, values, "r1"))
    with pytest.raises(
        ConsumeError,
        match=r"partition 0 offset 3: block of run r1: 8 bytes is shorter than a block header",
    ):
        consume(kafka, timeout_s=10)


def test_foreign_record_names_its_offset():
    kafka = fresh_topic()
    producer = raw_producer()
    producer.send(kafka.topic, value=b"{}")
    producer.flush()
    producer.close()
    with pytest.raises(ConsumeError, match=r"offset 0: not a sor-sweep record"):
        consume(kafka, timeout_s=10)


def test_unreachable_broker_is_a_clear_error_in_bounded_time(day):
    kafka = KafkaConfig(
        bootstrap_servers=("127.0.0.1:1",), topic="x", client={"bootstrap_timeout_ms": 1500}
    )
    start = time.monotonic()
    with pytest.raises(ProducerError, match=r"no Kafka broker reachable at 127\.0\.0\.1:1 within"):
        publish(day, kafka, pace=0, progress=False)
    with pytest.raises(ConsumeError, match=r"no Kafka broker reachable at 127\.0\.0\.1:1 within"):
        consume(kafka, timeout_s=5)
    assert time.monotonic() - start < 15


def test_pacing_follows_the_data_without_drift(day):
    kafka = fresh_topic()
    pace = 200.0  # the ~523 s window in ~2.6 s
    summary = publish(day, kafka, pace=pace, progress=False)
    expected = summary.stream_seconds / pace
    assert expected <= summary.seconds < expected + 1.5
    assert summary.max_lag_s < 0.5
    assert_same(consume(kafka, timeout_s=30), day)


def test_producer_cli_uses_the_config(tmp_path, day, capsys):
    import json

    from producer.__main__ import main

    kafka = fresh_topic()
    csv = tmp_path / "day.csv"
    generate(csv, seed=5, venues=4, rows=4000)
    (tmp_path / "c.yaml").write_text(
        "data: {path: day.csv}\n"
        f"kafka: {{bootstrap_servers: '{SERVERS[0]}', topic: {kafka.topic}}}\n"
    )
    assert main([str(tmp_path / "c.yaml")]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["rows"] == len(day)
    assert err.splitlines() == [  # no progress bar when stderr is not a terminal
        f"sending day 2024-08-01 to topic {kafka.topic} ({len(day)} snapshots, "
        f"{len(day.print_px)} prints)"
    ]
    assert_same(consume(kafka, timeout_s=30), load_mbp(csv, warmup_s=300))  # data.warmup_s


def test_sweep_from_kafka_end_to_end(tmp_path, day):
    """python -m sweep --source kafka: consume once, 27 trials on local Ray, one JSON."""
    import json

    from tests.sweep_cli import run_sweep

    kafka = fresh_topic()
    publish(day, kafka, pace=0, progress=False)
    (tmp_path / "c.yaml").write_text(
        "data: {path: absent.csv, warmup_s: 0}\n"
        f"kafka: {{bootstrap_servers: '{SERVERS[0]}', topic: {kafka.topic}, timeout_s: 30}}\n"
    )
    done = run_sweep(tmp_path / "c.yaml", tmp_path / "out", "--source", "kafka")
    report = json.loads(done.stdout)
    assert report["data"]["source"] == "kafka" and report["data"]["rows"] == len(day)
    assert report["trials"]["count"] == 27
    best = report["optimized"]  # shares the last displayed asks could not supply stay unfilled
    assert best["filled_shares"] > 0
    assert best["filled_shares"] + best["unfilled_shares"] - best["overfilled_shares"] == 5000


def test_consumer_waits_for_a_run_that_finishes_after_it_started(day):
    """Started before the producer (topic empty but present), it waits for the end record."""
    from concurrent.futures import ThreadPoolExecutor

    kafka = fresh_topic()
    send_blocks(kafka, blocks(day)[:1], "old")
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(consume, kafka, timeout_s=60)
        time.sleep(1.0)
        assert not waiting.done()
        publish(day, kafka, pace=0, progress=False)
        assert_same(waiting.result(timeout=60), day)


@pytest.fixture(scope="module")
def two_days(tmp_path_factory) -> list[Snapshots]:
    from producer.synthetic import generate_days

    folder = tmp_path_factory.mktemp("days")
    return [load_mbp(p) for p in generate_days(folder / "d.csv", seed=4, days=2, rows=2500)]


def test_each_day_is_its_own_run_and_all_come_back(two_days):
    kafka = fresh_topic()
    summary = publish(list(reversed(two_days)), kafka, pace=0, progress=False)
    assert [d.date for d in summary.days] == ["2024-08-01", "2024-08-02"]  # date order
    assert len({d.run for d in summary.days}) == 2
    consumed = consume(kafka, timeout_s=30)
    assert consumed.stream == summary.stream
    assert consumed.runs == [d.run for d in summary.days]
    for got, expected in zip(consumed.days, two_days, strict=True):
        assert_same(got, expected)


def test_a_stream_cut_after_its_first_day_is_never_used(two_days, day):
    kafka = fresh_topic()
    older = publish(day, kafka, pace=0, progress=False)  # an older complete stream of one day
    producer = raw_producer()
    cut, _ = send_day(
        producer, kafka, two_days[0], stream="cut", run="d1", number=0, days=2, earlier=[]
    )  # day 2 never comes
    producer.close()
    consumed = consume(kafka, timeout_s=30)
    assert_same(consumed, day)  # the older stream, found behind the cut one
    assert consumed.stream == older.stream
    # the tail search reads 1 + 2 + 4 + ... records back until its window holds the older end
    # record, the cut day's blocks and end record after it; then the older day's blocks
    behind, scanned, width = cut["blocks"] + 2, 1, 1
    while scanned < behind:
        width *= 2
        scanned += width
    assert consumed.records_read == scanned + older.records - 1


def test_a_complete_stream_ending_inside_a_cut_one_is_found(day, two_days):
    """Two producers on one topic: a cut stream's first blocks, then another whole stream,
    then the cut stream's first end record (of two days). The whole one is the latest
    complete stream, though it ends inside the cut one's span."""
    kafka = fresh_topic()
    cut = blocks(two_days[0])
    send_blocks(kafka, cut, "c1")
    whole = publish(day, kafka, pace=0, progress=False)
    send_end(kafka, hand_end(two_days[0], cut, "c1", stream="cut", days=2))
    consumed = consume(kafka, timeout_s=20)
    assert consumed.stream == whole.stream
    assert_same(consumed, day)


def test_records_of_an_older_wire_version_are_skipped_and_named(day):
    kafka = fresh_topic()
    producer = raw_producer()
    old = bytes([3]) + bytes(24 + 32)  # a version-3 snapshot of depth 1
    old_headers = [("sor.type", b"snapshot"), ("sor.run", b"r0"), ("sor.v", b"3")]
    producer.send(kafka.topic, value=old, headers=old_headers)
    producer.flush()
    producer.close()
    with pytest.raises(
        ConsumeError,
        match=r"1 records of an older wire version skipped \(the first at partition 0 offset 0\)"
        r": produce the data again with this version",
    ):
        consume(kafka, timeout_s=3)
    publish(day, kafka, pace=0, progress=False)  # produced again: the old record is ignored
    assert_same(consume(kafka, timeout_s=30), day)


def test_two_day_sweep_from_kafka_reports_each_day(tmp_path, two_days):
    import json

    from tests.sweep_cli import run_sweep
    from tests.test_sweep import check_days_table

    kafka = fresh_topic()
    summary = publish(two_days, kafka, pace=0, progress=False)
    (tmp_path / "c.yaml").write_text(
        "data: {path: absent.csv, warmup_s: 0}\ngrid: {lambda_over: [0.1], lambda_under: [0.1], "
        "theta_queue: [0.1]}\n"
        f"kafka: {{bootstrap_servers: '{SERVERS[0]}', topic: {kafka.topic}, timeout_s: 30}}\n"
    )
    report = json.loads(
        run_sweep(tmp_path / "c.yaml", tmp_path / "out", "--source", "kafka").stdout
    )
    check_days_table(report, ["2024-08-01", "2024-08-02"])
    stream = report["data"]["stream"]
    assert stream["id"] == summary.stream and stream["runs"] == [d.run for d in summary.days]


def test_blocks_of_one_and_of_many_rows_give_the_files_report(tmp_path, two_days):
    """Two days swept from the files, and from Kafka with a record a row and with blocks: the
    same report, but for where the data came from, how long each step took and Tune's ids."""
    import json

    from producer.synthetic import generate_days
    from tests.sweep_cli import run_sweep

    generate_days(tmp_path / "d.csv", seed=4, days=2, rows=2500)  # the two_days files
    reports = {}
    for batch_rows in (1, 1000, None):
        kafka = fresh_topic(batch_rows=batch_rows or 1)
        if batch_rows:
            publish(two_days, kafka, pace=0, progress=False)
        config = tmp_path / f"c{batch_rows}.yaml"
        config.write_text(
            "data: {path: d-*.csv, warmup_s: 0}\ngrid: {lambda_over: [0.1, 0.4], lambda_under: "
            "[0.1], theta_queue: [0.1]}\n"
            f"kafka: {{bootstrap_servers: '{SERVERS[0]}', topic: {kafka.topic}, timeout_s: 30}}\n"
        )
        source = "kafka" if batch_rows else "file"
        done = run_sweep(config, tmp_path / f"out{batch_rows}", "--source", source)
        report = json.loads(done.stdout)
        del report["timings_s"], report["trials"]["best_trial_id"]  # Tune's own random id
        report["data"].pop("stream", None)
        assert report["data"].pop("source") == source
        reports[batch_rows] = report
    assert reports[1] == reports[1000] == reports[None]


def test_an_empty_end_record_is_refused(day):
    kafka = fresh_topic()
    values = blocks(day)[:1]
    send_blocks(kafka, values, "r0")
    send_end(kafka, hand_end(day, values, "r0", rows=0))
    with pytest.raises(
        ConsumeError, match=r"offset 1: malformed end-of-stream record: 0 snapshots in 1 blocks"
    ):
        consume(kafka, timeout_s=10)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            "{path: x.csv, warmup_s: 0, depth: 10}",
            r"with data.depth 1; the config asks for data.depth 10",
        ),
        (
            "{path: x.csv, warmup_s: 0, window: {start: '13:40:00', end: '13:45:14'}}",
            r"with data.window 13:36:32 to 13:45:14; the config asks for data.window "
            r"13:40:00 to 13:45:14",
        ),
        ("{path: x.csv, warmup_s: 0, prices: fixed}", r"with data.prices decimal; the config asks"),
        ("{path: x.csv, warmup_s: 0, date: '2024-08-02'}", r"with data.date 2024-08-01; the"),
        (
            "{path: x.csv}",
            r"with data.warmup_s 0.0; the config asks for data.warmup_s 300",
        ),
    ],
)
def test_a_stream_made_with_other_data_settings_is_refused(day, data, message):
    from sweep.kafka_source import consume_days

    kafka = fresh_topic()
    publish(day, kafka, pace=0, progress=False)
    config = parse_config(
        {
            "data": yaml.safe_load(data),
            "kafka": {"bootstrap_servers": list(SERVERS), "topic": kafka.topic, "timeout_s": 20},
        },
        Path("."),
    )
    with pytest.raises(
        ConsumeError, match=rf"topic {kafka.topic}: stream \w+ was produced {message}"
    ):
        consume_days(config)


def test_the_deadline_holds_when_the_broker_dies_mid_consume(tmp_path, day):
    from concurrent.futures import ThreadPoolExecutor

    from tests.kafka_broker import SecondBroker

    with SecondBroker(tmp_path / "broker") as broker:
        kafka = KafkaConfig(bootstrap_servers=broker.servers, topic="dies", timeout_s=6)
        producer = KafkaProducer(bootstrap_servers=list(broker.servers))
        for value in blocks(day, 10)[:20]:  # a run still being produced
            producer.send(kafka.topic, value=value, headers=wire.headers("block", "r1"))
        producer.flush()
        producer.close()
        with ThreadPoolExecutor(1) as pool:
            start = time.monotonic()
            waiting = pool.submit(consume, kafka)
            time.sleep(2.0)
            assert not waiting.done()
            broker.kill()
            with pytest.raises(ConsumeError) as info:
                waiting.result(timeout=30)
            took = time.monotonic() - start
    assert took < kafka.timeout_s + 4, took
    assert broker.servers[0] in str(info.value) and "topic dies" in str(info.value)


def test_closing_after_an_error_never_hides_it():
    from producer.publish import _close

    class Broken:
        def close(self, timeout):
            raise OSError("broker gone")

    _close(Broken(), fresh_topic(), quietly=True)  # the error being raised stays the one seen
    with pytest.raises(ProducerError, match=r"closing the producer for 127.0.0.1:\d+ failed"):
        _close(Broken(), fresh_topic(), quietly=False)


class ProducerProcess:
    """``python -m producer CONFIG --quiet`` in a subprocess; the test waits for its stderr lines
    (each within a bounded time), never for a guessed number of seconds."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        import queue
        import subprocess
        import sys
        import threading

        from tests.audit_gate import interruptible

        self.process = subprocess.Popen(
            [sys.executable, "-m", "producer", str(config), "--quiet"],
            cwd=Path(__file__).resolve().parent.parent,  # this checkout's producer
            env=env,
            preexec_fn=interruptible,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()  # None: stderr closed
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, timeout_s: float = 60) -> str | None:
        return self.lines.get(timeout=timeout_s)

    def interrupt(self) -> tuple[int, str, list[str]]:
        """SIGINT; then the exit status, stdout and the stderr lines not read yet."""
        import signal

        self.process.send_signal(signal.SIGINT)
        status = self.process.wait(timeout=60)
        rest = list(iter(self.next_line, None))
        return status, self.process.stdout.read(), rest

    def __enter__(self) -> ProducerProcess:
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=60)


def paced_config(tmp_path: Path, kafka: KafkaConfig) -> Path:
    """A config streaming a synthetic day at real-time pace: ~9 minutes of sending."""
    generate(tmp_path / "day.csv", seed=5, venues=4, rows=4000)
    (tmp_path / "c.yaml").write_text(
        f"data: {{path: day.csv}}\nkafka: {{bootstrap_servers: '{SERVERS[0]}', "
        f"topic: {kafka.topic}, pace: 1}}\n"
    )
    return tmp_path / "c.yaml"


def test_producer_ctrl_c_while_sending_exits_130_with_one_line(tmp_path):
    from producer.__main__ import STOPPED_SENDING

    kafka = fresh_topic()
    config = paced_config(tmp_path, kafka)
    day = load_mbp(tmp_path / "day.csv", warmup_s=300)  # as the producer loads it
    with ProducerProcess(config) as producer:
        assert producer.next_line() == (
            f"sending day 2024-08-01 to topic {kafka.topic} "
            f"({len(day)} snapshots, {len(day.print_px)} prints)"
        )
        assert producer.interrupt() == (130, "", [STOPPED_SENDING])


@pytest.mark.parametrize(
    ("event", "what"),
    [("import", "kafka"), ("open", "day.csv")],
    ids=["while-importing", "while-loading"],
)
def test_producer_ctrl_c_during_start_up_exits_130_with_one_line(tmp_path, event, what):
    import os

    from producer.__main__ import STOPPED_EARLY
    from tests import audit_gate

    config = paced_config(tmp_path, fresh_topic())
    if event == "open":
        what = str(tmp_path.resolve() / what)  # as the config resolves it
    gate, hook = audit_gate.install(tmp_path, event, what)
    env = os.environ | {"PYTHONPATH": hook}  # its sitecustomize
    with ProducerProcess(config, env) as producer:
        writer = audit_gate.reached(gate, lambda: producer.process.poll() is None,
                                    f"{event} {what}", timeout_s=60)  # fmt: skip
        try:
            assert producer.interrupt() == (130, "", [STOPPED_EARLY])
        finally:
            os.close(writer)


def test_what_is_read_does_not_depend_on_the_topics_history(small_day):
    """The same day on a topic of its own and after 50 earlier runs: the consumer looks at the
    same records (the end record, then the day's blocks), not at the earlier runs."""
    alone, crowded = fresh_topic(), fresh_topic()
    for _ in range(50):
        publish(small_day, crowded, pace=0, progress=False)
    reads = []
    for kafka in (alone, crowded):
        summary = publish(small_day, kafka, pace=0, progress=False)
        consumed = consume(kafka, timeout_s=30)
        assert consumed.stream == summary.stream
        assert_same(consumed, small_day)
        reads.append(consumed.records_read)
    assert reads == [summary.records, summary.records]


@pytest.fixture(scope="module")
def small_day(tmp_path_factory) -> Snapshots:
    path = tmp_path_factory.mktemp("small") / "day.csv"
    generate(path, seed=6, venues=2, rows=400)
    return load_mbp(path)


def test_the_consumer_holds_one_day_at_a_time(monkeypatch, tmp_path):
    """Six days, each handed on and dropped: the bytes held never exceed 1.5 times the largest
    day's arrays plus one poll, though the six days together are far more."""
    from producer.synthetic import generate_days
    from sweep import kafka_source

    days = [load_mbp(p) for p in generate_days(tmp_path / "d.csv", seed=2, days=6, rows=1500)]
    monkeypatch.setattr(kafka_source, "POLL_BYTES", 16 * 1024)
    kafka = fresh_topic(batch_rows=20)
    summary = publish(days, kafka, pace=0, progress=False)
    consumed = consume(kafka, timeout_s=30, on_day=len)
    assert consumed.days == [len(d) for d in days]
    largest = max(wire.DayBuilder(e).nbytes for e in _ends(kafka, summary))
    block = max(len(b) for d in days for b in blocks(d, 20))
    bound = 1.5 * largest + 16 * 1024 + block
    assert consumed.peak_bytes <= bound < 6 * largest / 2


def _ends(kafka: KafkaConfig, summary) -> list[dict]:
    """The end records of a stream, as the consumer reads them."""
    ends = []
    consume(kafka, timeout_s=30, on_day=len, check=lambda stream, found: ends.extend(found))
    assert len(ends) == len(summary.days)
    return ends


def test_an_end_record_pointing_past_the_log_is_refused(day):
    kafka = fresh_topic()
    values = blocks(day)
    send_blocks(kafka, values, "r1")
    send_end(kafka, hand_end(day, values, "r1", offsets={"0": [0, 10_000]}))
    with pytest.raises(
        ConsumeError,
        match=r"the end record of run r1 \(day 1\) names offsets 0\.\.10000 of partition 0, past "
        rf"the log's end \({len(values) + 1}\)",
    ):
        consume(kafka, timeout_s=10)


def test_an_end_record_pointing_into_another_run_is_refused(day):
    kafka = fresh_topic()
    summary = publish(day, kafka, pace=0, progress=False)
    values = blocks(day)
    send_end(kafka, hand_end(day, values, "r2"))  # names offsets 0.. : the first run's blocks
    with pytest.raises(
        ConsumeError,
        match=r"offset 0: the end record of run r2 names this offset as one of its blocks, but "
        r"it belongs to another run",
    ):
        consume(kafka, timeout_s=10)
    assert summary.records == len(values) + 1


def test_retention_that_deleted_a_runs_start_is_a_clear_error(two_days):
    kafka = fresh_topic()
    summary = publish(two_days, kafka, pace=0, progress=False)
    delete_before(kafka.topic, 5)
    with pytest.raises(
        ConsumeError,
        match=rf"the end record of run {summary.days[0].run} \(day 1\) starts at offset 0 of "
        r"partition 0, but the log now starts at 5: retention deleted part of the run",
    ):
        consume(kafka, timeout_s=10)


def test_records_deleted_while_being_read_end_the_read(two_days):
    """Deleted after the consumer chose the stream and before it read the days: the read ends
    with an error, never with a short day."""
    kafka = fresh_topic()
    publish(two_days, kafka, pace=0, progress=False)

    def retention(stream: str, ends: list[dict]) -> None:
        delete_before(kafka.topic, ends[1]["offsets"][0][0])

    with pytest.raises(
        ConsumeError,
        match=rf"topic {kafka.topic} at 127.0.0.1:\d+: records were deleted while being read "
        r".*0 of 2 days of the stream complete; no day of the stream is used",
    ):
        consume(kafka, timeout_s=10, check=retention)


def test_a_broker_stopped_mid_stream_fails_within_the_timeout_naming_what_was_complete(
    tmp_path, two_days, day
):
    from tests.kafka_broker import SecondBroker

    with SecondBroker(tmp_path / "broker") as broker:
        kafka = KafkaConfig(bootstrap_servers=broker.servers, topic="month", timeout_s=5)
        publish([*two_days, day], replace(kafka, batch_rows=20), pace=0, progress=False)
        start = None

        def stop_after_the_first_day(snapshots: Snapshots) -> int:
            nonlocal start
            if start is None:
                broker.kill()
                start = time.monotonic()
            return len(snapshots)

        with pytest.raises(ConsumeError) as info:
            consume(kafka, on_day=stop_after_the_first_day)
        took = time.monotonic() - start
    assert took < kafka.timeout_s + 4, took
    message = str(info.value)
    assert broker.servers[0] in message and "topic month" in message
    assert message.endswith("1 of 3 days of the stream complete; no day of the stream is used")


def test_a_stream_made_from_other_files_is_refused_naming_both(tmp_path):
    """Produced from three days' files, swept with a config naming one of them (or files this
    machine does not have): refused before any day is read, naming both lists."""
    from producer.__main__ import main
    from producer.synthetic import generate_days
    from sweep.kafka_source import consume_days

    paths = generate_days(tmp_path / "d.csv", seed=4, days=3, rows=300)
    kafka = fresh_topic()
    servers = f"kafka: {{bootstrap_servers: '{SERVERS[0]}', topic: {kafka.topic}, timeout_s: 20}}"
    (tmp_path / "all.yaml").write_text(f"data: {{path: d-*.csv, warmup_s: 0}}\n{servers}\n")
    assert main([str(tmp_path / "all.yaml"), "--quiet"]) == 0
    sizes = ", ".join(f"{p.name} ({p.stat().st_size:,} bytes)" for p in paths)
    one = paths[0].name
    for data, named in (
        (one, f"{one} ({paths[0].stat().st_size:,} bytes)"),
        ("elsewhere/e-*.csv", "e-*.csv (not on this machine)"),
    ):
        (tmp_path / "one.yaml").write_text(f"data: {{path: {data}, warmup_s: 0}}\n{servers}\n")
        with pytest.raises(ConsumeError) as info:
            consume_days(load_config(tmp_path / "one.yaml"))
        assert str(info.value).endswith(
            f"was produced from {sizes}; the config's data.path names {named}: produce the "
            "data again with this config, or make the config match"
        )
    consumed = consume_days(load_config(tmp_path / "all.yaml"))  # the same files: read
    assert [d.window.date for d in consumed.days] == ["2024-08-01", "2024-08-02", "2024-08-05"]
