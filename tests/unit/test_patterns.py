"""Unit tests for s3_metadata.patterns: glob semantics on whole keys, LIST prefixes, and the key filter."""
from __future__ import annotations

import random
import re

import pytest

from s3_metadata.patterns import (
    MAX_PATTERN_LENGTH, Automaton, KeyFilter, PatternError, SearchBudget, _LazyDfa, _tokens, can_match_under,
    compile_glob, linear_regex, list_prefixes, literal_prefix, minimal_prefixes, some_key_passes,
)


def reference_regex(pattern: str) -> re.Pattern[str]:
    """The translation patterns were matched with before the automaton: the reference semantics. It backtracks
    exponentially on patterns like `*a*a*a*b`, so it only ever runs here, on short keys."""
    translated = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(translated.get(t, re.escape(t)) for t in _tokens(pattern)), re.DOTALL)


class SmallDfa(_LazyDfa):
    """The DFA with a cache so small that most keys overflow it and finish on the automaton."""

    MAX_STATES = 3
    MAX_TRANSITIONS = 4


# Every way a key can be matched: the public matcher, and each engine behind it on its own.
ENGINES = {
    "glob": lambda pattern: compile_glob(pattern).matches,
    "automaton": lambda pattern: Automaton(_tokens(pattern)).matches,
    "dfa": lambda pattern: _LazyDfa(Automaton(_tokens(pattern))).matches,
    "dfa-overflowing": lambda pattern: SmallDfa(Automaton(_tokens(pattern))).matches,
    "linear-regex": lambda pattern: (lambda key, rx=re.compile(linear_regex(pattern) or "(?!)", re.DOTALL):
                                     rx.fullmatch(key) is not None),
}


