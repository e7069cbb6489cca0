"""Causal samples of the outflow xi_k that the fill model credits a bid at venue k's best bid.

The Cont & Kukanov placement fills a limit order of L_k shares behind a queue of Q_k with
min(L_k, (xi_k - Q_k)+). The simulator fills a resting bid only from the venue's seller-
initiated prints at or below its price (:mod:`router.exchange.passive`), so xi_k is measured the
same way: over a past window [a, a + tau], the seller-initiated volume printed on venue k at or
below the best bid that venue showed at a, all in local time: a state or a print counts from
when it was received (its ``ts_recv``, once every earlier state of its venue arrived too), as
the router could have known it, not from when it happened at the exchange. Cancellations and
pulled levels do not count: the risk-averse queue model never credits them, and for the
probabilistic model leaving them out makes the optimiser, if anything, too pessimistic about
passive fills.

At a decision instant t the samples are the windows ending at t, t - tau/10, t - 2 tau/10, ...
that start inside the loaded data (the warmup before the trading window included): only states
and prints received by t are read, so a decision never sees the future.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router.data.marketdata import SELL_AGGRESSOR, UNKNOWN_SIDE
from router.exchange.passive import FillRules
from router.exchange.timeline import Timeline

#: Sample windows slide by this fraction of tau.
SLIDE = 10


@dataclass(frozen=True, eq=False)
class _Venue:
    """One venue's best bid over time and its seller-initiated prints, in the order received;
    times are when we received them."""

    state_ts: np.ndarray
    bid: np.ndarray
    print_ts: np.ndarray
    print_px: np.ndarray
    print_sz: np.ndarray


@dataclass(frozen=True, eq=False)
class SellerFlow:
    """Per venue, what could have filled a bid resting at its best bid, window by window."""

    venues: tuple[_Venue, ...]
    start_ns: int  # where the data begin (the first state loaded): windows start no earlier

    @classmethod
    def of(cls, timeline: Timeline, rules: FillRules | None = None) -> SellerFlow:
        rules = rules or FillRules()
        snap = timeline.snapshots
        owner = snap.print_row
        sides = [SELL_AGGRESSOR] + ([UNKNOWN_SIDE] if rules.unsigned_trades == "both" else [])
        selling = np.isin(snap.print_side, sides)
        venues = []
        seen = np.zeros(len(snap), dtype=np.int64)  # per row, when we had received it
        for rows, received in zip(timeline.venue_rows, timeline.venue_seen, strict=True):
            seen[rows] = received
        for venue, rows in enumerate(timeline.venue_rows):
            mine = selling & (timeline.venue_index[owner] == venue)
            venues.append(
                _Venue(
                    state_ts=seen[rows],
                    bid=np.where(snap.bid_sz[rows, 0] > 0, snap.bid_px[rows, 0], np.nan),
                    print_ts=seen[owner[mine]],
                    print_px=snap.print_px[mine],
                    print_sz=snap.print_sz[mine].astype(float),
                )
            )
        first = int(snap.ts[0]) if len(snap) else snap.window.data_start_ns
        return cls(tuple(venues), max(snap.window.data_start_ns, first))

    def count(self, now_ns: int, tau_ns: int) -> int:
        """How many sample windows a decision at ``now_ns`` has."""
        return max(int((now_ns - tau_ns - self.start_ns) // max(1, tau_ns // SLIDE) + 1), 0)

    def samples(self, now_ns: int, tau_ns: int) -> np.ndarray:
        """Outflow samples (n x K) over the windows of length tau that end at or before now."""
        slide = max(1, tau_ns // SLIDE)
        ends = now_ns - slide * np.arange(self.count(now_ns, tau_ns), dtype=np.int64)
        out = np.zeros((len(ends), len(self.venues)))
        for k, venue in enumerate(self.venues):
            out[:, k] = _window_volume(venue, ends - tau_ns, ends)
        return out


def _window_volume(venue: _Venue, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Seller volume received in (start, end] at or below the bid seen at start, per window."""
    state = np.searchsorted(venue.state_ts, starts, side="right") - 1  # the state in force
    bid = np.where(state >= 0, venue.bid[np.maximum(state, 0)], np.nan)
    first = np.searchsorted(venue.print_ts, starts, side="right")
    last = np.searchsorted(venue.print_ts, ends, side="right")
    volume = np.zeros(len(starts))
    for price in np.unique(bid[~np.isnan(bid)]):  # a handful of tick levels
        total = np.r_[0.0, np.cumsum(np.where(venue.print_px <= price, venue.print_sz, 0.0))]
        at = bid == price
        volume[at] = total[last[at]] - total[first[at]]
    return volume
