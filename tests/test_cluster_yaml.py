"""cluster.yaml, checked offline: Ray's own cluster-config checker, then rules of our own.

How Ray checks a cluster config without touching AWS (ray 2.60,
``ray/autoscaler/_private/util.py``):

- ``prepare_config(config)`` = ``fillout_defaults`` (reads the provider's defaults file,
  ``ray/autoscaler/aws/defaults.yaml``, from disk: no boto3, no credentials, no network) +
  ``merge_setup_commands`` (head/worker_setup_commands become setup_commands + their own) +
  ``validate_docker_config`` + ``fill_node_type_min_max_workers``. ``ray up`` runs exactly this
  first; only afterwards does it call AWS (instance-type CPU autodetection, then IAM role, key
  pair, subnets and security group in ``bootstrap_config``). Those AWS steps are not covered here.
- ``validate_config(config)`` = the JSON schema ``ray/autoscaler/ray-schema.json`` (unknown keys
  rejected) + head_node_type / min_workers checks. It must get the *prepared* config: the raw
  YAML lacks ``cluster_synced_files`` (a default), which it reports as a misleading "Ray version
  mismatch" RuntimeError.
- Gotcha: ``fillout_defaults`` merges the defaults per top-level key. A command list left out of
  cluster.yaml silently becomes the defaults' one (a nightly Ray wheel!), hence
  ``test_no_command_list_comes_from_rays_defaults``.

The network is blocked during these tests to prove the offline claim.
"""

from __future__ import annotations

import copy
import re
import socket
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

ROOT = Path(__file__).resolve().parent.parent
CLUSTER_YAML = ROOT / "cluster.yaml"
REMOTE_REPO = "~/sor-sweep"
VENV = f"{REMOTE_REPO}/.venv"
COMMAND_KEYS = (
    "initialization_commands",
    "setup_commands",
    "head_setup_commands",
    "worker_setup_commands",
    "head_start_ray_commands",
    "worker_start_ray_commands",
)
# `pip install ... -e "$HOME/sor-sweep[extras]"` (or ~/sor-sweep): the synced repo, editable.
PROJECT_INSTALL = re.compile(
    r"\.venv/bin/(?:python -m pip|pip) install\b[^\n]*?-e\s+[\"']?(?:\$HOME|~)/sor-sweep"
    r"(?:\[(?P<extras>[^\]]*)\])?[\"']?(?:\s|$)"
)
# Any requirement naming ray itself, e.g. `ray==2.9`, "ray[default]>=2", ray @ https://...
RAY_REQUIREMENT = re.compile(r"(?<![\w/.-])[\"']?ray(?:\[[^\]]*\])?\s*(?:[=<>!~]=|[<>@\"']|$|\s)")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every check here must work offline: any connection attempt fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(CLUSTER_YAML.read_text())


@pytest.fixture
def cluster(raw) -> dict:
    return copy.deepcopy(raw)


def prepared(config: dict) -> dict:
    return prepare_config(copy.deepcopy(config))


def commands(config: dict, *keys: str) -> list[str]:
    return [cmd for key in keys for cmd in config.get(key) or []]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


# ------------------------------------------------------------------ Ray's own checker


def test_ray_accepts_it(cluster):
    config = prepared(cluster)
    validate_config(config)  # raises on any problem
    assert config["head_node_type"] == "head"
    assert set(config["available_node_types"]) == {"head", "worker"}
    assert config["available_node_types"]["head"]["max_workers"] == 0  # filled in by Ray


def test_validate_needs_the_prepared_config(cluster):
    with pytest.raises(RuntimeError, match="cluster_synced_files"):
        validate_config(cluster)


def set_worker_min_workers(config: dict, value: int) -> None:
    config["available_node_types"]["worker"]["min_workers"] = value


@pytest.mark.parametrize(
    ("breakage", "error"),
    [
        (lambda c: c.update(max_workers="four"), jsonschema.ValidationError),
        (lambda c: c.update(head_node_typo="head"), jsonschema.ValidationError),  # unknown key
        (lambda c: c["available_node_types"]["worker"].update(min_worker=0), None),  # typo
        (lambda c: c["available_node_types"]["worker"].pop("node_config"), None),
        (lambda c: c.update(head_node_type="headnode"), ValueError),
        (lambda c: set_worker_min_workers(c, 5), ValueError),  # sum(min_workers) > max_workers
    ],
    ids=[
        "max_workers-str",
        "unknown-top-key",
        "node-type-typo",
        "no-node-config",
        "unknown-head-type",
        "min-above-max",
    ],
)
def test_ray_rejects_a_broken_copy(cluster, breakage, error):
    """Negative controls: the checker above can fail."""
    breakage(cluster)
    with pytest.raises(error or jsonschema.ValidationError):
        validate_config(prepared(cluster))


# ------------------------------------------------------------------ rules of our own


def test_the_cluster_is_the_one_described(cluster):
    assert cluster["cluster_name"] == "sor-sweep"
    assert cluster["provider"] == {
        "type": "aws",
        "region": "us-east-1",
        "availability_zone": "us-east-1a",
        "cache_stopped_nodes": False,
    }
    assert cluster["auth"] == {"ssh_user": "ubuntu"}
    assert (cluster["max_workers"], cluster["idle_timeout_minutes"]) == (4, 10)
    assert cluster["upscaling_speed"] == 1.0


