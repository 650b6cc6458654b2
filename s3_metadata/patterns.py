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
    translated = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(translated.get(t, re.escape(t)) for t in _tokens(pattern)), re.DOTALL)


def _tokens(pattern: str) -> list[str]:
    """The pattern as tokens: '**/', '**', '*', '?' or a single literal character."""
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            while i < len(pattern) and pattern[i] == "*":
                i += 1
            if i < len(pattern) and pattern[i] == "/":
                tokens.append("**/")
                i += 1
            else:
                tokens.append("**")
            continue
        tokens.append(pattern[i])
        i += 1
    return tokens


def can_match_under(pattern: str, prefix: str) -> bool:
    """Whether some key starting with `prefix` can match `pattern`: a pattern written relative to the prefix
    (`*.gz` with prefix `logs/`) never can, since `*` does not cross `/`."""
    tokens = _tokens(pattern)

    def closure(states: set[int]) -> set[int]:
        result, todo = set(states), list(states)
        while todo:
            at = todo.pop()
            if at < len(tokens) and tokens[at] in ("*", "**", "**/") and at + 1 not in result:
                result.add(at + 1)  # every wildcard may match nothing
                todo.append(at + 1)
        return result

    states = closure({0})
    for char in prefix:
        following: set[int] = set()
        for at in states:
            if at >= len(tokens):
                continue
            token = tokens[at]
            if token in ("**", "**/"):
                following.add(at)
                if token == "**/" and char == "/":
                    following.add(at + 1)
            elif token == "*" and char != "/":
                following.add(at)
            elif token == "?" and char != "/":
                following.add(at + 1)
            elif token == char:
                following.add(at + 1)
        states = closure(following)
        if not states:
            return False
    return True


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
            elif prefix.startswith(literal) and can_match_under(pattern, prefix):
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
