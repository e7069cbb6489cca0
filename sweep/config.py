"""The YAML config: its structure written once, as pydantic dataclasses, and validated at the
boundary into the objects the domain takes.

Each section is a frozen pydantic dataclass whose fields are the file's keys, types, bounds and
defaults: unknown keys, wrong types and values out of range are refused, and every refusal is
given in one ConfigError naming the file and the key path. What no single key can say (which
keys apply to which model, orders that must fit the window) is checked by hand afterwards.
Relative paths resolve against the config file's folder. Kafka client options may reference
environment variables as ``${NAME}`` so that secrets never live in the repo.
"""

from __future__ import annotations

import datetime
import glob
import itertools
import math
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic import dataclasses as pydantic_dataclasses
from pydantic_core import ErrorDetails, PydanticCustomError

from router.data.marketdata import MAX_DEPTH, NS_PER_SECOND, Snapshots, parse_time_of_day
from router.data.prices import PRICE_FORMATS
from router.exchange.fees import FeeRate, VenueFees
from router.exchange.fifo import FifoQueue
from router.exchange.latency import DEFAULT_LATENCY_MS, VenueLatency
from router.exchange.passive import UNSIGNED_TRADES, FillRules
from router.exchange.queues import PowerProbability, ProbQueueModel, RiskAverseQueueModel
from router.strategies.baselines import check_order
from router.strategies.cont_kukanov import MIN_TAU_S, PlacementSettings
from router.strategies.orders import SIDES, OrderGenerator, Orders, ParentOrder
from router.strategies.placement import RouterParams


class ConfigError(ValueError):
    """A config problem: the message names the file and the key."""


#: Builds the ConfigError for a key path and a message, the file's name in front.
Fail = Callable[[str, str], ConfigError]


# ------------------------------------------------------------------------------ value types
# Lax containers (a YAML list becomes a tuple) of strict scalars: "5" is not a number, 2.5 and
# true are not integers, true is not a number; an integer is a number.
Number = StrictFloat
#: Finite: no key's infinity means anything (a horizon, a timeout, a pace), and NaN never does.
Positive = Annotated[StrictFloat, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)]
Finite = Annotated[StrictFloat, Field(allow_inf_nan=False)]
Count = Annotated[StrictInt, Field(ge=1)]
Seed = Annotated[StrictInt, Field(ge=0)]
Text = Annotated[StrictStr, Field(min_length=1)]


