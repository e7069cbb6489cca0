"""The simulated venues: the replay clock (exchange and local time), latency, fees, displayed
liquidity each share of which we take once, resting orders filled from prints behind the queue
ahead (queue models), and the book a strategy leaves at the close. Reads market data only."""

from router.exchange.closing import Closing
from router.exchange.fees import FeeRate, VenueFees
from router.exchange.latency import VenueLatency
from router.exchange.replay import Fills, Market, Plan, Timeline

__all__ = ["Closing", "FeeRate", "Fills", "Market", "Plan", "Timeline", "VenueFees",
           "VenueLatency"]  # fmt: skip
