"""Turns a raw log message into the token sequence the template miner compares.

Masking is generic on purpose: it removes what is variable in any product's logs (numbers,
identifiers, addresses, paths, timestamps) so that two messages of one statement look alike,
without knowing any particular system's vocabulary.
"""

from __future__ import annotations

import re

WILDCARD = "<*>"
EMPTY_TEMPLATE = "<empty>"

MAX_MESSAGE_CHARS = 8192
MAX_TOKENS = 128
MAX_PIECE_CHARS = 200

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffd]+")
_WHOLE_MASKS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern)
    for pattern in (
        r"\b[a-zA-Z][\w+.-]*://[^\s\"'<>]+",
        r"(?<=[=:])\"[^\"]*\"",
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
        r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
        r"(?:Z|[+-]\d{2}:?\d{2})?)?",
        r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct"
        r"|Nov|Dec)[a-z]*\s+\d{1,2}(?:,?\s+\d{4})?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?(?:\s+\d{4})?\b",
        r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b",
        r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])",
        r"(?<![\w:])(?=[0-9A-Fa-f:]*\d)(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:])",
        r"\b0[xX][0-9a-fA-F]+\b",
        r"[<>~]?\d+(?:\.\d+)?\s?(?:[kKMGTP]i?)?(?:B|bytes?|[mun]?s|secs?|seconds?|min|h|Hz)\b",
        r"(?<![\w.-])(?:[A-Za-z0-9-]+\.)+[A-Za-z0-9-]+:\d{1,5}\b",
        r"(?<![\w.-])(?:[a-z0-9-]+\.){2,}[a-z]{2,6}(?![\w.-])",
    )
)
_PIECE_SPLIT = re.compile(r"([=:,;()\[\]{}<>\"'|]|\.{2,})")
_HAS_DIGIT = re.compile(r"\d")
_PATH = re.compile(r"^(?:[A-Za-z]:\\|\\\\|~?/)[^\s]*[/\\][^\s]*$")
_LITERALS = frozenset({"true", "false", "null"})
_NO_WORD = re.compile(r"^[^\w]*$")
_EMPTY_VALUES = frozenset({"()", "[]", "{}", '""', "''", "<>"})
_WILDCARD_MARK = "\x00"


def clean_message(message: str | None) -> str:
    """Bounds the work per message (a 1 MiB line must not dominate a day) and turns control
    characters and replacement characters from undecodable bytes into plain separators."""
    if not message:
        return ""
    return _CONTROL.sub(" ", message[:MAX_MESSAGE_CHARS]).strip()


def _mask_piece(piece: str) -> str:
    """A piece longer than any word (a blob, a base64 value) is data, not message text."""
    if (
        len(piece) > MAX_PIECE_CHARS
        or _HAS_DIGIT.search(piece)
        or _PATH.match(piece)
        or piece.lower() in _LITERALS
    ):
        return WILDCARD
    return piece


def _mask_token(token: str) -> str:
    if _PATH.match(token):
        return WILDCARD
    pieces = _PIECE_SPLIT.split(token)
    masked = "".join(
        piece if index % 2 else _mask_piece(piece) for index, piece in enumerate(pieces)
    )
    masked = masked.replace(_WILDCARD_MARK, WILDCARD)
    if WILDCARD in masked and _NO_WORD.match(masked.replace(WILDCARD, "")):
        return WILDCARD
    if masked in _EMPTY_VALUES:
        return WILDCARD
    return masked


def _collapse(tokens: list[str]) -> list[str]:
    """A variable may span several tokens (a list, a sentence in quotes); runs of wildcards are
    one variable so such messages keep one length."""
    collapsed: list[str] = []
    for token in tokens:
        if token == WILDCARD and collapsed and collapsed[-1] == WILDCARD:
            continue
        collapsed.append(token)
    return collapsed


def tokenize(message: str | None) -> tuple[str, ...]:
    """Whole-string masks run first because dates, IPs and URLs contain the separators the
    per-token pass splits on; the cap keeps the tail of a huge message as one wildcard."""
    text = clean_message(message)
    if not text:
        return ()
    for mask in _WHOLE_MASKS:
        text = mask.sub(_WILDCARD_MARK, text)
    raw_tokens = text.split()
    tokens = [_mask_token(token) for token in raw_tokens[:MAX_TOKENS]]
    if len(raw_tokens) > MAX_TOKENS:
        tokens.append(WILDCARD)
    return tuple(_collapse(tokens))
