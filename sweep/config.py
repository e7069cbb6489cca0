"""The YAML config, validated once at the boundary into frozen dataclasses.

Validation is a JSON Schema (unknown keys are errors); messages name the file and the key path.
Relative paths resolve against the config file's folder. Kafka client options may reference
environment variables as ``${NAME}`` so that secrets never live in the repo.
"""

from __future__ import annotations

import glob
import itertools
import math
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from router.data.marketdata import MAX_DEPTH, NS_PER_SECOND, parse_time_of_day
from router.data.prices import PRICE_FORMATS
from router.exchange.fees import DEFAULT_FEE, DEFAULT_REBATE, FeeRate, VenueFees
from router.exchange.latency import DEFAULT_LATENCY_MS, VenueLatency
from router.exchange.passive import UNSIGNED_TRADES, FillRules
from router.exchange.queues import PowerProbability, ProbQueueModel, RiskAverseQueueModel
from router.strategies.baselines import check_order
from router.strategies.cont_kukanov import MIN_TAU_S, PlacementSettings
from router.strategies.orders import SIDES, OrderGenerator, Orders, ParentOrder
from router.strategies.placement import RouterParams

_NUMBER_LIST = {"type": "array", "items": {"type": "number"}, "minItems": 1, "uniqueItems": True}
_RATE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "fee": {"type": "number"},
        "rebate": {"type": "number"},
        "latency_ms": {"type": "number", "minimum": 0},
    },
}
_ORDER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["start", "size", "horizon_s"],
    "properties": {
        "start": {"type": "string"},
        "size": {"type": "integer", "minimum": 1},
        "side": {"enum": list(SIDES)},
        "horizon_s": {"type": "number", "exclusiveMinimum": 0},
    },
}
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "data": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "properties": {
                "path": {
                    "oneOf": [
                        {"type": "string", "minLength": 1},
                        {
                            "type": "array",
                            "items": {"type": "string", "minLength": 1},
                            "minItems": 1,
                        },
                    ]
                },
                "prices": {"enum": list(PRICE_FORMATS)},
                "warmup_s": {"type": "number", "minimum": 0},
                "skip_empty_days": {"type": "boolean"},
                "date": {"type": ["string", "null"], "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                "depth": {"type": "integer", "minimum": 1, "maximum": MAX_DEPTH},
                "window": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"start": {"type": "string"}, "end": {"type": "string"}},
                },
                "synthetic": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "seed": {"type": "integer", "minimum": 0},
                        "venues": {"type": "integer", "minimum": 1, "maximum": 8},
                    },
                },
            },
        },
        "order": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"size": {"type": "integer"}, "step": {"type": "integer"}},
        },
        "orders": {
            "type": ["array", "object"],
            "if": {"type": "array"},
            "then": {"minItems": 1, "items": _ORDER},
            "else": {
                "additionalProperties": False,
                "required": ["per_day", "size", "horizon_s"],
                "properties": {
                    "per_day": {"type": "integer", "minimum": 1},
                    "size": {
                        "oneOf": [
                            {"type": "integer", "minimum": 1},
                            {
                                "type": "array",
                                "items": {"type": "integer", "minimum": 1},
                                "minItems": 2,
                                "maxItems": 2,
                            },
                        ]
                    },
                    "side": {"enum": ["buy", "sell", "both"]},
                    "start": {
                        "oneOf": [
                            {"const": "random"},
                            {"type": "array", "items": {"type": "string"}, "minItems": 1},
                        ]
                    },
                    "horizon_s": {"type": "number", "exclusiveMinimum": 0},
                    "seed": {"type": "integer", "minimum": 0},
                },
            },
        },
        "venues": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"default": _RATE},
            "patternProperties": {r"^[0-9]+$": _RATE},
        },
        "grid": {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: _NUMBER_LIST for k in ("lambda_over", "lambda_under", "theta_queue")}
            | {
                "tau_s": _NUMBER_LIST | {"items": {"type": "number", "exclusiveMinimum": 0}},
                "max_points": {"type": "integer", "minimum": 1},
            },
        },
        "router": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "model": {"enum": ["static", "cont_kukanov"]},
                "tau_s": {"type": "number", "exclusiveMinimum": 0},
                "queue_model": {"enum": ["risk_averse", "prob_power"]},
                "queue_power": {"type": "number", "exclusiveMinimum": 0},
                "seed": {"type": "integer", "minimum": 0},
                "min_samples": {"type": "integer", "minimum": 1},
            },
        },
        "kafka": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "bootstrap_servers": {
                    "oneOf": [
                        {"type": "string", "minLength": 1},
                        {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    ]
                },
                "topic": {"type": "string", "minLength": 1},
                "pace": {"type": "number", "minimum": 0},
                "timeout_s": {"type": "number", "exclusiveMinimum": 0},
                "client": {"type": "object"},
            },
        },
        "fills": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "unsigned_trades": {"enum": list(UNSIGNED_TRADES)},
                "quote_cross": {"type": "boolean"},
            },
        },
        "evaluation": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "mode": {"enum": ["in_sample", "walk_forward"]},
                "train_days": {"type": "integer", "minimum": 1},
                "test_days": {"type": "integer", "minimum": 1},
            },
        },
        "source": {"enum": ["kafka", "file"]},
        "ray": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"address": {"type": ["string", "null"]}},
        },
    },
}


