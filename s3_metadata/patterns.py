"""Glob patterns over whole S3 keys, and the LIST prefixes they allow.

S3 can only narrow a listing by prefix, so the literal part of each include pattern (everything before
its first wildcard) becomes the LIST prefix: `logs/2024/**/*.gz` lists `logs/2024/` instead of filtering
the whole bucket. The patterns themselves are then applied to every listed key.

Syntax, on the whole key: `*` any run of characters except `/`; `**` any number of path segments
(`a/**/b` matches `a/b` and `a/x/y/b`; a trailing `/**` matches everything below); `?` one character
except `/`. Every other character, `[` and `\\` included, stands for itself, because S3 keys use them
literally far more often than anyone wants a character class.

Matching must stay linear in the key length whatever the pattern: the obvious translation to a regular
expression backtracks with a degree that grows with the pattern (`*a*a*a*a*a*b` took 44 s on a 128-character
key). Every pattern whose `**` are whole segments, which is nearly every pattern written, is translated so that
Python's engine cannot backtrack badly (`linear_regex`, proof in its docstring) and runs at regex speed; any
other pattern (`a**b*c**d`) is matched by a small automaton over its tokens, simulated on sets of states that
are cached as a lazily built DFA: O(len(key) x len(pattern)) either way.
"""
from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Sequence

from s3_metadata.key_range import WHOLE, KeyRange
_WILDCARDS = ("*", "?")
_FIRST_WILDCARD = re.compile(r"[*?]")
STAR, DOUBLE_STAR, DOUBLE_STAR_SLASH, ONE_CHAR = "*", "**", "**/", "?"
_MAY_BE_EMPTY = (STAR, DOUBLE_STAR, DOUBLE_STAR_SLASH)
# S3 keys are at most 1,024 bytes; a longer pattern is a paste gone wrong, not a filter.
MAX_PATTERN_LENGTH = 1024


class PatternError(ValueError):
    """A pattern that cannot be used."""


def _tokens(pattern: str) -> tuple[str, ...]:
    """The pattern as tokens: '**/', '**', '*', '?' or a single literal character."""
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            while i < len(pattern) and pattern[i] == "*":
                i += 1
            if i < len(pattern) and pattern[i] == "/":
                tokens.append(DOUBLE_STAR_SLASH)
                i += 1
            else:
                tokens.append(DOUBLE_STAR)
            continue
        tokens.append(pattern[i])
        i += 1
    return tuple(tokens)


_REGEX = {DOUBLE_STAR_SLASH: "(?:.*/)?", DOUBLE_STAR: ".*", STAR: "[^/]*", ONE_CHAR: "[^/]"}


def _plain_regex(tokens: Sequence[str]) -> str:
    return "".join(_REGEX.get(t, re.escape(t)) for t in tokens)


def _segment_regex(tokens: Sequence[str]) -> str:
    """One segment (literals, `*`, `?`): every `*` but the last as an atomic leftmost search for what follows it."""
    chunks: list[list[str]] = [[]]
    for token in tokens:
        if token == STAR:
            chunks.append([])
        else:
            chunks[-1].append(token)
    parts = [_plain_regex(chunks[0])]
    for at, chunk in enumerate(chunks[1:], start=1):
        parts.append(f"(?>[^/]*?{_plain_regex(chunk)})" if at < len(chunks) - 1 else f"[^/]*{_plain_regex(chunk)}")
    return "".join(parts)


