"""Market data in: Databento DBN and CSV files (MBP-1, MBP-10, TBBO, CMBP-1) read into
:class:`Snapshots`, numpy arrays of each venue's book after every event and the prints beside
them. Nothing here knows of orders, venues' rules or strategies."""

from router.data.loader import expand_paths, load_days, load_mbp
from router.data.marketdata import DataError, DataQuality, Snapshots, Window

__all__ = ["DataError", "DataQuality", "Snapshots", "Window", "expand_paths", "load_days",
           "load_mbp"]  # fmt: skip
