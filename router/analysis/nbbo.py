"""The national best bid and offer (NBBO): the best bid and ask across venues after every row,
each venue's latest state counting until its next."""

from __future__ import annotations

import numpy as np

from router.data.marketdata import Snapshots


def top_of_book(snap: Snapshots) -> tuple[np.ndarray, np.ndarray]:
    """Each venue's best bid and ask in force after every row (rows x venues; NaN: none)."""
    venues = snap.venues
    column = np.searchsorted(venues, snap.publisher_id)
    rows = np.arange(len(snap))
    bid = np.full((len(snap), len(venues)), np.nan)
    ask = np.full((len(snap), len(venues)), np.nan)
    for k in range(len(venues)):
        mine = column == k
        last = np.maximum.accumulate(np.where(mine, rows, -1))  # this venue's latest row
        known = last >= 0
        at = np.maximum(last, 0)
        bid[:, k] = np.where(known & (snap.bid_sz[at, 0] > 0), snap.bid_px[at, 0], np.nan)
        ask[:, k] = np.where(known & (snap.ask_sz[at, 0] > 0), snap.ask_px[at, 0], np.nan)
    return bid, ask


def _nan_max(values: np.ndarray) -> np.ndarray:
    out = np.full(len(values), np.nan)
    some = ~np.isnan(values).all(axis=1)
    if some.any():  # (an order's window may hold no rows at all)
        out[some] = np.nanmax(values[some], axis=1)
    return out


def _nan_min(values: np.ndarray) -> np.ndarray:
    out = np.full(len(values), np.nan)
    some = ~np.isnan(values).all(axis=1)
    if some.any():
        out[some] = np.nanmin(values[some], axis=1)
    return out


def national_best(snap: Snapshots) -> tuple[np.ndarray, np.ndarray]:
    """The NBB and NBO in force after every row (NaN: no venue shows that side)."""
    bids, asks = top_of_book(snap)
    return _nan_max(bids), _nan_min(asks)


def mids(snap: Snapshots) -> np.ndarray:
    """The NBBO mid in force after every row (NaN where a side is empty)."""
    nbb, nbo = national_best(snap)
    return (nbb + nbo) / 2


def at_times(snap: Snapshots, per_row: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """``per_row`` (a value after every row) in force at each exchange time ``ts``: after every
    row at or before it; NaN before the first row."""
    row = np.searchsorted(snap.ts, ts, side="right") - 1
    return np.where(row >= 0, per_row[np.maximum(row, 0)], np.nan)