def test_node_types_are_consistent(cluster):
    types = cluster["available_node_types"]
    assert {"head", "worker"} <= set(types) and cluster["head_node_type"] == "head"
    for name, node in prepared(cluster)["available_node_types"].items():
        assert 0 <= node["min_workers"] <= node["max_workers"] <= cluster["max_workers"], name
    assert sum(node.get("min_workers", 0) for node in types.values()) <= cluster["max_workers"]
    images = {node["node_config"]["ImageId"] for node in types.values()}
    assert len(images) == 1, "head and workers must share one AMI (same Python, same OS)"
    assert re.fullmatch(r"ami-(?:[0-9a-f]{8}|[0-9a-f]{17})", images.pop())
    for node in types.values():
        (root,) = node["node_config"]["BlockDeviceMappings"]
        assert root["Ebs"]["VolumeSize"] >= 50 and root["Ebs"]["VolumeType"] == "gp3"


def test_no_command_list_comes_from_rays_defaults(cluster):
    """Left out, a list would be AWS defaults.yaml's (e.g. a nightly Ray wheel in setup)."""
    assert all(key in cluster for key in COMMAND_KEYS)
    everything = "\n".join(commands(prepared(cluster), *COMMAND_KEYS))
    assert "ray-wheels" not in everything and "anaconda3" not in everything


def install_commands(config: dict, key: str) -> list[re.Match]:
    return [m for cmd in commands(config, key) if (m := PROJECT_INSTALL.search(cmd))]


@pytest.mark.parametrize("node", ["head", "worker"])
def test_every_node_installs_this_package(cluster, node):
    config = prepared(cluster)  # head/worker_setup_commands now include setup_commands
    (install,) = install_commands(config, f"{node}_setup_commands")
    assert "dashboard" in (install["extras"] or "").split(",")  # ray[default]: the dashboard
    venvs = {
        m
        for cmd in commands(config, f"{node}_setup_commands")
        for m in re.findall(r"python3\.(\d+) -m venv (?!-)(\S+)", cmd)
    }
    assert venvs and {path for _, path in venvs} == {VENV}
    minimum = pyproject()["project"]["requires-python"].removeprefix(">=")
    assert all(int(minor) >= int(minimum.split(".")[1]) for minor, _ in venvs)


def test_the_install_check_can_fail(cluster):
    for key in ("setup_commands", "worker_setup_commands"):
        cluster[key] = [cmd for cmd in cluster[key] if not PROJECT_INSTALL.search(cmd)]
    assert not install_commands(prepared(cluster), "worker_setup_commands")


def test_ray_comes_only_from_the_projects_pin(cluster):
    """The cluster installs Ray only through pyproject.toml, so it runs the pinned version."""
    project = pyproject()["project"]
    pins = [
        req
        for req in project["dependencies"] + project["optional-dependencies"]["dashboard"]
        if re.match(r"ray\b", req)
    ]
    versions = {req.split("==")[1].strip() for req in pins if "==" in req}
    assert len(pins) == 2 and len(versions) == 1, pins  # ray[tune]==X and ray[default]==X
    import ray

    assert ray.__version__ == versions.pop()  # this venv (the laptop side) matches the pin
    for cmd in commands(cluster, *COMMAND_KEYS):
        for part in re.split(r"&&|\|\||;", cmd):
            if re.search(r"\bpip3? install\b", part):
                assert not RAY_REQUIREMENT.search(part.split("install", 1)[1]), part


@pytest.mark.parametrize(
    "cmd", ["pip install ray==2.9.0", "pip install -U 'ray[default]'", "pip install ray"]
)
def test_the_ray_pin_check_can_fail(cmd):
    assert RAY_REQUIREMENT.search(cmd.split("install", 1)[1])


def test_ray_starts_from_the_project_venv(cluster):
    for cmd in commands(cluster, "head_start_ray_commands", "worker_start_ray_commands"):
        assert re.search(rf"(^|\s){re.escape(VENV)}/bin/ray (stop|start)\b", cmd), cmd
    bashrc = " ".join(commands(cluster, "setup_commands"))
    assert f"source {VENV}/bin/activate' >> ~/.bashrc" in bashrc


def test_head_can_run_the_broker_producer_and_sweep(cluster):
    head = " ".join(commands(cluster, "head_setup_commands"))
    assert "openjdk-17-jre-headless" in head and re.search(r"\bmaven\b", head)
    assert f"{REMOTE_REPO}/kafka/broker.sh start" in head  # fetches the Kafka jars once
    assert re.search(r"python -m pip install -q 'boto3", head)  # the autoscaler launches workers
    worker = " ".join(commands(cluster, "worker_setup_commands"))
    assert "openjdk" not in worker and "broker.sh" not in worker


def dashboard_hosts(config: dict) -> list[str]:
    start = " ".join(commands(config, "head_start_ray_commands"))
    return re.findall(r"--dashboard-host[= ](\S+)", start)


