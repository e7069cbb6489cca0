"""Fast paths against slow, obviously-correct references on many random inputs.

The schedule follower skips idle instants and brings venue state forward lazily; the reference
below visits every instant, keeps venues in a dict and calls the allocator's enumeration oracle.
The exchange's fill reports, a heap read forward in time, are checked against sums over every
report. The loader is checked against a csv-module reading that folds rows one by one. The compiled
placement optimiser is checked against its numpy statement, to the bit, for the same seed.
"""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router import FeeRate, RouterParams, Snapshots, Venue, VenueFees, Window, load_mbp
from router.data.marketdata import SELL_AGGRESSOR, SIDES
from router.exchange.simulator import Reports
from router.strategies.baselines import simulate_all
from router.strategies.placement import (
    Problem,
    Schedule,
    _column_sums,
    _numpy_sum,
    _row_sums,
    optimise,
    optimise_reference,
)
from tests.mbp import at, row, write
from tests.test_allocator import enumerate_allocate

FEES = VenueFees(FeeRate(0.003, 0.002), {5: FeeRate(0.001, 0.002), 9: FeeRate(0.0, 0.0)})
PARAMS = RouterParams(0.4, 0.6, 0.3)
WINDOW = Window.on("2024-08-01", "13:36:32", "13:39:45")  # 193 s: 4 TWAP buckets


