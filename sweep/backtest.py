"""What one trial computes, as a pure function that tests call without Ray."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from router import (
    Fills,
    Snapshots,
    Timeline,
    VenueFees,
    closing_price,
    objective,
    run_router,
    summarize,
)
from router.config import GridPoint
from router.cont_kukanov import DecisionStats, PlacementSettings, run_cont_kukanov
from router.metrics import combine


@dataclass(frozen=True, eq=False)
class Day:
    """One trading day: its snapshots and what a share still unfilled at its end costs (the
    window's last best ask plus fee)."""

    snapshots: Snapshots
    closing: float

    @classmethod
    def of(cls, snapshots: Snapshots, fees: VenueFees) -> Day:
        """The day with its derived trade columns computed once, so that they travel with it
        through the object store instead of being rebuilt by every trial."""
        for derived in ("volume", "low_trade_px", "low_trade_sz"):
            getattr(snapshots, derived)
        return cls(snapshots, closing_price(Timeline.of(snapshots, fees)))


@dataclass(frozen=True, eq=False)
class SweepData:
    """Everything a trial needs: the days (each its own object in Ray's object store) and the
    settings shared by every day."""

    days: tuple[Day, ...]
    fees: VenueFees
    order_size: int
    step: int
    placement: PlacementSettings | None = None  # None: the static allocator

    @classmethod
    def build(
        cls,
        days: Snapshots | Sequence[Snapshots],
        fees: VenueFees,
        order_size: int,
        step: int,
        placement: PlacementSettings | None = None,
    ) -> SweepData:
        days = [days] if isinstance(days, Snapshots) else days
        return cls(tuple(Day.of(d, fees) for d in days), fees, order_size, step, placement)


def replay_router(
    point: GridPoint, day: Day, data: SweepData
) -> tuple[Fills, DecisionStats | None]:
    """The configured router's fills on one day at ``point`` (and its decisions, for Cont &
    Kukanov)."""
    timeline = Timeline.of(day.snapshots, data.fees)
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
    results = [summarize(replay_router(point, day, data)[0]) for day in data.days]
    total = sum(objective(r, day.closing) for r, day in zip(results, data.days, strict=True))
    return {"objective": total, **combine(results).as_dict()}
