"""Cont & Kukanov's optimal order placement: the cost of a split between a market order and
limit orders in each venue's bid queue, its minimiser, and the single-venue closed form.

Cont, R. and Kukanov, A. (2017), "Optimal order placement in limit order markets",
Quantitative Finance 17(1). Notation: S shares to buy over a horizon; X = (M, L_1..L_K) with M
bought at once at the ask and L_k posted at venue k's bid behind a queue of Q_k shares; an
outflow xi_k leaves that queue over the horizon, so our fill there is min(L_k, (xi_k - Q_k)+).
With A = M + sum of fills, the cost of X for one outflow draw is

    take * M - sum_k make_k * fill_k + lambda_u * (S - A)+ + lambda_o * (A - S)+
        + theta * (M + sum_k L_k + (S - A)+)

``take`` (the paper's h + f) is what a market share costs over the mid price, fee included, and
``make_k`` (h + r_k) what a passive share saves under the mid, rebate included. The
``theta`` term charges every share sent to the market, and the shortfall bought at the end, for
its market impact. The routines here need no market data: outflow samples come from the caller
(:mod:`router.outflow` estimates them causally from the stream).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Limit orders are boxed to this multiple of S: when over-execution is cheap (lambda_o below
#: h + r) posting beyond S - M pays, and the box keeps the search bounded.
LIMIT_BOX = 2.0


@dataclass(frozen=True)
class RouterParams:
    """The penalty parameters a sweep tunes, $/share: lambda_over, lambda_under and theta (the
    queue / market impact charge). Both routers take them; only this model's decisions depend
    on them (the static allocator's never do, see the README)."""

    lambda_over: float
    lambda_under: float
    theta_queue: float


@dataclass(frozen=True, eq=False)
class Problem:
    """One placement decision: S shares, the per-share edges and the queues ahead."""

    shares: float  # S
    take: float  # h + f
    make: np.ndarray  # h + r_k per venue
    queue: np.ndarray  # Q_k per venue: displayed bid size ahead of us
    penalties: RouterParams
    max_market: float | None = None  # displayed ask liquidity; None: S

    @property
    def market_cap(self) -> float:
        return self.shares if self.max_market is None else min(self.shares, self.max_market)


def cost(problem: Problem, market: float, limits: np.ndarray, outflow: np.ndarray) -> np.ndarray:
    """The cost of X = (market, limits) for each outflow draw (rows of ``outflow``, n x K)."""
    p = problem.penalties
    fills = np.minimum(limits, np.maximum(outflow - problem.queue, 0.0))
    executed = market + fills.sum(axis=1)
    under = np.maximum(problem.shares - executed, 0.0)
    over = np.maximum(executed - problem.shares, 0.0)
    return (
        problem.take * market
        - fills @ problem.make
        + p.lambda_under * under
        + p.lambda_over * over
        + p.theta_queue * (market + limits.sum() + under)
    )


def expected_cost(
    problem: Problem, market: float, limits: np.ndarray, outflow: np.ndarray
) -> float:
    """The sample average of :func:`cost`: E[cost] under the empirical outflow law."""
    return float(cost(problem, market, np.asarray(limits, dtype=float), outflow).mean())


@dataclass(frozen=True, eq=False)
class Placement:
    """The optimiser's answer (fractional shares; the simulator rounds)."""

    market: float
    limits: np.ndarray


@dataclass(frozen=True)
class Schedule:
    """How long the stochastic approximation runs: ``steps`` gradient steps of ``batch``
    samples each, in ``epochs`` rounds that restart from the previous round's average with the
    step scaled by ``shrink``. With the defaults the answer's expected cost is within the noise of
    a brute-force search on the tests' closed-form and multi-venue cases, in about 50 ms.
    """

    steps: int = 3200
    batch: int = 32
    epochs: int = 8
    step_scale: float = 4.0
    shrink: float = 0.5


def optimise(
    problem: Problem,
    outflow: np.ndarray,
    *,
    rng: np.random.Generator,
    schedule: Schedule | None = None,
) -> Placement:
    """Minimise E[cost] by projected stochastic gradient descent with iterate averaging.

    The paper's stochastic approximation: each step draws outflow samples (rows of ``outflow``,
    uniformly with replacement), steps against the gradient of their average cost and projects
    onto the box 0 <= M <= min(S, displayed asks), 0 <= L_k <= 2S; the answer is the average of
    the iterates. The base step D / (G sqrt(n)), with D the box's diameter and G a bound on the
    gradient's norm, is the robust step of Nemirovski et al. (2009). The cost is flat along
    M + sum L = S, which plain averaging crosses slowly: restarting from each round's average
    with a smaller step (``schedule``) gets there in far fewer steps.
    """
    schedule = schedule or Schedule()
    p, shares = problem.penalties, problem.shares
    venues = len(problem.queue)
    market_cap, limit_cap = problem.market_cap, LIMIT_BOX * shares
    if shares <= 0 or not len(outflow):
        return Placement(market_cap, np.zeros(venues))
    bound_m = problem.take + 2 * p.theta_queue + p.lambda_under + p.lambda_over
    bound_l = 2 * p.theta_queue + problem.make + p.lambda_under + p.lambda_over
    gradient_bound = math.sqrt(bound_m**2 + float((bound_l**2).sum()))
    diameter = math.sqrt(market_cap**2 + venues * limit_cap**2)
    per_epoch = max(1, schedule.steps // schedule.epochs)
    step = schedule.step_scale * diameter / (gradient_bound * math.sqrt(per_epoch))

    market, limits = market_cap / 2, np.full(venues, min(limit_cap, shares / (2 * venues)))
    under_slope = -(p.lambda_under + p.theta_queue)
    for _ in range(schedule.epochs):
        rooms = outflow[rng.integers(len(outflow), size=(per_epoch, schedule.batch))]
        rooms -= problem.queue  # xi - Q: shares that reach our order, if positive
        sum_market, sum_limits = 0.0, np.zeros(venues)
        for room in rooms:
            executed = market + np.minimum(limits, np.maximum(room, 0.0)).sum(axis=1)
            # d cost / d executed, per sample: -(lambda_u + theta) while short, lambda_o if over
            slope = np.where(
                executed < shares, under_slope, np.where(executed > shares, p.lambda_over, 0.0)
            )
            grad_m = problem.take + p.theta_queue + slope.mean()
            reaching = room > limits  # the queue outflow passes our whole order
            grad_l = p.theta_queue + (reaching * (slope[:, None] - problem.make)).mean(axis=0)
            market = min(max(market - step * grad_m, 0.0), market_cap)
            limits = np.clip(limits - step * grad_l, 0.0, limit_cap)
            sum_market += market
            sum_limits += limits
        market, limits = sum_market / per_epoch, sum_limits / per_epoch
        step *= schedule.shrink
    return Placement(market, limits)


def closed_form(
    problem: Problem, cdf: Callable[[float], float], quantile: Callable[[float], float]
) -> Placement:
    """Single venue, M + L = S: the paper's optimal split from the outflow's CDF and quantile.

    L = 0 when lambda_u >= (2h+f+r)/F(Q) - (h+r+theta); L = S when
    lambda_u <= (2h+f+r)/F(Q+S) - (h+r+theta); otherwise L = F^-1((2h+f+r) /
    (lambda_u+h+r+theta)) - Q. Holds only where over-execution does not pay (lambda_o well
    above h + r); :func:`optimise` does not assume it.
    """
    if len(problem.queue) != 1:
        raise ValueError(f"the closed form is for one venue, got {len(problem.queue)}")
    p, shares = problem.penalties, problem.shares
    queue, make = float(problem.queue[0]), float(problem.make[0])
    spread_gain = problem.take + make  # 2h + f + r
    hold = make + p.theta_queue  # h + r + theta
    if cdf(queue) == 0 or p.lambda_under >= spread_gain / cdf(queue) - hold:
        limit = 0.0
    elif p.lambda_under <= spread_gain / cdf(queue + shares) - hold:
        limit = shares
    else:
        limit = quantile(spread_gain / (p.lambda_under + hold)) - queue
    return Placement(shares - limit, np.array([limit]))
