"""cluster.yaml, checked offline: Ray's own schema and defaults, then our own rules."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cluster() -> dict:
    return yaml.safe_load((ROOT / "cluster.yaml").read_text())


def test_ray_accepts_it(cluster):
    """prepare_config merges ray/autoscaler/aws/defaults.yaml (a local file: no AWS call)."""
    prepared = prepare_config(copy.deepcopy(cluster))
    validate_config(prepared)
    assert prepared["head_node_type"] == "head"
    assert set(prepared["available_node_types"]) == {"head", "worker"}


@pytest.mark.parametrize(
    "breakage",
    [
        lambda c: c.update(max_workers="four"),
        lambda c: c.update(head_node_typo="head"),
        lambda c: c["available_node_types"]["worker"].update(min_worker=0),  # typo
    ],
)
def test_ray_rejects_a_broken_copy(cluster, breakage):
    broken = copy.deepcopy(cluster)
    breakage(broken)
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(broken))


def commands(cluster: dict, key: str) -> str:
    return "\n".join(cluster.get(key) or [])


def test_every_node_installs_this_package_with_its_pins(cluster):
    setup = commands(cluster, "setup_commands")
    assert re.search(r"pip install -q -e \"\$HOME/sor-sweep\[dashboard\]\"", setup)
    assert "ray==" not in setup and "ray[" not in setup  # Ray comes pinned from pyproject.toml
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(p.startswith("ray[tune]==2.60.0") for p in pins)
    assert cluster["file_mounts"] == {"~/sor-sweep": "."}
    assert {".venv", "kafka/.cache", "kafka/.data"} <= set(cluster["rsync_exclude"])


def test_head_can_run_the_broker_producer_and_sweep(cluster):
    head = commands(cluster, "head_setup_commands")
    assert "openjdk-17-jre-headless" in head and "maven" in head
    assert "kafka/broker.sh start" in head


def test_dashboard_and_kafka_stay_private(cluster):
    text = (ROOT / "cluster.yaml").read_text()
    start = commands(cluster, "head_start_ray_commands")
    assert "--dashboard-host=127.0.0.1" in start and "0.0.0.0" not in text
    assert "SecurityGroup" not in text and "IpPermissions" not in text


def test_node_types_are_consistent(cluster):
    types = cluster["available_node_types"]
    assert cluster["head_node_type"] in types
    worker = types["worker"]
    assert 0 <= worker["min_workers"] <= worker["max_workers"] <= cluster["max_workers"]
    for node in types.values():
        assert re.fullmatch(r"ami-[0-9a-f]{8,17}", node["node_config"]["ImageId"])