def linear_regex(pattern: str) -> str | None:
    """A regular expression for `pattern` (for `re.fullmatch` with DOTALL) that Python's backtracking engine runs
    in time linear in the key length, or None when the pattern needs the automaton.

    The plain translation (`**/` -> `(?:.*/)?`, `**` -> `.*`, `*` -> `[^/]*`, `?` -> `[^/]`) is linear with at most
    one repetition: n + 1 choices, each checked in O(m). With more, the choices multiply (`*a*a*a*a*a*b` takes 44 s
    on 128 characters), unless all but one can be fixed without looking ahead, which holds when every `**` is a
    whole segment (`**/` starting one, or a trailing `/**`):
    - in a segment `h*c1*c2*t`, placing each middle chunk at its leftmost fit is right whenever any placement is
      (moving a chunk left only leaves more room for the rest), so every `*` but the last becomes `(?>[^/]*?c)`, an
      atomic leftmost search the engine never re-enters. The last `*` is followed by a fixed-length tail and then
      '/' or the end, which `[^/]` cannot pass, so only one of its lengths leads on: a segment, entered at a given
      position, is matched in O(len(segment) x m) and in at most one way.
    - over segments, the run between two `**/` is placed leftmost the same way: `(?>(?:[^/]*/)*?run)`.
    - the last `**/` tries each '/' of the key, and the run after it (r segments, each matched in at most one way)
      reads at most the next r segments from each: every character is read O(r) times.
    In all O(len(key) x m^2) for a pattern of m tokens: linear in the key, whatever the pattern.
    """
    tokens = _tokens(pattern)
    if sum(t in _MAY_BE_EMPTY for t in tokens) <= 1:
        return _plain_regex(tokens)
    for at, token in enumerate(tokens):
        starts_segment = at == 0 or tokens[at - 1] in ("/", DOUBLE_STAR_SLASH)
        if token == DOUBLE_STAR_SLASH and not starts_segment:
            return None
        if token == DOUBLE_STAR and not (starts_segment and at == len(tokens) - 1):
            return None
    last_globstar = max((at for at, t in enumerate(tokens) if t == DOUBLE_STAR_SLASH), default=-1)
    parts: list[str] = []
    segment: list[str] = []
    run_open = False
    for at, token in enumerate(tokens):
        if token in ("/", DOUBLE_STAR_SLASH, DOUBLE_STAR):
            parts.append(_segment_regex(segment))
            segment = []
        if token == "/":
            parts.append("/")
        elif token == DOUBLE_STAR:
            parts.append(".*")
        elif token == DOUBLE_STAR_SLASH:
            if run_open:
                parts.append(")")
            run_open = at != last_globstar
            parts.append("(?>(?:[^/]*/)*?" if run_open else "(?:.*/)?")
        else:
            segment.append(token)
    parts.append(_segment_regex(segment))
    return "".join(parts)


class Automaton:
    """A pattern as a nondeterministic automaton over its tokens; a set of states stands for every way the
    characters read so far can be matched.

    State i (0 <= i <= n) is "before token i", n accepting. A `**/` at token i (the regex `(?:.*/)?`) also has
    the state n + 1 + i, "inside it": some characters read, the '/' that ends it not yet. Only "before" states
    have empty moves (every `*`, `**` and `**/` may match nothing); an "inside" state still needs its '/'.
    """

    def __init__(self, tokens: Sequence[str]):
        self.tokens = tuple(tokens)
        self.accept = len(self.tokens)
        closures: list[frozenset[int]] = []
        for at in range(len(self.tokens) + 1):
            reach = [at]
            while reach[-1] < len(self.tokens) and self.tokens[reach[-1]] in _MAY_BE_EMPTY:
                reach.append(reach[-1] + 1)
            closures.append(frozenset(reach))
        self._closure = closures
        self.start = closures[0]

    def step(self, states: frozenset[int], char: str) -> frozenset[int]:
        """The states after reading `char` from `states`: O(len(pattern))."""
        tokens, end, closure = self.tokens, self.accept, self._closure
        following: set[int] = set()
        for state in states:
            if state > end:  # inside the `**/` at token state - end - 1
                following.add(state)
                if char == "/":
                    following |= closure[state - end]
                continue
            if state == end:
                continue
            token = tokens[state]
            if token == STAR:
                if char != "/":
                    following |= closure[state]
            elif token == DOUBLE_STAR:
                following |= closure[state]
            elif token == DOUBLE_STAR_SLASH:
                following.add(end + 1 + state)
                if char == "/":
                    following |= closure[state + 1]
            elif token == ONE_CHAR:
                if char != "/":
                    following |= closure[state + 1]
            elif token == char:
                following |= closure[state + 1]
        return frozenset(following)

    def read(self, text: str, states: frozenset[int] | None = None) -> frozenset[int]:
        """The states after reading `text` (from the start, or from `states`); stops early once none is left."""
        states = self.start if states is None else states
        for char in text:
            if not states:
                break
            states = self.step(states, char)
        return states

    def matches(self, key: str) -> bool:
        return self.accept in self.read(key)