@pytest.mark.parametrize("pattern, key, matches", [
    # `*`: any run of characters except '/'
    pytest.param("*.gz", "a.gz", True, id="star-matches-name"),
    pytest.param("*.gz", ".gz", True, id="star-matches-empty"),
    pytest.param("*.gz", "dir/a.gz", False, id="star-does-not-cross-slash"),
    pytest.param("logs/*", "logs/a", True, id="star-after-folder"),
    pytest.param("logs/*", "logs/", True, id="star-matches-empty-name-after-folder"),
    pytest.param("logs/*", "logs/a/b", False, id="star-stops-at-next-slash"),
    pytest.param("logs/*/*.gz", "logs/2024/a.gz", True, id="star-per-segment"),
    pytest.param("logs/*/*.gz", "logs/2024/01/a.gz", False, id="star-per-segment-too-deep"),
    pytest.param("a*b", "axxb", True, id="star-in-middle"),
    pytest.param("a*b", "ax/xb", False, id="star-in-middle-not-crossing-slash"),
    # matched against the whole key, not a substring
    pytest.param("*.gz", "a.gz.tmp", False, id="whole-key-not-prefix-match"),
    pytest.param("a.gz", "xa.gz", False, id="whole-key-not-suffix-match"),
    # `**`: zero or more whole segments
    pytest.param("**", "", True, id="double-star-matches-empty-key"),
    pytest.param("**", "a/b/c", True, id="double-star-matches-everything"),
    pytest.param("a/**/b", "a/b", True, id="double-star-zero-segments"),
    pytest.param("a/**/b", "a/x/b", True, id="double-star-one-segment"),
    pytest.param("a/**/b", "a/x/y/z/b", True, id="double-star-many-segments"),
    pytest.param("a/**/b", "a/xb", False, id="double-star-needs-segment-boundary"),
    pytest.param("a/**/b", "a/x/b/c", False, id="double-star-end-anchored"),
    pytest.param("a/**/b", "ab", False, id="double-star-keeps-literal-slash"),
    pytest.param("**/*.gz", "a.gz", True, id="leading-double-star-top-level"),
    pytest.param("**/*.gz", "x/y/a.gz", True, id="leading-double-star-deep"),
    pytest.param("**/*.gz", "x/y/a.gzip", False, id="leading-double-star-wrong-suffix"),
    pytest.param("**/_temporary/**", "out/_temporary/0/part", True, id="double-star-both-sides"),
    pytest.param("**/_temporary/**", "_temporary/x", True, id="double-star-both-sides-top-level"),
    pytest.param("**/_temporary/**", "out/not_temporary/x", False, id="double-star-whole-segment-name"),
    pytest.param("logs/**", "logs/a/b/c.gz", True, id="trailing-double-star-deep"),
    pytest.param("logs/**", "logs/", True, id="trailing-double-star-folder-itself"),
    pytest.param("logs/**", "logs", False, id="trailing-double-star-needs-slash"),
    pytest.param("logs/**", "logsx/a", False, id="trailing-double-star-other-folder"),
    pytest.param("a/***/b", "a/x/y/b", True, id="triple-star-same-as-double"),
    pytest.param("a/**/**/b", "a/b", True, id="repeated-double-star"),
    # `?`: one character except '/'
    pytest.param("file?.csv", "file1.csv", True, id="question-one-char"),
    pytest.param("file?.csv", "file.csv", False, id="question-not-zero-chars"),
    pytest.param("file?.csv", "file12.csv", False, id="question-not-two-chars"),
    pytest.param("a?b", "a/b", False, id="question-not-slash"),
    pytest.param("a?b", "a\u00e9b", True, id="question-one-unicode-char"),
    # every other character is literal
    pytest.param("data[1].csv", "data[1].csv", True, id="bracket-is-literal"),
    pytest.param("data[1].csv", "data1.csv", False, id="bracket-is-not-a-class"),
    pytest.param("[abc]", "a", False, id="bracket-class-not-supported"),
    pytest.param("a.csv", "a.csv", True, id="dot-literal"),
    pytest.param("a.csv", "aXcsv", False, id="dot-is-not-any-char"),
    pytest.param("a+b", "a+b", True, id="plus-literal"),
    pytest.param("a+b", "aab", False, id="plus-is-not-repeat"),
    pytest.param("f(1).txt", "f(1).txt", True, id="parenthesis-literal"),
    pytest.param("a|b", "a", False, id="pipe-is-not-alternation"),
    pytest.param("a|b", "a|b", True, id="pipe-literal"),
    pytest.param("^a$", "^a$", True, id="anchors-literal"),
    pytest.param("a{2}", "aa", False, id="braces-not-quantifier"),
    pytest.param("a\\b", "a\\b", True, id="backslash-literal"),
    pytest.param("a\\*", "a\\xyz", True, id="backslash-does-not-escape-star"),
    pytest.param("a\\*", "a*", False, id="backslash-star-is-not-literal-star"),
    # control characters and unicode inside keys
    pytest.param("*.txt", "line1\nline2.txt", True, id="newline-inside-key-star"),
    pytest.param("**/*.txt", "dir\n/x.txt", True, id="newline-inside-key-double-star"),
    pytest.param("a?b", "a\nb", True, id="question-matches-newline"),
    pytest.param("*.txt", "a.txt\n", False, id="trailing-newline-is-part-of-key"),
    pytest.param("tab\there/*", "tab\there/x", True, id="tab-literal"),
    pytest.param("donn\u00e9es/*.csv", "donn\u00e9es/\u00e9t\u00e9.csv", True, id="unicode-literal"),
    pytest.param("\u65e5\u672c/**", "\u65e5\u672c/\u6771\u4eac/\U0001f600.png", True, id="cjk-and-emoji"),
    pytest.param("**/*.png", "\u65e5\u672c/\U0001f600.png", True, id="emoji-under-star"),
])
@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_compile_glob_matches_whole_keys(pattern, key, matches, engine):
    if engine == "linear-regex" and linear_regex(pattern) is None:
        pytest.skip("this pattern is matched by the automaton")
    assert ENGINES[engine](pattern)(key) is matches
    assert (reference_regex(pattern).fullmatch(key) is not None) is matches


@pytest.mark.parametrize("pattern, message", [
    pytest.param("", "may not be empty", id="empty"),
    pytest.param("x" * (MAX_PATTERN_LENGTH + 1), "at most 1024 characters", id="longer-than-any-key"),
])
def test_compile_glob_rejects_unusable_patterns(pattern, message):
    with pytest.raises(PatternError, match=message):
        compile_glob(pattern)


def test_longest_pattern_is_accepted():
    assert compile_glob("x" * MAX_PATTERN_LENGTH).matches("x" * MAX_PATTERN_LENGTH)


def random_text(rng: random.Random, alphabet: str, longest: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest)))


