"""matplotlib, loaded only for ``--plot`` (an optional extra): a missing install fails with the
command that fixes it, not an ImportError. Nothing in the domain imports this."""

from __future__ import annotations


def pyplot():
    """``matplotlib.pyplot`` on the file-only Agg backend."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError(
            "--plot needs matplotlib: pip install 'sor-sweep[plot]' (or: pip install matplotlib)"
        ) from None
    return plt
