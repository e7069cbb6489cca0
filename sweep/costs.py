"""costs.csv: the objective matrix as a table, so that a walk-forward can be recomputed, and
audited, from the outputs alone (the README shows how, in a few lines of pandas)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from sweep.config import GridConfig
from sweep.report import BASELINES, OrderRun, in_grid_order


def columns(grid: GridConfig) -> list[str]:
    """The point's parameters (``tau_s`` when swept), then the trial, the order, its cost and
    the baselines' costs of the same order (one per baseline, named after it)."""
    return [*grid.names, "trial_id", "date", "order", "start", "horizon_s", "size", "side",
            "cost", *BASELINES]  # fmt: skip


def cost_rows(
    trials: list[dict], grid: GridConfig, runs: list[OrderRun], dates: list[str]
) -> Iterator[dict]:
    """One row per grid point and order: points in grid order (so the first of equal totals is
    the grid's first), orders by day then start (``order``: its index in its day). The
    baselines' costs sit beside the router's (they do not depend on the point): a fold's
    savings need no join."""
    by_day = [[r for r in runs if r.date == date] for date in dates]
    for trial in in_grid_order(trials, grid):
        point = {name: trial[name] for name in grid.names}
        for day, costs in zip(by_day, trial["costs"], strict=True):
            for number, (run, cost) in enumerate(zip(day, costs, strict=True)):
                baselines = {b: run.results[b].order_cost for b in BASELINES}
                yield point | {"trial_id": trial["trial_id"], "date": run.date, "order": number,
                               **run.order.as_dict(), "cost": cost, **baselines}  # fmt: skip


def write_costs(
    trials: list[dict], grid: GridConfig, runs: list[OrderRun], dates: list[str], path: Path
) -> None:
    """costs.csv; an infinite cost (shares no displayed ask could price) is written ``inf``,
    which pandas and Python's float() read back as infinity."""
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns(grid))
        writer.writeheader()
        writer.writerows(cost_rows(trials, grid, runs, dates))
