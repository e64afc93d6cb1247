"""Static PNG export with kaleido 1.x, which drives a Chrome/Chromium found on the machine."""

from __future__ import annotations

import os
from pathlib import Path

import plotly.graph_objects as go

from telemetry_assets import warehouse

INSTALL_HINT = "install Chromium (Debian: apt-get install chromium) so kaleido can render PNGs"


def export_png(jobs: list[tuple[go.Figure, Path]]) -> str | None:
    """Write every figure to its PNG in one browser session; None, or why nothing was written.

    Files appear atomically: kaleido writes hidden temporaries that are renamed into place.
    """
    if not jobs:
        return None
    import kaleido

    staged = [(fig, path, warehouse.temporary_path(path)) for fig, path in jobs]
    for _, path, _ in staged:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        kaleido.write_fig_from_object_sync(
            [{"fig": fig, "path": temp, "opts": {"format": "png"}} for fig, _, temp in staged]
        )
        for _, path, temp in staged:
            os.replace(temp, path)
    except Exception as error:  # kaleido raises many kinds when no browser can start
        return f"PNG export skipped: {type(error).__name__}: {error}; {INSTALL_HINT}"
    finally:
        for _, _, temp in staged:
            temp.unlink(missing_ok=True)
    return None
