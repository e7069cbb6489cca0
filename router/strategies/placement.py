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
(:mod:`router.strategies.outflow` estimates them causally from the stream).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

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
    a brute-force search on the tests' closed-form and multi-venue cases, in about 2 ms at four
    venues (docs/benchmarks.md).
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

    The steps run compiled (:func:`_descend`), one call a round: the router decides every
    ``tau_s`` seconds and a sweep replays every grid point, so each call's time counts. The
    answer is bit for bit that of :func:`optimise_reference`, the same algorithm in numpy.
    """
    return _optimise(problem, outflow, rng, schedule or Schedule(), _descend)


def optimise_reference(
    problem: Problem,
    outflow: np.ndarray,
    *,
    rng: np.random.Generator,
    schedule: Schedule | None = None,
) -> Placement:
    """:func:`optimise` with each step in numpy, vectorised over its batch: some 30 times
    slower, but it reads as the algorithm; tests and the benchmark hold the compiled one to it."""
    return _optimise(problem, outflow, rng, schedule or Schedule(), _descend_numpy)


#: One round of steps: (outflow, Q, draws, M, L, step, S, take, make, theta, lambda_u, lambda_o,
#: M cap, L cap) -> the round's average (M, L). Step t uses the samples ``outflow[draws[t]]``.
Descend = Callable[..., tuple[float, np.ndarray]]


def _optimise(
    problem: Problem,
    outflow: np.ndarray,
    rng: np.random.Generator,
    schedule: Schedule,
    descend: Descend,
) -> Placement:
    """Everything but the steps: the box, the step size, the rounds and their samples. The
    random draws happen here, in numpy, so both ``descend`` see the same samples."""
    p, shares = problem.penalties, float(problem.shares)
    venues = len(problem.queue)
    market_cap, limit_cap = float(problem.market_cap), LIMIT_BOX * shares
    if shares <= 0 or not len(outflow):
        return Placement(market_cap, np.zeros(venues))
    bound_m = problem.take + 2 * p.theta_queue + p.lambda_under + p.lambda_over
    bound_l = 2 * p.theta_queue + problem.make + p.lambda_under + p.lambda_over
    gradient_bound = math.sqrt(bound_m**2 + float((bound_l**2).sum()))
    diameter = math.sqrt(market_cap**2 + venues * limit_cap**2)
    per_epoch = max(1, schedule.steps // schedule.epochs)
    step = schedule.step_scale * diameter / (gradient_bound * math.sqrt(per_epoch))

    market, limits = market_cap / 2, np.full(venues, min(limit_cap, shares / (2 * venues)))
    # One type and layout per argument: every call reuses the one compiled specialisation.
    samples = np.ascontiguousarray(outflow, dtype=float), np.asarray(problem.queue, dtype=float)
    terms = (
        shares,
        float(problem.take),
        np.asarray(problem.make, dtype=float),
        float(p.theta_queue),
        float(p.lambda_under),
        float(p.lambda_over),
        market_cap,
        limit_cap,
    )
    for _ in range(schedule.epochs):
        draws = rng.integers(len(outflow), size=(per_epoch, schedule.batch))
        market, limits = descend(*samples, draws, market, limits, step, *terms)
        step *= schedule.shrink
    return Placement(market, limits)


def _descend_numpy(
    outflow: np.ndarray,
    queue: np.ndarray,
    draws: np.ndarray,
    market: float,
    limits: np.ndarray,
    step: float,
    shares: float,
    take: float,
    make: np.ndarray,
    theta: float,
    lambda_under: float,
    lambda_over: float,
    market_cap: float,
    limit_cap: float,
) -> tuple[float, np.ndarray]:
    """One round's steps, each vectorised over its batch (see :data:`Descend`)."""
    rooms = outflow[draws] - queue  # xi - Q: shares that reach our order, if positive
    under_slope = -(lambda_under + theta)
    sum_market, sum_limits = 0.0, np.zeros(len(limits))
    for room in rooms:
        executed = market + np.minimum(limits, np.maximum(room, 0.0)).sum(axis=1)
        # d cost / d executed, per sample: -(lambda_u + theta) while short, lambda_o if over
        slope = np.where(
            executed < shares, under_slope, np.where(executed > shares, lambda_over, 0.0)
        )
        grad_m = take + theta + slope.mean()
        reaching = room > limits  # the queue outflow passes our whole order
        grad_l = theta + (reaching * (slope[:, None] - make)).mean(axis=0)
        market = min(max(market - step * grad_m, 0.0), market_cap)
        limits = np.clip(limits - step * grad_l, 0.0, limit_cap)
        sum_market += market
        sum_limits += limits
    return sum_market / len(rooms), sum_limits / len(rooms)


