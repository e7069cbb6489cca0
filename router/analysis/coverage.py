"""How much of its window a day's data covers: its first and last event, and its longest gap.

A file cut short looks like a shorter file: a ``.csv.zst`` missing its last zstd frame (cut
at a frame boundary) decompresses cleanly and simply ends early. Only the coverage of the
window can tell, so the sweep reports it per day and warns (or, with
``data.require_full_window``, refuses) when the data start late or end early.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from router.data.marketdata import NS_PER_SECOND, Snapshots


@dataclass(frozen=True)
class Coverage:
    first_event: str | None  # ISO UTC, the first row in the window (None: no row in it)
    last_event: str | None
    starts_late_s: float  # from the window's start to its first row
    ends_early_s: float  # from its last row to the window's end
    longest_gap_s: float  # between consecutive rows inside the window

    def short_by(self) -> float:
        """The larger of the late start and the early end, seconds."""
        return max(self.starts_late_s, self.ends_early_s)


def coverage(day: Snapshots) -> Coverage:
    """The coverage of ``day``'s window by its rows (every venue together; warmup excluded)."""
    window = day.window
    ts = day.ts[(day.ts >= window.start_ns) & (day.ts < window.end_ns)]  # end_ns: exclusive
    if not len(ts):
        span = (window.end_ns - window.start_ns) / NS_PER_SECOND
        return Coverage(None, None, span, span, span)
    gaps = np.diff(ts)
    return Coverage(
        first_event=pd.Timestamp(int(ts[0]), tz="UTC").isoformat(),
        last_event=pd.Timestamp(int(ts[-1]), tz="UTC").isoformat(),
        starts_late_s=(int(ts[0]) - window.start_ns) / NS_PER_SECOND,
        ends_early_s=(window.end_ns - int(ts[-1])) / NS_PER_SECOND,
        longest_gap_s=float(gaps.max()) / NS_PER_SECOND if len(gaps) else 0.0,
    )
