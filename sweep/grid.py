"""The Ray Tune grid: one trial per grid point, each a thin wrapper around ``run_backtest``."""

from __future__ import annotations

import math
from dataclasses import replace

import ray
from ray import tune

from router.strategies.orders import ParentOrder
from sweep.backtest import Day, SweepData, run_backtest
from sweep.config import GridConfig, GridPoint


class SweepError(RuntimeError):
    """A trial failed: no best parameters are picked from a broken grid."""


class SweepInterrupted(SweepError):
    """Stopped (Ctrl-C) before every trial finished: no best from a partial grid."""


def trainable(
    config: dict,
    *,
    data: SweepData,
    days: list[ray.ObjectRef],
    orders: list[tuple[ParentOrder, ...]],
) -> None:
    """One grid point on every day. ``data`` (the settings) and each day's ``orders`` arrive
    through ``tune.with_parameters``; each day's snapshots are their own object in the store,
    fetched here."""
    stored = zip(ray.get(days), orders, strict=True)
    data = replace(data, days=tuple(Day(snapshots, ours) for snapshots, ours in stored))
    metrics = run_backtest(GridPoint.of(config), data)
    metrics = {k: math.nan if v is None else v for k, v in metrics.items()}  # Tune: numbers
    tune.report(metrics | {"node_id": ray.get_runtime_context().get_node_id()})


def param_space(grid: GridConfig) -> dict:
    """Tune's grid search over every swept key of ``grid``."""
    return {name: tune.grid_search(list(getattr(grid, name))) for name in grid.names}


def run_grid(
    data: SweepData,
    grid: GridConfig,
    *,
    storage_path: str,
    verbose: int,
    stored: list[ray.ObjectRef] | None = None,
) -> list[dict]:
    """Run every grid point; one row per trial (parameters, metrics, trial id, node id, and
    ``costs``: each order's cost per day, the trial's row of the objective matrix).
    ``stored``: the days' snapshots already in the object store, else each is put once.

    Raises :class:`SweepError` naming the failed trial if any trial raised.
    """
    if stored is None:
        stored = [ray.put(day.snapshots) for day in data.days]  # one object per day, put once
    orders = [day.orders for day in data.days]
    tuner = tune.Tuner(
        tune.with_parameters(trainable, data=replace(data, days=()), days=stored, orders=orders),
        param_space=param_space(grid),
        tune_config=tune.TuneConfig(reuse_actors=True),
        run_config=tune.RunConfig(name="sor_sweep", storage_path=storage_path, verbose=verbose),
    )
    results = tuner.fit()
    for result in results:
        if result.error is not None:
            trial = result.path.rsplit("/", 1)[-1]
            raise SweepError(f"trial {trial} failed: {result.error!r}") from result.error
    expected = len(grid.points())
    finished = sum(1 for result in results if "objective" in (result.metrics or {}))
    if finished < expected:  # Tune ends quietly on Ctrl-C, returning the trials it has
        raise SweepInterrupted(
            f"sweep stopped early: {finished} of {expected} trials finished; no best picked"
        )
    return [
        {name: result.config[name] for name in grid.names}
        | {k: result.metrics[k] for k in ("trial_id", "node_id", "objective", "costs")}
        | {
            k: result.metrics[k]
            for k in ("total_cash", "avg_fill_px", "filled_shares", "unfilled_shares")
        }
        | {k: v for k, v in result.metrics.items() if k.startswith("tca_")}
        for result in results
    ]