class ConfigError(ValueError):
    """A config problem: the message names the file and the key."""


@dataclass(frozen=True)
class DataConfig:
    """Where the market data is and how to read it. ``paths`` are files or glob patterns (one
    trading day per file), resolved against the config's folder."""

    paths: tuple[Path, ...]
    start: str = "13:36:32"
    end: str = "13:45:14"
    depth: int = 1
    date: str | None = None  # one file only: its trading date when it spans several
    prices: str = "auto"  # CSV prices: auto, decimal or fixed (Databento's 1e-9 units)
    warmup_s: float = 300.0  # loaded before the window for estimation only
    skip_empty_days: bool = False
    synthetic_seed: int | None = None  # generate the file with this seed when it is absent
    synthetic_venues: int = 4

    @property
    def single_file(self) -> Path | None:
        """The one file named, when ``paths`` is a single name without glob characters."""
        if len(self.paths) == 1 and not glob.has_magic(str(self.paths[0])):
            return self.paths[0]
        return None


@dataclass(frozen=True)
class OrderConfig:
    """``size``: the default single order's; ``step``: the static allocator's lot, which every
    order size must be a multiple of; ``orders``: the parent orders of each day."""

    size: int = 5000
    step: int = 100
    orders: Orders = field(default_factory=Orders)


@dataclass(frozen=True)
class RouterConfig:
    """Which router the sweep tunes; the rest applies to ``cont_kukanov`` only."""

    model: str = "static"
    tau_s: float = 10.0
    queue_model: str = "risk_averse"
    queue_power: float = 3.0
    seed: int = 0
    min_samples: int = 30  # outflow windows a decision needs

    def placement(self, fills: FillRules | None = None) -> PlacementSettings | None:
        """The Cont & Kukanov settings, or None for the static allocator."""
        if self.model == "static":
            return None
        queue = (
            ProbQueueModel(PowerProbability(self.queue_power))
            if self.queue_model == "prob_power"
            else RiskAverseQueueModel()
        )
        return PlacementSettings(
            tau_s=self.tau_s, queue_model=queue, seed=self.seed, fills=fills or FillRules(),
            min_samples=self.min_samples,
        )  # fmt: skip

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


@dataclass(frozen=True)
class GridConfig:
    lambda_over: tuple[float, ...] = STATIC_GRID["lambda_over"]
    lambda_under: tuple[float, ...] = STATIC_GRID["lambda_under"]
    theta_queue: tuple[float, ...] = STATIC_GRID["theta_queue"]
    tau_s: tuple[float, ...] = ()  # empty: the horizon is router.tau_s, not swept

    @property
    def names(self) -> tuple[str, ...]:
        """The swept keys, slowest first: the penalties, then tau_s when it is a list."""
        return PENALTIES + (("tau_s",) if self.tau_s else ())

    def points(self) -> list[GridPoint]:
        """Every grid point, in grid order (lambda_over slowest, the last name fastest)."""
        values = itertools.product(*(getattr(self, name) for name in self.names))
        return [GridPoint.of(dict(zip(self.names, v, strict=True))) for v in values]

    def first(self) -> GridConfig:
        """The grid's first point alone (``--smoke-test``)."""
        return GridConfig(*(getattr(self, name)[:1] for name in asdict(self)))


@dataclass(frozen=True)
class EvaluationConfig:
    """How the chosen parameters are judged: ``in_sample`` (on the days they were chosen on)
    or ``walk_forward`` (chosen on ``train_days`` days, read out on the next ``test_days``).
    Its intervals draw nothing at random, so it has no resamples and no seed."""

    mode: str = "in_sample"
    train_days: int = 5
    test_days: int = 1


@dataclass(frozen=True)
class KafkaConfig:
    bootstrap_servers: tuple[str, ...] = ("127.0.0.1:9092",)
    topic: str = "mock_l1_stream"
    pace: float = 0.0
    timeout_s: float = 60.0
    client: dict[str, Any] = field(default_factory=dict)  # extra kafka-python options


