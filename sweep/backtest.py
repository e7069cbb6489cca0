"""What one trial computes, as a pure function that tests call without Ray."""

from __future__ import annotations

from dataclasses import dataclass, replace

from router import (
    Fills,
    Snapshots,
    StrategyResult,
    Timeline,
    VenueFees,
    closing_price,
    objective,
    run_router,
    summarize,
)
from router.config import GridPoint
from router.cont_kukanov import DecisionStats, PlacementSettings, run_cont_kukanov


@dataclass(frozen=True, eq=False)
class SweepData:
    """Everything a trial needs; put in the object store once and shared by every trial."""

    snapshots: Snapshots
    fees: VenueFees
    order_size: int
    step: int
    closing: float  # last best ask plus fee: the price of unfilled shares in the objective
    placement: PlacementSettings | None = None  # None: the static allocator

    @classmethod
    def build(
        cls,
        snapshots: Snapshots,
        fees: VenueFees,
        order_size: int,
        step: int,
        placement: PlacementSettings | None = None,
    ) -> SweepData:
        closing = closing_price(Timeline.of(snapshots, fees))
        return cls(snapshots, fees, order_size, step, closing, placement)


def replay_router(point: GridPoint, data: SweepData) -> tuple[Fills, DecisionStats | None]:
    """The configured router's fills at ``point`` (and its decisions, for Cont & Kukanov)."""
    timeline = Timeline.of(data.snapshots, data.fees)
    if data.placement is None:
        if point.tau_s is not None:
            raise ValueError("tau_s applies to the Cont & Kukanov router; these data are static's")
        return run_router(timeline, data.order_size, data.step, point.params), None
    placement = data.placement
    if point.tau_s is not None:
        placement = replace(placement, tau_s=point.tau_s)
    return run_cont_kukanov(timeline, data.order_size, point.params, placement)


def run_backtest(point: GridPoint, data: SweepData) -> dict[str, float | int | None]:
    """Replay the router at ``point``; the objective and the fill figures of the run."""
    result: StrategyResult = summarize(replay_router(point, data)[0])
    return {"objective": objective(result, data.closing), **result.as_dict()}
