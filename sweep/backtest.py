"""What one trial computes, as a pure function that tests call without Ray."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from router import (
    Closing,
    Fills,
    Snapshots,
    Timeline,
    VenueFees,
    closing_prices,
    run_router,
    summarize,
)
from router.config import Config, GridPoint
from router.cont_kukanov import DecisionStats, PlacementSettings, run_cont_kukanov
from router.latency import NONE as NO_LATENCY
from router.latency import VenueLatency
from router.metrics import combine


@dataclass(frozen=True, eq=False)
class Day:
    """One trading day: its snapshots and what shares missing or too many at its end are
    worth (up the asks and down the bids displayed in each venue's last state, fees included)."""

    snapshots: Snapshots
    closing: Closing

    @classmethod
    def of(cls, snapshots: Snapshots, fees: VenueFees) -> Day:
        """The day with its derived trade columns computed once, so that they travel with it
        through the object store instead of being rebuilt by every trial."""
        for derived in ("volume", "low_trade_px", "low_trade_sz"):
            getattr(snapshots, derived)
        return cls(snapshots, closing_prices(Timeline.of(snapshots, fees)))


@dataclass(frozen=True, eq=False)
class SweepData:
    """Everything a trial needs: the days (each its own object in Ray's object store) and the
    settings shared by every day."""

    days: tuple[Day, ...]
    fees: VenueFees
    order_size: int
    step: int
    placement: PlacementSettings | None = None  # None: the static allocator
    latency: VenueLatency = NO_LATENCY

    @classmethod
    def build(
        cls,
        days: Snapshots | Sequence[Snapshots],
        fees: VenueFees,
        order_size: int,
        step: int,
        placement: PlacementSettings | None = None,
        latency: VenueLatency = NO_LATENCY,
    ) -> SweepData:
        days = [days] if isinstance(days, Snapshots) else days
        return cls(tuple(Day.of(d, fees) for d in days), fees, order_size, step, placement, latency)

    @classmethod
    def configured(cls, days: Snapshots | Sequence[Snapshots], config: Config) -> SweepData:
        """The days with the config's fees, order, router, fill rules and latency."""
        return cls.build(
            days,
            config.venues,
            config.order.size,
            config.order.step,
            config.router.placement(config.fills),
            config.latency,
        )

    def timeline(self, day: Day) -> Timeline:
        return Timeline.of(day.snapshots, self.fees, self.latency)


def replay_router(
    point: GridPoint, day: Day, data: SweepData
) -> tuple[Fills, DecisionStats | None]:
    """The configured router's fills on one day at ``point`` (and its decisions, for Cont &
    Kukanov)."""
    timeline = data.timeline(day)
    if data.placement is None:
        if point.tau_s is not None:
            raise ValueError("tau_s applies to the Cont & Kukanov router; these data are static's")
        return run_router(timeline, data.order_size, data.step, point.params), None
    placement = data.placement
    if point.tau_s is not None:
        placement = replace(placement, tau_s=point.tau_s)
    return run_cont_kukanov(timeline, data.order_size, point.params, placement)


def run_backtest(point: GridPoint, data: SweepData) -> dict[str, float | int | None]:
    """Replay the router at ``point`` on every day: the objective (the sum of each day's) and
    the fill figures over all days."""
    results = [summarize(replay_router(point, day, data)[0], day.closing) for day in data.days]
    return {"objective": sum(r.order_cost for r in results), **combine(results).as_dict()}
