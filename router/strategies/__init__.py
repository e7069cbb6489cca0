"""What to buy, where and when: the task's static allocator, the Cont & Kukanov placement and
its run, the outflow it estimates, the baselines (best_ask, TWAP, VWAP) and the parent orders
each replays. Strategies decide; the exchange (router.exchange) fills."""

from router.strategies.allocator import Venue, allocate, compute_cost
from router.strategies.baselines import check_order, run_baselines, run_router, simulate_all
from router.strategies.cont_kukanov import PlacementSettings, run_cont_kukanov
from router.strategies.orders import Orders, ParentOrder
from router.strategies.placement import RouterParams

__all__ = ["Orders", "ParentOrder", "PlacementSettings", "RouterParams", "Venue", "allocate",
           "check_order", "compute_cost", "run_baselines", "run_cont_kukanov", "run_router",
           "simulate_all"]  # fmt: skip
