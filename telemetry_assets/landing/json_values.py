"""JSON values as the landing contract reads them: parsing, types, keys and canonical text.

orjson does the work wherever it can, and the contract's limits are kept where it cannot:
integers beyond 64 bits keep their digits (orjson would read them as floats), and values
nested deeper than orjson's encoder allows (254 levels; the contract admits 1024) are still
written canonically. Both fall back to code here, which only runs for such rare records.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from telemetry_assets.schemas.candidates import JsonType

ABSENT: Any = object()
MAX_DEPTH = 1024  # the contract's nesting limit (orjson's parser enforces the same)
_TYPE_NAMES: dict[type, str] = {
    str: JsonType.STRING.value,
    int: JsonType.NUMBER.value,
    float: JsonType.NUMBER.value,
    bool: JsonType.BOOLEAN.value,
    dict: JsonType.OBJECT.value,
    list: JsonType.ARRAY.value,
    type(None): JsonType.NULL.value,
}
# A run of 19 or more digits may be an integer beyond 64 bits, which orjson reads as a float.
LONG_INTEGER = re.compile(rb"\d{19,}")
_SORTED = orjson.OPT_SORT_KEYS


class JsonLimitError(ValueError):
    """A value the contract calls invalid JSON although a parser accepted it."""


def json_type(value: Any) -> str:
    return JsonType.ABSENT.value if value is ABSENT else _TYPE_NAMES[type(value)]


def key_texts(values: Iterable[Any]) -> list[str | None]:
    """Keys (user, feature, session, service): strings as they are (an empty one is none), JSON
    integers as decimal text, anything else none. One comprehension, no call per value: the
    block paths run it for every key of every record."""
    return [
        (value or None) if type(value) is str else str(value) if type(value) is int else None
        for value in values
    ]


def key_text(value: Any) -> str | None:
    """`key_texts` of one value."""
    return key_texts([value])[0]


def as_float(value: int | float) -> float:
    """A JSON number in a typed (Float64) column; an integer too big for a double is ±inf."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


@contextmanager
def _deep_recursion() -> Iterator[None]:
    """The stdlib parser recurses once per level: allow the contract's 1024 on any stack."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(previous + MAX_DEPTH + 100)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def parse_line(line: bytes) -> Any:
    """One line's JSON value (orjson.JSONDecodeError when it is not exactly one value).

    orjson decides validity (RFC 8259, no NaN, depth <= 1024, one value); a line that may hold
    an integer beyond 64 bits is parsed again by the standard library, which keeps its digits.
    """
    value = orjson.loads(line)
    if LONG_INTEGER.search(line) is None:
        return value
    with _deep_recursion():
        return json.loads(line)


def canonical_json(value: Any) -> bytes:
    """Keys sorted at every level, no insignificant whitespace, unicode unescaped, numbers as
    parsed (orjson's number format; integers of any size as their digits)."""
    try:
        return orjson.dumps(value, option=_SORTED)
    except TypeError:
        return _canonical_slowly(value)


def _canonical_slowly(value: Any) -> bytes:
    """`canonical_json` for what orjson refuses (deep nesting, huge integers), without
    recursion: leaves are encoded by orjson, containers assembled here."""
    out: list[bytes] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            out.append(item)
        elif type(item) is dict:
            out.append(b"{")
            parts: list[Any] = []
            for index, key in enumerate(sorted(item)):
                parts.extend([b"," if index else b"", orjson.dumps(key) + b":", item[key]])
            stack.append(b"}")
            stack.extend(reversed(parts))
        elif type(item) is list:
            out.append(b"[")
            parts = []
            for index, element in enumerate(item):
                parts.extend([b"," if index else b"", element])
            stack.append(b"]")
            stack.extend(reversed(parts))
        elif type(item) is int:
            out.append(str(item).encode())
        else:
            out.append(orjson.dumps(item))
    return b"".join(out)
