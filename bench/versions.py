"""Trial time of two source trees side by side in one run, for a refactor that must not slow
the trials (issue 19: at most 10 % slower on the default grid and on the month).

    git worktree add /tmp/before <commit>
    .venv/bin/python -m bench.versions /tmp/before . [--rounds 3]

Each round runs every tree once, in turn, in its own process (``PYTHONPATH`` = the tree), so
the trees share the machine's noise: the default day's whole grid (every point once: one
sweep's trial work) and the month's first five days at the benchmark point. Figures are the
medians over rounds and their ratio, after one warm-up pass per process (numba's cache).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.common import ROOT, ensure_month, machine, median

#: Run inside each tree: load the configs its own code reads, time its own run_backtest.
_PROBE = """
import json, sys, time
from pathlib import Path
try:
    from sweep.config import load_config
except ImportError:  # a tree from before the config left router/
    from router.config import load_config
from producer.source import load_configured
from sweep.backtest import SweepData, run_backtest
from bench.common import TRIAL_POINT

root = Path(sys.argv[1])

def data(name, days):
    config = load_config(root / "configs" / name)
    return config, SweepData.configured(load_configured(config.data)[0][:days], config)

def seconds(work):
    work()  # warm-up: numba's cache, first touches
    start = time.perf_counter()
    work()
    return time.perf_counter() - start

config, day = data("default.yaml", 1)
points = config.grid.points()
_, month = data("month.yaml", 5)
print(json.dumps({
    "default_grid_s": seconds(lambda: [run_backtest(p, day) for p in points]),
    "month_5_days_s": seconds(lambda: run_backtest(TRIAL_POINT, month)),
}))
"""


def probe(tree: Path) -> dict[str, float]:
    """One process on ``tree``'s code: its timings."""
    env = os.environ | {"PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", _PROBE, str(ROOT)], cwd=tree, env=env,
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    return json.loads(out.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ensure_month()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            runs[name].append(probe(tree))
    figures: dict = {"rounds": args.rounds}
    for key in runs["before"][0]:
        medians = {name: median([r[key] for r in runs[name]]) for name in trees}
        figures[key] = medians | {"ratio_after_before": medians["after"] / medians["before"]}
    figures["machine"] = machine()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
