"""Cont & Kukanov router benchmark: one grid point's replay on the default day, for each
swept tau_s, and one optimiser call.

.venv/bin/python -m bench.cont_kukanov [--repeats 3]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from bench.common import default_day, machine, median, timed
from router.placement import Problem, RouterParams, optimise
from sweep import SweepData, run_backtest


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cont_kukanov")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the grid")
    args = parser.parse_args()
    config, snap = default_day()
    data = SweepData.configured(snap, config)
    points = config.grid.points()
    per_point = [[timed(lambda p=p: run_backtest(p, data)) for p in points]
                 for _ in range(args.repeats)]  # fmt: skip
    by_tau = {}  # per horizon: its penalty points' replay times, over every pass
    for tau in config.grid.tau_s or (config.router.tau_s,):
        mine = [i for i, p in enumerate(points) if p.tau_s in (tau, None)]
        runs = [[run[i] for i in mine] for run in per_point]
        by_tau[f"tau_s={tau:g}"] = {
            "points": len(mine),
            "replay_per_point_median_s": round(median([t for run in runs for t in run]), 4),
            "replay_per_point_max_s": round(max(t for run in runs for t in run), 4),
            "points_in_one_process_median_s": round(median([sum(run) for run in runs]), 3),
        }
    # The single-venue case, four venues wide: what one decision costs.
    problem = Problem(
        1000.0, 0.023, np.full(4, 0.022), np.full(4, 2000.0), RouterParams(0.05, 0.05, 0.0005)
    )
    outflow = np.random.default_rng(1).exponential(2200, size=(2000, 4))
    decide = [timed(lambda: optimise(problem, outflow, rng=np.random.default_rng(0)))
              for _ in range(5 * args.repeats)]  # fmt: skip
    print(json.dumps({
        "grid_points": len(points),
        **by_tau,
        "whole_grid_in_one_process_median_s": round(median([sum(run) for run in per_point]), 3),
        "optimiser_call_4_venues_median_s": round(median(decide), 4),
        "machine": machine(),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
