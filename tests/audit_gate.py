"""Hold a child process at one moment of its start-up, for a test to signal it there; and let
it take Ctrl-C whatever the test runner's own signals.

The child imports a ``sitecustomize`` that blocks reading a FIFO at one audit event (an import,
a file opened, a process about to start); a FIFO opens for writing without blocking only once
it has a reader, so the test knows the child is there without guessing a delay."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path

HOOK = """
import os, sys

def stop_here(event, args):
    if event == {event!r} and len(args) > {index} and {what!r} in str(args[{index}]):
        os.read(os.open({gate!r}, os.O_RDONLY), 1)  # until the test has signalled

sys.addaudithook(stop_here)
"""


def install(folder: Path, event: str, what: str, index: int = 0) -> tuple[Path, str]:
    """A FIFO and a hook folder holding at the first ``event`` whose argument ``index``
    contains ``what``; the gate and the PYTHONPATH entry to give the child."""
    gate, hook = folder / "gate", folder / "hook"
    os.mkfifo(gate)
    hook.mkdir()
    code = HOOK.format(event=event, what=what, index=index, gate=str(gate))
    (hook / "sitecustomize.py").write_text(code)
    return gate, str(hook)


def reached(gate: Path, alive: Callable[[], bool], what: str, timeout_s: float = 120) -> int:
    """Wait (bounded) until the child blocks at the gate; the writer end to close afterwards."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            assert exc.errno == errno.ENXIO
        assert alive(), f"the child ended before {what}"
        assert time.monotonic() < deadline, f"the child never reached {what}"
        time.sleep(0.01)


def interruptible() -> None:
    """``preexec_fn`` for a child a test will Ctrl-C: SIGINT as a terminal gives it. A CI
    launched in the background of a shell without job control ignores SIGINT, and a child
    inherits that: Python then installs no KeyboardInterrupt handler and the Ctrl-C is lost."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
