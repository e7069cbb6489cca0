"""Out-of-sample truth from the objective matrix: walk-forward folds, intervals over days and
the plateau of points as good as the best. Pure numpy: tests call it without Ray.

The matrix holds every grid point's cost for every parent order of every day (one Tune run
computes it). A walk-forward fold picks the point with the lowest cost over its training days
and reads that point's costs on its test days: walk-forward costs no more trials than
in-sample. Savings of an order against a baseline are ``(cost_baseline - cost_router) /
|cost_baseline| * 10,000`` (bps of its cost per share). Intervals are Student t over days
(``days - 1`` degrees of freedom), with days as clusters: orders of one day share its market,
so they are not independent, and the number of days, not of orders, sets the interval's width.
The router and the baseline are always compared on the same orders. Nothing is drawn at random: a
percentile bootstrap over days, used before, ran narrow with few days (too few blocks to
resample); tests/test_evaluation.py measures this method's coverage at 5-20 days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from router.analysis.metrics import pooled_bps

CONFIDENCE = 0.95


@dataclass(frozen=True, eq=False)
class Matrix:
    """``costs[p, o]``: grid point ``p``'s cost of order ``o`` (orders of all days, day by day);
    ``day[o]`` the day index of order ``o``; ``baselines[name][o]`` each baseline's cost."""

    points: list[dict]  # in grid order, so the first of equal costs is the grid's first
    costs: np.ndarray
    day: np.ndarray
    dates: list[str]
    baselines: dict[str, np.ndarray]

    @classmethod
    def of(cls, trials: list[dict], names: tuple[str, ...], dates: list[str],
           baselines: dict[str, list[list[float]]]) -> Matrix:  # fmt: skip
        """From Tune's trials (each with ``costs``: per day, each order's) in grid order, and
        the baselines' costs in the same shape."""
        day = np.concatenate([np.full(len(c), d) for d, c in enumerate(trials[0]["costs"])])
        return cls(
            points=[{name: t[name] for name in names} for t in trials],
            costs=np.array([np.concatenate(t["costs"]) for t in trials], dtype=float),
            day=day.astype(int),
            dates=dates,
            baselines={k: np.concatenate(v).astype(float) for k, v in baselines.items()},
        )

    def usable(self, days: np.ndarray) -> np.ndarray:
        """The orders of ``days`` whose cost is finite at every point: an order no point could
        price (shares no displayed ask could supply) would make every total infinite."""
        return np.isin(self.day, days) & np.isfinite(self.costs).all(axis=0)

    def best(self, days: np.ndarray) -> int:
        """The point with the lowest total cost over the usable orders of ``days`` (the grid's
        first on ties)."""
        return int(np.argmin(self.costs[:, self.usable(days)].sum(axis=1)))


def savings(router: np.ndarray, baseline: np.ndarray, day: np.ndarray) -> dict:
    """Savings against one baseline over a set of orders: the mean over orders and the
    volume-weighted figure (total saved over total cost), each with its 95 % interval over
    days. Orders whose cost is not finite (shares no displayed ask could price) are left out
    and counted."""
    finite = np.isfinite(router) & np.isfinite(baseline)
    router, baseline, day = router[finite], baseline[finite], day[finite]
    out: dict = {"orders": int(finite.sum()), "days": len(np.unique(day))}
    if not finite.all():
        out["orders_left_out"] = int((~finite).sum())
    if not len(router):
        return out | {"mean_bps": None, "weighted_bps": None}
    per_order = (baseline - router) / np.abs(baseline) * 10_000
    out |= {"mean_bps": float(per_order.mean()), "weighted_bps": pooled_bps(baseline, router)}
    if out["days"] < 2:
        return out | {"note": "one day: no interval (its spread is between days)"}
    index = np.unique(day, return_inverse=True)[1]
    ratios = {  # each figure is a ratio of sums: per day, what it sums above and below
        "mean_bps": (per_order, np.ones(len(per_order))),
        "weighted_bps": ((baseline - router) * 10_000, np.abs(baseline)),
    }
    for key, (above, below) in ratios.items():
        low, high = ratio_interval(np.bincount(index, above), np.bincount(index, below))
        out[f"{key}_ci95"] = [low, high]
        out[f"{key}_ci_contains_zero"] = bool(low <= 0 <= high)
    return out


def ratio_interval(above: np.ndarray, below: np.ndarray) -> tuple[float, float]:
    """The 95 % t-interval of ``sum(above) / sum(below)`` from per-day totals (days as
    clusters): linearised (delta method), day d contributes ``above_d - ratio * below_d``; with
    equal days this is the t-interval of the day means."""
    n, total = len(above), below.sum()
    ratio = above.sum() / total
    residual = above - ratio * below
    se = np.sqrt(n / (n - 1) * (residual**2).sum()) / total
    half = t_quantile(n - 1) * se
    return float(ratio - half), float(ratio + half)


def t_quantile(df: int) -> float:
    """The two-sided ``CONFIDENCE`` quantile of Student's t (2.776 at 4 degrees of freedom)."""
    return float(stats.t.ppf((1 + CONFIDENCE) / 2, df))


