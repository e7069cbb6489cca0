"""What reading the whole MBP-10 book costs a trial (issue 18): one grid point on the default
day and on the month's first five days, at ``data.depth`` 1 and 10, side by side in one run.

    .venv/bin/python -m bench.depth [--repeats 5]

Depth 10 lets every taker and the close see the levels behind the best; depth 1 prices anything
beyond the top at the top price. The month's days come from ``data/month`` (made if absent).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from bench.common import ROOT, machine, median, timed
from producer.source import load_configured
from producer.synthetic import generate_days
from router.config import GridPoint, load_config
from router.placement import RouterParams
from sweep.backtest import SweepData, run_backtest

POINT = GridPoint(RouterParams(0.01, 0.01, 0.001), 5.0)
MONTH = ROOT / "data" / "month" / "aapl.csv"


def trial_seconds(config_name: str, depth: int, days: int, repeats: int) -> float:
    """The median time of one trial on the config's first ``days`` days read at ``depth``."""
    config = load_config(ROOT / "configs" / config_name)
    config = replace(config, data=replace(config.data, depth=depth))
    loaded = load_configured(config.data)[0][:days]
    data = SweepData.configured(loaded, config)
    run_backtest(POINT, data)  # the optimiser compiled or loaded from numba's cache
    return median([timed(lambda: run_backtest(POINT, data)) for _ in range(repeats)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not list(MONTH.parent.glob("aapl-*.csv")):
        generate_days(MONTH, seed=7, days=20)
    figures: dict = {"point": POINT.as_dict()}
    cases = (("default_day", "default.yaml", 1), ("month_5_days", "month.yaml", 5))
    for name, config, days in cases:
        times = {depth: trial_seconds(config, depth, days, args.repeats) for depth in (1, 10)}
        figures[name] = {
            "depth_1_s": times[1], "depth_10_s": times[10], "ratio": times[10] / times[1]
        }  # fmt: skip
    figures["machine"] = machine()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