class _LazyDfa:
    """`Automaton.matches` with every (state set, character) step remembered: after warm-up a key costs one
    dict lookup per character. The cache is bounded; a key that needs more falls back to the automaton."""

    MAX_STATES = 2048
    MAX_TRANSITIONS = 65536

    def __init__(self, automaton: Automaton):
        self._automaton = automaton
        self._ids: dict[frozenset[int], int] = {}
        self._sets: list[frozenset[int]] = []
        self._rows: list[dict[str, int]] = []
        self._accepting: list[bool] = []
        self._transitions = 0
        self._lock = threading.Lock()
        self._id(frozenset())  # state 0: nothing can match any more
        self._start = self._id(automaton.start)

    def _id(self, states: frozenset[int]) -> int | None:
        found = self._ids.get(states)
        if found is None and len(self._sets) < self.MAX_STATES:
            found = len(self._sets)
            self._sets.append(states)
            self._rows.append({})
            self._accepting.append(self._automaton.accept in states)
            self._ids[states] = found
        return found

    def _learn(self, state: int, char: str) -> int | None:
        with self._lock:
            known = self._rows[state].get(char)
            if known is not None:
                return known
            following = self._id(self._automaton.step(self._sets[state], char))
            if following is not None and self._transitions < self.MAX_TRANSITIONS:
                self._rows[state][char] = following
                self._transitions += 1
            return following

    def _walk(self, text: str) -> int | None:
        """The state after reading `text` (0 as soon as nothing can match), or None when the cache is full."""
        rows = self._rows
        state = self._start
        for char in text:
            try:
                state = rows[state][char]
            except KeyError:
                following = self._learn(state, char)
                if following is None:
                    return None
                state = following
            if not state:
                return 0
        return state

    def matches(self, key: str) -> bool:
        state = self._walk(key)
        return self._automaton.matches(key) if state is None else self._accepting[state]

    def can_continue(self, prefix: str) -> bool:
        """Whether some key starting with `prefix` matches."""
        state = self._walk(prefix)
        return bool(self._automaton.read(prefix)) if state is None else state != 0


class Glob:
    """One pattern, ready to match keys: `matches(key)` is linear in the key length whatever the pattern."""

    def __init__(self, pattern: str):
        if not pattern:
            raise PatternError("a pattern may not be empty")
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise PatternError(f"a pattern may be at most {MAX_PATTERN_LENGTH} characters long (S3 keys are at most "
                               f"1,024 bytes), this one has {len(pattern)}")
        self.pattern = pattern
        self.automaton = Automaton(_tokens(pattern))
        self.matches: Callable[[str], bool]
        regex = linear_regex(pattern)
        if regex is not None:
            fullmatch = re.compile(regex, re.DOTALL).fullmatch
            self.matches = lambda key: fullmatch(key) is not None
        else:
            self.matches = _LazyDfa(self.automaton).matches

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> Glob:
    """The compiled pattern (matched against the whole key); raises PatternError for an unusable one."""
    return Glob(pattern)


@lru_cache(maxsize=1024)
def _automaton(pattern: str) -> Automaton:
    return Automaton(_tokens(pattern))


@lru_cache(maxsize=1024)
def _dfa(pattern: str) -> _LazyDfa:
    return _LazyDfa(_automaton(pattern))


def can_match_under(pattern: str, prefix: str) -> bool:
    """Whether some key starting with `prefix` can match `pattern`: a pattern written relative to the prefix
    (`*.gz` with prefix `logs/`) never can, since `*` does not cross `/`."""
    literal = literal_prefix(pattern)
    if literal.startswith(prefix):  # every pattern matches some key, and all of them start with its literal part
        return True
    return prefix.startswith(literal) and _dfa(pattern).can_continue(prefix)