def plateau(matrix: Matrix, days: np.ndarray) -> dict:
    """How many points are statistically indistinguishable from the best over ``days``: the
    95 % t-interval over days of a point's daily cost less the best's reaches zero; adjusted,
    Holm's step-down over the same paired t-tests keeps 95 % for all comparisons together.
    Orders no point could price are left out (and counted), as the folds leave them out."""
    mine = matrix.usable(days)
    per_day = np.array(
        [[matrix.costs[p, mine & (matrix.day == d)].sum() for d in days]
         for p in range(len(matrix.points))]
    )  # fmt: skip
    left_out = int((np.isin(matrix.day, days) & ~mine).sum())
    out: dict = {"of": len(matrix.points), "days": len(days)}
    out |= {"orders_left_out": left_out} if left_out else {}
    best = int(np.argmin(per_day.sum(axis=1)))
    if len(days) < 2:
        tied = int((per_day.sum(axis=1) == per_day[best].sum()).sum())
        return {"points_indistinguishable": tied} | out | {
            "note": "one day: only exact ties counted"}  # fmt: skip
    difference = np.delete(per_day - per_day[best], best, axis=0)  # the others x days
    mean, se = difference.mean(axis=1), difference.std(axis=1, ddof=1) / np.sqrt(len(days))
    reaches_zero = mean - t_quantile(len(days) - 1) * se <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(mean == 0, 0.0, mean / se)  # no difference on any day: t = 0
    p = 2 * stats.t.sf(np.abs(t), len(days) - 1)
    alpha, m = 1 - CONFIDENCE, len(p)
    passed = np.sort(p) <= alpha / np.arange(m, 0, -1)  # Holm: alpha/m, alpha/(m-1), ...
    rejected = m if passed.all() else int(np.argmin(passed))  # up to the first miss
    counts = {
        "points_indistinguishable": 1 + int(reaches_zero.sum()),
        "points_indistinguishable_adjusted": len(matrix.points) - rejected,
    }
    note = (
        "points_indistinguishable: the best and the points whose daily cost less the "
        f"best's has a 95 % t-interval over the {len(days)} days reaching zero. Each is "
        "compared at 95 %, so 1 in 20 points truly as good is called different by chance "
        f"({alpha * m:.1f} of these {m} if all were); points_indistinguishable_adjusted "
        f"uses Holm's adjustment over the {m} comparisons, which holds the chance of "
        "calling any truly equal one different to 5 %. The best is itself picked from these "
        "days, which flatters its lead: both counts, if anything, fall short"
    )
    return counts | out | {"note": note}


def check_days(count: int, train_days: int, test_days: int) -> None:
    """A walk-forward needs a fold: at least ``train_days + test_days`` days."""
    if count < train_days + test_days:
        raise ValueError(
            f"walk-forward needs at least train_days + test_days = {train_days + test_days} "
            f"days, the data have {count}: give more daily files in data.path (python -m "
            "producer.synthetic --days N writes N) or lower evaluation.train_days"
        )


def walk_forward(matrix: Matrix, train_days: int, test_days: int) -> dict:
    """Folds in date order: each picks the best point over ``train_days`` days and is read out
    on the next ``test_days``; then every fold's test orders together, at their fold's point,
    against each baseline."""
    count = len(matrix.dates)
    check_days(count, train_days, test_days)
    folds, chosen = [], np.full(len(matrix.day), -1)
    for first in range(train_days, count - test_days + 1, test_days):
        train = np.arange(first - train_days, first)
        test = np.arange(first, first + test_days)
        point = matrix.best(train)
        in_train, in_test = np.isin(matrix.day, train), np.isin(matrix.day, test)
        chosen[in_test] = point
        left_out = int((np.isin(matrix.day, train) & ~matrix.usable(train)).sum())
        folds.append({
            "train_dates": [matrix.dates[d] for d in train],
            "test_dates": [matrix.dates[d] for d in test],
            "chosen": matrix.points[point],
            "in_sample_bps": _point_savings(matrix, point, in_train),
            "out_of_sample_bps": _point_savings(matrix, point, in_test),
        } | ({"train_orders_left_out": left_out} if left_out else {}))  # fmt: skip
    tested = chosen >= 0
    router = matrix.costs[chosen[tested], np.flatnonzero(tested)]
    return {
        "folds": folds,
        "out_of_sample": {
            name: savings(router, base[tested], matrix.day[tested])
            for name, base in matrix.baselines.items()
        },
    }


def _point_savings(matrix: Matrix, point: int, orders: np.ndarray) -> dict[str, float | None]:
    """Volume-weighted savings of one point against each baseline over some orders."""
    router = matrix.costs[point, orders]
    out = {}
    for name, base in matrix.baselines.items():
        finite = np.isfinite(router) & np.isfinite(base[orders])
        out[name] = pooled_bps(base[orders][finite], router[finite]) if finite.any() else None
    return out


def evaluate(matrix: Matrix, mode: str, train_days: int, test_days: int) -> dict:
    """The report's ``evaluation``: in-sample savings of the best point over every order (so
    labelled), or the walk-forward folds and their out-of-sample savings; with the plateau over
    every day either way."""
    days = np.arange(len(matrix.dates))
    out: dict = {"mode": mode}
    if mode == "walk_forward":
        out |= {"train_days": train_days, "test_days": test_days}
        out |= walk_forward(matrix, train_days, test_days)
    else:
        best = matrix.best(days)
        out["in_sample"] = {
            name: savings(matrix.costs[best], base, matrix.day)
            for name, base in matrix.baselines.items()
        }
        out["note"] = (
            "in-sample: the best point was chosen on these same orders, so these savings are "
            "biased upwards; evaluation.mode walk_forward gives out-of-sample figures"
        )
    out["plateau"] = plateau(matrix, days)
    out["intervals"] = {
        "method": "Student t over days (days - 1 degrees of freedom), days as clusters: each "
        "figure a ratio of day totals, its standard error linearised (delta method)",
        "confidence": CONFIDENCE,
    }
    return out
