"""The default config's chosen point on synthetic days it was not chosen on.

    .venv/bin/python -m bench.out_of_sample --point 0.002,0.05,0,2 --seeds 1 2 3 4 5

Each seed is a synthetic day made like the default one (``producer.synthetic``, same size and
venues, another seed). On each, the router replays at the given point (lambda_over,
lambda_under, theta_queue, tau_s) with the default config's fill rules and latency, beside the
baselines; savings in bps are on the cost per share of the order, as in the report.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from bench.common import DEFAULT_CONFIG, machine
from producer.synthetic import generate
from router import RouterParams, load_mbp
from sweep.backtest import SweepData
from sweep.config import GridPoint, load_config
from sweep.report import BASELINES, replay_orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--point", required=True, help="lambda_over,lambda_under,theta_queue,tau_s")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    args = parser.parse_args()
    over, under, theta, tau = (float(x) for x in args.point.split(","))
    point = GridPoint(RouterParams(over, under, theta), tau)
    config = load_config(DEFAULT_CONFIG)
    data = config.data
    days = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            path = Path(tmp, f"day-{seed}.csv")
            generate(path, seed=seed, venues=data.synthetic_venues)
            snapshots = load_mbp(path, data.start, data.end, data.depth, warmup_s=data.warmup_s)
            sweep = SweepData.configured(snapshots, config)
            (run,) = replay_orders(point, sweep.days[0], sweep)
            router = run.results["router"]
            days[seed] = {
                name: (run.results[name].cost_per_share - router.cost_per_share)
                / run.results[name].cost_per_share
                * 10_000
                for name in BASELINES
            } | {"passive_shares": router.passive_shares, "overfilled": router.overfilled_shares}
    summary = {
        name: {
            "mean_bps": statistics.mean(d[name] for d in days.values()),
            "sd_bps": statistics.stdev(d[name] for d in days.values()) if len(days) > 1 else None,
        }
        for name in BASELINES
    }
    print(
        json.dumps(
            {"point": args.point, "days": days, "summary": summary, "machine": machine()}, indent=2
        )
    )


if __name__ == "__main__":
    main()
