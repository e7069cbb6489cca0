"""sor-sweep's domain: market data, the allocator, the replay simulator, baselines and metrics.

Python, numpy and numba (the placement optimiser's steps); nothing here imports Kafka or Ray.
"""

from router.allocator import Venue, allocate, compute_cost
from router.closing import Closing
from router.fees import FeeRate, VenueFees
from router.loader import expand_paths, load_days, load_mbp
from router.marketdata import DataError, DataQuality, Snapshots, Window
from router.metrics import StrategyResult, savings_bps, summarize
from router.replay import Fills, Timeline
from router.strategies import RouterParams, check_order, run_baselines, run_router, simulate_all

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
