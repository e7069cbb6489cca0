"""The fast allocator against the task's enumeration, on many random books."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router import Venue, allocate, compute_cost


def enumerate_allocate(order_size, venues, lambda_over, lambda_under, theta_queue, step=100):
    """The task's pseudocode, verbatim in spirit: every split, strict < keeps the first best."""
    splits: list[list[int]] = [[]]
    for venue in venues:
        grown = []
        for alloc in splits:
            top = min(order_size - sum(alloc), venue.ask_size)
            grown.extend([*alloc, q] for q in range(0, top + 1, step))
        splits = grown
    best_cost, best_split = math.inf, []
    for alloc in splits:
        if sum(alloc) != order_size:
            continue
        cost = compute_cost(alloc, venues, order_size, lambda_over, lambda_under, theta_queue)
        if cost < best_cost:
            best_cost, best_split = cost, alloc
    return best_split, best_cost


def naive_cost(split, venues, order_size, lambda_over, lambda_under, theta_queue):
    """The task's cost formula in plain floats (the exact version may differ by rounding)."""
    executed = cash = 0.0
    for q, v in zip(split, venues, strict=True):
        exe = min(q, v.ask_size)
        executed += exe
        cash += exe * (v.ask + v.fee) - (q - exe) * v.rebate
    under, over = max(order_size - executed, 0), max(executed - order_size, 0)
    return cash + theta_queue * (under + over) + lambda_under * under + lambda_over * over


# Prices on a coarse grid so that equal prices and equal ask+fee sums are common.
ASKS = st.sampled_from([222.80, 222.81, 222.83, 222.832, 222.829, 100.0, 0.0])
FEES = st.sampled_from([0.0, 0.001, 0.003, 0.002, -0.001, 0.0029999999999999996])
SIZES = st.one_of(
    st.sampled_from([0, 100, 200, 300, 500, 1000]),
    st.integers(min_value=0, max_value=1200),
)
VENUE = st.builds(Venue, ask=ASKS, ask_size=SIZES, fee=FEES, rebate=st.sampled_from([0.0, 0.002]))
PENALTY = st.sampled_from([0.0, 0.1, 0.4, 1.0, 7.5])


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    venues=st.lists(VENUE, min_size=0, max_size=6),
    units=st.integers(min_value=0, max_value=25),
    odd=st.sampled_from([0, 0, 0, 50]),
    penalties=st.tuples(PENALTY, PENALTY, PENALTY),
)
def test_matches_enumeration(venues, units, odd, penalties):
    order_size = units * 100 + odd
    if len(venues) >= 5:
        order_size = min(order_size, 1500)  # keep the oracle's enumeration affordable
    expected = enumerate_allocate(order_size, venues, *penalties)
    assert allocate(order_size, venues, *penalties) == expected


@settings(max_examples=500, deadline=None)
@given(
    venues=st.lists(VENUE, min_size=1, max_size=4),
    units=st.integers(min_value=0, max_value=20),
    step=st.sampled_from([1, 7, 50, 100, 250]),
)
def test_matches_enumeration_for_other_steps(venues, units, step):
    order_size = units * step
    if step < 50:
        venues = [Venue(v.ask, min(v.ask_size, 40), v.fee, v.rebate) for v in venues]
        order_size = min(order_size, 60)
    assert allocate(order_size, venues, 0.1, 0.2, 0.3, step=step) == enumerate_allocate(
        order_size, venues, 0.1, 0.2, 0.3, step=step
    )


@settings(max_examples=300, deadline=None)
@given(
    venues=st.lists(VENUE, min_size=1, max_size=5),
    split=st.lists(st.integers(min_value=0, max_value=2000), min_size=5, max_size=5),
    order_size=st.integers(min_value=0, max_value=5000),
    penalties=st.tuples(PENALTY, PENALTY, PENALTY),
)
def test_compute_cost_is_the_task_formula(venues, split, order_size, penalties):
    split = split[: len(venues)]
    exact = compute_cost(split, venues, order_size, *penalties)
    assert exact == pytest.approx(naive_cost(split, venues, order_size, *penalties), rel=1e-12)


