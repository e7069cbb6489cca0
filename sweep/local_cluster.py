"""``python -m sweep.local_cluster up|down``: cluster.yaml's workflow on one machine.

``up`` starts an autoscaling Ray head with Ray's fake multi-node provider
(``cluster-local.yaml``): ``RAY_FAKE_CLUSTER=1 ray start --head --block --autoscaling-config``,
detached, in its own folder. The autoscaler then launches worker "nodes" (each a set of Ray
processes on this machine) when trials queue for CPUs, as it launches EC2 instances on AWS.
``ray up`` cannot start this provider: its defaults file is not in the wheel, and the provider
has no way to create a head node (it only adds workers to a head that already runs).

``down`` stops every process of that cluster and only those, found through ``/proc`` (Linux):
the head's session (``up`` starts the head as a session leader; Ray's processes and the
autoscaler's nodes stay in it) and, for what Ray starts in sessions of its own (job drivers),
the environment variable ``SOR_SWEEP_LOCAL_CLUSTER=<its folder>`` they inherit. Never
``ray stop``: it would stop every Ray cluster on the machine, other users' too.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MARKER = "SOR_SWEEP_LOCAL_CLUSTER"
DEFAULT_DIR = Path("/tmp/sor-sweep-cluster")  # short: Ray's socket paths live under it
START_TIMEOUT_S = 90.0  # ray start, then the dashboard's job API and the autoscaler's status
HEAD_STOP_TIMEOUT_S = 45.0  # the head drains for up to 30 s on SIGTERM, then stops its processes
TERM_TIMEOUT_S = 20.0  # leftovers (worker nodes' agents) after SIGTERM, before SIGKILL


class ClusterError(RuntimeError):
    """The local cluster cannot start or stop; the message says why and what to do."""


@dataclass(frozen=True)
class Head:
    """A running local head: enough to submit jobs to it and to stop it."""

    pid: int
    gcs_address: str
    dashboard_url: str
    folder: Path
    auth_mode: str  # RAY_AUTH_MODE: Ray's CLI needs the same to talk to it


def node_ip() -> str:
    """The address Ray gives this machine; the fake provider's nodes use it too."""
    from ray._private.services import get_node_ip_address

    return get_node_ip_address()


def head_pid(folder: Path) -> int | None:
    """The head's pid as ``up`` recorded it: the id of the session it leads."""
    with contextlib.suppress(OSError, ValueError):
        return int((folder / "head.pid").read_text())
    return None


