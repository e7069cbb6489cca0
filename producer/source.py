"""The configured trading days, loaded from their files (the synthetic default made if absent).

Shared by the producer, which streams them, and the sweep's file source.
"""

from __future__ import annotations

import sys

from producer.synthetic import ensure
from router import Snapshots, expand_paths, load_days, load_mbp
from sweep.config import DataConfig


def load_configured(data: DataConfig) -> tuple[list[Snapshots], list[str]]:
    """Every configured day in date order, and the empty days skipped (``skip_empty_days``)."""
    single = data.single_file
    if single is None:
        return load_days(
            expand_paths(data.paths), data.start, data.end, data.depth,
            prices=data.prices, warmup_s=data.warmup_s, skip_empty=data.skip_empty_days,
        )  # fmt: skip
    if data.synthetic_seed is not None and ensure(
        single, seed=data.synthetic_seed, venues=data.synthetic_venues
    ):
        print(f"generated the default day at {single}", file=sys.stderr)
    day = load_mbp(
        single, data.start, data.end, data.depth,
        date=data.date, prices=data.prices, warmup_s=data.warmup_s,
    )  # fmt: skip
    return [day], []
