"""Sweep benchmark: Tune overhead per trial, a large grid, and the end-to-end default sweep.

    kafka/with-broker.sh .venv/bin/python -m bench.sweep [--repeats 3] [--config CONFIG.yaml]

Our trainable and a trivial one (reports a constant) run the same 27-point grid under the same
TuneConfig, alternating, in one Ray session, so the ratio of their wall times is what our replay
adds to Tune's own per-trial cost.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

import ray
from ray import tune

from bench.common import DEFAULT_CONFIG, ROOT, default_day, machine, median, timed
from producer.publish import publish
from sweep.backtest import SweepData
from sweep.config import GridConfig
from sweep.grid import param_space, run_grid


def trivial(config: dict, *, data: SweepData) -> None:
    """Tune's floor: a trial that does no work."""
    tune.report({"objective": 0.0})


def fit(trainable, data: SweepData, grid: GridConfig, storage: str) -> None:
    tune.Tuner(
        tune.with_parameters(trainable, data=data),
        param_space=param_space(grid),
        tune_config=tune.TuneConfig(reuse_actors=True),
        run_config=tune.RunConfig(storage_path=storage, verbose=0),
    ).fit()


def end_to_end(repeats: int, config_path: Path) -> dict:
    """python -m sweep --source kafka with ``config_path`` on the default day, broker up, a
    fresh topic each run."""
    config, day = default_day()
    walls, timings = [], []
    for _ in range(repeats):
        kafka = replace(config.kafka, topic=f"bench-{uuid.uuid4().hex[:10]}")
        publish(day, kafka, pace=0, progress=False)
        with tempfile.TemporaryDirectory() as out:
            text = config_path.read_text().replace("mock_l1_stream", kafka.topic)
            Path(out, "c.yaml").write_text(text.replace("../data/", f"{ROOT}/data/"))
            command = [sys.executable, "-m", "sweep", f"{out}/c.yaml", "--source", "kafka"]
            start = time.perf_counter()
            done = subprocess.run(
                [*command, "--quiet", "--out", out], check=True, capture_output=True, text=True
            )
            walls.append(time.perf_counter() - start)
            timings.append(json.loads(done.stdout)["timings_s"])
    return {
        "wall_median_s": median(walls),
        **{f"{k}_median_s": median([t[k] for t in timings]) for k in timings[0]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--large", type=int, default=10, help="values per parameter (10: 1,000)")
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="the end-to-end run's config"
    )
    args = parser.parse_args()
    config, day = default_day()
    data = SweepData.build(day, config.venues, config.order.size, config.order.step)
    storage = tempfile.mkdtemp(prefix="bench-sweep-")
    ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    ours, floor = [], []
    grid = GridConfig()  # the task's 27 points; the data carry no placement: the static router
    for _ in range(args.repeats):
        floor.append(timed(lambda: fit(trivial, data, grid, storage)))
        ours.append(timed(lambda: run_grid(data, grid, storage_path=storage, verbose=0)))
    values = tuple(0.1 * (i + 1) for i in range(args.large))
    large = GridConfig(values, values, values)
    large_s = timed(lambda: run_grid(data, large, storage_path=storage, verbose=0))
    ray.shutdown()
    figures = {
        "grid_27_ours_median_s": median(ours),
        "grid_27_trivial_median_s": median(floor),
        "ours_vs_trivial": median(ours) / median(floor),
        "large_grid_points": len(large.points()),
        "large_grid_s": large_s,
        "large_grid_trials_per_s": len(large.points()) / large_s,
        "end_to_end": {"config": str(args.config), **end_to_end(args.repeats, args.config)},
        "repeats": args.repeats,
        "machine": machine(),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