def cluster_pids(folder: Path) -> list[int]:
    """Live processes of this cluster: every process of the head's session (all that ray start
    and the autoscaler's nodes start, whatever title they give themselves: a long one
    overwrites /proc's copy of the environment), and the ones carrying the marker that Ray
    starts in sessions of their own (job drivers). Zombies are left to their parent."""
    session = head_pid(folder)
    tag = f"{MARKER}={folder.resolve()}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, _, _, sid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:4]
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or another user's process
            continue
        if state != "Z" and (int(sid) == session or tag in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def port_holder(port: int) -> str:
    """' by pid N (name)' for the process listening on ``port``, when /proc tells us."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                    inodes.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    name = (entry / "comm").read_text().strip()
                    return f" by pid {entry.name} ({name})"
    return ""


def check_ports_free(ports: dict[str, int]) -> None:
    """Raise naming the first port already taken: before anything starts, not half-way."""
    for what, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Ray's servers do
            try:
                probe.bind(("0.0.0.0", port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise ClusterError(f"port {port} ({what}): {exc.strerror}") from None
                raise ClusterError(
                    f"port {port} ({what}) is already in use{port_holder(port)}: another Ray "
                    f"cluster? Stop it, or pick other ports (see --help)"
                ) from None


def auth_token() -> str:
    """The token Ray's CLI and this head share (RAY_AUTH_TOKEN[_PATH] or ~/.ray/auth_token)."""
    from ray._raylet import AuthenticationTokenLoader

    loader = AuthenticationTokenLoader.instance()
    if not loader.has_token(ignore_auth_mode=True):
        raise ClusterError(
            "no Ray auth token: create one with `ray get-auth-token --generate > /dev/null`"
        )
    return loader.get_raw_token(ignore_auth_mode=True)


def autoscaling_config(source: Path, gcs_address: str) -> dict:
    """cluster-local.yaml with the head's address, where the provider's nodes join it."""
    config = yaml.safe_load(source.read_text())
    config["provider"]["gcs_address"] = gcs_address
    return config


def head_ready(dashboard_url: str, token: str | None) -> bool:
    """Jobs can be submitted and the autoscaler has reported at least once."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"{dashboard_url}/api/cluster_status", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status = json.load(response)
    except (OSError, ValueError):  # not listening yet, HTTP errors, half-written answers
        return False
    return bool(status.get("data", {}).get("autoscalingStatus"))


def tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def up(
    folder: Path = DEFAULT_DIR,
    *,
    config: Path = ROOT / "cluster-local.yaml",
    port: int = 6379,
    dashboard_port: int = 8265,
    client_port: int = 10001,
) -> Head:
    """Start the autoscaling head detached; return once it takes jobs and autoscales."""
    folder = folder.resolve()
    if alive := cluster_pids(folder):
        raise ClusterError(
            f"a local cluster from {folder} is already up ({len(alive)} processes): "
            f"`python -m sweep.local_cluster down --dir {folder}` first"
        )
    check_ports_free({"Ray GCS": port, "dashboard": dashboard_port, "Ray client": client_port})
    mode = os.environ.get("RAY_AUTH_MODE", "token")  # token unless the user opted out
    token = auth_token() if mode == "token" else None
    settings = yaml.safe_load(config.read_text())
    head_cpus = settings["available_node_types"][settings["head_node_type"]]["resources"]["CPU"]
    gcs_address = f"{node_ip()}:{port}"
    folder.mkdir(parents=True, exist_ok=True)
    bootstrap = folder / "autoscaling.yaml"
    bootstrap.write_text(yaml.safe_dump(autoscaling_config(config, gcs_address)))
    bin_dir = Path(sys.executable).parent
    env = os.environ | {
        "RAY_FAKE_CLUSTER": "1",  # the provider refuses to run without it
        "RAY_AUTH_MODE": mode,
        # `python` in job entrypoints is this venv's, as cluster.yaml's ~/.bashrc makes it
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        MARKER: str(folder),
    }
    command = [
        str(bin_dir / "ray"), "start", "--head", "--block", "--disable-usage-stats",
        f"--port={port}", f"--dashboard-port={dashboard_port}",
        f"--ray-client-server-port={client_port}", "--dashboard-agent-listen-port=0",
        f"--num-cpus={head_cpus}", f"--temp-dir={folder / 'ray'}",
        f"--autoscaling-config={bootstrap}",
    ]  # fmt: skip
    log = folder / "head.log"
    with open(log, "w") as out:
        head = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=folder,
        )  # fmt: skip
    (folder / "head.pid").write_text(f"{head.pid}\n")
    dashboard_url = f"http://127.0.0.1:{dashboard_port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while not head_ready(dashboard_url, token):
        if head.poll() is not None:
            down(folder)  # whatever it started before it failed
            raise ClusterError(f"the Ray head exited ({head.returncode}); {log}:\n{tail(log)}")
        if time.monotonic() > deadline:
            down(folder)
            raise ClusterError(f"the Ray head was not ready in {START_TIMEOUT_S:g} s; {log}")
        time.sleep(0.5)
    return Head(head.pid, gcs_address, dashboard_url, folder, mode)


def _wait_gone(pids: list[int], folder: Path, timeout: float) -> list[int]:
    """Poll until none of ``pids`` is a process of the cluster, or the deadline; the survivors."""
    deadline = time.monotonic() + timeout
    while (left := sorted(set(pids) & set(cluster_pids(folder)))) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _signal(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def down(folder: Path = DEFAULT_DIR) -> int:
    """Stop this cluster's processes: the head first (it drains and stops its own), then what
    outlives it (worker nodes' raylets and agents), SIGKILL for the last; return how many."""
    folder = folder.resolve()
    pids = cluster_pids(folder)
    head = head_pid(folder)
    if head in pids:
        _signal([head], signal.SIGTERM)
        _wait_gone([head], folder, HEAD_STOP_TIMEOUT_S)
    for signum in (signal.SIGTERM, signal.SIGKILL):  # agents may ignore SIGTERM for long
        if left := cluster_pids(folder):
            _signal(left, signum)
            _wait_gone(left, folder, TERM_TIMEOUT_S)
    if left := cluster_pids(folder):
        raise ClusterError(f"processes {left} of the local cluster in {folder} survived SIGKILL")
    (folder / "head.pid").unlink(missing_ok=True)
    return len(pids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sweep.local_cluster",
        description="cluster.yaml's autoscaling workflow on one machine (Ray's fake provider).",
    )
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the cluster's own folder")
    parser.add_argument("--config", type=Path, default=ROOT / "cluster-local.yaml")
    parser.add_argument("--port", type=int, default=6379, help="Ray GCS port")
    parser.add_argument("--dashboard-port", type=int, default=8265)
    parser.add_argument("--client-port", type=int, default=10001, help="Ray client port")
    args = parser.parse_args(argv)
    try:
        if args.action == "down":
            count = down(args.dir)
            print(f"stopped {count} processes of the local cluster in {args.dir}")
            return 0
        head = up(
            args.dir, config=args.config, port=args.port,
            dashboard_port=args.dashboard_port, client_port=args.client_port,
        )  # fmt: skip
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"local cluster up: head pid {head.pid}, GCS {head.gcs_address}, dashboard "
        f"{head.dashboard_url}\nsubmit: RAY_AUTH_MODE={head.auth_mode} ray job submit --address "
        f"{head.dashboard_url} -- python -m sweep $PWD/CONFIG --address auto --out $PWD/results\n"
        f"status: RAY_AUTH_MODE={head.auth_mode} ray status --address {head.gcs_address}\n"
        f"stop:   python -m sweep.local_cluster down --dir {head.folder}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