def test_dashboard_stays_on_loopback(cluster):
    assert dashboard_hosts(cluster) == ["127.0.0.1"]
    assert not any("0.0.0.0" in cmd for cmd in commands(cluster, *COMMAND_KEYS))
    cluster["head_start_ray_commands"][-1] += " --dashboard-host=0.0.0.0"
    assert dashboard_hosts(cluster) != ["127.0.0.1"]  # the check can fail


def values(node) -> list:
    """Every key and scalar of the parsed YAML (comments excluded)."""
    if isinstance(node, dict):
        return [*node, *(v for child in node.values() for v in values(child))]
    if isinstance(node, list):
        return [v for child in node for v in values(child)]
    return [node]


def test_nothing_opens_kafka_or_the_dashboard(cluster):
    every = [str(v) for v in values(cluster)]
    assert not [v for v in every if any(s in v for s in ("9092", "8265", "--dashboard-port"))]
    # No security group of ours (Ray's own opens SSH only) and no hand-made network interfaces.
    forbidden = {"security_group", "SecurityGroupIds", "IpPermissions", "NetworkInterfaces"}
    assert not forbidden & set(every)


def test_the_repo_is_synced_without_local_state(cluster):
    assert cluster["file_mounts"] == {REMOTE_REPO: "."}
    assert (CLUSTER_YAML.parent / cluster["file_mounts"][REMOTE_REPO] / "pyproject.toml").is_file()
    excluded = {pattern.strip("/") for pattern in cluster["rsync_exclude"]}
    assert {".venv", "kafka/.cache", "kafka/.data", "data", "results", ".git"} <= excluded
    assert cluster["rsync_filter"] == [".gitignore"]


# ------------------------------------------------------------------ cluster-local.yaml
# The same cluster on one machine (Ray's fake multi-node provider, sweep/local_cluster.py).
# Hand-written rather than generated from cluster.yaml: little is shared (provider, node
# configs, resources, commands all differ), so these tests pin what must agree and name each
# deliberate difference.

LOCAL_YAML = ROOT / "cluster-local.yaml"
# Every top-level key of Ray's own fake_multi_node/example.yaml (not shipped in the wheel):
# the monitor reads them all, without defaults, and dies with a KeyError on a missing one.
MONITOR_KEYS = {
    "cluster_name", "max_workers", "provider", "available_node_types", "head_node_type",
    "auth", "upscaling_speed", "idle_timeout_minutes", "docker", "initialization_commands",
    "setup_commands", "head_setup_commands", "worker_setup_commands", "head_start_ray_commands",
    "worker_start_ray_commands", "file_mounts", "cluster_synced_files",
    "file_mounts_sync_continuously", "rsync_exclude", "rsync_filter",
}  # fmt: skip


@pytest.fixture
def local() -> dict:
    return yaml.safe_load(LOCAL_YAML.read_text())


def test_ray_accepts_the_local_file(local):
    validate_config(copy.deepcopy(local))  # schema + head/worker checks; raises on a problem
    assert set(local) >= MONITOR_KEYS
    assert local["provider"]["type"] == "fake_multinode"


def test_ray_up_cannot_prepare_the_local_file(local):
    """Why sweep.local_cluster runs `ray start --head --autoscaling-config`, not `ray up`: ray
    up's first step needs the provider's defaults file, absent from the wheel. If a Ray release
    ships it, this fails: time to look at `ray up` again."""
    with pytest.raises(FileNotFoundError, match=re.escape("fake_multi_node/example.yaml")):
        prepare_config(copy.deepcopy(local))


def test_the_local_file_mirrors_cluster_yaml(raw, local):
    from ray.autoscaler._private.fake_multi_node.node_provider import FAKE_HEAD_NODE_TYPE

    for key in ("max_workers", "upscaling_speed", "idle_timeout_minutes"):
        assert local[key] == raw[key], key
    # Deliberate: the provider names its head node itself; any other name and the autoscaler
    # launches a node of the missing head type every cycle.
    assert local["head_node_type"] == FAKE_HEAD_NODE_TYPE != raw["head_node_type"]
    aws_types, local_types = raw["available_node_types"], local["available_node_types"]
    workers = set(aws_types) - {raw["head_node_type"]}
    assert set(local_types) - {FAKE_HEAD_NODE_TYPE} == workers == {"worker"}
    for name in workers:
        for key in ("min_workers", "max_workers"):
            assert local_types[name][key] == aws_types[name][key], (name, key)
        assert local_types[name]["resources"]["CPU"] >= 1  # no instance type to read it from
    # Deliberate: no trial CPUs on the local head, so every trial needs a launched worker.
    assert local_types[FAKE_HEAD_NODE_TYPE]["resources"]["CPU"] == 0
    assert local_types[FAKE_HEAD_NODE_TYPE]["max_workers"] == 0


def test_the_mirror_check_can_fail(raw, local):
    local["available_node_types"]["worker"]["max_workers"] = 8
    with pytest.raises(AssertionError, match="max_workers"):
        test_the_local_file_mirrors_cluster_yaml(raw, local)
