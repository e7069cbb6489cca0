"""Run the real `python -m sweep` CLI from a test, as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_sweep(
    config: Path, out: Path, *flags: str, quiet: bool = True
) -> subprocess.CompletedProcess:
    """`python -m sweep CONFIG [--quiet] --out OUT FLAGS...` from the repo root; must exit 0."""
    quieter = ["--quiet"] if quiet else []
    done = subprocess.run(
        [sys.executable, "-m", "sweep", str(config), *quieter, "--out", str(out), *flags],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done
