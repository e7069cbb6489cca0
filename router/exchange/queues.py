"""Queue-position models: how many shares stay ahead of our resting bid as the venue's queue
at our price changes. After hftbacktest's queue models; the probability curve is separate from
the queue logic that uses it.

Trades always take the front of the queue, so every model first subtracts the shares traded at
our price (the simulator fills us with whatever of them reaches past the front). Models differ
in what a size drop without a trade (a cancellation) does to the shares ahead of us. In every
model the shares ahead never exceed the displayed size: the data do not contain our order, so
all of what is displayed is ahead of or behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class QueueModel(Protocol):
    def cancelled(self, ahead: float, before: int, after: int) -> float:
        """Shares ahead of us after the displayed size at our price went ``before`` ->
        ``after`` without trading (``ahead`` already net of trades)."""
        ...


@dataclass(frozen=True)
class RiskAverseQueueModel:
    """Cancellations never happen ahead of us: only trades move us forward. Conservative."""

    def cancelled(self, ahead: float, before: int, after: int) -> float:
        return min(ahead, after)


@dataclass(frozen=True)
class PowerProbability:
    """f(x) = x ** power: how likely a cancellation comes from behind us, given the shares in
    front and behind: f(back) / (f(back) + f(front)). Power 1: in proportion to the shares on
    each side; larger powers favour the larger side more strongly."""

    power: float = 3.0

    def behind(self, front: float, back: float) -> float:
        f_front, f_back = front**self.power, back**self.power
        return 0.5 if f_front + f_back == 0 else f_back / (f_back + f_front)


@dataclass(frozen=True)
class ProbQueueModel:
    """A cancellation of c shares comes from ahead of us with probability 1 - P(behind):
    the expected shares ahead fall by c * (1 - P), and by more when the shares behind us cannot
    account for the rest."""

    probability: PowerProbability = PowerProbability()

    def cancelled(self, ahead: float, before: int, after: int) -> float:
        cancelled = before - after
        if cancelled <= 0:
            return min(ahead, after)
        back = max(before - ahead, 0.0)
        p_behind = self.probability.behind(ahead, back)
        estimate = ahead - (1 - p_behind) * cancelled + min(back - p_behind * cancelled, 0.0)
        return min(max(estimate, 0.0), after)
