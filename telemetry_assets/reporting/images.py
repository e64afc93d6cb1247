"""Static PNG export with kaleido 1.x, which drives a Chrome/Chromium found on the machine.

A browser costs seconds to start, so one `PngExporter` keeps it open for a whole run and starts
it only when a figure needs drawing. A PNG records the SHA-256 of the figure it was drawn from
in a PNG text chunk: a figure whose PNG already holds its digest is not drawn again (a re-run of
unchanged days starts no browser).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import struct
import tempfile
import zlib
from pathlib import Path
from types import TracebackType

import kaleido
import plotly.io as pio

from telemetry_assets import warehouse
from telemetry_assets.object_storage import StoragePath
from telemetry_assets.reporting.figures import Figure

INSTALL_HINT = "install Chromium (Debian: apt-get install chromium) so kaleido can render PNGs"
DIGEST_KEY = b"telemetry-figure-sha256"
# Part of the digest: a change of renderer or of how PNGs are made draws every figure again.
RENDER_VERSION = b"kaleido-1-json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

PngJob = tuple[Figure, StoragePath]


def figure_digest(fig: Figure) -> str:
    return hashlib.sha256(
        RENDER_VERSION + b"\0" + pio.to_json(fig, validate=False).encode()
    ).hexdigest()


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


class ReusedTab(kaleido.Kaleido):
    """Kaleido that hands a tab back without reloading plotly.js into it after every figure.

    The reload is most of kaleido 1.x's time per figure (plotly/Kaleido#400; 0.39 s a bar chart
    with it, 0.07 s without, on this machine); each render draws into a fresh element, and the
    PNGs are byte-identical with and without it (tested).
    """

    async def _return_kaleido_tab(self, tab: object) -> None:
        await self.tabs_ready.put(tab)


class PngExporter:
    """Writes figures to PNGs through one browser session, opened on the first figure drawn.

    Use as a context manager around a run; `export` may be called once per chunk of days.
    When no browser can start, every call returns the same note instead of raising.
    """

    def __init__(self) -> None:
        self._runner = asyncio.Runner()
        self._browser: ReusedTab | None = None
        self._failure: str | None = None

    def __enter__(self) -> PngExporter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if self._browser is not None:
                self._runner.run(self._browser.close())
        finally:
            self._runner.close()

    def export(self, jobs: list[PngJob]) -> str | None:
        """Write every figure whose PNG lacks its digest; None, or why nothing was written."""
        digests = [figure_digest(fig) for fig, _ in jobs]
        todo = [
            (fig, target, digest)
            for (fig, target), digest in zip(jobs, digests, strict=True)
            if stored_digest(target) != digest
        ]
        if not todo:
            return None
        if self._failure is not None:
            return self._failure
        try:
            if self._browser is None:
                self._browser = self._runner.run(self._open())
            self._runner.run(self._render(self._browser, todo))
        except Exception as error:  # kaleido raises many kinds when no browser can start
            note = f"PNG export skipped: {type(error).__name__}: {error}; {INSTALL_HINT}"
            if self._browser is None:
                self._failure = note
            return note
        return None

    @staticmethod
    async def _open() -> ReusedTab:
        """A browser with one tab; MathJax off, as no figure has LaTeX (it is fetched online)."""
        browser = ReusedTab(mathjax=False)
        try:
            await browser.open()
        except BaseException:
            with contextlib.suppress(Exception):
                await browser.close()
            raise
        return browser

    @staticmethod
    async def _render(browser: ReusedTab, todo: list[tuple[Figure, StoragePath, str]]) -> None:
        """kaleido renders into a private folder; each PNG then replaces its target atomically."""
        with tempfile.TemporaryDirectory(prefix="telemetry-png-") as scratch:
            rendered = [Path(scratch) / f"{n}.png" for n in range(len(todo))]
            await browser.write_fig_from_object(
                [
                    {"fig": fig, "path": out}
                    for (fig, _, _), out in zip(todo, rendered, strict=True)
                ],
                cancel_on_error=True,
            )
            for (_, target, digest), out in zip(todo, rendered, strict=True):
                warehouse.write_bytes_atomic(target, with_digest(out.read_bytes(), digest))
