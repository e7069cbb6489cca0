"""The Kafka wire format without a broker: blocks cut as promised, and a day rebuilt from its
blocks in any order equals the day, while every disagreement with the end record is refused."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from producer import wire
from producer.synthetic import generate
from router import Snapshots, load_mbp


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Snapshots:
    path = tmp_path_factory.mktemp("wire") / "day.csv"
    generate(path, seed=3, venues=3, rows=900)
    return load_mbp(path, depth=3)


def blocks_and_end(day: Snapshots, batch_rows: int, batch_ms: float) -> tuple[list[bytes], dict]:
    values = [b.value for b in wire.encode(day, batch_rows, batch_ms)]
    end = wire.end_of_stream(
        stream="s", run="r", day=0, days=1, snapshots=day, blocks=len(values),
        sha256=wire.day_checksum([wire.digest(v) for v in values]), offsets={0: (0, 1)},
        earlier=[], produced_at="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    return values, end


def rebuilt(values: list[bytes], end: dict) -> Snapshots:
    builder = wire.DayBuilder(end)
    for value in values:
        builder.add(value)
    return builder.finish()


def assert_same(got: Snapshots, expected: Snapshots) -> None:
    for name in Snapshots._ARRAYS:
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)
    assert got.window == expected.window and got.quality == expected.quality


def test_blocks_are_cut_by_rows_then_by_exchange_time():
    """Worked by hand: rows at 0, 0, 1, 2.5, 3 and 10 ms; at most 3 rows and 2 ms a block.
    From row 0: 3 rows end it (row 3 at 2.5 ms is past 0 + 2 ms anyway); from row 3 (2.5 ms):
    row 4 (3 ms) fits, row 5 (10 ms) does not; row 5 alone."""
    ts = np.array([0, 0, 1_000_000, 2_500_000, 3_000_000, 10_000_000])
    print_start = np.zeros(7, np.int64)
    assert wire.block_bounds(ts, print_start, 1, 3, 2.0) == [(0, 3), (3, 5), (5, 6)]
    assert wire.block_bounds(ts, print_start, 1, 1, 2.0) == [(i, i + 1) for i in range(6)]
    # 0.5 ms: 2.5 and 3 ms share a block (a span of exactly batch_ms is allowed)
    assert wire.block_bounds(ts, print_start, 1, 100, 0.5) == [(0, 2), (2, 3), (3, 5), (5, 6)]


def test_blocks_stay_under_kafkas_record_limit():
    """Rows of depth 10 are 344 bytes: 2,906 of them fill a block's 999,968 bytes of room; a
    row whose prints alone exceed it is still sent, as a block of its own."""
    ts = np.zeros(10_000, np.int64)
    print_start = np.zeros(10_001, np.int64)
    bounds = wire.block_bounds(ts, print_start, 10, 10_000, 1.0)
    assert bounds[0] == (0, 2906) and all(b - a <= 2906 for a, b in bounds)
    print_start[2:] = 60_000  # row 1 has 60,000 prints: 1.02 MB
    assert wire.block_bounds(ts[:3], print_start[:4], 10, 10_000, 1.0) == [(0, 1), (1, 2), (2, 3)]


@settings(max_examples=40, deadline=None)
@given(
    batch_rows=st.integers(1, 300),
    batch_ms=st.floats(0.001, 60_000),
    order=st.randoms(use_true_random=False),
)
def test_any_blocking_in_any_order_rebuilds_the_day(day, batch_rows, batch_ms, order):
    bounds = wire.block_bounds(day.ts, day.print_start, day.depth, batch_rows, batch_ms)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(day)
    for (a, b), (c, _) in itertools.pairwise(bounds):
        assert b == c and b - a <= batch_rows
        assert day.ts[b - 1] - day.ts[a] <= round(batch_ms * 1e6)
    values, end = blocks_and_end(day, batch_rows, batch_ms)
    order.shuffle(values)
    assert_same(rebuilt(values, end), day)


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda v, e: (v[:-1], e), r"2 blocks of 600 rows, the end record says 3 blocks of {rows}"),
        (lambda v, e: (v, e | {"rows": e["rows"] + 1}), r"the end record says 3 blocks of {more} "),
        (
            lambda v, e: ([v[0][:-1] + bytes([v[0][-1] ^ 1]), *v[1:]], e),
            r"checksum mismatch: blocks differ from those sent",
        ),
        (lambda v, e: ([v[0], v[0], *v[2:]], e), r"two blocks start at row 0"),
        (lambda v, e: ([v[0][:-5], *v[1:]], e), r"block of \d+ bytes does not hold 300 rows"),
        (lambda v, e: (v, e | {"depth": 2}), r"block of version 4 depth 3, the end record says "),
        (lambda v, e: (v, e | {"prints": 3}), r"lies outside the day's {rows} rows and 3 prints"),
    ],
    ids=["missing", "count", "checksum", "twice", "short", "depth", "prints"],
)
def test_a_block_or_count_that_disagrees_with_the_end_record_is_refused(day, tamper, message):
    values, end = tamper(*blocks_and_end(day, 300, 1e9))  # blocks of 300 rows
    with pytest.raises(ValueError, match=message.format(rows=len(day), more=len(day) + 1)):
        rebuilt(values, end)


def test_overlapping_blocks_that_add_up_are_refused(day):
    """Rows 0-299 and 150-449 hold 600 rows as rows 0-599 would: the counts agree, the block
    sizes give it away."""
    values, end = blocks_and_end(day, 300, 1e9)
    overlap = bytearray(values[1])
    overlap[8:16] = np.int64(150).tobytes()  # first_row 150
    with pytest.raises(ValueError, match=r"the blocks overlap or leave rows or prints out"):
        rebuilt([values[0], bytes(overlap), values[2]], end)


def test_a_blocks_prints_must_be_those_its_rows_count(day):
    """Row 0 of the first block claims one print more than the block carries: refused, even
    with an end record made from the tampered blocks (a faulty producer's checksum agrees)."""
    values, _ = blocks_and_end(day, 300, 1e9)
    first = bytearray(values[0])
    at = wire.BLOCK_HEADER.itemsize + 300 * (8 + 8 + 4)  # after ts, ts_recv, publisher_id
    count = int(np.frombuffer(bytes(first[at : at + 4]), "<i4")[0])
    first[at : at + 4] = np.int32(count + 1).tobytes()
    values = [bytes(first), *values[1:]]
    end = wire.end_of_stream(
        stream="s", run="r", day=0, days=1, snapshots=day, blocks=len(values),
        sha256=wire.day_checksum([wire.digest(v) for v in values]), offsets={0: (0, 1)},
        earlier=[], produced_at="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    header_prints = int(np.frombuffer(values[0], wire.BLOCK_HEADER, count=1)[0]["prints"])
    with pytest.raises(
        ValueError, match=rf"block's rows count {header_prints + 1} prints, its header "
        rf"{header_prints}"
    ):  # fmt: skip
        rebuilt(values, end)