@dataclass(frozen=True)
class Config:
    data: DataConfig
    order: OrderConfig = field(default_factory=OrderConfig)
    venues: VenueFees = field(default_factory=VenueFees)
    latency: VenueLatency = field(default_factory=VenueLatency)
    grid: GridConfig = field(default_factory=GridConfig)
    router: RouterConfig = field(default_factory=RouterConfig)
    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    fills: FillRules = field(default_factory=FillRules)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    source: str = "file"
    ray_address: str | None = None
    path: Path | None = None  # the config file this came from


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        if error.schema.get("patternProperties"):
            extra = [k for k in extra if not re.fullmatch(r"[0-9]+", k)]
            allowed.append("<publisher_id>")
        return (
            f"{where}: unknown key(s) {', '.join(map(repr, extra))}; allowed: {', '.join(allowed)}"
        )
    if error.validator == "uniqueItems":
        return f"{where}: {error.instance} repeats a value; list each value once"
    if error.validator == "minItems" and not error.instance:
        return f"{where}: empty list; give at least one value (or leave the key out)"
    return f"{where}: {error.message}"


def _expand_env(value: Any, key: str) -> Any:
    """``${NAME}`` in a Kafka client option string is read from the environment."""
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"kafka.client.{key}: environment variable {name} is not set")
        return os.environ[name]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lookup, value)


def parse_config(raw: Any, base: Path, source: str = "<config>") -> Config:
    """Validate a loaded YAML document; relative paths resolve against ``base``."""
    raw = {} if raw is None else raw
    if isinstance(raw, dict) and isinstance(raw.get("venues"), dict):
        raw = raw | {"venues": {str(k): v for k, v in raw["venues"].items()}}
    errors = sorted(
        jsonschema.Draft202012Validator(_SCHEMA).iter_errors(raw), key=lambda e: list(e.path)
    )
    if errors:
        raise ConfigError(f"{source}: " + "; ".join(_describe(e) for e in errors))
    if "data" not in raw:
        raise ConfigError(f"{source}: (top level): 'data' is a required property (data.path)")

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {key}: {message}")

    data, window = raw["data"], raw["data"].get("window", {})
    synthetic = data.get("synthetic")
    names = [data["path"]] if isinstance(data["path"], str) else data["path"]
    data_config = DataConfig(
        paths=tuple((base / name).resolve() for name in names),
        prices=data.get("prices", DataConfig.prices),
        warmup_s=float(data.get("warmup_s", DataConfig.warmup_s)),
        skip_empty_days=data.get("skip_empty_days", DataConfig.skip_empty_days),
        start=window.get("start", DataConfig.start),
        end=window.get("end", DataConfig.end),
        depth=data.get("depth", DataConfig.depth),
        date=data.get("date"),
        synthetic_seed=None if synthetic is None else synthetic.get("seed", 0),
        synthetic_venues=(synthetic or {}).get("venues", DataConfig.synthetic_venues),
    )
    for key in ("start", "end"):
        try:
            parse_time_of_day(getattr(data_config, key))
        except ValueError as exc:
            raise fail(f"data.window.{key}", str(exc)) from None
    if parse_time_of_day(data_config.end)[0] < parse_time_of_day(data_config.start)[0]:
        raise fail("data.window", f"end {data_config.end} is before start {data_config.start}")
    if data_config.single_file is None:
        for key in ("date", "synthetic"):
            if data.get(key) is not None:
                raise fail(
                    f"data.{key}",
                    "applies to a single file; with several files (a list or a glob) each "
                    "file is one trading day read at its own date",
                )

    order = OrderConfig(**raw.get("order", {}))
    try:
        check_order(order.size, order.step)
    except ValueError as exc:
        raise fail("order", str(exc)) from None
    if "orders" in raw:
        if "size" in raw.get("order", {}):
            raise fail("order.size", "sizes the single default order; with orders, give each "
                       "order's size there and remove order.size")  # fmt: skip
        order = replace(order, orders=_orders(raw["orders"], data_config, order.step, fail))
    else:
        order = replace(order, orders=Orders(size=order.size))

    venues = {k: dict(v) for k, v in raw.get("venues", {}).items()}
    latencies = {k: v.pop("latency_ms") for k, v in venues.items() if "latency_ms" in v}
    default = FeeRate(**{"fee": DEFAULT_FEE, "rebate": DEFAULT_REBATE} | venues.get("default", {}))
    fees = VenueFees(
        default=default,
        by_publisher={
            int(k): FeeRate(**{"fee": default.fee, "rebate": default.rebate} | v)
            for k, v in venues.items()
            if k != "default"
        },
    )
    latency = VenueLatency(
        default_ms=float(latencies.pop("default", DEFAULT_LATENCY_MS)),
        by_publisher={int(k): float(v) for k, v in latencies.items()},
    )
    router_raw = raw.get("router", {})
    router = RouterConfig(**router_raw)
    if router.model == "static" and set(router_raw) - {"model"}:
        extra = ", ".join(sorted(set(router_raw) - {"model"}))
        raise fail("router", f"{extra} appl(ies) to model cont_kukanov only; remove or set it")
    if "queue_power" in router_raw and router.queue_model != "prob_power":
        raise fail("router.queue_power", "applies to queue_model prob_power only")
    grid_raw = dict(raw.get("grid", {}))
    short = [v for v in grid_raw.get("tau_s", []) if v < MIN_TAU_S]
    if router.tau_s < MIN_TAU_S or short:
        key, value = ("grid.tau_s", short[0]) if short else ("router.tau_s", router.tau_s)
        raise fail(
            key,
            f"{value} s is shorter than {MIN_TAU_S} s (1 ms), the shortest horizon the replay "
            f"steps by; give {'horizons' if short else 'a horizon'} of at least {MIN_TAU_S} s",
        )
    if "tau_s" in grid_raw:
        if router.model == "static":
            raise fail(
                "grid.tau_s",
                "applies to router.model cont_kukanov only; set that model or remove grid.tau_s",
            )
        if "tau_s" in router_raw:
            raise fail(
                "router.tau_s",
                "grid.tau_s sweeps the horizon; set router.tau_s for one value or grid.tau_s"
                " for a list, not both",
            )
    defaults = STATIC_GRID if router.model == "static" else CONT_KUKANOV_GRID
    max_points = grid_raw.pop("max_points", MAX_GRID_POINTS)
    for key, values in grid_raw.items():
        bad = [v for v in values if not math.isfinite(v)]
        if bad:
            raise fail(f"grid.{key}", f"{bad[0]} is not a finite number; give finite values")
    grid = GridConfig(**(defaults | {k: tuple(float(x) for x in v) for k, v in grid_raw.items()}))
    points = math.prod(len(getattr(grid, name)) for name in grid.names)
    if points > max_points:
        raise fail(
            "grid",
            f"{points:,} grid points, more than grid.max_points ({max_points:,}): each is a Tune "
            "trial; sweep fewer values, or raise grid.max_points if you mean it",
        )

    if "fills" in raw and router.model == "static":
        raise fail(
            "fills",
            "applies to resting orders, which only router.model cont_kukanov posts; the static "
            "allocator only takes liquidity",
        )
    fills = FillRules(**raw.get("fills", {}))

    evaluation = EvaluationConfig(**raw.get("evaluation", {}))
    walk_keys = {"train_days", "test_days"} & set(raw.get("evaluation", {}))
    if evaluation.mode != "walk_forward" and walk_keys:
        raise fail(f"evaluation.{sorted(walk_keys)[0]}", "applies to mode walk_forward only")

    kafka = dict(raw.get("kafka", {}))
    servers = kafka.pop("bootstrap_servers", KafkaConfig.bootstrap_servers)
    client = {k: _expand_env(v, k) for k, v in kafka.pop("client", {}).items()}
    kafka_config = KafkaConfig(
        bootstrap_servers=(servers,) if isinstance(servers, str) else tuple(servers),
        client=client,
        **kafka,
    )
    return Config(
        data=data_config,
        order=order,
        venues=fees,
        latency=latency,
        grid=grid,
        router=router,
        kafka=kafka_config,
        fills=fills,
        evaluation=evaluation,
        source=raw.get("source", "file"),
        ray_address=raw.get("ray", {}).get("address"),
    )