@pytest.mark.parametrize("seed, longest_pattern, longest_key", [
    pytest.param(1, 9, 14, id="short-1"),
    pytest.param(2, 9, 14, id="short-2"),
    pytest.param(3, 16, 40, id="long-3"),
    pytest.param(4, 16, 40, id="long-4"),
])
def test_every_engine_agrees_with_the_reference_regex(seed, longest_pattern, longest_key):
    """Random short patterns (literals 'a' 'b', '/', '*', '**', '***', '?') against random keys over 'ab/':
    small alphabets reach every interaction of the wildcards with each other and with '/'."""
    rng = random.Random(seed)
    disagreements = []
    for _ in range(1000):
        pattern = random_text(rng, "ab/*?", longest_pattern) or "*"
        reference = reference_regex(pattern)
        engines = {name: make(pattern) for name, make in ENGINES.items()
                   if name != "linear-regex" or linear_regex(pattern) is not None}
        for _ in range(20):
            key = random_text(rng, "ab/", longest_key)
            expected = reference.fullmatch(key) is not None
            disagreements += [(name, pattern, key) for name, matches in engines.items() if matches(key) != expected]
    assert disagreements == []


@pytest.mark.parametrize("pattern, linear", [
    pytest.param("**/*.parquet", "(?:.*/)?[^/]*\\.parquet", id="common-suffix"),
    pytest.param("logs/*/*.gz", "logs/[^/]*/[^/]*\\.gz", id="common-per-segment"),
    pytest.param("**/_temporary/**", "(?:.*/)?_temporary/.*", id="common-folder-anywhere"),
    pytest.param("**.gz", ".*\\.gz", id="one-repetition-mid-segment"),
    pytest.param("*a*b", "(?>[^/]*?a)[^/]*b", id="stars-in-a-segment-become-atomic-searches"),
    pytest.param("**/a/**/b", "(?>(?:[^/]*/)*?a/)(?:.*/)?b", id="runs-between-double-stars-become-atomic"),
    pytest.param("a**b*c", None, id="double-star-inside-a-segment-needs-the-automaton"),
    pytest.param("**a**b", None, id="two-double-stars-inside-segments"),
    pytest.param("a/**b/**", None, id="double-star-not-starting-its-segment"),
])
def test_linear_regex(pattern, linear):
    assert linear_regex(pattern) == linear


@pytest.mark.parametrize("pattern, key, expected", [
    pytest.param("*a*a*a*a*a*b", "a" * 1024, False, id="stars-in-one-segment"),
    pytest.param("*a*a*a*a*a*a", "a" * 1024, True, id="stars-in-one-segment-matching"),
    pytest.param("**/**/**/**/x", "a/" * 512, False, id="repeated-double-star-slash"),
    pytest.param("**a**a**a**a**b", "a" * 1024, False, id="double-stars-inside-a-segment"),
    pytest.param("**a**a**a**a**a", "a" * 1024, True, id="double-stars-inside-a-segment-matching"),
    pytest.param("**/a*a*a*/**/a*a*a*/**/b", ("a" * 30 + "/") * 33 + "a", False,
                 id="runs-and-stars"),
    pytest.param("**/*/*/*/*/*/*/*/*/b", "a/" * 512, False, id="many-segments-after-double-star"),
    pytest.param("?*?*?*?*?*?*?*?*/x", "ab" * 512, False, id="question-marks-and-stars"),
    pytest.param("*a*?*a*?*a*?*a*", "a" * 1023 + "b", True, id="mixed-wildcards-matching"),
])
def test_adversarial_patterns_on_a_1024_character_key_finish(pattern, key, expected):
    """The regex translation backtracks polynomially with a degree set by the pattern on these (the first took
    44 s on 128 characters); every engine is linear in the key, so all of them finish, with the right answer."""
    assert len(key) == 1024
    for name, engine in ENGINES.items():
        if name == "linear-regex" and linear_regex(pattern) is None:
            continue
        assert engine(pattern)(key) is expected, name


def test_dfa_cache_is_shared_and_stays_bounded():
    dfa = SmallDfa(Automaton(_tokens("**a**b*c")))
    for key in ["xaybzc", "abc", "a/b/c", "ab", "zzz"] * 3:
        assert dfa.matches(key) == (reference_regex("**a**b*c").fullmatch(key) is not None)
    assert len(dfa._sets) <= SmallDfa.MAX_STATES
    assert dfa._transitions <= SmallDfa.MAX_TRANSITIONS


