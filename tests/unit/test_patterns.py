"""Unit tests for s3_metadata.patterns: glob semantics on whole keys, LIST prefixes, and the key filter."""
from __future__ import annotations

import pytest

from s3_metadata.patterns import KeyFilter, PatternError, compile_glob, list_prefixes, literal_prefix, minimal_prefixes


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
def test_compile_glob_matches_whole_keys(pattern, key, matches):
    assert (compile_glob(pattern).fullmatch(key) is not None) is matches


def test_compile_glob_rejects_empty_pattern():
    with pytest.raises(PatternError, match="may not be empty"):
        compile_glob("")


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
