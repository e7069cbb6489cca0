"""Venue fee schedules: rates are data here; the simulator decides how they are charged."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

#: Reg NMS access-fee cap, $/share: the default taker fee.
DEFAULT_FEE = 0.0030
#: A typical maker rebate, $/share.
DEFAULT_REBATE = 0.0020


@dataclass(frozen=True)
class FeeRate:
    """Taker fee and maker rebate of one venue, $/share."""

    fee: float = DEFAULT_FEE
    rebate: float = DEFAULT_REBATE

    def __post_init__(self) -> None:
        for name in ("fee", "rebate"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(
                    f"{name} must be a finite $/share amount, got {getattr(self, name)!r}"
                )


@dataclass(frozen=True)
class VenueFees:
    """Fee rates by publisher id, falling back to ``default`` for venues not listed."""

    default: FeeRate = FeeRate()
    by_publisher: Mapping[int, FeeRate] = field(default_factory=dict)

    def of(self, publisher_id: int) -> FeeRate:
        return self.by_publisher.get(int(publisher_id), self.default)
