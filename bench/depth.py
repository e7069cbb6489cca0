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

from bench.common import ROOT, TRIAL_POINT, ensure_month, machine, trial_seconds
from producer.source import load_configured
from sweep.backtest import SweepData
from sweep.config import load_config


def depth_seconds(config_name: str, depth: int, days: int, repeats: int) -> float:
    """The median time of one trial on the config's first ``days`` days read at ``depth``."""
    config = load_config(ROOT / "configs" / config_name)
    config = replace(config, data=replace(config.data, depth=depth))
    loaded = load_configured(config.data)[0][:days]
    return trial_seconds(SweepData.configured(loaded, config), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    ensure_month()
    figures: dict = {"point": TRIAL_POINT.as_dict()}
    cases = (("default_day", "default.yaml", 1), ("month_5_days", "month.yaml", 5))
    for name, config, days in cases:
        times = {depth: depth_seconds(config, depth, days, args.repeats) for depth in (1, 10)}
        figures[name] = {
            "depth_1_s": times[1], "depth_10_s": times[10], "ratio": times[10] / times[1]
        }  # fmt: skip
    figures["machine"] = machine()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
