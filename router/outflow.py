"""Causal estimate of the outflow xi_k from each venue's best-bid queue over a horizon tau.

Depletion is what leaves the best bid between two consecutive states of a venue: the size
drop when the price holds, the whole queue when the price falls or the level empties (it was
traded through or pulled), nothing when the price rises (a new, better queue starts). The
outflow over a window is the depletion summed over it. At a decision instant t, the samples are
the windows [s - tau, s] for s = t, t - tau/10, t - 2 tau/10, ... that start inside the data:
only states at or before t are read, so a decision never sees the future.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router.replay import Timeline

#: Sample windows slide by this fraction of tau.
SLIDE = 10


@dataclass(frozen=True, eq=False)
class Depletion:
    """Per venue, the ts of its states and the cumulative depletion after each of them."""

    ts: tuple[np.ndarray, ...]
    cumulative: tuple[np.ndarray, ...]
    start_ns: int

    @classmethod
    def of(cls, timeline: Timeline) -> Depletion:
        snap = timeline.snapshots
        ts, cumulative = [], []
        for venue in range(len(timeline.publishers)):
            rows = np.flatnonzero(timeline.venue_index == venue)
            px, sz = snap.bid_px[rows, 0], snap.bid_sz[rows, 0]
            prev_px, prev_sz = px[:-1], sz[:-1]
            same = px[1:] == prev_px
            fell = ~same & ~(px[1:] > prev_px)  # lower, or the level emptied (NaN)
            step = np.where(same, np.maximum(prev_sz - sz[1:], 0), np.where(fell, prev_sz, 0))
            ts.append(snap.ts[rows])
            cumulative.append(np.r_[0, np.cumsum(step)].astype(float))
        return cls(tuple(ts), tuple(cumulative), snap.window.start_ns)

    def at(self, when: np.ndarray) -> np.ndarray:
        """Cumulative depletion of every venue at each instant of ``when`` (len(when) x K)."""
        out = np.zeros((len(when), len(self.ts)))
        for k, (ts, cum) in enumerate(zip(self.ts, self.cumulative, strict=True)):
            last = np.searchsorted(ts, when, side="right") - 1  # the state in force at `when`
            out[:, k] = np.where(last >= 0, cum[np.maximum(last, 0)], 0.0)
        return out

    def samples(self, now_ns: int, tau_ns: int) -> np.ndarray:
        """Outflow samples (n x K) over the windows of length tau that end at or before now."""
        slide = max(1, tau_ns // SLIDE)
        count = (now_ns - tau_ns - self.start_ns) // slide + 1
        if count <= 0:
            return np.zeros((0, len(self.ts)))
        ends = now_ns - slide * np.arange(count, dtype=np.int64)
        return self.at(ends) - self.at(ends - tau_ns)
