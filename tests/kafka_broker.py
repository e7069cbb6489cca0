"""Access to the real local Kafka broker for tests (kafka/broker.sh; never a mock)."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from sweep.config import KafkaConfig

PORT = int(os.environ.get("KAFKA_PORT", "9092"))
SERVERS = (f"127.0.0.1:{PORT}",)


def broker_up() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", PORT)) == 0


def require_broker() -> None:
    """Fail in CI, skip elsewhere, when no broker listens: tests never silently pass."""
    if broker_up():
        return
    message = f"no Kafka broker on 127.0.0.1:{PORT}; start one with: kafka/broker.sh start"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def fresh_topic(**overrides) -> KafkaConfig:
    """A KafkaConfig on a topic no other test uses."""
    return KafkaConfig(bootstrap_servers=SERVERS, topic=f"t-{uuid.uuid4().hex[:12]}", **overrides)


def delete_before(topic: str, offset: int) -> None:
    """Delete partition 0's records before ``offset``, as retention would."""
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=list(SERVERS))
    admin.delete_records({TopicPartition(topic, 0): offset})
    admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SecondBroker:
    """A broker of its own (own ports, own data folder) that a test may kill: the shared one
    stays up for every other test."""

    def __init__(self, folder) -> None:
        import pathlib

        self.kit = pathlib.Path(__file__).resolve().parent.parent / "kafka" / "broker.sh"
        self.port = free_port()
        self.env = os.environ | {
            "KAFKA_DATA_DIR": str(folder),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
            "KAFKA_HEAP_OPTS": "-Xmx256m -Xms128m",
        }
        self.pid_file = pathlib.Path(folder) / "broker.pid"
        self.servers = (f"127.0.0.1:{self.port}",)

    def __enter__(self) -> SecondBroker:
        import subprocess

        subprocess.run([str(self.kit), "start"], env=self.env, check=True, capture_output=True)
        return self

    def kill(self) -> None:
        """SIGKILL: the broker vanishes mid-conversation, as a crashed host would."""
        import signal

        os.kill(int(self.pid_file.read_text()), signal.SIGKILL)

    def __exit__(self, *exc) -> None:
        import subprocess

        subprocess.run([str(self.kit), "stop"], env=self.env, capture_output=True)
