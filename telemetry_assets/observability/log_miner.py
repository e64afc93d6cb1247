"""Incremental template miner: masked token sequences in, patterns with stable ids out.

Messages are first grouped by their exact masked token sequence. A merge pass then looks, for
every template length and token position, at templates that agree everywhere except at that
position: when the position is already a wildcard in one of them, or holds at least
`MIN_VARIANTS` different values that are not all capitalised words, the position is a variable
and the templates become one pattern. Capitalised words (`GET`/`POST`, `Started`/`Stopped`)
are kept apart because programs write them as part of the message text; values that callers
choose (user names, hosts, keys) are usually lower case or carry digits, which masking already
removed.

A pattern keeps the id it was created with for its whole life: generalising its template or
absorbing a younger pattern never renames it, and the younger pattern's id is retired.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from telemetry_assets.observability.log_masking import WILDCARD

MIN_VARIANTS = 3
MIN_VARIANTS_BESIDE_ONE_WORD = 8
_HASH_MODULUS = (1 << 61) - 1
_HASH_BASE = 1_000_003
_QUOTES_AND_BRACKETS = "\"'([{<"
_KEY_END = re.compile(r"[=:([{]")

Tokens = tuple[str, ...]


@dataclass
class Pattern:
    """One template and its lifetime statistics; `seq` orders patterns by creation so the
    oldest one survives a merge."""

    pattern_id: str
    tokens: Tokens
    count: int
    first_seen: dt.datetime | None
    seq: int


def pattern_id_for(tokens: Tokens, taken: Collection[str]) -> str:
    """Derived from the first template, not from a counter, so that ids do not depend on how
    many other patterns exist; a clash with a live id gets a numbered suffix."""
    digest = hashlib.blake2b(" ".join(tokens).encode("utf-8"), digest_size=8).hexdigest()
    candidate, suffix = f"p{digest}", 1
    while candidate in taken:
        suffix += 1
        candidate = f"p{digest}-{suffix}"
    return candidate


def fits(template: Tokens, tokens: Tokens) -> bool:
    return len(template) == len(tokens) and all(
        want in (WILDCARD, got) for want, got in zip(template, tokens, strict=True)
    )


def _is_capitalised(token: str) -> bool:
    return token.lstrip(_QUOTES_AND_BRACKETS)[:1].isupper()


def _key_of(token: str) -> str:
    return _KEY_END.split(token, maxsplit=1)[0]


def is_variable_position(values: set[str]) -> bool:
    """Decides from the values seen at one position of otherwise identical templates."""
    if WILDCARD in values:
        return True
    if any(WILDCARD in value for value in values) and len({_key_of(v) for v in values}) == 1:
        return True
    if len(values) < MIN_VARIANTS:
        return False
    return not all(_is_capitalised(value) for value in values)


def _older(pattern: Pattern) -> tuple[int, str]:
    return (pattern.seq, pattern.pattern_id)


class TemplateMiner:
    """Holds all live patterns; `mine` adds a batch of messages (a day) and returns the
    pattern id of every distinct masked message of the batch."""

    def __init__(self, patterns: Iterable[Pattern] = ()) -> None:
        self.patterns: dict[str, Pattern] = {}
        self._by_tokens: dict[Tokens, str] = {}
        self._by_length: dict[int, set[str]] = defaultdict(set)
        self._general: dict[tuple[int, str], set[str]] = defaultdict(set)
        self._hashes: dict[str, tuple[list[int], int]] = {}
        self._next_seq = 0
        for pattern in sorted(patterns, key=_older):
            self._add(pattern)

    def _add(self, pattern: Pattern) -> None:
        self.patterns[pattern.pattern_id] = pattern
        self._by_tokens[pattern.tokens] = pattern.pattern_id
        self._by_length[len(pattern.tokens)].add(pattern.pattern_id)
        self._hashes[pattern.pattern_id] = _position_hashes(pattern.tokens)
        if WILDCARD in pattern.tokens and not _all_wildcards(pattern.tokens):
            self._general[_general_key(pattern.tokens)].add(pattern.pattern_id)
        self._next_seq = max(self._next_seq, pattern.seq + 1)

    def _remove(self, pattern: Pattern) -> None:
        del self.patterns[pattern.pattern_id]
        if self._by_tokens.get(pattern.tokens) == pattern.pattern_id:
            del self._by_tokens[pattern.tokens]
        self._by_length[len(pattern.tokens)].discard(pattern.pattern_id)
        del self._hashes[pattern.pattern_id]
        self._general[_general_key(pattern.tokens)].discard(pattern.pattern_id)

    def _retemplate(self, pattern: Pattern, tokens: Tokens) -> None:
        self._remove(pattern)
        pattern.tokens = tokens
        self._add(pattern)

    def match(self, tokens: Tokens) -> str | None:
        """The most specific live pattern that covers the tokens (fewest wildcards, then the
        oldest), so a message keeps landing where yesterday's identical messages went."""
        exact = self._by_tokens.get(tokens)
        if exact is not None:
            return exact
        first = tokens[0] if tokens else WILDCARD
        pattern_ids = self._general.get((len(tokens), first), set()) | self._general.get(
            (len(tokens), WILDCARD), set()
        )
        candidates = [
            self.patterns[pattern_id]
            for pattern_id in pattern_ids
            if fits(self.patterns[pattern_id].tokens, tokens)
        ]
        if not candidates:
            return None
        best = min(candidates, key=lambda p: (p.tokens.count(WILDCARD), *_older(p)))
        return best.pattern_id

    def _create(self, tokens: Tokens, count: int, seen: dt.datetime | None) -> str:
        pattern_id = pattern_id_for(tokens, self.patterns.keys())
        self._add(Pattern(pattern_id, tokens, count, seen, self._next_seq))
        return pattern_id

    def mine(
        self,
        batch: Sequence[tuple[Tokens, int, dt.datetime | None]],
    ) -> dict[Tokens, str]:
        """`batch` holds each distinct masked message once, with its count and earliest
        timestamp, in the caller's deterministic order."""
        assigned: dict[Tokens, str] = {}
        touched_lengths: set[int] = set()
        for tokens, count, seen in batch:
            pattern_id = self.match(tokens)
            if pattern_id is None:
                pattern_id = self._create(tokens, count, seen)
            else:
                self._record(self.patterns[pattern_id], count, seen)
            assigned[tokens] = pattern_id
            touched_lengths.add(len(tokens))
        retired = self._merge(touched_lengths)
        return {tokens: _resolve(pattern_id, retired) for tokens, pattern_id in assigned.items()}

    @staticmethod
    def _record(pattern: Pattern, count: int, seen: dt.datetime | None) -> None:
        pattern.count += count
        if seen is not None and (pattern.first_seen is None or seen < pattern.first_seen):
            pattern.first_seen = seen

    def _merge(self, lengths: Iterable[int]) -> dict[str, str]:
        """Sweeps every position until nothing changes: one merge can make templates that
        differed in two positions differ in one."""
        retired: dict[str, str] = {}
        for length in sorted(lengths):
            changed = True
            while changed:
                changed = False
                for position in range(length):
                    changed |= self._merge_at(length, position, retired)
        return retired

    def _merge_at(self, length: int, position: int, retired: dict[str, str]) -> bool:
        """Each pattern falls in exactly one group per position, so all groups of one
        position can be merged in the same step."""
        merged = False
        for rest, members in self._groups_without(length, position).items():
            if len(members) > 1 and self._should_merge(rest, members, position):
                self._absorb(members, position, retired)
                merged = True
        return merged

    def _groups_without(self, length: int, position: int) -> dict[Tokens, list[Pattern]]:
        """Groups by a cheap hash of the other positions first and builds the exact key only
        for patterns that share a hash, which keeps the sweep linear in practice."""
        by_hash: dict[int, list[Pattern]] = defaultdict(list)
        weight = pow(_HASH_BASE, position, _HASH_MODULUS)
        for pattern_id in sorted(self._by_length.get(length, ())):
            pattern = self.patterns[pattern_id]
            token_hashes, total = self._hashes[pattern_id]
            by_hash[(total - token_hashes[position] * weight) % _HASH_MODULUS].append(pattern)
        groups: dict[Tokens, list[Pattern]] = defaultdict(list)
        for candidates in by_hash.values():
            if len(candidates) > 1:
                for pattern in candidates:
                    groups[pattern.tokens[:position] + pattern.tokens[position + 1 :]].append(
                        pattern
                    )
        return groups

    @staticmethod
    def _should_merge(rest: Tokens, members: list[Pattern], position: int) -> bool:
        """A template needs words to stand on: with no word left it would swallow every
        message of its length, and with one word it takes many variants to tell a variable
        from a family of short messages (`X started`, `Y started`)."""
        words = sum(token != WILDCARD for token in rest)
        if words == 0 or (words == 1 and len(members) < MIN_VARIANTS_BESIDE_ONE_WORD):
            return False
        return is_variable_position({member.tokens[position] for member in members})

    def _absorb(self, members: list[Pattern], position: int, retired: dict[str, str]) -> None:
        survivor, *others = sorted(members, key=_older)
        for other in others:
            self._remove(other)
            self._record(survivor, other.count, other.first_seen)
            retired[other.pattern_id] = survivor.pattern_id
        tokens = survivor.tokens
        self._retemplate(survivor, (*tokens[:position], WILDCARD, *tokens[position + 1 :]))


def _all_wildcards(tokens: Tokens) -> bool:
    return all(token == WILDCARD for token in tokens)


def _general_key(tokens: Tokens) -> tuple[int, str]:
    return (len(tokens), tokens[0] if tokens else WILDCARD)


def _position_hashes(tokens: Tokens) -> tuple[list[int], int]:
    """Token hashes and their polynomial sum: removing one position from the sum is O(1)."""
    token_hashes = [hash(token) % _HASH_MODULUS for token in tokens]
    total = 0
    for token_hash in reversed(token_hashes):
        total = (total * _HASH_BASE + token_hash) % _HASH_MODULUS
    return token_hashes, total


def _resolve(pattern_id: str, retired: dict[str, str]) -> str:
    while pattern_id in retired:
        pattern_id = retired[pattern_id]
    return pattern_id
