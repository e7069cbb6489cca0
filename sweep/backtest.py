"""What one trial computes, as a pure function that tests call without Ray."""

from __future__ import annotations

from dataclasses import dataclass

from router import (
    RouterParams,
    Snapshots,
    Timeline,
    VenueFees,
    closing_price,
    objective,
    run_router,
    summarize,
)


@dataclass(frozen=True, eq=False)
class SweepData:
    """Everything a trial needs; put in the object store once and shared by every trial."""

    snapshots: Snapshots
    fees: VenueFees
    order_size: int
    step: int
    closing: float  # last best ask plus fee: the price of unfilled shares in the objective

    @classmethod
    def build(cls, snapshots: Snapshots, fees: VenueFees, order_size: int, step: int) -> SweepData:
        closing = closing_price(Timeline.of(snapshots, fees))
        return cls(snapshots, fees, order_size, step, closing)


def run_backtest(params: RouterParams, data: SweepData) -> dict[str, float | int | None]:
    """Replay the router with ``params``; the objective and the fill figures of the run."""
    timeline = Timeline.of(data.snapshots, data.fees)
    result = summarize(run_router(timeline, data.order_size, data.step, params))
    return {"objective": objective(result, data.closing), **result.as_dict()}
