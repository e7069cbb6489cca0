"""Order latency per venue: how long our orders and cancels take to reach a venue.

Market data carry their own feed latency (``ts_recv - ts_event``): the replay decides only on
what has been received by ``ts_recv``. Orders travel the other way. An order sent at t acts at
the venue at t + latency, on the book as it is then; a cancel sent at t takes effect at
t + latency, so a resting order can still fill while its cancel is in flight; and we learn of a
fill one latency after it happened. One figure per venue serves all three.

The default, 1 ms, is a router outside the exchanges' data centres. A co-located one sees tens
of microseconds: the default day's feed latency (``ts_recv - ts_event``) is 10-200 us, and
hftbacktest's latency example models order entry as four times the feed latency
(https://hftbacktest.readthedocs.io, "Latency Models"); one in a public cloud region, several
milliseconds. Set ``venues.<id>.latency_ms`` and ``venues.default.latency_ms`` to yours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

DEFAULT_LATENCY_MS = 1.0
NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class VenueLatency:
    """Order latency by publisher id, ms, falling back to ``default_ms``."""

    default_ms: float = DEFAULT_LATENCY_MS
    by_publisher: Mapping[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for value in (self.default_ms, *self.by_publisher.values()):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"latency_ms must be a finite number >= 0, got {value!r}")

    def ns(self, publishers: np.ndarray) -> np.ndarray:
        """Per publisher id, its latency in whole nanoseconds."""
        ms = [self.by_publisher.get(int(p), self.default_ms) for p in publishers]
        return np.round(np.array(ms, dtype=float) * NS_PER_MS).astype(np.int64)


#: No latency: orders act, and cancels take effect, the instant they are sent.
NONE = VenueLatency(0.0)
