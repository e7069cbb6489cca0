"""Walk-forward folds, bootstrap intervals and the plateau, on figures made by hand or drawn
from a known distribution."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.evaluation import Matrix, plateau, savings, walk_forward


def matrix(costs: list[list[list[float]]], baselines: dict[str, list[list[float]]]) -> Matrix:
    """``costs[p][d]``: point p's costs of day d's orders."""
    trials = [{"x": p, "costs": c} for p, c in enumerate(costs)]
    dates = [f"2024-08-0{d + 1}" for d in range(len(costs[0]))]
    return Matrix.of(trials, ("x",), dates, baselines)


def test_each_fold_picks_on_its_training_days_and_reads_out_on_its_test_day() -> None:
    """Point 0 is cheaper on days 0 and 2, point 1 on day 1. Train 1 day, test 1: fold 1 trains
    on day 0 (picks 0) and tests day 1 (cost 101 against a baseline of 100: -100 bps); fold 2
    trains on day 1 (picks 1) and tests day 2 (cost 102: -200 bps)."""
    m = matrix(
        [[[100.0], [101.0], [99.0]], [[105.0], [100.5], [102.0]]],
        {"best_ask": [[100.0], [100.0], [100.0]]},
    )
    result = walk_forward(m, 1, 1, reps=200, seed=0)
    assert [f["chosen"] for f in result["folds"]] == [{"x": 0}, {"x": 1}]
    assert [f["test_dates"] for f in result["folds"]] == [["2024-08-02"], ["2024-08-03"]]
    assert result["folds"][0]["in_sample_bps"]["best_ask"] == pytest.approx(0.0)
    assert result["folds"][0]["out_of_sample_bps"]["best_ask"] == pytest.approx(-100.0)
    assert result["folds"][1]["out_of_sample_bps"]["best_ask"] == pytest.approx(-200.0)
    oos = result["out_of_sample"]["best_ask"]
    assert oos["mean_bps"] == pytest.approx(-150.0) and oos["orders"] == 2
    assert oos["mean_bps_ci95"] == pytest.approx([-200.0, -100.0])
    assert oos["mean_bps_ci_contains_zero"] is False


def test_a_fold_never_looks_at_its_test_day() -> None:
    rng = np.random.default_rng(1)
    costs = rng.normal(100, 1, (9, 6, 4))  # 9 points, 6 days, 4 orders a day
    base = {"twap": rng.normal(100, 1, (6, 4)).tolist()}
    first = walk_forward(matrix(costs.tolist(), base), 3, 1, reps=100, seed=0)
    costs[:, 5] = rng.normal(90, 30, (9, 4))  # the last test day, rewritten
    second = walk_forward(matrix(costs.tolist(), base), 3, 1, reps=100, seed=0)
    assert [f["chosen"] for f in first["folds"]] == [f["chosen"] for f in second["folds"]]
    assert first["folds"][2]["in_sample_bps"] == second["folds"][2]["in_sample_bps"]
    assert first["folds"][2]["out_of_sample_bps"] != second["folds"][2]["out_of_sample_bps"]


def test_too_few_days_for_a_fold_is_an_error() -> None:
    m = matrix([[[1.0], [1.0]]], {"twap": [[1.0], [1.0]]})
    with pytest.raises(ValueError, match="at least train_days \\+ test_days = 3 days"):
        walk_forward(m, 2, 1, reps=10, seed=0)


def test_bootstrap_intervals_cover_a_known_mean_at_about_the_nominal_rate() -> None:
    """Savings of 1.5 bps per order on average, a day effect (sd 2) shared by a day's orders and
    order noise (sd 3): over 200 draws of 20 days x 10 orders, the 95 % interval of the mean
    holds 1.5 about 95 % of the time (a bootstrap over 20 blocks runs a little narrow)."""
    rng = np.random.default_rng(7)
    day = np.repeat(np.arange(20), 10)
    covered = 0
    for trial in range(200):
        bps = 1.5 + rng.normal(0, 2, 20)[day] + rng.normal(0, 3, len(day))
        baseline = np.full(len(day), 1_000_000.0)
        router = baseline * (1 - bps / 10_000)
        low, high = savings(router, baseline, day, reps=400, seed=trial)["mean_bps_ci95"]
        covered += low <= 1.5 <= high
    assert 0.86 <= covered / 200 <= 0.99


def test_the_plateau_counts_points_no_different_from_the_best() -> None:
    """Point 1 equals point 0 but for noise around zero; point 2 costs 5 more every day."""
    rng = np.random.default_rng(3)
    best = rng.normal(100, 5, (10, 3))
    noisy = best + rng.normal(0, 1, (10, 3))
    worse = best + 5
    m = matrix([best.tolist(), noisy.tolist(), worse.tolist()], {"twap": best.tolist()})
    result = plateau(m, np.arange(10), reps=500, seed=0)
    assert result == {"points_indistinguishable": 2, "of": 3}


def test_orders_that_cannot_be_priced_are_left_out_and_counted() -> None:
    day = np.array([0, 0, 1, 1])
    router = np.array([99.0, np.inf, 99.0, 98.0])
    result = savings(router, np.full(4, 100.0), day, reps=50, seed=0)
    assert result["orders"] == 3 and result["orders_left_out"] == 1
    assert result["mean_bps"] == pytest.approx((100 + 100 + 200) / 3)


def test_an_order_no_point_can_price_does_not_decide_the_fold() -> None:
    """One training order costs inf at every point (no ask to price its missing shares): the
    fold still picks point 1, cheaper on every other order, and says one order was left out."""
    inf = float("inf")
    m = matrix(
        [[[100.0, inf], [100.0, 100.0], [100.0, 100.0]],
         [[90.0, inf], [90.0, 90.0], [90.0, 90.0]]],
        {"best_ask": [[95.0, 95.0]] * 3},
    )  # fmt: skip
    fold = walk_forward(m, 2, 1, reps=50, seed=0)["folds"][0]
    assert fold["chosen"] == {"x": 1} and fold["train_orders_left_out"] == 1
