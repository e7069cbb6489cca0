"""The four rooms of router/ and the one way their imports run: data <- exchange <- strategies,
analysis reading data and fills; and the domain never imports Kafka, Ray or the config's YAML."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROUTER = Path(__file__).resolve().parent.parent / "router"
#: What each room may import from router/ (itself included).
ALLOWED = {
    "data": {"data"},
    "exchange": {"data", "exchange"},
    "strategies": {"data", "exchange", "strategies"},
    "analysis": {"data", "exchange", "analysis"},
}


def imported(path: Path) -> set[str]:
    """Every module a file imports, by its full dotted name."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_imports_run_one_way(room):
    for path in sorted((ROUTER / room).glob("*.py")):
        rooms = {name.split(".")[1] for name in imported(path)
                 if name.startswith("router.")}  # fmt: skip
        assert rooms <= ALLOWED[room], f"{path.relative_to(ROUTER.parent)} imports {rooms}"


def test_the_rooms_are_all_of_router():
    """Every module lives in a room, but the package's front door; the config is sweep's."""
    loose = {p.name for p in ROUTER.glob("*.py")}
    assert loose == {"__init__.py"}
    assert {p.name for p in ROUTER.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(
        ALLOWED
    )


def test_the_domain_imports_neither_kafka_nor_ray():
    for path in ROUTER.rglob("*.py"):
        tops = {name.split(".")[0] for name in imported(path)}
        assert not tops & {"kafka", "ray"}, path


def test_the_domain_reads_no_config_file():
    """YAML and its validation stay at the boundary (sweep/config.py)."""
    for path in ROUTER.rglob("*.py"):
        tops = {name.split(".")[0] for name in imported(path)}
        assert not tops & {"yaml", "jsonschema", "pydantic"}, path