def test_compute_cost_by_hand():
    venues = [Venue(ask=10.0, ask_size=100, fee=0.5, rebate=0.25), Venue(20.0, 50, 1.0, 0.5)]
    # Venue 0: 100 executed at 10.5, 50 posted beyond size earn 50 * 0.25 rebate.
    # Venue 1: 50 executed at 21.0. Executed 150 of 200: underfill 50.
    # cash = 1050 - 12.5 + 1050 = 2087.5; penalties = 50 * (theta 2 + lambda_under 3) = 250.
    assert compute_cost([150, 50], venues, 200, 1.0, 3.0, 2.0) == 2337.5
    # Overfill: 150 executed of 100 ordered costs 50 * (theta 2 + lambda_over 1).
    assert compute_cost([100, 50], venues, 100, 1.0, 3.0, 2.0) == 1050 + 1050 + 150


def test_cheapest_venue_first_by_hand():
    venues = [
        Venue(ask=10.02, ask_size=300, fee=0.003, rebate=0.002),
        Venue(ask=10.01, ask_size=250, fee=0.003, rebate=0.002),
        Venue(ask=10.01, ask_size=1000, fee=0.001, rebate=0.002),
    ]
    # Venue 2 is cheapest (10.011), then venue 1 (10.013, only 200 usable), then venue 0.
    split, cost = allocate(1300, venues, 0.4, 0.6, 0.3)
    assert split == [100, 200, 1000]
    assert cost == pytest.approx(100 * 10.023 + 200 * 10.013 + 1000 * 10.011, abs=1e-9)


def test_ties_go_to_the_lexicographically_first_split():
    same = [Venue(ask=5.0, ask_size=300, fee=0.0, rebate=0.0) for _ in range(3)]
    assert allocate(400, same, 0.1, 0.1, 0.1) == ([0, 100, 300], 2000.0)


def test_penalties_never_change_the_decision():
    venues = [Venue(222.83, 700, 0.003, 0.002), Venue(222.82, 400, 0.0035, 0.0025)]
    answers = {
        tuple(allocate(900, venues, lo, lu, th)[0])
        for lo in (0.0, 0.4, 50.0)
        for lu in (0.0, 0.6, 50.0)
        for th in (0.0, 0.5, 50.0)
    }
    assert answers == {(500, 400)}


@pytest.mark.parametrize(
    ("order_size", "sizes"),
    [(150, [500]), (300, [100, 150]), (100, [])],
)
def test_no_valid_split(order_size, sizes):
    venues = [Venue(1.0, s, 0.0, 0.0) for s in sizes]
    assert allocate(order_size, venues, 0.1, 0.1, 0.1) == ([], math.inf)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ask": math.nan, "ask_size": 1, "fee": 0.0, "rebate": 0.0}, "Venue.ask must be finite"),
        ({"ask": 1.0, "ask_size": -5, "fee": 0.0, "rebate": 0.0}, "ask_size must be >= 0"),
        ({"ask": 1.0, "ask_size": 1.5, "fee": 0.0, "rebate": 0.0}, "integer"),
    ],
)
def test_venue_rejects_bad_values(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message.replace(" finite", " a finite")):
        Venue(**kwargs)


def test_allocate_rejects_bad_arguments():
    venue = [Venue(1.0, 100, 0.0, 0.0)]
    with pytest.raises(ValueError, match="step must be a positive integer"):
        allocate(100, venue, 0.1, 0.1, 0.1, step=0)
    with pytest.raises(ValueError, match="order_size must be >= 0"):
        allocate(-100, venue, 0.1, 0.1, 0.1)
    with pytest.raises(ValueError, match="theta_queue must be a finite number"):
        allocate(100, venue, 0.1, 0.1, math.inf)


def test_five_venues_five_thousand_shares():
    venues = [Venue(222.80 + 0.01 * i, 1000 + 300 * i, 0.003, 0.002) for i in range(5)]
    assert allocate(5000, venues, 0.4, 0.6, 0.3)[0] == [1000, 1300, 1600, 1100, 0]
