"""Shared bits of the benchmarks: the default day, medians, and the machine."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from producer.source import load_configured
from producer.synthetic import generate_days
from router import RouterParams, Snapshots
from sweep.backtest import SweepData, run_backtest
from sweep.config import Config, GridPoint, load_config

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "configs" / "default.yaml"
#: The synthetic month's first file name (``python -m producer.synthetic --days 20``).
MONTH = ROOT / "data" / "month" / "aapl.csv"
#: The grid point a trial benchmark replays (tau_s 5, the default grid's middle horizon).
TRIAL_POINT = GridPoint(RouterParams(0.01, 0.01, 0.001), 5.0)


def default_day() -> tuple[Config, Snapshots]:
    """The embedded default config and its snapshot arrays (generated if absent)."""
    config = load_config(DEFAULT_CONFIG)
    return config, load_configured(config.data)[0][0]


def ensure_month() -> None:
    """Make the synthetic month's 20 days (seed 7) when ``data/month`` has none."""
    if not list(MONTH.parent.glob("aapl-*.csv")):
        generate_days(MONTH, seed=7, days=20)


def trial_seconds(data: SweepData, repeats: int) -> float:
    """The median time of one trial's work (``run_backtest`` at ``TRIAL_POINT``) on ``data``,
    after a first call (the optimiser compiled or loaded from numba's cache)."""
    run_backtest(TRIAL_POINT, data)
    return median([timed(lambda: run_backtest(TRIAL_POINT, data)) for _ in range(repeats)])


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "")
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
