"""Config validation at the boundary: precise messages, unknown keys are errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from router import FeeRate, RouterParams
from sweep.config import PENALTIES, ConfigError, GridPoint, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent


def parse(doc: str, tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text(doc)
    return load_config(path)


def test_default_config_loads_with_the_pinned_defaults():
    config = load_config(ROOT / "configs" / "default.yaml")
    assert config.data.single_file == ROOT / "data" / "synthetic_day.csv"
    assert (config.data.start, config.data.end, config.data.depth) == ("13:36:32", "13:45:14", 10)
    assert (config.order.size, config.order.step) == (5000, 100)
    assert config.router.model == "cont_kukanov" and config.grid.tau_s == (2, 5, 10)
    assert config.router.placement() is not None
    assert config.grid.lambda_over == (0.002, 0.01, 0.05)
    assert config.grid.theta_queue == (0.0, 0.001, 0.005)
    assert len(config.grid.points()) == 81
    assert config.kafka.topic == "mock_l1_stream" and config.source == "file"
    assert config.venues.of(2) == FeeRate(0.0030, 0.0029)
    assert config.venues.of(12345) == FeeRate(0.0030, 0.0020)


def test_static_config_runs_the_tasks_grid():
    config = load_config(ROOT / "configs" / "static.yaml")
    assert config.router.model == "static" and config.router.placement() is None
    assert config.grid.lambda_over == (0.1, 0.4, 1.0)
    assert config.grid.lambda_under == (0.1, 0.6, 1.0)
    assert config.grid.theta_queue == (0.1, 0.3, 0.5)


def test_each_model_has_its_own_default_grid(tmp_path):
    static = parse("data: {path: d.csv}\n", tmp_path)
    assert static.router.model == "static" and static.grid.lambda_under == (0.1, 0.6, 1.0)
    ck = parse("data: {path: d.csv}\nrouter: {model: cont_kukanov}\n", tmp_path)
    assert ck.grid.lambda_under == (0.002, 0.01, 0.05)  # $/share: the model's units
    queue = (
        parse(
            "data: {path: d.csv}\nrouter: {model: cont_kukanov, queue_model: prob_power, "
            "queue_power: 2}\n",
            tmp_path,
        )
        .router.placement()
        .queue_model
    )
    assert queue.probability.power == 2


def test_grid_tau_s_sweeps_the_horizon_fastest_in_grid_order(tmp_path):
    doc = "data: {path: d.csv}\nrouter: {model: cont_kukanov}\n"
    assert parse(doc, tmp_path).grid.names == PENALTIES  # not swept: router.tau_s applies
    assert {p.tau_s for p in parse(doc, tmp_path).grid.points()} == {None}
    grid = parse(doc + "grid: {lambda_over: [0.01], tau_s: [5, 20]}\n", tmp_path).grid
    assert grid.names == (*PENALTIES, "tau_s")
    points = grid.points()
    assert len(points) == 1 * 3 * 3 * 2
    assert [p.tau_s for p in points[:4]] == [5.0, 20.0, 5.0, 20.0]
    assert points[1] == GridPoint(RouterParams(0.01, 0.002, 0.0), 20.0)
    assert [GridPoint.of(p.as_dict()) for p in points] == points
    assert grid.first().points() == [points[0]]


def test_minimal_config_takes_every_default(tmp_path):
    config = parse("data: {path: day.csv}\n", tmp_path)
    assert config.data.paths == (tmp_path / "day.csv",)  # relative to the config file's folder
    assert config.venues.default == FeeRate(0.0030, 0.0020)
    assert config.kafka.bootstrap_servers == ("127.0.0.1:9092",) and config.ray_address is None


def test_grid_max_points_can_be_raised_on_purpose(tmp_path):
    values = ", ".join(str(i) for i in range(1, 1113))
    doc = f"data: {{path: d.csv}}\ngrid: {{max_points: 20000, lambda_over: [{values}]}}\n"
    assert len(parse(doc, tmp_path).grid.points()) == 10_008


def test_data_path_is_a_file_a_list_or_a_glob(tmp_path):
    one = parse("data: {path: day.dbn.zst, prices: fixed}\n", tmp_path).data
    assert one.single_file == tmp_path / "day.dbn.zst" and one.prices == "fixed"
    several = parse("data: {path: [a.csv, b/c.dbn], skip_empty_days: true}\n", tmp_path).data
    assert several.paths == (tmp_path / "a.csv", tmp_path / "b" / "c.dbn")
    assert several.single_file is None and several.skip_empty_days
    pattern = parse("data: {path: 'days/*.csv'}\n", tmp_path).data
    assert pattern.single_file is None and pattern.paths == (tmp_path / "days" / "*.csv",)


def test_venue_ids_as_numbers_or_strings_inherit_the_default(tmp_path):
    doc = "data: {path: d.csv}\nvenues:\n  default: {fee: 0.002}\n  2: {rebate: 0.001}\n  '9': {}\n"
    config = parse(doc, tmp_path)
    assert config.venues.of(2) == FeeRate(0.002, 0.001)  # its own rebate, the default fee
    assert config.venues.of(9) == FeeRate(0.002, 0.0020)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("data: {path: d.csv}\nordr: {size: 5}\n", r"\(top level\): unknown key\(s\) 'ordr'"),
        (
            "data: {path: d.csv, depht: 2}\n",
            r"data: unknown key\(s\) 'depht'; allowed: date, depth",
        ),
        ("data: {path: d.csv}\nvenues: {X2: {fee: 1}}\n", r"venues: unknown key\(s\) 'X2'"),
        ("data: {path: d.csv}\nvenues: {2: {fees: 1}}\n", r"venues.2: unknown key\(s\) 'fees'"),
        (
            "data: {path: d.csv}\norder: {size: 150}\n",
            r"order: order.size must be a positive multiple",
        ),
        (
            "data: {path: d.csv}\ngrid: {theta_queue: []}\n",
            r"grid.theta_queue: empty list; give at least one value \(or leave the key out\)",
        ),
        (
            "data: {path: d.csv}\ngrid: {theta_queue: [a]}\n",
            r"grid.theta_queue.0: 'a' is not of type",
        ),
        ("data: {path: d.csv}\nsource: s3\n", r"source: 's3' is not one of"),
        (  # the bootstrap's keys, gone with it: the intervals draw nothing at random
            "data: {path: d.csv}\nevaluation: {bootstrap_reps: 2000, seed: 0}\n",
            r"evaluation: unknown key\(s\) 'bootstrap_reps', 'seed'; allowed: mode, test_days",
        ),
        ("data: {path: d.csv, window: {start: '9h'}}\n", r"data.window.start: time of day '9h'"),
        ("data: {path: d.csv, window: {start: '14:00'}}\n", r"data.window: end 13:45:14 is before"),
        ("data: {path: d.csv, depth: 11}\n", r"data.depth: 11 is greater than the maximum of 10"),
        ("order: {size: 100}\n", r"'data' is a required property"),
        ("data: {path: d.csv}\nkafka: {pace: -1}\n", r"kafka.pace: -1 is less than the minimum"),
        ("data: [1, 2\n", r"not valid YAML"),
        ("data: {path: d.csv}\nrouter: {model: smart}\n", r"router.model: 'smart' is not one of"),
        ("data: {path: d.csv}\nrouter: {tau_s: 5}\n", r"router: tau_s appl\(ies\) to model cont"),
        (
            "data: {path: d.csv}\nrouter: {model: cont_kukanov, queue_power: 2}\n",
            r"router.queue_power: applies to queue_model prob_power only",
        ),
        (
            "data: {path: d.csv}\nrouter: {model: cont_kukanov, tau_s: 0}\n",
            r"router.tau_s: 0 is less than or equal to the minimum",
        ),
        (
            "data: {path: d.csv}\ngrid: {tau_s: [5]}\n",
            r"grid.tau_s: applies to router.model cont_kukanov only; set that model or remove",
        ),
        (
            "data: {path: d.csv}\nrouter: {model: cont_kukanov, tau_s: 5}\ngrid: {tau_s: [5]}\n",
            r"router.tau_s: grid.tau_s sweeps the horizon; set router.tau_s for one value",
        ),
        (
            "data: {path: d.csv}\nrouter: {model: cont_kukanov}\ngrid: {tau_s: [0, 5]}\n",
            r"grid.tau_s.0: 0 is less than or equal to the minimum",
        ),
        (
            "data: {path: d.csv}\nrouter: {model: cont_kukanov, tau_s: 1.0e-10}\n",
            r"router.tau_s: 1e-10 s is shorter than 0.001 s .*give a horizon of at least 0.001",
        ),
        (
            "data: {path: d.csv}\nrouter: {model: cont_kukanov}\ngrid: {tau_s: [5, 0.0001]}\n",
            r"grid.tau_s: 0.0001 s is shorter than 0.001 s .*give horizons of at least 0.001",
        ),
        (
            "data: {path: d.csv}\ngrid: {lambda_over: [0.1, 0.1]}\n",
            r"grid.lambda_over: \[0.1, 0.1\] repeats a value; list each value once",
        ),
        ("data: {path: d.csv, prices: cents}\n", r"data.prices: 'cents' is not one of"),
        ("data: {path: [a.csv, b.csv], date: '2024-08-01'}\n", r"data.date: applies to a single"),
        ("data: {path: 'days/*.dbn', synthetic: {seed: 1}}\n", r"data.synthetic: applies to a"),
        ("data: {path: []}\n", r"data.path: \[\] is not valid under any of the given schemas"),
        ("data: {path: d.csv}\nfills: {quote_cross: true}\n", r"fills: applies to resting orders"),
        (
            "data: {path: d.csv}\nrouter: {model: cont_kukanov}\nfills: {unsigned_trades: half}\n",
            r"fills.unsigned_trades: 'half' is not one of",
        ),
        ("data: {path: d.csv}\ngrid: {lambda_over: [.nan]}\n", r"grid.lambda_over: nan is not"),
        ("data: {path: d.csv}\ngrid: {theta_queue: [0, .inf]}\n", r"grid.theta_queue: inf is"),
        (
            "data: {path: d.csv}\ngrid: {lambda_over: ["
            + ", ".join(str(i) for i in range(1, 1113))
            + "]}\n",
            r"grid: 10,008 grid points, more than grid.max_points \(10,000\): each is a Tune trial",
        ),
        (
            "data: {path: d.csv}\norders: [{start: '13:44', size: 1000, horizon_s: 120}]\n",
            r"orders.0: an order from 13:44 over 120 s does not fit the window 13:36:32-13:45:14",
        ),
        (
            "data: {path: d.csv}\norders: {per_day: 2, size: 1050, horizon_s: 60}\n",
            r"orders: size 1050 is not a multiple of order.step \(100\)",
        ),
        (
            "data: {path: d.csv}\norders: {per_day: 2, size: [3000, 1000], horizon_s: 60}\n",
            r"orders.size: \[3000, 1000\]: give the smaller size first",
        ),
        (
            "data: {path: d.csv}\norders: {per_day: 2, size: 1000, horizon_s: 600}\n",
            r"orders: horizon_s 600 is longer than the window 13:36:32-13:45:14",
        ),
        (
            "data: {path: d.csv}\norders: {per_day: 2, size: 100, horizon_s: 6, colour: red}\n",
            r"orders: unknown key\(s\) 'colour'",
        ),
        (
            "data: {path: d.csv}\norder: {size: 100}\n"
            "orders: {per_day: 2, size: 100, horizon_s: 6}\n",
            r"order.size: sizes the single default order; with orders",
        ),
        (
            "data: {path: d.csv}\n"
            "orders: [{start: '13:40', size: 100, horizon_s: 6, side: short}]\n",
            r"orders.0.side: 'short' is not one of \['buy', 'sell'\]",
        ),
    ],
)
def test_bad_config_names_the_key(tmp_path, doc, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse(doc, tmp_path)
    assert str(tmp_path / "c.yaml") in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match=r"config file not found: .*nope.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_kafka_client_secrets_come_from_the_environment(tmp_path, monkeypatch):
    raw = yaml.safe_load(
        "data: {path: d.csv}\nkafka:\n  client: {sasl_plain_password: '${KAFKA_PW}', retries: 3}\n"
    )
    monkeypatch.setenv("KAFKA_PW", "s3cret")
    assert parse_config(raw, tmp_path).kafka.client == {
        "sasl_plain_password": "s3cret",
        "retries": 3,
    }
    monkeypatch.delenv("KAFKA_PW")
    expected = r"^<config>: kafka\.client\.sasl_plain_password: environment variable KAFKA_PW"
    with pytest.raises(ConfigError, match=expected):
        parse_config(raw, tmp_path)


def test_orders_a_list_or_a_generator(tmp_path):
    from router.strategies.orders import OrderGenerator, ParentOrder

    fixed = parse("data: {path: d.csv}\norders: [{start: '13:40', size: 300, side: sell, "
                  "horizon_s: 60}]\n", tmp_path).order.orders  # fmt: skip
    assert fixed.fixed == (ParentOrder(49_200 * 10**9, 60 * 10**9, 300, "sell"),)
    drawn = parse("data: {path: d.csv}\norder: {step: 50}\norders: {per_day: 3, size: [100, "
                  "500], side: both, horizon_s: 30, seed: 4}\n", tmp_path).order.orders  # fmt: skip
    assert drawn.generator == OrderGenerator(3, (100, 500), "both", 30.0, (), 4, 50)
    assert parse("data: {path: d.csv}\norder: {size: 700}\n", tmp_path).order.orders.size == 700


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        # no infinity or NaN where none means anything; a real date; nothing that rounds to 0 ns
        (
            "data: {path: d.csv}\nrouter: {model: cont_kukanov, tau_s: .inf}\n",
            r"router\.tau_s: inf is not a finite number",
        ),
        ("data: {path: d.csv}\nkafka: {timeout_s: .nan}\n", r"kafka\.timeout_s: nan is not a"),
        ("data: {path: d.csv, warmup_s: .inf}\n", r"data\.warmup_s: inf is not a finite number"),
        (
            "data: {path: d.csv, date: '2024-13-45'}\n",
            r"data\.date: '2024-13-45' is not a real date; give YYYY-MM-DD",
        ),
        (
            "data: {path: d.csv}\norders: [{start: '13:40', size: 100, horizon_s: 1.0e-12}]\n",
            r"orders\.0: horizon_s 1e-12 rounds to 0 ns: an order no one could trade",
        ),
        (
            "data: {path: d.csv}\nvenues: {default: {latency_ms: 1.0e-9}}\n",
            r"venues\.default\.latency_ms: 1e-09 ms rounds to 0 ns; give 0 for no latency",
        ),
        # a wrong type deep down names its whole key path
        (
            "data: {path: d.csv, window: {start: 5}}\n",
            r"data\.window\.start: 5 is not of type 'string'",
        ),
        (
            "data: {path: d.csv}\nvenues: {2: {fee: '0.001'}}\n",
            r"venues\.2\.fee: '0\.001' is not of type 'number'",
        ),
        ("data: {path: d.csv, window: [1]}\n", r"data\.window: \[1\] is not of type 'object'"),
        (
            "data: {path: d.csv}\nrouter: [cont_kukanov]\n",
            r"router: \['cont_kukanov'\] is not of type 'object'",
        ),
        # no coercion: a bool is not a number, nor a string a number, nor 2.5 a count
        (
            "data: {path: d.csv}\ngrid: {lambda_over: [true]}\n",
            r"grid\.lambda_over\.0: True is not of type 'number'",
        ),
        (
            "data: {path: d.csv}\nkafka: {pace: true}\n",
            r"kafka\.pace: True is not of type 'number'",
        ),
        ("data: {path: d.csv, depth: true}\n", r"data\.depth: True is not of type 'integer'"),
        ("data: {path: d.csv, depth: 2.5}\n", r"data\.depth: 2\.5 is not of type 'integer'"),
        (
            "data: {path: d.csv}\norder: {size: '5000'}\n",
            r"order\.size: '5000' is not of type 'integer'",
        ),
        (
            "data: {path: d.csv, skip_empty_days: 1}\n",
            r"data\.skip_empty_days: 1 is not of type 'boolean'",
        ),
        # unknown keys at any depth, with the keys allowed there
        (
            "data: {path: d.csv}\norders: [{start: '13:40', size: 100, horizon_s: 6, tint: red}]\n",
            r"orders\.0: unknown key\(s\) 'tint'; allowed: horizon_s, side, size, start",
        ),
        (
            "data: {path: d.csv, window: {begin: '13:40'}}\n",
            r"data\.window: unknown key\(s\) 'begin'; allowed: end, start",
        ),
        (
            "data: {path: d.csv, synthetic: {sed: 1}}\n",
            r"data\.synthetic: unknown key\(s\) 'sed'; allowed: seed, venues",
        ),
        (
            "data: {path: d.csv}\nvenues: {default: {latency: 1}}\n",
            r"venues\.default: unknown key\(s\) 'latency'",
        ),
        ("data: {path: d.csv}\norders: 5\n", r"orders: 5 is not of type 'array', 'object'"),
        ("data: {path: d.csv}\norders: []\n", r"orders: empty list; give at least one value"),
        (
            "data: {path: d.csv}\ngrid: {tau_s: []}\n",
            r"grid\.tau_s: empty list; give at least one value",
        ),
        (
            "data: {path: d.csv}\nrouter: {model: cont_kukanov}\ngrid: {tau_s: [.nan]}\n",
            r"grid\.tau_s: nan is not a finite number; give finite values",
        ),
        (
            "data: {path: d.csv}\nvenues: {2: {fee: .nan}}\n",
            r"venues\.2\.fee: nan is not a finite number",
        ),
    ],
)
def test_wrong_types_and_unknown_keys_name_the_key_path(tmp_path, doc, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse(doc, tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'c.yaml'}: ")


def test_yaml_native_values_are_taken_as_they_come(tmp_path):
    config = parse(
        "data: {path: d.csv, warmup_s: 0}\n"
        "venues: {default: {fee: 0, rebate: 0, latency_ms: 2}, 3: {latency_ms: 0}}\n"
        "router: {model: cont_kukanov, queue_model: prob_power, queue_power: 2}\n"
        "grid: {tau_s: [1, 2.5]}\n"
        "kafka: {bootstrap_servers: 'a:9092', pace: 1, client: {retries: 3, 7: [x]}}\n"
        "ray: {address: auto}\nsource: kafka\n",
        tmp_path,
    )
    assert config.data.warmup_s == 0 and config.venues.of(3) == FeeRate(0, 0)
    assert config.latency.default_ms == 2 and config.latency.by_publisher == {3: 0}
    assert config.grid.tau_s == (1.0, 2.5) and config.router.queue_power == 2
    assert config.kafka.bootstrap_servers == ("a:9092",)
    assert config.kafka.client == {"retries": 3, 7: ["x"]}  # kafka-python's options: free-form
    assert (config.ray_address, config.source) == ("auto", "kafka")


def test_lz4_without_its_package_is_refused_before_anything_is_sent(tmp_path, monkeypatch):
    from kafka import codec

    monkeypatch.setattr(codec, "has_lz4", lambda: False)
    (tmp_path / "c.yaml").write_text("data: {path: x.csv}\nkafka: {compression: lz4}\n")
    with pytest.raises(
        ConfigError,
        match=r"c\.yaml: kafka\.compression: lz4 needs the lz4 package: pip install "
        r"'sor-sweep\[lz4\]', or use zstd",
    ):
        load_config(tmp_path / "c.yaml")


def test_a_sweep_asking_for_too_much_work_is_refused_with_the_figure_and_the_key(tmp_path):
    """A million orders a day over the default 27 points: 27 million order replays."""
    (tmp_path / "c.yaml").write_text(
        "data: {path: d.csv}\nrouter: {model: cont_kukanov}\n"
        "orders: {per_day: 1000000, size: 100, horizon_s: 60}\n"
    )
    with pytest.raises(
        ConfigError,
        match=r"c\.yaml: grid: 27,000,000 order replays \(1,000,000 orders a day x 1 day\(s\) x "
        r"27 grid points\), more than grid\.max_replays \(100,000\): .* raise grid\.max_replays",
    ):
        load_config(tmp_path / "c.yaml")


def test_the_work_bound_counts_the_days_a_pattern_matches(tmp_path):
    for date in ("20240801", "20240802", "20240805"):
        (tmp_path / f"d-{date}.csv").write_text("")
    (tmp_path / "c.yaml").write_text(
        "data: {path: d-*.csv}\norders: {per_day: 10, size: 100, horizon_s: 60}\n"
        "grid: {max_replays: 809}\n"  # 10 x 3 x 27 = 810
    )
    with pytest.raises(ConfigError, match=r"810 order replays \(10 orders a day x 3 day\(s\)"):
        load_config(tmp_path / "c.yaml")
    text = (tmp_path / "c.yaml").read_text().replace("809", "810")
    (tmp_path / "c.yaml").write_text(text)
    assert load_config(tmp_path / "c.yaml").max_replays == 810
