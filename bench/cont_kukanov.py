"""Cont & Kukanov router benchmark: one grid point's replay on the default day, for each
swept tau_s, and one optimiser call, compiled and numpy reference side by side, plus the
compiled one's first call in a fresh process, with and without numba's cache.

.venv/bin/python -m bench.cont_kukanov [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from bench.common import ROOT, default_day, machine, median, timed
from router.strategies.placement import Problem, RouterParams, optimise, optimise_reference
from sweep import SweepData, run_backtest

FIRST_CALL = """
import time
import numpy as np
from bench.cont_kukanov import decision
from router.strategies.placement import optimise
problem, outflow = decision()
start = time.perf_counter()
optimise(problem, outflow, rng=np.random.default_rng(0))
print(time.perf_counter() - start)
"""


def decision() -> tuple[Problem, np.ndarray]:
    """The issue's single-venue case, four venues wide: what one decision costs."""
    problem = Problem(
        1000.0, 0.023, np.full(4, 0.022), np.full(4, 2000.0), RouterParams(0.05, 0.05, 0.0005)
    )
    return problem, np.random.default_rng(1).exponential(2200, size=(2000, 4))


def first_call_s(cache_dir: str) -> float:
    """A fresh process's first optimiser call (imports excluded), numba caching in
    ``cache_dir``: it compiles while the folder is empty, then loads what it saved there."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    run = subprocess.run(
        [sys.executable, "-c", FIRST_CALL], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if run.returncode:
        raise RuntimeError(run.stderr)
    return float(run.stdout)


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
    problem, outflow = decision()
    fast, slow = (
        optimise(problem, outflow, rng=np.random.default_rng(0)),
        optimise_reference(problem, outflow, rng=np.random.default_rng(0)),
    )
    assert fast.market == slow.market and np.array_equal(fast.limits, slow.limits)
    compiled, reference = [], []
    for _ in range(5 * args.repeats):  # alternating, so both see the same machine load
        for times, fn in ((compiled, optimise), (reference, optimise_reference)):
            times.append(timed(lambda fn=fn: fn(problem, outflow, rng=np.random.default_rng(0))))
    with tempfile.TemporaryDirectory() as cache_dir:
        compiling, cached = first_call_s(cache_dir), first_call_s(cache_dir)
    print(json.dumps({
        "grid_points": len(points),
        **by_tau,
        "whole_grid_in_one_process_median_s": round(median([sum(run) for run in per_point]), 3),
        "optimiser_call_4_venues_median_s": round(median(compiled), 4),
        "optimiser_reference_call_4_venues_median_s": round(median(reference), 4),
        "optimiser_reference_over_compiled": round(median(reference) / median(compiled), 1),
        "optimiser_first_call_compiling_s": round(compiling, 2),
        "optimiser_first_call_cached_s": round(cached, 3),
        "machine": machine(),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
