"""The replay clock: a snapshot set's instants, each venue's rows, and when we could have seen
each of them (``ts_recv``), with the venues' fees and order latency.

Instants are the distinct ``ts`` values, in order; at each instant every venue's new state is
applied first. A strategy decides at local times (``decision_ts``): the times at which
something new had been received.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router.data.marketdata import Snapshots
from router.exchange.fees import VenueFees
from router.exchange.latency import NONE as NO_LATENCY
from router.exchange.latency import VenueLatency


@dataclass(frozen=True, eq=False)
class Timeline:
    """Instants of a snapshot set, per row the index of its venue (ascending publisher id) and
    when we could have seen it, and per venue its fees and order latency."""

    snapshots: Snapshots
    instant_ts: np.ndarray  # ts of each instant
    instant_end: np.ndarray  # one past the last row of each instant
    venue_index: np.ndarray  # per row, index into ``publishers``
    venue_rows: tuple[np.ndarray, ...]  # per venue, its rows in order
    venue_ts: tuple[np.ndarray, ...]  # per venue, its rows' ts (searched at every step)
    venue_seen: tuple[np.ndarray, ...]  # per venue, when each of its rows had been received
    decision_ts: np.ndarray  # the local times at which something new had been received
    publishers: np.ndarray  # publisher ids, ascending
    fee: np.ndarray  # per venue, $/share
    rebate: np.ndarray
    latency_ns: np.ndarray  # per venue: order entry, cancel and response

    @classmethod
    def of(
        cls, snapshots: Snapshots, fees: VenueFees, latency: VenueLatency = NO_LATENCY
    ) -> Timeline:
        ts = snapshots.ts
        boundary = np.flatnonzero(ts[1:] != ts[:-1]) + 1
        publishers = snapshots.venues
        rates = [fees.of(p) for p in publishers]
        venue_index = np.searchsorted(publishers, snapshots.publisher_id)
        venue_rows = tuple(np.flatnonzero(venue_index == v) for v in range(len(publishers)))
        # A state counts as seen once it and every earlier state of its venue arrived.
        venue_seen = tuple(np.maximum.accumulate(snapshots.ts_recv[r]) for r in venue_rows)
        return cls(
            snapshots=snapshots,
            instant_ts=ts[np.r_[0, boundary]] if len(ts) else ts,
            instant_end=np.r_[boundary, len(ts)] if len(ts) else ts,
            venue_index=venue_index,
            venue_rows=venue_rows,
            venue_ts=tuple(ts[r] for r in venue_rows),
            venue_seen=venue_seen,
            decision_ts=np.unique(np.concatenate([*venue_seen, np.zeros(0, dtype=np.int64)])),
            publishers=publishers,
            fee=np.array([r.fee for r in rates], dtype=float),
            rebate=np.array([r.rebate for r in rates], dtype=float),
            latency_ns=latency.ns(publishers),
        )

    def __len__(self) -> int:
        return len(self.instant_ts)
