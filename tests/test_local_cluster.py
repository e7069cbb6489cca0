"""cluster.yaml's workflow on one machine, for real: `python -m sweep.local_cluster up` (Ray's
fake multi-node provider, the real autoscaler), `ray job submit` of `python -m sweep`, the
autoscaler launching worker nodes while trials queue, the report, `down` leaving no process.

Every Ray process here belongs to a cluster this test started, in its own folder and on free
ports: other Ray clusters on the machine are never touched (no `ray stop`). Waits are on events
with deadlines (the CLI's own exit, `up`'s readiness poll, the node table's, `down`'s).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.sweep_cli import run_sweep

ROOT = Path(__file__).resolve().parent.parent
RAY = str(Path(sys.executable).parent / "ray")
pytestmark = pytest.mark.skipif(
    not Path("/proc/self/environ").exists(), reason="sweep.local_cluster finds processes in /proc"
)
# What legitimately differs between the cluster's report and a single process's: wall times,
# how many nodes ran trials, and Tune's trial ids, whose prefix is random per run (the suffix,
# the best point's index in the grid, must agree). No path or address is in the report.
IGNORED = {("timings_s",), ("trials", "nodes"), ("trials", "best_trial_id")}
SETTLE_TIMEOUT_S = 90.0  # launched nodes joining the node table after the job
GRID = "{lambda_over: [0.002, 0.05], lambda_under: [0.01], theta_queue: [0], tau_s: [5, 10]}"


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now (the OS's picks), so no other Ray cluster is in the way."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("0.0.0.0", 0))
        return [sock.getsockname()[1] for sock in socks]


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """Token auth with a token of the test's own (~/.ray is left alone), and this checkout's
    code on every node: the head passes its environment to worker nodes, trials and jobs."""
    token = tmp_path / "auth_token"
    token.write_text(secrets.token_hex(32))
    return os.environ | {
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture
def folder():
    """The cluster's own folder: short (Ray's socket paths live under it), removed after."""
    path = Path(tempfile.mkdtemp(prefix="sorlc-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def local_cluster(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sweep.local_cluster", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=240,
    )  # fmt: skip


def leftovers(folder: Path, session: int) -> list[str]:
    """Live processes of that cluster, by a wider net than sweep.local_cluster's: the folder
    anywhere in their command line or environment, or the head's session."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            state, _, _, sid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:4]
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if state != "Z" and (str(folder).encode() in cmdline + environ or int(sid) == session):
            found.append(f"{entry.name}: {cmdline[:80]!r}")
    return found


def cluster_state(dashboard: str, env: dict[str, str], job: str | None = None) -> dict:
    """The cluster's own record, through Ray's state and job APIs (another process, so that
    this one's Ray settings do not matter): the GCS node table, the cluster events (the
    autoscaler's among them) and the job's start and end."""
    script = f"""
import json
from ray.job_submission import JobSubmissionClient
from ray.util.state import list_cluster_events, list_nodes
job = {job!r} and JobSubmissionClient({dashboard!r}).get_job_info({job!r})
print(json.dumps({{
    "nodes": [n.__dict__ for n in list_nodes(address={dashboard!r}, detail=True)],
    "events": [e.__dict__ for e in list_cluster_events(address={dashboard!r}, detail=True)],
    "job": job and {{"start_ms": job.start_time, "end_ms": job.end_time, "status": job.status}},
}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def launches(state: dict) -> list[tuple[float, int]]:
    """(epoch seconds, node count) of the autoscaler's launch events."""
    return [
        (datetime.fromisoformat(e["time"]).timestamp(), int(m[1]))
        for e in state["events"]
        if e["source_type"] == "AUTOSCALER"
        and (m := re.fullmatch(r"Adding (\d+) node\(s\) of type worker\.", e["message"]))
    ]


def workers_of(state: dict) -> list[dict]:
    return [n for n in state["nodes"] if not n["is_head_node"]]