@pytest.mark.parametrize("pattern, prefix, expected", [
    pytest.param("*.gz", "logs/", False, id="relative-pattern-under-folder"),
    pytest.param("logs/*.gz", "logs/", True, id="pattern-inside-prefix"),
    pytest.param("logs/**", "logs/2024/", True, id="prefix-deeper-than-literal"),
    pytest.param("**/x", "anything/at/all", True, id="double-star-slash-never-dies"),
    pytest.param("**/x", "abx", True, id="double-star-slash-mid-segment-can-still-end-later"),
    pytest.param("a?c", "abd", False, id="question-then-mismatch"),
    pytest.param("a?c", "a/", False, id="question-not-slash"),
    pytest.param("raw/**", "logs/", False, id="disjoint"),
    pytest.param("logs", "logs/", False, id="prefix-longer-than-pattern"),
    pytest.param("logs/*", "", True, id="empty-prefix"),
])
def test_can_match_under(pattern, prefix, expected):
    assert can_match_under(pattern, prefix) is expected


@pytest.mark.parametrize("prefix, includes, excludes, expected", [
    pytest.param("", (), ("**",), False, id="exclude-everything"),
    pytest.param("", (), ("**/*",), False, id="exclude-everything-written-differently"),
    pytest.param("", (), ("*",), True, id="exclude-top-level-only"),
    pytest.param("logs/", (), ("logs/**",), False, id="exclude-everything-under-the-prefix"),
    pytest.param("logs/", (), ("raw/**",), True, id="exclude-elsewhere"),
    pytest.param("", ("**/*.gz",), ("**/*.gz",), False, id="include-equals-exclude"),
    pytest.param("", ("logs/*.gz",), ("**/*.gz",), False, id="include-inside-exclude"),
    pytest.param("", ("**/*.gz",), ("logs/**",), True, id="include-wider-than-exclude"),
    pytest.param("", ("**/*.gz",), ("**/*.tmp", "**/*.csv"), True, id="unrelated-excludes"),
    pytest.param("", ("a/**",), ("a/*", "a/*/**"), False, id="two-excludes-cover-together"),
    pytest.param("", ("*",), ("?*",), False, id="only-the-empty-key-would-pass-and-keys-are-never-empty"),
    pytest.param("x", (), ("x?*",), True, id="the-prefix-itself-is-a-key"),
])
def test_some_key_passes(prefix, includes, excludes, expected):
    assert some_key_passes(prefix, includes, excludes) is expected


def test_some_key_passes_says_so_when_it_gives_up():
    budget = SearchBudget(10)
    assert some_key_passes("", ("*a*b*c*d",), ("*x*y*z*w",), budget) is None
    assert some_key_passes("", (), ("**",), budget) is None, "a spent budget is spent for every later search"


@pytest.mark.parametrize("pattern, expected", [
    pytest.param("logs/2024/**/*.gz", "logs/2024/", id="double-star"),
    pytest.param("logs/*.gz", "logs/", id="star"),
    pytest.param("logs/file?.csv", "logs/file", id="question"),
    pytest.param("logs/a?b*c", "logs/a", id="first-wildcard-wins"),
    pytest.param("logs/a*b?c", "logs/a", id="first-wildcard-wins-star-first"),
    pytest.param("**/*.gz", "", id="leading-wildcard"),
    pytest.param("logs/exact.csv", "logs/exact.csv", id="no-wildcard-whole-pattern"),
    pytest.param("logs/[1]/*", "logs/[1]/", id="bracket-is-literal"),
    pytest.param("a\\*", "a\\", id="backslash-does-not-escape"),
])
def test_literal_prefix(pattern, expected):
    assert literal_prefix(pattern) == expected


@pytest.mark.parametrize("prefixes, expected", [
    pytest.param([], [], id="none"),
    pytest.param([""], [""], id="whole-bucket"),
    pytest.param(["logs/", "logs/2024/", "raw/"], ["logs/", "raw/"], id="nested-dropped"),
    pytest.param(["logs/2024/", "logs/"], ["logs/"], id="order-independent"),
    pytest.param(["raw/", "", "logs/"], [""], id="empty-covers-all"),
    pytest.param(["a/", "a/", "b/"], ["a/", "b/"], id="duplicates"),
    pytest.param(["logs", "logs/"], ["logs"], id="string-prefix-not-folder"),
    pytest.param(["ab/", "a/"], ["a/", "ab/"], id="similar-but-disjoint"),
])
def test_minimal_prefixes(prefixes, expected):
    assert minimal_prefixes(prefixes) == expected