def _one_of(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A key that takes one of several shapes is refused as a whole, as JSON Schema's oneOf."""
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError(
            "one_of", "{value} is not valid under any of the given schemas", {"value": repr(value)}
        ) from None


def _one_or_many(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


def _given(value: Any) -> Any:
    """A key that may be absent (None) is still refused given as null, as JSON Schema did."""
    if value is None:
        raise PydanticCustomError("null", "null is not allowed; give a value or leave the key out")
    return value


Given = BeforeValidator(_given)

#: One string or a non-empty list of them, as a tuple.
OneOrMany = Annotated[
    tuple[Text, ...], Field(min_length=1), BeforeValidator(_one_or_many), WrapValidator(_one_of)
]


def _listed_once(values: Any) -> Any:
    """A grid axis lists finite values, each once (a repeat would run the same trials twice);
    checked on the values as given, before a NaN horizon would read as not positive."""
    if not isinstance(values, list | tuple):
        return values
    bad = [v for v in values if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise PydanticCustomError(
            "finite", "{value} is not a finite number; give finite values", {"value": bad[0]}
        )
    try:
        repeats = len(set(values)) < len(values)
    except TypeError:  # a mapping among the values: its own type error says more
        repeats = False
    if repeats:
        raise PydanticCustomError(
            "unique", "{value} repeats a value; list each value once", {"value": values}
        )
    return values


Axis = Annotated[tuple[Number, ...], Field(min_length=1), BeforeValidator(_listed_once)]
Horizons = Annotated[tuple[Positive, ...], BeforeValidator(_listed_once)]


# ------------------------------------------------------------------------------ sections
section = partial(
    pydantic_dataclasses.dataclass, frozen=True, config=ConfigDict(extra="forbid")
)  # strictness is the scalar types' (above): a strict dataclass would refuse a YAML mapping


@section
class _Section:
    """Unknown keys are refused together, with the keys allowed (``extra="forbid"`` would name
    each alone)."""

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            _refuse_unknown(data, sorted(cls.__pydantic_fields__))
        return data


def _refuse_unknown(data: dict, allowed: list[str], known: Callable[[str], Any] | None = None):
    known = known or allowed.__contains__
    extra = sorted(str(k) for k in data if not known(str(k)))
    if extra:
        raise PydanticCustomError(
            "unknown_keys",
            "unknown key(s) {extra}; allowed: {allowed}",
            {"extra": ", ".join(map(repr, extra)), "allowed": ", ".join(allowed)},
        )


@section
class _Window(_Section):
    start: StrictStr = "13:36:32"
    end: StrictStr = "13:45:14"


@section
class _Synthetic(_Section):
    seed: Seed = 0
    venues: Annotated[StrictInt, Field(ge=1, le=8)] = 4


def _real_date(text: str) -> str:
    """A YYYY-MM-DD that is a day of the calendar (2024-13-45 is not)."""
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        raise PydanticCustomError(
            "date", "{value} is not a real date; give YYYY-MM-DD", {"value": repr(text)}
        ) from None
    return text


@section
class _Data(_Section):
    path: OneOrMany
    prices: Literal[PRICE_FORMATS] = "auto"
    warmup_s: NonNegative = 300.0
    skip_empty_days: StrictBool = False
    date: (
        Annotated[StrictStr, Field(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_real_date)]
        | None
    ) = None
    depth: Annotated[StrictInt, Field(ge=1, le=MAX_DEPTH)] = 1
    window: _Window = field(default_factory=_Window)
    synthetic: Annotated[_Synthetic | None, Given] = None
    max_gap_s: Positive = 60.0
    require_full_window: StrictBool = False


@dataclass(frozen=True)
class DataConfig:
    """Where the market data is and how to read it: the ``data`` section resolved. ``paths``
    are files or glob patterns (one trading day per file), resolved against the config's
    folder; ``warmup_s`` is loaded before the window for estimation only; ``date`` names a
    single file's trading date when it spans several; ``synthetic_seed``: generate the file
    with this seed when it is absent."""

    paths: tuple[Path, ...]
    start: str
    end: str
    depth: int
    date: str | None
    prices: str  # CSV prices: auto, decimal or fixed (Databento's 1e-9 units)
    warmup_s: float
    skip_empty_days: bool
    synthetic_seed: int | None
    synthetic_venues: int
    # data starting later or ending earlier than this in its window: a warning, or an error
    max_gap_s: float = 60.0
    require_full_window: bool = False

    @property
    def single_file(self) -> Path | None:
        """The one file named, when ``paths`` is a single name without glob characters."""
        if len(self.paths) == 1 and not glob.has_magic(str(self.paths[0])):
            return self.paths[0]
        return None

    def files(self) -> list[Path]:
        """The files ``paths`` names or matches on this machine now, sorted, each once."""
        found = {
            Path(p)
            for path in self.paths
            for p in (glob.glob(str(path)) if glob.has_magic(str(path)) else [path])
            if Path(p).is_file()
        }
        return sorted(found)


@section
class _Order(_Section):
    size: StrictInt = 5000
    step: StrictInt = 100


@section
class _FixedOrder(_Section):
    start: StrictStr
    size: Count
    horizon_s: Positive
    side: Literal[SIDES] = "buy"


@section
class _DrawnOrders(_Section):
    per_day: Count
    size: Annotated[Count | tuple[Count, Count], WrapValidator(_one_of)]
    horizon_s: Positive
    side: Literal["buy", "sell", "both"] = "buy"
    start: Annotated[
        Literal["random"] | Annotated[tuple[StrictStr, ...], Field(min_length=1)],
        WrapValidator(_one_of),
    ] = "random"
    seed: Seed = 0


def _list_or_mapping(value: Any) -> str | None:
    return "list" if isinstance(value, list) else "mapping" if isinstance(value, dict) else None


#: ``orders``: a list of orders, or a mapping that draws them; the tags leave the key path.
_TAGS = ("list", "mapping")
OrdersSection = Annotated[
    Annotated[tuple[_FixedOrder, ...], Field(min_length=1), Tag("list")]
    | Annotated[_DrawnOrders, Tag("mapping")],
    Discriminator(
        _list_or_mapping,
        custom_error_type="list_or_mapping",
        custom_error_message="neither a list nor a mapping",
    ),
]


@dataclass(frozen=True)
class OrderConfig:
    """``size``: the default single order's; ``step``: the static allocator's lot, which every
    order size must be a multiple of; ``orders``: the parent orders of each day."""

    size: int
    step: int
    orders: Orders


def _whole_ns(ms: float | None) -> float | None:
    """A latency is 0 (none) or at least a nanosecond: one that rounds to 0 ns is a mistake."""
    if ms and round(ms * 1e6) == 0:
        raise PydanticCustomError(
            "latency", "{value} ms rounds to 0 ns; give 0 for no latency or at least 1e-6 ms",
            {"value": ms},
        )  # fmt: skip
    return ms


@section
class _Rate(_Section):
    """One venue's fee, rebate ($/share) and latency; a key left out is ``venues.default``'s."""

    fee: Annotated[Finite | None, Given] = None
    rebate: Annotated[Finite | None, Given] = None
    latency_ms: Annotated[NonNegative | None, AfterValidator(_whole_ns), Given] = None


def _venue_keys(value: Any) -> Any:
    """``default`` or a publisher id, which YAML reads as a number or a string."""
    if not isinstance(value, dict):
        return value
    _refuse_unknown(value, ["default", "<publisher_id>"],
                    lambda k: k == "default" or re.fullmatch(r"[0-9]+", k))  # fmt: skip
    return {str(k): v for k, v in value.items()}


Venues = Annotated[dict[str, _Rate], BeforeValidator(_venue_keys)]


@section
class RouterConfig(_Section):
    """Which router the sweep tunes; the rest applies to ``cont_kukanov`` only."""

    model: Literal["static", "cont_kukanov"] = "static"
    tau_s: Positive = 10.0
    # auto: fifo on a day with order ids (MBO, LOBSTER), risk_averse on aggregated depth
    queue_model: Literal["auto", "fifo", "risk_averse", "prob_power"] = "auto"
    queue_power: Positive = 3.0
    seed: Seed = 0
    min_samples: Count = 30  # outflow windows a decision needs

    def placement(self, fills: FillRules | None = None) -> PlacementSettings | None:
        """The Cont & Kukanov settings, or None for the static allocator."""
        if self.model == "static":
            return None
        queue = {
            "auto": None,  # the exchange's default for the day's data
            "fifo": FifoQueue(),
            "risk_averse": RiskAverseQueueModel(),
            "prob_power": ProbQueueModel(PowerProbability(self.queue_power)),
        }[self.queue_model]
        return PlacementSettings(
            tau_s=self.tau_s, queue_model=queue, seed=self.seed, fills=fills or FillRules(),
            min_samples=self.min_samples,
        )  # fmt: skip

    def for_days(self, days: list[Snapshots]) -> RouterConfig:
        """``auto`` resolved for the days loaded: ``fifo`` where every day has order events,
        ``risk_averse`` where none has (a mix stays ``auto``: each day its own). ``fifo`` on a
        day without order events is an error."""
        if self.model == "static":
            return self
        ordered = [day.orders is not None for day in days]
        if self.queue_model == "fifo" and not all(ordered):
            date = days[ordered.index(False)].window.date
            raise ValueError(
                f"router.queue_model: fifo needs order-level data (Databento MBO or LOBSTER "
                f"read from files); the day {date} has aggregated depth only: use auto, "
                "risk_averse or prob_power"
            )
        if self.queue_model == "auto" and (all(ordered) or not any(ordered)):
            return replace(self, queue_model="fifo" if all(ordered) else "risk_averse")
        return self

    def settings(self) -> dict:
        """The keys that apply to this model, for the report."""
        if self.model == "static":
            return {"model": self.model}
        keys = asdict(self)
        if self.queue_model != "prob_power":
            del keys["queue_power"]
        return keys


#: The task's grid, for the static allocator (whose decisions it never changes).
STATIC_GRID = {
    "lambda_over": (0.1, 0.4, 1.0),
    "lambda_under": (0.1, 0.6, 1.0),
    "theta_queue": (0.1, 0.3, 0.5),
}
#: The Cont & Kukanov default, $/share: of the order of the half spread and the fees.
CONT_KUKANOV_GRID = {
    "lambda_over": (0.002, 0.01, 0.05),
    "lambda_under": (0.002, 0.01, 0.05),
    "theta_queue": (0.0, 0.001, 0.005),
}


PENALTIES = tuple(asdict(RouterParams(0, 0, 0)))  # lambda_over, lambda_under, theta_queue
#: grid.max_points' default: a larger grid is refused before Ray starts (each point is a trial).
MAX_GRID_POINTS = 10_000
#: grid.max_replays' default: order replays (orders a day x days x grid points) a sweep may
#: ask for; the synthetic month asks for 16,200.
MAX_REPLAYS = 100_000


@dataclass(frozen=True)
class GridPoint:
    """One trial's settings: the penalties, and the horizon when the grid sweeps it."""

    params: RouterParams
    tau_s: float | None = None  # None: router.tau_s

    def as_dict(self) -> dict[str, float]:
        """Flat names, as Tune's trial config and the report write them."""
        tau = {} if self.tau_s is None else {"tau_s": self.tau_s}
        return asdict(self.params) | tau

    @classmethod
    def of(cls, values: dict[str, float]) -> GridPoint:
        """The inverse of :meth:`as_dict` (extra keys, such as metrics, are ignored)."""
        params = RouterParams(*(values[k] for k in PENALTIES))
        return cls(params, values.get("tau_s"))


@section
class GridConfig(_Section):
    """The swept values; a key the file leaves out takes its model's default grid."""

    lambda_over: Axis = STATIC_GRID["lambda_over"]
    lambda_under: Axis = STATIC_GRID["lambda_under"]
    theta_queue: Axis = STATIC_GRID["theta_queue"]
    tau_s: Horizons = ()  # empty: the horizon is router.tau_s, not swept

    @property
    def names(self) -> tuple[str, ...]:
        """The swept keys, slowest first: the penalties, then tau_s when it is a list."""
        return PENALTIES + (("tau_s",) if self.tau_s else ())

    @property
    def size(self) -> int:
        """How many grid points (trials) the grid has."""
        return math.prod(len(getattr(self, name)) for name in self.names)

    def points(self) -> list[GridPoint]:
        """Every grid point, in grid order (lambda_over slowest, the last name fastest)."""
        values = itertools.product(*(getattr(self, name) for name in self.names))
        return [GridPoint.of(dict(zip(self.names, v, strict=True))) for v in values]

    def first(self) -> GridConfig:
        """The grid's first point alone (``--smoke-test``)."""
        return GridConfig(*(getattr(self, name)[:1] for name in asdict(self)))


@section
class _Grid(GridConfig):
    """The file's ``grid``: a horizon list, when given, is not empty; and the cap."""

    tau_s: Annotated[Horizons, Field(min_length=1)] = ()
    max_points: Count = MAX_GRID_POINTS
    max_replays: Count = MAX_REPLAYS


@section
class EvaluationConfig(_Section):
    """How the chosen parameters are judged: ``in_sample`` (on the days they were chosen on)
    or ``walk_forward`` (chosen on ``train_days`` days, read out on the next ``test_days``).
    Its intervals draw nothing at random, so it has no resamples and no seed."""

    mode: Literal["in_sample", "walk_forward"] = "in_sample"
    train_days: Count = 5
    test_days: Count = 1


def _codec(name: str) -> str:
    """kafka-python compresses with an optional package: say which before anything is sent."""
    from kafka import codec

    if name == "lz4" and not codec.has_lz4():
        raise PydanticCustomError(
            "codec", "lz4 needs the lz4 package: pip install 'sor-sweep[lz4]', or use zstd"
        )
    return name


@section
class KafkaConfig(_Section):
    """The broker and topic; ``client``: extra kafka-python options, whose strings may read
    ``${NAME}`` from the environment."""

    bootstrap_servers: OneOrMany = ("127.0.0.1:9092",)
    topic: Text = "mock_l1_stream"
    pace: NonNegative = 0.0
    timeout_s: Positive = 60.0
    # A record carries a block of consecutive rows: at most batch_rows of them, spanning at
    # most batch_ms of exchange time (the pacing's resolution); batch_rows 1: a record a row.
    batch_rows: Count = 1000
    batch_ms: Positive = 10_000.0
    compression: Annotated[Literal["zstd", "lz4", "none"], AfterValidator(_codec)] = "zstd"
    client: dict = field(default_factory=dict)  # extra kafka-python options, free-form


@section
class _Fills(_Section):
    unsigned_trades: Literal[UNSIGNED_TRADES] = FillRules.unsigned_trades
    quote_cross: StrictBool = FillRules.quote_cross


@section
class _Ray(_Section):
    address: StrictStr | None = None


@section
class _File(_Section):
    """The whole file: every key it may hold."""

    data: _Data
    order: _Order = field(default_factory=_Order)
    orders: Annotated[OrdersSection | None, Given] = None
    venues: Venues = field(default_factory=dict)
    grid: _Grid = field(default_factory=_Grid)
    router: RouterConfig = field(default_factory=RouterConfig)
    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    fills: _Fills = field(default_factory=_Fills)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    source: Literal["kafka", "file"] = "file"
    ray: _Ray = field(default_factory=_Ray)


_FILE = TypeAdapter(_File)


@dataclass(frozen=True)
class Config:
    """The validated file, composed into the domain's objects."""

    data: DataConfig
    order: OrderConfig
    venues: VenueFees
    latency: VenueLatency
    grid: GridConfig
    router: RouterConfig
    kafka: KafkaConfig
    fills: FillRules
    evaluation: EvaluationConfig
    source: str = "file"
    ray_address: str | None = None
    path: Path | None = None  # the config file this came from
    max_replays: int = MAX_REPLAYS

    def check_work(self, days: int, where: str | None = None) -> None:
        """Orders a day x ``days`` x grid points within ``grid.max_replays``: a sweep that
        would run for days is refused, with the figure and the key to raise."""
        points = self.grid.size
        work = self.order.orders.per_day * days * points
        if work > self.max_replays:
            raise ConfigError(
                f"{where or self.path or '<config>'}: grid: {work:,} order replays "
                f"({self.order.orders.per_day:,} orders a day x {days} day(s) x {points:,} grid "
                f"points), more than grid.max_replays ({self.max_replays:,}): give fewer orders, "
                "days or points, or raise grid.max_replays if you mean it"
            )


# ------------------------------------------------------------------------------ messages
#: Pydantic's error types in JSON Schema's words, which the README and the tests quote.
_TYPES = {
    "int_type": "'integer'",
    "float_type": "'number'",
    "string_type": "'string'",
    "bool_type": "'boolean'",
    "tuple_type": "'array'",
    "dict_type": "'object'",
    "dataclass_type": "'object'",
    "list_or_mapping": "'array', 'object'",
}
_BOUNDS = {
    "greater_than": "{input} is less than or equal to the minimum of {gt}",
    "greater_than_equal": "{input} is less than the minimum of {ge}",
    "less_than_equal": "{input} is greater than the maximum of {le}",
    "finite_number": "{input} is not a finite number",
    "string_too_short": "{input!r} should be non-empty",
    "string_pattern_mismatch": "{input!r} does not match {pattern!r}",
}


def _describe(error: ErrorDetails) -> str:
    """One error as ``key.path: message``, the key path without the union's tags."""
    loc = [str(part) for part in error["loc"] if part not in _TAGS]
    where = ".".join(loc) or "(top level)"
    kind, value, ctx = error["type"], error["input"], error.get("ctx", {})
    if kind == "missing":
        parent, key = ".".join(loc[:-1]) or "(top level)", loc[-1]
        hint = " (data.path)" if loc == ["data"] else ""
        return f"{parent}: {key!r} is a required property{hint}"
    if kind in _TYPES:
        return f"{where}: {value!r} is not of type {_TYPES[kind]}"
    if kind == "literal_error":
        return f"{where}: {value!r} is not one of [{ctx['expected'].replace(' or ', ', ')}]"
    if kind == "too_short" and not value:
        return f"{where}: empty list; give at least one value (or leave the key out)"
    if kind in _BOUNDS:  # bounds as written (0, not pydantic's 0.0)
        ctx = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in ctx.items()}
        return f"{where}: " + _BOUNDS[kind].format(input=value, **ctx)
    return f"{where}: {error['msg']}"


# ------------------------------------------------------------------------------ parsing
def parse_config(raw: Any, base: Path, source: str = "<config>") -> Config:
    """Validate a loaded YAML document; relative paths resolve against ``base``."""
    raw = {} if raw is None else raw
    try:
        file = _FILE.validate_python(raw)
    except ValidationError as exc:
        # a list whose items failed is also "too short" once they are dropped: not news
        errors = [e for e in exc.errors() if not (e["type"] == "too_short" and e["input"])]
        raise ConfigError(f"{source}: " + "; ".join(map(_describe, errors))) from None

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {key}: {message}")

    data = _data(file.data, base, fail)
    check = partial(_refuse_unused, raw, fail)
    try:
        check_order(file.order.size, file.order.step)
    except ValueError as exc:
        raise fail("order", str(exc)) from None
    if file.orders is None:
        orders = Orders(size=file.order.size)
    elif "size" in raw.get("order", {}):
        raise fail("order.size", "sizes the single default order; with orders, give each "
                   "order's size there and remove order.size")  # fmt: skip
    else:
        orders = _orders(file.orders, data, file.order.step, fail)

    router = file.router
    if router.model == "static" and set(raw.get("router", {})) - {"model"}:
        extra = ", ".join(sorted(set(raw["router"]) - {"model"}))
        raise fail("router", f"{extra} appl(ies) to model cont_kukanov only; remove or set it")
    check("router.queue_power", router.queue_model == "prob_power",
          "applies to queue_model prob_power only")  # fmt: skip
    grid = _grid(file.grid, router, raw, fail)
    check("fills", router.model != "static", "applies to resting orders, which only "
          "router.model cont_kukanov posts; the static allocator only takes liquidity")  # fmt: skip
    for key in ("test_days", "train_days"):
        check(f"evaluation.{key}", file.evaluation.mode == "walk_forward",
              "applies to mode walk_forward only")  # fmt: skip

    kafka = file.kafka
    config = Config(
        data=data,
        order=OrderConfig(file.order.size, file.order.step, orders),
        venues=_fees(file.venues),
        latency=_latency(file.venues),
        grid=grid,
        router=router,
        kafka=replace(kafka, client={k: _expand_env(v, k, fail) for k, v in kafka.client.items()}),
        fills=FillRules(**asdict(file.fills)),
        evaluation=file.evaluation,
        source=file.source,
        ray_address=file.ray.address,
        max_replays=file.grid.max_replays,
    )
    config.check_work(_days_named(data), source)  # Kafka streams: checked again once read
    return config


def _days_named(data: DataConfig) -> int:
    """How many days the data section names: a file each (at least 1: a pattern matching
    nothing is the loader's error to give)."""
    return max(len(data.files()), 1)


def _refuse_unused(raw: dict, fail: Fail, key: str, applies: bool, message: str) -> None:
    """A key given where it has no effect is refused rather than silently ignored."""
    *section, name = key.split(".")
    given = raw.get(section[0], {}) if section else raw
    if not applies and name in given:
        raise fail(key, message)


def _data(data: _Data, base: Path, fail: Fail) -> DataConfig:
    """The ``data`` section, its window checked and its paths resolved."""
    at = {}
    for key in ("start", "end"):
        try:
            at[key] = parse_time_of_day(getattr(data.window, key))[0]
        except ValueError as exc:
            raise fail(f"data.window.{key}", str(exc)) from None
    start, end = data.window.start, data.window.end
    if at["end"] < at["start"]:
        raise fail("data.window", f"end {end} is before start {start}")
    config = DataConfig(
        paths=tuple((base / name).resolve() for name in data.path),
        start=start,
        end=end,
        depth=data.depth,
        date=data.date,
        prices=data.prices,
        warmup_s=data.warmup_s,
        skip_empty_days=data.skip_empty_days,
        synthetic_seed=None if data.synthetic is None else data.synthetic.seed,
        synthetic_venues=(data.synthetic or _Synthetic()).venues,
        max_gap_s=data.max_gap_s,
        require_full_window=data.require_full_window,
    )
    if config.single_file is None:
        for key in ("date", "synthetic"):
            if getattr(data, key) is not None:
                raise fail(
                    f"data.{key}",
                    "applies to a single file; with several files (a list or a glob) each "
                    "file is one trading day read at its own date",
                )
    return config


def _grid(file: _Grid, router: RouterConfig, raw: dict, fail: Fail) -> GridConfig:
    """The swept values: the file's, else the model's defaults; refused if it has too many."""
    given = set(raw.get("grid", {}))
    short = [v for v in file.tau_s if v < MIN_TAU_S]
    if router.tau_s < MIN_TAU_S or short:
        key, value = ("grid.tau_s", short[0]) if short else ("router.tau_s", router.tau_s)
        raise fail(
            key,
            f"{value} s is shorter than {MIN_TAU_S} s (1 ms), the shortest horizon the replay "
            f"steps by; give {'horizons' if short else 'a horizon'} of at least {MIN_TAU_S} s",
        )
    if "tau_s" in given:
        if router.model == "static":
            raise fail(
                "grid.tau_s",
                "applies to router.model cont_kukanov only; set that model or remove grid.tau_s",
            )
        if "tau_s" in raw.get("router", {}):
            raise fail(
                "router.tau_s",
                "grid.tau_s sweeps the horizon; set router.tau_s for one value or grid.tau_s"
                " for a list, not both",
            )
    defaults = STATIC_GRID if router.model == "static" else CONT_KUKANOV_GRID
    names = given - {"max_points", "max_replays"}
    grid = GridConfig(**(defaults | {name: getattr(file, name) for name in names}))
    points = grid.size
    if points > file.max_points:
        raise fail(
            "grid",
            f"{points:,} grid points, more than grid.max_points ({file.max_points:,}): each is "
            "a Tune trial; sweep fewer values, or raise grid.max_points if you mean it",
        )
    return grid


def _fees(venues: dict[str, _Rate]) -> VenueFees:
    """Each venue's rates; what it leaves out is the default's, and the default's FeeRate's."""

    def rate(given: _Rate, inherited: FeeRate) -> FeeRate:
        return FeeRate(
            inherited.fee if given.fee is None else given.fee,
            inherited.rebate if given.rebate is None else given.rebate,
        )

    default = rate(venues.get("default", _Rate()), FeeRate())
    return VenueFees(
        default=default,
        by_publisher={int(k): rate(v, default) for k, v in venues.items() if k != "default"},
    )


def _latency(venues: dict[str, _Rate]) -> VenueLatency:
    default = venues.get("default", _Rate()).latency_ms
    return VenueLatency(
        default_ms=DEFAULT_LATENCY_MS if default is None else default,
        by_publisher={
            int(k): v.latency_ms
            for k, v in venues.items()
            if k != "default" and v.latency_ms is not None
        },
    )


def _expand_env(value: Any, key: str, fail: Fail) -> Any:
    """``${NAME}`` in a Kafka client option string is read from the environment."""
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise fail(f"kafka.client.{key}", f"environment variable {name} is not set")
        return os.environ[name]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lookup, value)


def _orders(
    orders: tuple[_FixedOrder, ...] | _DrawnOrders, data: DataConfig, step: int, fail: Fail
) -> Orders:
    """The ``orders`` key: every order inside the window, every size a multiple of the step."""
    first = parse_time_of_day(data.start)[0]
    end = parse_time_of_day(data.end)
    last = end[0] + end[1]  # the window's exclusive end, ns after midnight

    def check(key: str, size: int, horizon_s: float, starts: tuple[str, ...]) -> int:
        if size % step:
            raise fail(key, f"size {size} is not a multiple of order.step ({step})")
        horizon = round(horizon_s * NS_PER_SECOND)
        if horizon == 0:
            raise fail(key, f"horizon_s {horizon_s:g} rounds to 0 ns: an order no one could "
                       "trade; give at least 1e-9 s")  # fmt: skip
        for start in starts:
            try:
                at = parse_time_of_day(start)[0]
            except ValueError as exc:
                raise fail(key, str(exc)) from None
            if at < first or at + horizon > last:
                window = f"{data.start}-{data.end}"
                raise fail(key, f"an order from {start} over {horizon_s:g} s does not fit the "
                           f"window {window}; move it or shorten horizon_s")  # fmt: skip
        if not starts and first + horizon > last:
            raise fail(key, f"horizon_s {horizon_s:g} is longer than the window "
                       f"{data.start}-{data.end}")  # fmt: skip
        return horizon

    if isinstance(orders, tuple):
        fixed = []
        for i, order in enumerate(orders):
            horizon = check(f"orders.{i}", order.size, order.horizon_s, (order.start,))
            fixed.append(ParentOrder(parse_time_of_day(order.start)[0], horizon, order.size,
                                     order.side))  # fmt: skip
        return Orders(fixed=tuple(fixed))
    low, high = (orders.size,) * 2 if isinstance(orders.size, int) else orders.size
    if low > high:
        raise fail("orders.size", f"[{low}, {high}]: give the smaller size first")
    starts = () if orders.start == "random" else orders.start
    for size in (low, high):
        check("orders", size, orders.horizon_s, starts)
    generator = OrderGenerator(
        per_day=orders.per_day, size=(low, high), side=orders.side, horizon_s=orders.horizon_s,
        starts=starts, seed=orders.seed, step=step,
    )  # fmt: skip
    return Orders(generator=generator)


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return replace(parse_config(raw, path.parent, str(path)), path=path.resolve())
