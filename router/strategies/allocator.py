"""The static Cont & Kukanov allocator of the task, solved exactly without enumeration.

The task's allocator enumerates every split of the order into multiples of ``step`` (one share
count per venue, capped at the venue's displayed size), keeps the splits that sum exactly to the
order and returns the cheapest under :func:`compute_cost`, the first in lexicographic order on
ties. That is exponential in the number of venues.

Structure we exploit: a split capped at displayed size executes in full, so the rebate,
underfill and overfill terms are all zero and the cost is linear, ``sum(q_i * (ask_i + fee_i))``.
The cheapest split is then the greedy fill of the cheapest venues first, and the lexicographic
tie-break is reproduced venue by venue: give each venue the smallest quantity that still admits a
completion whose cost rounds to the optimum. All arithmetic is exact (integers over a common
power-of-two denominator) and a cost is rounded to float once, so "equal cost" means the same
float, exactly as the enumeration sees it.

Consequence users must know: ``lambda_over``, ``lambda_under`` and ``theta_queue`` cannot change
this allocator's decision (their terms are always zero on the splits it may choose).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Venue:
    """One venue's displayed best ask and its fee schedule ($/share)."""

    ask: float
    ask_size: int
    fee: float
    rebate: float

    def __post_init__(self) -> None:
        for name in ("ask", "fee", "rebate"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(
                    f"Venue.{name} must be a finite number, got {getattr(self, name)!r}"
                )
        size = operator.index(self.ask_size)
        if size < 0:
            raise ValueError(f"Venue.ask_size must be >= 0, got {self.ask_size!r}")
        object.__setattr__(self, "ask_size", size)


def _exact(values: Sequence[float]) -> tuple[list[int], int]:
    """Scale floats to integers over one power-of-two denominator, exactly."""
    ratios = [float(v).as_integer_ratio() for v in values]
    den = max((d for _, d in ratios), default=1)
    return [n * (den // d) for n, d in ratios], den


def _check_finite(**params: float) -> None:
    for name, value in params.items():
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")


def compute_cost(
    split: Sequence[int],
    venues: Sequence[Venue],
    order_size: int,
    lambda_over: float,
    lambda_under: float,
    theta_queue: float,
) -> float:
    """The task's cost of a split, computed exactly and rounded to float once.

    Per venue, executed = min(split_i, ask_size_i); cash += executed * (ask + fee);
    cash -= (split_i - executed) * rebate. Then underfill/overfill against ``order_size``
    cost ``theta_queue`` each plus ``lambda_under``/``lambda_over``.
    """
    if len(split) != len(venues):
        raise ValueError(f"split has {len(split)} entries but there are {len(venues)} venues")
    _check_finite(lambda_over=lambda_over, lambda_under=lambda_under, theta_queue=theta_queue)
    quantities = [operator.index(q) for q in split]
    asks, den_a = _exact([v.ask for v in venues])
    fees, den_f = _exact([v.fee for v in venues])
    rebates, den_r = _exact([v.rebate for v in venues])
    (l_over, l_under, theta), den_p = _exact([lambda_over, lambda_under, theta_queue])
    den = max(den_a, den_f, den_r, den_p)
    executed_total = 0
    cash = 0
    for q, venue, ask, fee, rebate in zip(quantities, venues, asks, fees, rebates, strict=True):
        executed = min(q, venue.ask_size)
        executed_total += executed
        cash += executed * (ask * (den // den_a) + fee * (den // den_f))
        cash -= (q - executed) * rebate * (den // den_r)
    underfill = max(order_size - executed_total, 0)
    overfill = max(executed_total - order_size, 0)
    penalty = (theta * (underfill + overfill) + l_under * underfill + l_over * overfill) * (
        den // den_p
    )
    return (cash + penalty) / den  # int / int is correctly rounded


class _Suffix:
    """Exact minimum cost of buying ``units`` from a set of venues (greedy, cheapest first)."""

    def __init__(self, prices: list[int], caps: list[int]) -> None:
        ordered = sorted(zip(prices, caps, strict=True))
        self.prices = [p for p, _ in ordered]
        self.caps = [c for _, c in ordered]
        self.capacity = sum(caps)

    def min_cost(self, units: int) -> int:
        cost = 0
        for price, cap in zip(self.prices, self.caps, strict=True):
            take = min(cap, units)
            cost += take * price
            units -= take
            if units == 0:
                break
        return cost

    def capacity_at_most(self, price: int) -> int:
        return sum(c for p, c in zip(self.prices, self.caps, strict=True) if p <= price)


def allocate(
    order_size: int,
    venues: Sequence[Venue],
    lambda_over: float,
    lambda_under: float,
    theta_queue: float,
    step: int = 100,
) -> tuple[list[int], float]:
    """Cheapest split of ``order_size`` into multiples of ``step`` capped at displayed sizes.

    Returns exactly what enumerating every split would: ``(split, compute_cost(split, ...))``,
    ties broken by the lexicographically first split, and ``([], inf)`` when no split sums to
    the order. The penalty parameters are validated but cannot change the answer (see module
    docstring).
    """
    _check_finite(lambda_over=lambda_over, lambda_under=lambda_under, theta_queue=theta_queue)
    order_size, step = operator.index(order_size), operator.index(step)
    if step <= 0:
        raise ValueError(f"step must be a positive integer, got {step}")
    if order_size < 0:
        raise ValueError(f"order_size must be >= 0, got {order_size}")
    if order_size % step:
        return [], math.inf
    units = order_size // step
    caps = [v.ask_size // step for v in venues]
    if sum(caps) < units:
        return [], math.inf

    asks, den_a = _exact([v.ask for v in venues])
    fees, den_f = _exact([v.fee for v in venues])
    den = max(den_a, den_f)
    # Exact price of one unit (step shares) at each venue, over the common denominator den.
    prices = [
        step * (a * (den // den_a) + f * (den // den_f)) for a, f in zip(asks, fees, strict=True)
    ]
    suffixes = [_Suffix(prices[i:], caps[i:]) for i in range(len(venues) + 1)]
    best = suffixes[0].min_cost(units) / den

    split: list[int] = []
    spent = 0
    for i, (price, cap) in enumerate(zip(prices, caps, strict=True)):
        rest = suffixes[i + 1]
        lowest = max(0, units - rest.capacity)
        # Smallest u minimising u*price + rest.min_cost(units - u): below it, each extra unit
        # here replaces a strictly dearer unit elsewhere. The cost is convex in u, so between
        # `lowest` and that point it only falls: binary search the first u that reaches `best`.
        high = min(cap, units, max(lowest, units - rest.capacity_at_most(price)))
        while lowest < high:
            middle = (lowest + high) // 2
            if (spent + middle * price + rest.min_cost(units - middle)) / den == best:
                high = middle
            else:
                lowest = middle + 1
        split.append(lowest * step)
        spent += lowest * price
        units -= lowest
    return split, best
