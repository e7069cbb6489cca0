"""sor-sweep's domain, in four rooms: ``router.data`` (market data in), ``router.exchange``
(the simulated venues), ``router.strategies`` (what to buy, where and when) and
``router.analysis`` (what it cost). Imports run one way: data <- exchange <- strategies, and
analysis reads data and fills. ``sweep.config`` composes them from a YAML file, which is why
nothing here imports YAML or a validation library.

Python, numpy and numba (the placement optimiser's steps); nothing here imports Kafka or Ray.
"""

from router.analysis import StrategyResult, savings_bps, summarize
from router.data import DataError, DataQuality, Snapshots, Window, expand_paths, load_days, load_mbp
from router.exchange import Closing, FeeRate, Fills, Timeline, VenueFees
from router.strategies import (
    RouterParams,
    Venue,
    allocate,
    check_order,
    compute_cost,
    run_baselines,
    run_router,
    simulate_all,
)

__all__ = [
    "Closing",
    "DataError",
    "DataQuality",
    "FeeRate",
    "Fills",
    "RouterParams",
    "Snapshots",
    "StrategyResult",
    "Timeline",
    "Venue",
    "VenueFees",
    "Window",
    "allocate",
    "check_order",
    "compute_cost",
    "expand_paths",
    "load_days",
    "load_mbp",
    "run_baselines",
    "run_router",
    "savings_bps",
    "simulate_all",
    "summarize",
]
