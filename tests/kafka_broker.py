"""Access to the real local Kafka broker for tests (kafka/broker.sh; never a mock)."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from router.config import KafkaConfig

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
