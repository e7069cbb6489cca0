"""What one trial computes, as a pure function that tests call without Ray."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from router import Fills, Snapshots, Timeline, VenueFees, run_router, summarize
from router.analysis.metrics import combine
from router.analysis.tca import PARTS, combined_shortfall, shortfall
from router.exchange.latency import NONE as NO_LATENCY
from router.exchange.latency import VenueLatency
from router.strategies.cont_kukanov import DecisionStats, PlacementSettings, run_cont_kukanov
from router.strategies.orders import Orders, ParentOrder
from sweep.config import Config, GridPoint


@dataclass(frozen=True, eq=False)
class Day:
    """One trading day: its snapshots and its parent orders."""

    snapshots: Snapshots
    orders: tuple[ParentOrder, ...]


@dataclass(frozen=True, eq=False)
class SweepData:
    """Everything a trial needs: the days (each its own object in Ray's object store) and the
    settings shared by every day."""

    days: tuple[Day, ...]
    fees: VenueFees
    step: int
    placement: PlacementSettings | None = None  # None: the static allocator
    latency: VenueLatency = NO_LATENCY

    @classmethod
    def build(
        cls,
        days: Snapshots | Sequence[Snapshots],
        fees: VenueFees,
        orders: Orders | int,
        step: int,
        placement: PlacementSettings | None = None,
        latency: VenueLatency = NO_LATENCY,
    ) -> SweepData:
        """Day ``d`` (in date order) gets ``orders.for_day(d, its window)``; an int is one buy
        of that size over each day's window."""
        days = [days] if isinstance(days, Snapshots) else days
        orders = Orders(size=orders) if isinstance(orders, int) else orders
        built = tuple(Day(d, orders.for_day(number, d.window)) for number, d in enumerate(days))
        return cls(built, fees, step, placement, latency)

    @classmethod
    def configured(cls, days: Snapshots | Sequence[Snapshots], config: Config) -> SweepData:
        """The days with the config's orders, fees, router, fill rules and latency."""
        return cls.build(
            days,
            config.venues,
            config.order.orders,
            config.order.step,
            config.router.placement(config.fills),
            config.latency,
        )

    def timeline(self, snapshots: Snapshots) -> Timeline:
        return Timeline.of(snapshots, self.fees, self.latency)


def replay_router(
    point: GridPoint, timeline: Timeline, order_size: int, data: SweepData
) -> tuple[Fills, DecisionStats | None]:
    """The configured router's fills for one order (its ``timeline``) at ``point`` (and its
    decisions, for Cont & Kukanov)."""
    if data.placement is None:
        if point.tau_s is not None:
            raise ValueError("tau_s applies to the Cont & Kukanov router; these data are static's")
        return run_router(timeline, order_size, data.step, point.params), None
    placement = data.placement
    if point.tau_s is not None:
        placement = replace(placement, tau_s=point.tau_s)
    return run_cont_kukanov(timeline, order_size, point.params, placement)


def run_backtest(point: GridPoint, data: SweepData) -> dict:
    """Replay the router at ``point`` for every order of every day: the objective (the sum of
    every order's cost), ``costs`` (per day, each order's: a row of the objective matrix), the
    fill figures over all orders and the shortfall's parts (``tca_*_bps``, see
    router.analysis.tca)."""
    results, costs, parts = [], [], []
    for day in data.days:
        costs.append([])
        for order in day.orders:
            view = order.view(day.snapshots)
            fills = replay_router(point, data.timeline(view), order.size, data)[0]
            result = summarize(fills)
            results.append(result)
            parts.append(shortfall(fills, result, view, order.size))
            costs[-1].append(result.order_cost)
    tca = combined_shortfall(parts)
    return {
        "objective": sum(r.order_cost for r in results),
        "costs": costs,
        **combine(results).as_dict(),
        **{f"tca_{k.removesuffix('_bps')}_bps": tca[k] for k in ("shortfall_bps", *PARTS)},
    }
