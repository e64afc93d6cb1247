"""Static PNG export with kaleido 1.x, which drives a Chrome/Chromium found on the machine."""

from __future__ import annotations

import tempfile
from pathlib import Path

import plotly.graph_objects as go

from telemetry_assets import warehouse

INSTALL_HINT = "install Chromium (Debian: apt-get install chromium) so kaleido can render PNGs"


def export_png(jobs: list[tuple[go.Figure, Path]]) -> str | None:
    """Write every figure to its PNG in one browser session; None, or why nothing was written.

    kaleido renders into a private folder; each PNG then replaces its target atomically.
    """
    if not jobs:
        return None
    import kaleido

    with tempfile.TemporaryDirectory(prefix="telemetry-png-") as scratch:
        rendered = [Path(scratch) / f"{n}.png" for n in range(len(jobs))]
        try:
            kaleido.write_fig_from_object_sync(
                [{"fig": fig, "path": out} for (fig, _), out in zip(jobs, rendered, strict=True)]
            )
        except Exception as error:  # kaleido raises many kinds when no browser can start
            return f"PNG export skipped: {type(error).__name__}: {error}; {INSTALL_HINT}"
        for (_, target), out in zip(jobs, rendered, strict=True):
            warehouse.write_bytes_atomic(target, out.read_bytes())
    return None
