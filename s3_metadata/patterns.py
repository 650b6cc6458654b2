"""Glob patterns over whole S3 keys, and the LIST prefixes they allow.

S3 can only narrow a listing by prefix, so the literal part of each include pattern (everything before
its first wildcard) becomes the LIST prefix: `logs/2024/**/*.gz` lists `logs/2024/` instead of filtering
the whole bucket. The patterns themselves are then applied to every listed key.

Syntax, on the whole key: `*` any run of characters except `/`; `**` any number of path segments
(`a/**/b` matches `a/b` and `a/x/y/b`; a trailing `/**` matches everything below); `?` one character
except `/`. Every other character, `[` and `\\` included, stands for itself, because S3 keys use them
literally far more often than anyone wants a character class.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

_WILDCARDS = ("*", "?")


class PatternError(ValueError):
    """A pattern that cannot be used."""


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The compiled regular expression for one glob pattern (matched against the whole key)."""
    if not pattern:
        raise PatternError("a pattern may not be empty")
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            while i < len(pattern) and pattern[i] == "*":
                i += 1
            if i < len(pattern) and pattern[i] == "/":
                parts.append("(?:.*/)?")
                i += 1
            else:
                parts.append(".*")
            continue
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        else:
            parts.append(re.escape(char))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def literal_prefix(pattern: str) -> str:
    """Everything before the first wildcard: every key the pattern matches starts with it."""
    cut = min((pattern.index(w) for w in _WILDCARDS if w in pattern), default=len(pattern))
    return pattern[:cut]


def minimal_prefixes(prefixes: Iterable[str]) -> list[str]:
    """Drop every prefix that another one already covers, so no key is listed twice."""
    kept: list[str] = []
    for prefix in sorted(set(prefixes)):
        if not any(prefix.startswith(k) for k in kept):
            kept.append(prefix)
    return kept


def list_prefixes(prefixes: Sequence[str], include_patterns: Sequence[str]) -> list[str]:
    """The LIST prefixes that cover every key under `prefixes` that some include pattern can match."""
    if not include_patterns:
        return minimal_prefixes(prefixes)
    candidates = []
    for prefix in prefixes:
        for pattern in include_patterns:
            literal = literal_prefix(pattern)
            if literal.startswith(prefix):
                candidates.append(literal)
            elif prefix.startswith(literal):
                candidates.append(prefix)
    return minimal_prefixes(candidates)


@dataclass(frozen=True)
class KeyFilter:
    """Which keys belong to the table: any include matches (or there are none) and no exclude matches."""

    include_patterns: tuple[str, ...] = ()
    exclude_patterns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_includes", [compile_glob(p) for p in self.include_patterns])
        object.__setattr__(self, "_excludes", [compile_glob(p) for p in self.exclude_patterns])

    @property
    def is_trivial(self) -> bool:
        return not self.include_patterns and not self.exclude_patterns

    def matches(self, key: str) -> bool:
        includes: list[re.Pattern[str]] = self._includes  # type: ignore[attr-defined]
        excludes: list[re.Pattern[str]] = self._excludes  # type: ignore[attr-defined]
        if includes and not any(p.fullmatch(key) for p in includes):
            return False
        return not any(p.fullmatch(key) for p in excludes)
