"""The Cont & Kukanov placement optimiser against the closed form and brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from router.strategies.placement import (
    Problem,
    RouterParams,
    closed_form,
    cost,
    expected_cost,
    optimise,
)

ROUTER_SAMPLES = 2000  # about what the router's estimator holds after a few minutes of data


def exponential(mean: float):
    return (lambda x: 1 - math.exp(-x / mean)), (lambda q: -mean * math.log(1 - q))


def single_venue(h, f, r, theta, lambda_u, lambda_o, shares=1000.0, queue=2000.0) -> Problem:
    params = RouterParams(lambda_over=lambda_o, lambda_under=lambda_u, theta_queue=theta)
    return Problem(shares, h + f, np.array([h + r]), np.array([queue]), params)


def within_noise(problem, found, best, outflow) -> tuple[float, float]:
    """(gap, allowance): the found point's excess expected cost over the best one's, and the
    noise of a brute-force search: two standard errors of the best point's expected cost as
    estimated from ROUTER_SAMPLES draws, plus 0.1 % for its grid's resolution."""
    best_costs = cost(problem, best.market, best.limits, outflow)
    market, limits = round(found.market), np.round(found.limits)  # what the router sends
    gap = expected_cost(problem, market, limits, outflow) - best_costs.mean()
    noise = 2 * best_costs.std() / math.sqrt(ROUTER_SAMPLES) + 0.001 * abs(best_costs.mean())
    return float(gap), float(noise)


def test_the_issue_example_has_the_stated_optimum():
    """S=1000, Q=2000, xi ~ Exp(2200): (867, 133) at lambda_o=0.05; beyond S-M at 0.02."""
    problem = single_venue(0.02, 0.003, 0.002, 0.0005, 0.05, 0.05)
    split = closed_form(problem, *exponential(2200))
    assert split.market == pytest.approx(867.3, abs=0.5) and split.limits[0] == pytest.approx(
        132.7, abs=0.5
    )
    outflow = np.random.default_rng(1).exponential(2200, size=(40_000, 1))
    cheap_over = single_venue(0.02, 0.003, 0.002, 0.0005, 0.05, 0.02)
    grid = [(m, q) for m in range(800, 1001, 10) for q in range(0, 1501, 10)]
    best = min(grid, key=lambda p: expected_cost(cheap_over, p[0], np.array([p[1]]), outflow))
    assert 860 <= best[0] <= 900 and 1000 <= best[1] <= 1100 and sum(best) > 1000


@pytest.mark.parametrize(
    ("h", "f", "r", "theta", "lambda_u", "mean"),
    [
        (0.02, 0.003, 0.002, 0.0005, 0.05, 2200),  # the issue's case
        (0.01, 0.003, 0.002, 0.0005, 0.03, 2500),
        (0.005, 0.003, 0.0025, 0.001, 0.02, 3000),
        (0.02, 0.003, 0.002, 0.0005, 0.2, 2200),  # shortfall dear: close to all market
        (0.03, 0.003, 0.003, 0.0, 0.01, 4000),  # shortfall cheap: mostly passive
    ],
)
def test_optimiser_matches_the_closed_form_where_it_holds(h, f, r, theta, lambda_u, mean):
    problem = single_venue(h, f, r, theta, lambda_u, lambda_o=0.5)  # over-execution never pays
    truth = closed_form(problem, *exponential(mean))
    outflow = np.random.default_rng(7).exponential(mean, size=(40_000, 1))
    found = optimise(problem, outflow, rng=np.random.default_rng(3))
    gap, allowance = within_noise(problem, found, truth, outflow)
    assert gap <= allowance, (found.market, found.limits, truth.market, truth.limits)


@pytest.mark.parametrize("seed", range(6))
def test_optimiser_matches_brute_force_on_small_multi_venue_cases(seed):
    rng = np.random.default_rng(seed)
    venues = int(rng.integers(2, 4))
    shares = 600.0
    params = RouterParams(*rng.choice([0.005, 0.01, 0.03, 0.06], 2), rng.choice([0.0, 0.001]))
    problem = Problem(
        shares,
        take=float(rng.choice([0.008, 0.013, 0.023])),
        make=rng.choice([0.007, 0.012, 0.022], venues),
        queue=rng.choice([100.0, 400.0, 900.0], venues),
        penalties=params,
    )
    outflow = rng.exponential(rng.choice([300, 800, 1500], venues), size=(ROUTER_SAMPLES, venues))
    found = optimise(problem, outflow, rng=np.random.default_rng(seed))
    axes = [np.arange(0, shares + 1, 50)] + [np.arange(0, 2 * shares + 1, 100)] * venues
    points = np.array(list(itertools.product(*axes)))
    costs = [expected_cost(problem, p[0], p[1:], outflow) for p in points]
    best = points[int(np.argmin(costs))]
    brute = type(found)(float(best[0]), best[1:].astype(float))
    gap, allowance = within_noise(problem, found, brute, outflow)
    assert gap <= allowance, (found.market, found.limits, brute.market, brute.limits)


def test_same_seed_same_answer_and_no_samples_means_market_orders():
    problem = single_venue(0.02, 0.003, 0.002, 0.0005, 0.05, 0.05)
    outflow = np.random.default_rng(1).exponential(2200, size=(500, 1))
    a = optimise(problem, outflow, rng=np.random.default_rng(5))
    b = optimise(problem, outflow, rng=np.random.default_rng(5))
    assert a.market == b.market and np.array_equal(a.limits, b.limits)
    none = optimise(problem, np.zeros((0, 1)), rng=np.random.default_rng(5))
    assert none.market == 1000 and not none.limits.any()
