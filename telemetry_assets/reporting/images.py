"""Static PNG export with kaleido 1.x, which drives a Chrome/Chromium found on the machine.

Rendering costs about half a second a figure in the browser (plus seconds to start it), so a
PNG records the SHA-256 of the figure it was drawn from in a PNG text chunk: a figure whose PNG
already holds its digest is not drawn again (a re-run of unchanged days starts no browser).
"""

from __future__ import annotations

import hashlib
import struct
import tempfile
import zlib
from pathlib import Path

import plotly.graph_objects as go

from telemetry_assets import warehouse
from telemetry_assets.object_storage import StoragePath

INSTALL_HINT = "install Chromium (Debian: apt-get install chromium) so kaleido can render PNGs"
DIGEST_KEY = b"telemetry-figure-sha256"
# Part of the digest: a change of renderer or of how PNGs are made draws every figure again.
RENDER_VERSION = b"kaleido-1"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def figure_digest(fig: go.Figure) -> str:
    return hashlib.sha256(RENDER_VERSION + b"\0" + fig.to_json().encode()).hexdigest()


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of each chunk of a PNG; empty when it is not a readable PNG."""
    if not png.startswith(PNG_SIGNATURE):
        return []
    chunks, at = [], len(PNG_SIGNATURE)
    while at + 8 <= len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        chunks.append((kind, png[at + 8 : at + 8 + length]))
        at += 12 + length
    return chunks


def stored_digest(path: StoragePath) -> str | None:
    """The figure digest a PNG was stamped with, if any."""
    try:
        png = path.read_bytes()
    except OSError:
        return None
    for kind, data in _chunks(png):
        key, _, value = data.partition(b"\0")
        if kind == b"tEXt" and key == DIGEST_KEY:
            return value.decode("latin-1")
    return None


def with_digest(png: bytes, digest: str) -> bytes:
    """The PNG with a tEXt chunk holding `digest` just before its IEND chunk."""
    end = png.rfind(b"IEND") - 4
    if not png.startswith(PNG_SIGNATURE) or end < len(PNG_SIGNATURE):
        return png
    data = DIGEST_KEY + b"\0" + digest.encode("latin-1")
    crc = zlib.crc32(b"tEXt" + data) & 0xFFFFFFFF
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", crc)
    return png[:end] + chunk + png[end:]


def export_png(jobs: list[tuple[go.Figure, StoragePath]]) -> str | None:
    """Write every figure to its PNG in one browser session; None, or why nothing was written.

    Figures whose PNG already holds their digest are skipped. kaleido renders into a private
    folder; each PNG then replaces its target atomically.
    """
    digests = [figure_digest(fig) for fig, _ in jobs]
    todo = [
        (fig, target, digest)
        for (fig, target), digest in zip(jobs, digests, strict=True)
        if stored_digest(target) != digest
    ]
    if not todo:
        return None
    import kaleido

    with tempfile.TemporaryDirectory(prefix="telemetry-png-") as scratch:
        rendered = [Path(scratch) / f"{n}.png" for n in range(len(todo))]
        try:
            kaleido.write_fig_from_object_sync(
                [{"fig": fig, "path": out} for (fig, _, _), out in zip(todo, rendered, strict=True)]
            )
        except Exception as error:  # kaleido raises many kinds when no browser can start
            return f"PNG export skipped: {type(error).__name__}: {error}; {INSTALL_HINT}"
        for (_, target, digest), out in zip(todo, rendered, strict=True):
            warehouse.write_bytes_atomic(target, with_digest(out.read_bytes(), digest))
    return None