def literal_prefix(pattern: str) -> str:
    """Everything before the first wildcard: every key the pattern matches starts with it."""
    wildcard = _FIRST_WILDCARD.search(pattern)
    return pattern if wildcard is None else pattern[:wildcard.start()]


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
    literals = [(pattern, literal_prefix(pattern)) for pattern in include_patterns]
    for prefix in prefixes:
        for pattern, literal in literals:
            if literal.startswith(prefix):
                candidates.append(literal)
            elif prefix.startswith(literal) and can_match_under(pattern, prefix):
                candidates.append(prefix)
    return minimal_prefixes(candidates)


class SearchBudget:
    """How many automaton steps a set of searches may take together, so that checks on a configuration stay
    quick whatever patterns arrive."""

    def __init__(self, steps: int):
        self.left = steps

    def spend(self, steps: int) -> bool:
        """Take `steps`; False once the budget is exhausted."""
        self.left -= steps
        return self.left >= 0


def some_key_passes(prefix: str, include_patterns: Sequence[str], exclude_patterns: Sequence[str],
                    budget: SearchBudget | None = None) -> bool | None:
    """Whether some non-empty key starting with `prefix` is kept by KeyFilter(includes, excludes).

    An exact search over the product of the patterns' automata: every character no pattern names behaves
    alike, so the alphabet is the patterns' literal characters, '/' and one other. None when the search runs
    out of `budget` (20,000 automaton steps unless given), so callers only say what they know.
    """
    budget = budget or SearchBudget(20_000)
    automata = [_automaton(p) for p in (*include_patterns, *exclude_patterns)]
    if not budget.spend(len(automata) * (len(prefix) + 1)):
        return None
    split = len(include_patterns)

    def passes(states: tuple[frozenset[int], ...]) -> bool:
        included = not split or any(a.accept in s for a, s in zip(automata[:split], states[:split]))
        return included and not any(a.accept in s for a, s in zip(automata[split:], states[split:]))

    def alive(states: tuple[frozenset[int], ...]) -> bool:
        return not split or any(states[:split])

    literals = {t for a in automata for t in a.tokens if len(t) == 1 and t not in _WILDCARDS}
    other = next(chr(c) for c in range(1, 0x110000) if chr(c) not in literals and chr(c) not in "/*?")
    alphabet = sorted(literals | {"/", other})
    start = tuple(a.read(prefix) for a in automata)
    if prefix and passes(start):
        return True
    seen, queue = {start}, deque([start])
    while queue:
        states = queue.popleft()
        if not alive(states):
            continue
        for char in alphabet:
            if not budget.spend(len(automata)):
                return None
            following = tuple(a.step(s, char) for a, s in zip(automata, states))
            if passes(following):
                return True
            if following not in seen:
                seen.add(following)
                queue.append(following)
    return False


@dataclass(frozen=True)
class KeyFilter:
    """Which keys belong to the table: inside the connection's key range, any include matches (or there are none)
    and no exclude matches. The one decision every listing, delete and event makes about a key."""

    include_patterns: tuple[str, ...] = ()
    exclude_patterns: tuple[str, ...] = ()
    key_range: KeyRange = WHOLE

    def __post_init__(self) -> None:
        object.__setattr__(self, "_includes", tuple(compile_glob(p).matches for p in self.include_patterns))
        object.__setattr__(self, "_excludes", tuple(compile_glob(p).matches for p in self.exclude_patterns))
        object.__setattr__(self, "_inside", None if self.key_range.whole else self.key_range.contains)

    @property
    def is_trivial(self) -> bool:
        return not self.include_patterns and not self.exclude_patterns and self.key_range.whole

    def matches(self, key: str) -> bool:
        inside: Callable[[str], bool] | None = self._inside  # type: ignore[attr-defined]
        if inside is not None and not inside(key):
            return False
        includes: tuple[Callable[[str], bool], ...] = self._includes  # type: ignore[attr-defined]
        if includes:
            for included in includes:
                if included(key):
                    break
            else:
                return False
        for excluded in self._excludes:  # type: ignore[attr-defined]
            if excluded(key):
                return False
        return True
