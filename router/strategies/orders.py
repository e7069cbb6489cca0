"""Parent orders: each a replay of its own, from its start over its horizon, buying or selling.

A day's orders come from the config (``orders``): a list, or a generator (``per_day`` orders,
sizes fixed or drawn from a range, side ``buy``, ``sell`` or ``both``, starts fixed or drawn,
all from a seed, per day). Without ``orders``, the day has one buy of ``order.size`` over the
whole window, as before.

Orders do not see each other: each replays the day's data alone, as if it were the only order
we sent that day (the data never contain any of ours), so two orders of one strategy that
overlap in time may each take the same displayed shares. This keeps every order an independent
sample for the statistics; it flatters overlapping orders, which the README says.

A sell is a buy on the mirrored book (:meth:`Snapshots.mirrored`): bids become asks at minus
their price. Every strategy then runs unchanged; its cash is minus the proceeds, fees added, so
a lower cost is better on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router.data.marketdata import NS_PER_SECOND, Snapshots, Window, parse_time_of_day

SIDES = ("buy", "sell")


@dataclass(frozen=True)
class ParentOrder:
    """One order: ``size`` shares to ``side`` from ``start_ns`` (after midnight UTC) over
    ``horizon_ns``."""

    start_ns: int
    horizon_ns: int
    size: int
    side: str = "buy"

    def window(self, date: str, warmup_ns: int) -> Window:
        """The order's window on ``date``, with ``warmup_ns`` of data before it for estimation.
        Its end is written as the last nanosecond in it, as the config's inclusive ends are."""
        midnight = Window.on(date, "00:00", "00:00").start_ns
        end = self.start_ns + self.horizon_ns
        return Window(
            date, time_of_day(self.start_ns), time_of_day(end - 1), midnight + self.start_ns,
            midnight + end, warmup_ns,
        )  # fmt: skip

    def view(self, day: Snapshots) -> Snapshots:
        """What this order's replay sees: the day's rows of its window (warmup included), the
        book mirrored for a sell."""
        window = self.window(day.window.date, day.window.warmup_ns)
        if (window.start_ns, window.end_ns) == (day.window.start_ns, day.window.end_ns):
            window = day.window  # the whole window, as the config wrote it
        mine = day.between(window)
        return mine.mirrored() if self.side == "sell" else mine

    def as_dict(self) -> dict:
        return {
            "start": time_of_day(self.start_ns),
            "horizon_s": self.horizon_ns / NS_PER_SECOND,
            "size": self.size,
            "side": self.side,
        }


def time_of_day(ns: int) -> str:
    """Nanoseconds after midnight as ``HH:MM:SS`` (with ``.fffffffff`` when not whole)."""
    seconds, fraction = divmod(int(ns), NS_PER_SECOND)
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{text}.{fraction:09d}" if fraction else text


@dataclass(frozen=True)
class OrderGenerator:
    """``per_day`` orders a day: sizes uniform over the multiples of ``step`` in ``size``
    (low, high), sides ``buy``, ``sell`` or ``both`` (each 50 %), starts from ``starts`` or, if
    empty, uniform whole seconds over the window; drawn from (``seed``, day number)."""

    per_day: int
    size: tuple[int, int]
    side: str
    horizon_s: float
    starts: tuple[str, ...] = ()
    seed: int = 0
    step: int = 100

    def orders(self, day: int, window: Window) -> tuple[ParentOrder, ...]:
        rng = np.random.default_rng([self.seed, day])
        horizon = round(self.horizon_s * NS_PER_SECOND)
        first = parse_time_of_day(window.start)[0]
        if self.starts:
            starts = [parse_time_of_day(s)[0] for s in self.starts]
            starts = [starts[i % len(starts)] for i in range(self.per_day)]
        else:
            last = window.end_ns - window.start_ns - horizon  # the latest start, ns after first
            starts = list(first + rng.integers(0, last // NS_PER_SECOND + 1, self.per_day)
                          * NS_PER_SECOND)  # fmt: skip
        low, high = (s // self.step for s in self.size)
        sizes = rng.integers(low, high + 1, self.per_day) * self.step
        sides = (
            rng.choice(SIDES, self.per_day) if self.side == "both" else [self.side] * self.per_day
        )
        return tuple(
            ParentOrder(int(start), horizon, int(size), str(side))
            for start, size, side in sorted(zip(starts, sizes, sides, strict=True))
        )


def whole_window(window: Window, size: int) -> tuple[ParentOrder, ...]:
    """The default: one buy of ``size`` over the whole window."""
    first = parse_time_of_day(window.start)[0]
    return (ParentOrder(first, window.end_ns - window.start_ns, size),)


@dataclass(frozen=True)
class Orders:
    """A day's orders as the config asks: ``fixed`` ones every day, or ``generator``'s, or
    else one buy of ``size`` over the whole window."""

    size: int = 5000
    fixed: tuple[ParentOrder, ...] = ()
    generator: OrderGenerator | None = None

    @property
    def per_day(self) -> int:
        """How many orders each day gets."""
        if self.generator is not None:
            return self.generator.per_day
        return len(self.fixed) or 1

    def for_day(self, number: int, window: Window) -> tuple[ParentOrder, ...]:
        """The orders of day ``number`` (0 first) whose window is ``window``."""
        if self.generator is not None:
            return self.generator.orders(number, window)
        return self.fixed or whole_window(window, self.size)