def random_snapshots(seed: int) -> Snapshots:
    rng = np.random.default_rng(seed)
    rows = int(rng.integers(1, 60))
    ts = np.sort(rng.choice(np.arange(rows) * 7_000_000_000 // rows, rows)) + WINDOW.start_ns
    publishers = rng.choice([2, 5, 8, 9], rows)
    keys = sorted(set(zip(ts.tolist(), publishers.tolist(), strict=True)))
    n = len(keys)
    ask = 10.0 + rng.integers(0, 4, n) * 0.01
    size = rng.choice([0, 50, 100, 150, 200, 300, 1000], n)
    deeper = np.round(ask + rng.integers(1, 3, n) * 0.01, 2)  # a second level, 1-2 cents worse
    deeper_size = np.where(size > 0, rng.choice([0, 100, 400], n), 0)
    ts_sorted = np.array([k[0] for k in keys], dtype=np.int64)
    ts_sorted = WINDOW.start_ns + (ts_sorted - WINDOW.start_ns) * int(rng.integers(1, 30))
    volume = rng.choice([0, 0, 0, 100, 250], n).astype(np.int64)
    traded = volume > 0  # one print per row that traded, a seller hitting the bid
    return Snapshots(
        ts=ts_sorted,
        ts_recv=ts_sorted,
        publisher_id=np.array([k[1] for k in keys], dtype=np.int64),
        ask_px=np.column_stack(
            [np.where(size > 0, ask, np.nan), np.where(deeper_size > 0, deeper, np.nan)]
        ),
        ask_sz=np.column_stack([size, deeper_size]).astype(np.int64),
        bid_px=np.column_stack([ask - 0.01, ask - 0.02]),
        bid_sz=np.full((n, 2), 100, dtype=np.int64),
        print_start=np.r_[0, np.cumsum(traded)].astype(np.int64),
        print_px=(ask - 0.01)[traded],
        print_sz=volume[traded],
        print_side=np.full(int(traded.sum()), SELL_AGGRESSOR, dtype=np.uint8),
        window=WINDOW,
    )


def gone(price: float, shown: list[float]) -> bool:
    """The README's rule for an ask level we took from: it has ended when no ask shows, the
    best ask is above it, or it lies inside the shown range without showing."""
    return not shown or price < shown[0] or (price <= shown[-1] and price not in shown)


def reference(snap: Snapshots, order: int, step: int) -> dict[str, list[tuple]]:
    """Every strategy by the README's words, one row and one instant at a time."""
    instants = sorted(set(snap.ts.tolist()))
    total_volume = int(snap.volume.sum())
    buckets = -(-WINDOW.nominal_ns // 60_000_000_000)

    def target(name: str, t: int) -> int:
        if name in ("router", "best_ask"):
            return order
        if name == "vwap" and total_volume:
            return order * int(snap.volume[snap.ts <= t].sum()) // total_volume
        bucket = min((t - WINDOW.start_ns) // 60_000_000_000, buckets - 1)
        return order * (bucket + 1) // buckets

    out = {}
    for name in ("router", "best_ask", "twap", "vwap"):
        book: dict[int, list[tuple[float, int]]] = {}  # venue: displayed (price, size)
        taken: dict[tuple[int, float], int] = {}  # (venue, price): shares we took there

        def available(p: int) -> list[tuple[float, int]]:
            levels = [(px, sz - taken.get((p, px), 0)) for px, sz in book.get(p, [])]  # noqa: B023
            return [(px, sz) for px, sz in levels if sz > 0]

        fills: list[tuple] = []
        filled = 0
        for t in instants:
            for i in np.flatnonzero(snap.ts == t):
                p = int(snap.publisher_id[i])
                book[p] = [
                    (float(px), int(sz))
                    for px, sz in zip(snap.ask_px[i], snap.ask_sz[i], strict=True)
                    if sz > 0
                ]
                shown = [px for px, _ in book[p]]
                for key in [k for k in taken if k[0] == p]:
                    if gone(key[1], shown):
                        del taken[key]
                    elif key[1] in shown:  # fewer shown than taken: only what shows is ours
                        taken[key] = min(taken[key], dict(book[p])[key[1]])
            shortfall = target(name, t) - filled
            planned: dict[tuple[int, float], int] = {}
            while shortfall > 0:
                tops = {p: available(p)[0] for p in sorted(book) if available(p)}
                if not tops:
                    break
                if name == "router":
                    goal = min(shortfall, sum(sz // step * step for _, sz in tops.values()))
                    if goal < step:
                        break
                    venues = [
                        Venue(px, sz, FEES.of(p).fee, FEES.of(p).rebate)
                        for p, (px, sz) in tops.items()
                    ]
                    split, _ = enumerate_allocate(goal, venues, 0.4, 0.6, 0.3, step)
                    buys = [(p, q) for p, q in zip(tops, split, strict=True) if q]
                else:
                    p = min(tops, key=lambda v: (tops[v][0], v))
                    buys = [(p, min(shortfall, tops[p][1]))]
                for p, q in buys:
                    price = tops[p][0]
                    planned[(p, price)] = planned.get((p, price), 0) + q
                    taken[(p, price)] = taken.get((p, price), 0) + q
                    filled += q
                    shortfall -= q
            # One child order per venue, walking its levels: a fill per level, venues in order.
            fills += [(t, p, q, price) for (p, price), q in sorted(planned.items())]
        out[name] = fills
    return out


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), order=st.sampled_from([100, 300, 700, 1200]))
def test_replay_matches_reference(seed, order):
    snap = random_snapshots(seed)
    fast = simulate_all(snap, FEES, order, 100, PARAMS)
    expected = reference(snap, order, 100)
    for name, fills in fast.items():
        got = list(
            zip(
                fills.ts.tolist(),
                fills.publisher_id.tolist(),
                fills.shares.tolist(),
                fills.price.tolist(),
                strict=True,
            )
        )
        assert got == expected[name], name


def reference_load(path, start_ns: int, end_ns: int) -> list[tuple]:
    """(ts, publisher, ask_px, ask_sz, prints) per (ts, venue), by plain iteration; prints are
    (price, shares, side) in file order."""
    groups: dict[tuple[int, int], dict] = {}
    with open(path, newline="") as fh:
        for record in csv.DictReader(fh):
            ts = pd.Timestamp(record["ts_event"]).value
            if not start_ns <= ts < end_ns:
                continue
            key = (ts, int(record["publisher_id"]))
            group = groups.setdefault(key, {"prints": []})
            group["ask"] = (float(record["ask_px_00"]), int(record["ask_sz_00"]))
            if record["action"] == "T":
                trade = (float(record["price"]), int(record["size"]), record["side"])
                group["prints"].append(trade)
    return [(k[0], k[1], *g["ask"], g["prints"]) for k, g in sorted(groups.items())]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_loader_matches_reference(tmp_path_factory, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 80))
    base = at("13:36:31")
    rows = []
    for _ in range(n):
        message = row(
            base + int(rng.integers(0, 5)) * 500_000_000 + int(rng.integers(0, 2)),
            int(rng.choice([2, 5, 8])),
            round(10 + int(rng.integers(0, 5)) * 0.01, 2),
            int(rng.choice([100, 200, 37])),
            action=str(rng.choice(["A", "C", "T"])),
            size=int(rng.integers(1, 500)),
        )
        message["side"] = str(rng.choice(["A", "B", "N"]))
        message["price"] = round(10 + int(rng.integers(-3, 3)) * 0.01, 2)
        rows.append(message)
    path = write(tmp_path_factory.mktemp("ref") / "r.csv", rows)
    window = Window.on("2024-08-01", "13:36:32", "13:36:32.9")
    expected = reference_load(path, window.start_ns, window.end_ns)
    if not expected:
        return
    snap = load_mbp(path, "13:36:32", "13:36:32.9")
    prints = [
        [
            (float(snap.print_px[p]), int(snap.print_sz[p]), SIDES[int(snap.print_side[p])])
            for p in range(snap.print_start[i], snap.print_start[i + 1])
        ]
        for i in range(len(snap))
    ]
    got = list(
        zip(
            snap.ts.tolist(),
            snap.publisher_id.tolist(),
            snap.ask_px[:, 0].tolist(),
            snap.ask_sz[:, 0].tolist(),
            prints,
            strict=True,
        )
    )
    assert got == expected
    assert list(snap.volume) == [sum(p[1] for p in row_prints) for row_prints in prints]


@st.composite
def placements(draw) -> tuple[Problem, np.ndarray, Schedule]:
    """A placement problem, its outflow samples and a short schedule. Up to 12 venues (numpy adds
    rows of 8 or more pairwise) and batches up to 300 (above 128 it halves); whole-share outflows
    sometimes, so that samples tie with queues, orders and the box's edges."""
    venues = draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    penalty = st.sampled_from([0.0, 0.005, 0.05]) | st.floats(0, 0.3)
    problem = Problem(
        shares=draw(st.sampled_from([0.0, 1.0, 100.0, 1000.0]) | st.floats(1, 10_000)),
        take=draw(st.floats(-0.01, 0.05)),
        make=rng.uniform(-0.01, 0.05, venues),
        queue=rng.choice([0.0, 100.0, 2000.0, float(rng.integers(0, 5000))], venues),
        penalties=RouterParams(draw(penalty), draw(penalty), draw(penalty)),
        max_market=draw(st.none() | st.floats(0, 20_000)),
    )
    outflow = rng.exponential(rng.uniform(10, 5000, venues), (draw(st.integers(0, 300)), venues))
    if draw(st.booleans()):
        outflow = np.round(outflow)
    schedule = Schedule(
        steps=draw(st.integers(1, 400)),
        batch=draw(st.integers(1, 300)),
        epochs=draw(st.integers(1, 8)),
        step_scale=draw(st.floats(0.1, 10)),
        shrink=draw(st.floats(0.1, 1)),
    )
    return problem, outflow, schedule


@settings(max_examples=300, deadline=None)
@given(case=placements(), seed=st.integers(0, 2**32 - 1))
def test_compiled_optimiser_matches_the_numpy_reference_to_the_bit(case, seed):
    problem, outflow, schedule = case
    fast = optimise(problem, outflow, rng=np.random.default_rng(seed), schedule=schedule)
    slow = optimise_reference(problem, outflow, rng=np.random.default_rng(seed), schedule=schedule)
    assert fast.market == slow.market and np.array_equal(fast.limits, slow.limits)


@pytest.mark.parametrize("venues", [1, 4, 9])
def test_compiled_optimiser_matches_the_reference_on_the_default_schedule(venues):
    """The router's own schedule (3,200 steps of 32) on the benchmark's problem."""
    problem = Problem(
        1000.0,
        0.023,
        np.full(venues, 0.022),
        np.full(venues, 2000.0),
        RouterParams(0.05, 0.05, 5e-4),
    )
    outflow = np.random.default_rng(1).exponential(2200, size=(2000, venues))
    fast = optimise(problem, outflow, rng=np.random.default_rng(venues))
    slow = optimise_reference(problem, outflow, rng=np.random.default_rng(venues))
    assert fast.market == slow.market and np.array_equal(fast.limits, slow.limits)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    length=st.integers(0, 20_000),
    rows=st.integers(1, 300),
    columns=st.integers(1, 20),
)
def test_sums_in_numpys_order_are_numpys_sums(seed, length, rows, columns):
    """The compiled optimiser's sums against numpy's own, on values of wildly different
    magnitudes, where the order of the additions shows in the result."""
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(length) * 10.0 ** rng.uniform(-8, 8, length)
    assert _numpy_sum(values) == np.add.reduce(values)
    matrix = rng.standard_normal((rows, columns)) * 10.0 ** rng.uniform(-8, 8, (rows, columns))
    by_row, by_column = np.empty(rows), np.empty(columns)
    _row_sums(matrix, by_row)
    _column_sums(matrix, by_column)
    assert np.array_equal(by_row, matrix.sum(axis=1))
    assert np.array_equal(by_column, matrix.sum(axis=0))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["sent", "filled", "read"]), st.integers(0, 50),
                          st.integers(1, 500)), max_size=60))  # fmt: skip
def test_reports_match_sums_over_every_report(events):
    """Orders sent and fills recorded (each due at or after the last reading, as the exchange
    guarantees), read at non-decreasing times: what is known, in flight and answered next is
    what sums over every report say."""
    reports, sent, filled, now = Reports(), [], [], 0
    for kind, step, shares in events:
        if kind == "read":
            now += step
            assert reports.known(now) == sum(q for when, q in filled if when <= now)
            assert reports.in_flight(now) == sum(q for when, q in sent if when > now)
            later = [when for when, _ in sent if when > now]
            assert reports.next_answer(now) == (min(later) if later else None)
        else:
            due = now + step
            (sent if kind == "sent" else filled).append((due, shares))
            (reports.sent if kind == "sent" else reports.filled)(due, shares)


def test_a_report_due_before_the_last_reading_is_refused():
    """A fill due at 5 recorded after the strategy read at 10 would never be counted: the
    exchange must have applied every state up to a reading before it."""
    reports = Reports()
    reports.known(10)
    with pytest.raises(RuntimeError, match="came after the strategy read"):
        reports.filled(5, 100)
    with pytest.raises(RuntimeError, match="time runs forward"):
        reports.known(9)
