"""The simulated venues: the replay clock (exchange and local time), latency, fees, displayed
liquidity each share of which we take once, resting orders filled from prints behind the queue
ahead (queue models), and the book a strategy leaves at the close. The one door strategies use
is :class:`Exchange`: it owns their orders from send to report. Reads market data only."""

from router.exchange.closing import Closing
from router.exchange.fees import FeeRate, VenueFees
from router.exchange.fills import Fills
from router.exchange.latency import VenueLatency
from router.exchange.market import Market, Plan
from router.exchange.simulator import Exchange
from router.exchange.timeline import Timeline

__all__ = ["Closing", "Exchange", "FeeRate", "Fills", "Market", "Plan", "Timeline", "VenueFees",
           "VenueLatency"]  # fmt: skip
