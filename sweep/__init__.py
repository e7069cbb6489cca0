"""The sweep: build the snapshot arrays once, run one Ray Tune trial per grid point, report."""

from sweep.backtest import SweepData, run_backtest

__all__ = ["SweepData", "run_backtest"]
