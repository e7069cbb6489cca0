"""What the fills cost: per-strategy figures and the order cost (the sweep's objective),
savings, the implementation shortfall and its parts, markouts, NBBO helpers, plotting helpers.
Reads market data and fills."""

from router.analysis.metrics import StrategyResult, savings_bps, summarize

__all__ = ["StrategyResult", "savings_bps", "summarize"]