def _orders(raw: Any, data: DataConfig, step: int, fail) -> Orders:
    """The ``orders`` key: every order inside the window, every size a multiple of the step."""
    first = parse_time_of_day(data.start)[0]
    end = parse_time_of_day(data.end)
    last = end[0] + end[1]  # the window's exclusive end, ns after midnight

    def check(key: str, size: int, horizon_s: float, starts: list[str]) -> int:
        if size % step:
            raise fail(key, f"size {size} is not a multiple of order.step ({step})")
        horizon = round(horizon_s * NS_PER_SECOND)
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

    if isinstance(raw, list):
        fixed = []
        for i, item in enumerate(raw):
            horizon = check(f"orders.{i}", item["size"], item["horizon_s"], [item["start"]])
            fixed.append(ParentOrder(parse_time_of_day(item["start"])[0], horizon, item["size"],
                                     item.get("side", "buy")))  # fmt: skip
        return Orders(fixed=tuple(fixed))
    low, high = (raw["size"],) * 2 if isinstance(raw["size"], int) else raw["size"]
    if low > high:
        raise fail("orders.size", f"[{low}, {high}]: give the smaller size first")
    starts = [] if raw.get("start", "random") == "random" else raw["start"]
    for size in (low, high):
        check("orders", size, raw["horizon_s"], starts)
    generator = OrderGenerator(
        per_day=raw["per_day"], size=(low, high), side=raw.get("side", "buy"),
        horizon_s=float(raw["horizon_s"]), starts=tuple(starts), seed=raw.get("seed", 0),
        step=step,
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