@njit(cache=True)
def _descend(
    outflow: np.ndarray,
    queue: np.ndarray,
    draws: np.ndarray,
    market: float,
    limits: np.ndarray,
    step: float,
    shares: float,
    take: float,
    make: np.ndarray,
    theta: float,
    lambda_under: float,
    lambda_over: float,
    market_cap: float,
    limit_cap: float,
) -> tuple[float, np.ndarray]:
    """:func:`_descend_numpy` in loops over each batch's samples and venues, adding in numpy's
    order (the helpers below), so that its rounding, and its answer, are numpy's to the bit."""
    steps, batch = draws.shape
    venues = len(queue)
    under_slope = -(lambda_under + theta)
    limits = limits.copy()
    sum_market, sum_limits = 0.0, np.zeros(venues)
    rooms = np.empty((batch, venues))  # xi - Q per sample and venue
    fills = np.empty((batch, venues))
    passing = np.empty((batch, venues))  # slope - make_k where xi_k - Q_k > L_k, else 0
    filled, slopes, columns = np.empty(batch), np.empty(batch), np.empty(venues)
    for t in range(steps):
        for b in range(batch):
            for k in range(venues):
                rooms[b, k] = outflow[draws[t, b], k] - queue[k]
                fills[b, k] = min(limits[k], max(rooms[b, k], 0.0))
        _row_sums(fills, filled)
        for b in range(batch):
            executed = market + filled[b]
            if executed < shares:
                slopes[b] = under_slope
            elif executed > shares:
                slopes[b] = lambda_over
            else:
                slopes[b] = 0.0
            for k in range(venues):
                passing[b, k] = slopes[b] - make[k] if rooms[b, k] > limits[k] else 0.0
        _column_sums(passing, columns)
        grad_m = take + theta + _numpy_sum(slopes) / batch
        market = min(max(market - step * grad_m, 0.0), market_cap)
        for k in range(venues):
            limits[k] = min(max(limits[k] - step * (theta + columns[k] / batch), 0.0), limit_cap)
            sum_limits[k] += limits[k]
        sum_market += market
    return sum_market / steps, sum_limits / steps


@njit(cache=True)
def _row_sums(values: np.ndarray, out: np.ndarray) -> None:
    """``np.add.reduce(values, axis=1)``: numpy adds each row as a contiguous run."""
    rows, n = values.shape
    if n < 8:  # numpy adds so few in order; no call per row here, it would cost more than the sum
        for i in range(rows):
            out[i] = _ordered_sum(values[i], 0, n, 1)
    else:
        for i in range(rows):
            out[i] = _numpy_sum(values[i])


@njit(cache=True)
def _column_sums(values: np.ndarray, out: np.ndarray) -> None:
    """``np.add.reduce(values, axis=0)``: numpy adds the rows in order, unless a single column
    makes them one contiguous run."""
    rows, n = values.shape
    if n == 1:
        out[0] = _numpy_sum(values.ravel())
        return
    for j in range(n):
        out[j] = 0.0
    for i in range(rows):
        for j in range(n):
            out[j] += values[i, j]


@njit(cache=True)
def _numpy_sum(values: np.ndarray) -> float:
    """``np.add.reduce`` of a contiguous run: numpy adds its buffers of 8,192 values in order,
    each one pairwise (:func:`_pairwise_sum`)."""
    total = 0.0
    for start in range(0, len(values), 8192):
        total += _pairwise_sum(values, start, min(start + 8192, len(values)))
    return total


@njit(cache=True)
def _pairwise_sum(values: np.ndarray, start: int, end: int) -> float:
    """Up to 128 values are one block (:func:`_block_sum`); above, numpy sums the two halves,
    cut at a multiple of 8, recursively. Cached numba code must not recurse (numba issue 6061:
    a segfault on loading), so the same tree is walked with a stack of ranges, a negative end
    marking "add the last two sums"."""
    if end - start <= 128:
        return _block_sum(values, start, end)
    # Ample: a buffer of 8,192 values halves to blocks of 128 in 6 levels, 3 ranges each.
    starts, ends, sums = np.empty(32, np.int64), np.empty(32, np.int64), np.empty(32)
    starts[0], ends[0], todo, done = start, end, 1, 0
    while todo:
        todo -= 1
        start, end = starts[todo], ends[todo]
        if end < 0:
            done -= 1
            sums[done - 1] += sums[done]
        elif end - start <= 128:
            sums[done] = _block_sum(values, start, end)
            done += 1
        else:
            half = (end - start) // 2
            cut = start + half - half % 8
            ends[todo] = -1  # popped last: add the two halves' sums
            starts[todo + 1], ends[todo + 1] = cut, end
            starts[todo + 2], ends[todo + 2] = start, cut  # popped first
            todo += 3
    return sums[0]


@njit(cache=True)
def _block_sum(values: np.ndarray, start: int, stop: int) -> float:
    """Up to 128 values: below 8 in order, else eight interleaved partial sums added as a
    tree, then the tail in order."""
    if stop - start < 8:
        return _ordered_sum(values, start, stop, 1)
    whole = stop - (stop - start) % 8
    total = (
        (_ordered_sum(values, start, whole, 8) + _ordered_sum(values, start + 1, whole, 8))
        + (_ordered_sum(values, start + 2, whole, 8) + _ordered_sum(values, start + 3, whole, 8))
    ) + (
        (_ordered_sum(values, start + 4, whole, 8) + _ordered_sum(values, start + 5, whole, 8))
        + (_ordered_sum(values, start + 6, whole, 8) + _ordered_sum(values, start + 7, whole, 8))
    )
    for i in range(whole, stop):
        total += values[i]
    return total


@njit(cache=True)
def _ordered_sum(values: np.ndarray, start: int, stop: int, stride: int) -> float:
    """``values[start:stop:stride]`` left to right (indices, not a slice: no new array)."""
    total = 0.0
    for i in range(start, stop, stride):
        total += values[i]
    return total


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