def settled_state(dashboard: str, env: dict[str, str], job: str) -> dict:
    """The state once every node the autoscaler launched has joined: a batch's event comes
    when its last node is up, possibly after a short job ended. Polled, with a deadline."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        state = cluster_state(dashboard, env, job=job)
        launched = sum(count for _, count in launches(state))
        if launched and launched == len(workers_of(state)):
            return state
        assert time.monotonic() < deadline, f"launched {launched}, joined: {state['nodes']}"


def without(report: dict, ignored: set[tuple[str, ...]]) -> dict:
    report = json.loads(json.dumps(report))
    for path in ignored:
        *parents, key = path
        node = report
        for parent in parents:
            node = node[parent]
        del node[key]
    return report


def test_a_taken_port_is_a_clear_error_before_anything_starts(tmp_path, env):
    port, dashboard, client = free_ports(3)
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", port))
        holder.listen()
        folder = tmp_path / "cluster"
        done = local_cluster(
            "up", "--dir", str(folder), "--port", str(port),
            "--dashboard-port", str(dashboard), "--client-port", str(client), env=env,
        )  # fmt: skip
    assert done.returncode == 1
    assert re.fullmatch(
        rf"error: port {port} \(Ray GCS\) is already in use by pid {os.getpid()} \(\S+\): "
        r"another Ray cluster\? Stop it, or pick other ports \(see --help\)\n",
        done.stderr,
    ), done.stderr
    assert not folder.exists()  # nothing written, nothing started


def test_the_cluster_workflow_end_to_end(tmp_path, env, folder):
    """up -> ray job submit -> workers launched while trials queue -> the report equals a
    single process's -> down leaves no process -> a job for the dead cluster fails fast."""
    from producer.synthetic import generate

    generate(tmp_path / "day.csv", seed=3, venues=4, rows=3000)
    config = tmp_path / "c.yaml"
    config.write_text(f"data: {{path: day.csv}}\nrouter: {{model: cont_kukanov}}\ngrid: {GRID}\n")
    single = json.loads(run_sweep(config, tmp_path / "single").stdout)  # no cluster: ray.init()

    port, dashboard_port, client_port = free_ports(3)
    ports = ["--port", str(port), "--dashboard-port", str(dashboard_port)]
    ports += ["--client-port", str(client_port)]
    started = local_cluster("up", "--dir", str(folder), *ports, env=env)
    assert started.returncode == 0, started.stderr
    head = int((folder / "head.pid").read_text())
    dashboard = f"http://127.0.0.1:{dashboard_port}"
    try:
        nodes = cluster_state(dashboard, env)["nodes"]
        # The head alone, without trial CPUs: every trial needs a worker the autoscaler launches.
        assert [(n["is_head_node"], n["resources_total"].get("CPU", 0)) for n in nodes] == [
            (True, 0)
        ]

        out = tmp_path / "cluster"
        job = subprocess.run(
            [RAY, "job", "submit", "--address", dashboard, "--submission-id", "sweep-e2e", "--",
             "python", "-m", "sweep", str(config), "--address", "auto", "--quiet",
             "--out", str(out)],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
        state = settled_state(dashboard, env, job="sweep-e2e")

        # Again, with the cluster up: same ports (another folder), then the same folder.
        again = local_cluster("up", "--dir", str(tmp_path / "second"), *ports, env=env)
        assert again.returncode == 1
        assert again.stderr.startswith(f"error: port {port} (Ray GCS) is already in use by pid ")
        assert "(gcs_server)" in again.stderr and not (tmp_path / "second").exists()
        again = local_cluster("up", "--dir", str(folder), *ports, env=env)
        assert again.returncode == 1
        assert again.stderr.startswith(f"error: a local cluster from {folder} is already up (")
    finally:
        stopped = local_cluster("down", "--dir", str(folder), env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert re.fullmatch(
        rf"stopped \d+ processes of the local cluster in {folder}\n", stopped.stdout
    )
    assert leftovers(folder, head) == []

    # The autoscaler, by the cluster's own record: its "Adding N node(s)" events came after
    # the job started (before it, the head was alone), and every worker node in the GCS node
    # table started after the job did, as many as the events launched.
    start_ms = state["job"]["start_ms"]
    assert state["job"]["status"] == "SUCCEEDED"
    for when, _ in launches(state):  # event times are whole seconds
        assert start_ms // 1000 <= when, (when, start_ms)
    workers = workers_of(state)
    assert 1 <= len(workers) <= 4  # cluster-local.yaml's max_workers
    for node in workers:
        assert start_ms < node["start_time_ms"], node
        assert node["resources_total"]["CPU"] == 2

    # Trials ran on those worker nodes only, never on the head.
    report = json.loads((out / "report.json").read_text())
    with open(out / "trials.csv") as fh:
        trial_nodes = [row["node_id"] for row in csv.DictReader(fh)]
    assert len(trial_nodes) == report["trials"]["count"] == 4
    assert set(trial_nodes) <= {n["node_id"] for n in workers}
    assert report["trials"]["nodes"] == len(set(trial_nodes))

    # The same numbers as one process.
    assert without(report, IGNORED) == without(single, IGNORED)
    best = report["trials"]["best_trial_id"]
    assert best.rsplit("_", 1)[1] == single["trials"]["best_trial_id"].rsplit("_", 1)[1]

    # A job for the dead cluster: Ray's CLI says it cannot connect, within the timeout.
    dead = subprocess.run(
        [RAY, "job", "submit", "--address", dashboard, "--", "python", "-c", "pass"],
        capture_output=True, text=True, env=env, timeout=30,
    )  # fmt: skip
    assert dead.returncode == 1
    assert f"ConnectionError: Failed to connect to Ray at address: {dashboard}." in dead.stderr
