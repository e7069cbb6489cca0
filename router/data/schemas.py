"""The Databento schemas we read, by record type, and how to name the ones we do not.

MBP-1 and TBBO share one record layout (rtype 1; newer TBBO files may say 197), MBP-10 is
rtype 10, CMBP-1 rtype 177, MBO (order by order, :mod:`router.data.order_level`) rtype 160.
CMBP-1 is the consolidated top of book across venues: its book is
not any one venue's, so it loads as a single venue, :data:`CONSOLIDATED` (publisher id 0, a
value Databento never assigns), whose fees are ``venues.default`` unless ``venues.0`` is set.
"""

from __future__ import annotations

import databento_dbn

SCHEMAS = ("mbp-1", "mbp-10", "tbbo", "cmbp-1", "mbo")
RTYPES = {"mbp-1": (1,), "mbp-10": (10,), "tbbo": (1, 197), "cmbp-1": (177,), "mbo": (160,)}
SCHEMA_OF_RTYPE = {1: "mbp-1", 10: "mbp-10", 160: "mbo", 177: "cmbp-1", 197: "tbbo"}
CONSOLIDATED = 0


def unsupported_rtype(rtype: int) -> str:
    """Why a record type cannot be read, naming its schema."""
    try:
        name = databento_dbn.RType.from_int(rtype).name.lower().replace("_", "-")
    except ValueError:
        name = "unknown"
    return (
        f"record type {rtype} ({name}) is not a schema we read; "
        f"expected one of {', '.join(SCHEMAS)} (Databento MBP-1, MBP-10, TBBO, CMBP-1, MBO)"
    )


def unsupported_schema(schema: str | None) -> str:
    return (
        f"schema {schema or 'mixed (none in the metadata)'} is not one we read; "
        f"expected one of {', '.join(SCHEMAS)} (Databento MBP-1, MBP-10, TBBO, CMBP-1, MBO)"
    )
