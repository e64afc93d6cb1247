"""One entry point for every landing format: records (or a block of lines) -> candidate rows.

Every decoder returns the same thing, a frame of `schemas.candidates.CANDIDATE_SCHEMA` with one
row per record in line order, so staging and the gate never branch on the format.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from telemetry_assets.landing.block_path import DECODE_CHUNK
from telemetry_assets.landing.candidate_rows import empty_candidates
from telemetry_assets.landing.event_blocks import decode_event_blocks
from telemetry_assets.landing.events import decode_events
from telemetry_assets.landing.files import FileFormat
from telemetry_assets.landing.lines import Block, FileLines
from telemetry_assets.landing.log_records import decode_log_records
from telemetry_assets.landing.metric_blocks import decode_metric_blocks
from telemetry_assets.landing.metric_samples import decode_metric_samples
from telemetry_assets.landing.product_analytics import decode_product_analytics

DECODERS: dict[FileFormat, Callable[[FileLines], pl.DataFrame]] = {
    FileFormat.EVENTS: decode_events,
    FileFormat.PRODUCT_ANALYTICS: decode_product_analytics,
    FileFormat.METRICS: decode_metric_samples,
    FileFormat.LOGS: decode_log_records,
}
# Formats with a block path (a whole block decoded at once; the exact path where it cannot),
# which also decodes several small blocks together.
BLOCK_DECODERS: dict[FileFormat, Callable[[list[Block]], list[pl.DataFrame]]] = {
    FileFormat.EVENTS: decode_event_blocks,
    FileFormat.METRICS: decode_metric_blocks,
}


def decode(fmt: FileFormat, lines: FileLines) -> pl.DataFrame:
    """Candidate rows of records on the exact path (any line, one Python step per record)."""
    return DECODERS[fmt](lines)


def decode_block(fmt: FileFormat, block: Block) -> pl.DataFrame:
    """Candidate rows of a block of a landing file, in line order (formats A and C via their
    block paths)."""
    (frame,) = decode_blocks(fmt, [block])
    return frame


def decode_blocks(fmt: FileFormat, blocks: list[Block]) -> list[pl.DataFrame]:
    """`decode_block` of each of several blocks of one format (typically the blocks of many
    small files): the block path decodes them together where it can, which costs its fixed
    work once instead of once per file. The empty block that ends most files costs no
    decoder at all."""
    filled = [block for block in blocks if block.data]
    block_decoder = BLOCK_DECODERS.get(fmt)
    if block_decoder is not None:
        decoded = iter(block_decoder(filled))
    else:
        decoded = iter(
            pl.concat([decode(fmt, chunk) for chunk in block.records.chunks(DECODE_CHUNK)])
            for block in filled
        )
    return [next(decoded) if block.data else empty_candidates() for block in blocks]