@pytest.mark.parametrize("prefixes, patterns, expected", [
    pytest.param([""], [], [""], id="no-patterns-whole-bucket"),
    pytest.param(["logs/", "logs/a/"], [], ["logs/"], id="no-patterns-minimal"),
    pytest.param([""], ["logs/2024/**/*.gz"], ["logs/2024/"], id="pattern-narrows-whole-bucket"),
    pytest.param(["logs/"], ["logs/2024/*.gz"], ["logs/2024/"], id="pattern-narrows-prefix"),
    pytest.param(["logs/2024/"], ["logs/**"], ["logs/2024/"], id="pattern-wider-keeps-prefix"),
    pytest.param(["logs/2024/"], ["**/*.gz"], ["logs/2024/"], id="wildcard-pattern-keeps-prefix"),
    pytest.param([""], ["**/*.gz"], [""], id="wildcard-pattern-whole-bucket"),
    pytest.param(["logs/"], ["raw/**"], [], id="disjoint"),
    pytest.param(["logs/", "raw/"], ["raw/*.csv"], ["raw/"], id="one-prefix-disjoint-other-narrowed"),
    pytest.param([""], ["a/*.gz", "b/*.gz"], ["a/", "b/"], id="two-patterns-two-prefixes"),
    pytest.param([""], ["a/**", "a/b/*.gz"], ["a/"], id="two-patterns-nested"),
    pytest.param([""], ["a/*.gz", "**/*.csv"], [""], id="one-wildcard-pattern-widens-to-bucket"),
    pytest.param(["logs/", "raw/"], ["**/*.gz"], ["logs/", "raw/"], id="wildcard-pattern-many-prefixes"),
    pytest.param(["logs/2024/", "logs/2025/"], ["logs/2024/01/*"], ["logs/2024/01/"],
                 id="narrow-one-drop-other"),
    pytest.param(["logs"], ["logs/*.gz"], ["logs/"], id="prefix-without-slash"),
    pytest.param(["logs/a"], ["logs/*"], ["logs/a"], id="partial-segment-prefix"),
])
def test_list_prefixes(prefixes, patterns, expected):
    assert list_prefixes(prefixes, patterns) == expected


@pytest.mark.parametrize("include, exclude, key, expected", [
    pytest.param((), (), "anything/at/all", True, id="no-patterns-keeps-all"),
    pytest.param(("**/*.gz",), (), "a/b.gz", True, id="include-match"),
    pytest.param(("**/*.gz",), (), "a/b.csv", False, id="include-no-match"),
    pytest.param(("**/*.gz", "**/*.csv"), (), "a/b.csv", True, id="any-include-is-enough"),
    pytest.param((), ("**/*.tmp",), "a/b.tmp", False, id="exclude-only-match"),
    pytest.param((), ("**/*.tmp",), "a/b.gz", True, id="exclude-only-no-match"),
    pytest.param(("**/*.gz",), ("**/_temporary/**",), "out/_temporary/x.gz", False, id="exclude-wins"),
    pytest.param(("**/*.gz",), ("**/_temporary/**",), "out/final/x.gz", True, id="include-without-exclude"),
    pytest.param(("logs/**",), ("logs/**",), "logs/a", False, id="same-pattern-both-exclude-wins"),
    pytest.param(("**/*.gz",), ("**/*.tmp",), "a/b.csv", False, id="neither"),
])
def test_key_filter(include, exclude, key, expected):
    assert KeyFilter(include, exclude).matches(key) is expected


@pytest.mark.parametrize("include, exclude, trivial", [
    pytest.param((), (), True, id="none"),
    pytest.param(("**",), (), False, id="include"),
    pytest.param((), ("*.tmp",), False, id="exclude"),
])
def test_key_filter_is_trivial(include, exclude, trivial):
    assert KeyFilter(include, exclude).is_trivial is trivial


def test_key_filter_rejects_empty_pattern():
    with pytest.raises(PatternError):
        KeyFilter(("",), ())
