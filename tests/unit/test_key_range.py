"""Unit tests for key ranges (key_range_start <= key < key_range_end): the bounds helpers, the filter every decision
goes through, the configuration's validation, the walks' bounds and what a change of the range does to the state."""
from __future__ import annotations

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from s3_metadata.configuration import ConfigurationError, parse_configuration
from s3_metadata.key_range import (
    MAX_CHAR, MAX_KEY_BYTES, WHOLE, KeyRange, changed_between, just_below, prefix_end, utf8_length,
)
from s3_metadata.listing import walk_part, walk_versions
from s3_metadata.passes import adopt_key_range
from s3_metadata.patterns import KeyFilter
from s3_metadata.ranges import RangeEntry, after_key_range_change
from s3_metadata.state import SyncState, load_state
from tests.unit.test_listing_and_progress import Store, keys_of

# Characters S3 keys may hold (no lone surrogates), U+10FFFF left out: only keys holding it can fall between
# just_below(k) and k.
KEY_CHARS = st.characters(blacklist_categories=("Cs",), max_codepoint=0x10FFFE)
KEYS = st.text(KEY_CHARS, min_size=1, max_size=12)
# Few distinct characters, so that generated keys share prefixes and meet bounds as often as possible.
NEAR = st.text(st.sampled_from(["a", "b", "/", "\x00", "\u00e9", "\ud7ff", "\ue000", "\U0001f600"]), max_size=5)
BOUNDS = st.one_of(st.none(), NEAR.filter(bool))


# ---------------------------------------------------------------------------------------------------- bounds

@pytest.mark.parametrize("key, expected", [
    pytest.param("b", "a" + MAX_CHAR, id="last-char-lowered"),
    pytest.param("logs/m", "logs/l" + MAX_CHAR, id="path"),
    pytest.param("a\x00", "a", id="nul-drops"),
    pytest.param("\x00", "", id="only-nul"),
    pytest.param("a\ue000", "a\ud7ff" + MAX_CHAR, id="skips-the-surrogates"),
    pytest.param("x" * 1024, "x" * 1023 + "w", id="no-room-for-the-pad"),
    pytest.param("x" * 1019 + "y", "x" * 1020 + MAX_CHAR, id="pad-just-fits"),
])
def test_just_below(key, expected):
    below = just_below(key)
    assert below == expected
    assert below < key
    below.encode("utf-8")  # a StartAfter S3 can be sent
    assert utf8_length(below) <= MAX_KEY_BYTES


@hypothesis_settings(max_examples=400, deadline=None)
@given(key=st.one_of(KEYS, NEAR), start=st.one_of(KEYS, NEAR.filter(bool)))
def test_listing_after_just_below_start_lists_exactly_the_keys_from_start(key, start):
    """StartAfter=just_below(start) lists the key equal to start and never a key below it (keys holding U+10FFFF
    aside, which the filter would drop)."""
    assert (key > just_below(start)) == (key >= start)


@pytest.mark.parametrize("prefix, expected", [
    pytest.param("", None, id="empty"),
    pytest.param("logs/", "logs0", id="folder"),
    pytest.param("a" + MAX_CHAR, "b", id="carry"),
    pytest.param(MAX_CHAR * 2, None, id="all-max"),
    pytest.param("a\ud7ff", "a\ue000", id="skips-the-surrogates"),
])
def test_prefix_end(prefix, expected):
    assert prefix_end(prefix) == expected


@hypothesis_settings(max_examples=400, deadline=None)
@given(key=NEAR, prefix=NEAR)
def test_keys_under_a_prefix_are_exactly_those_up_to_its_end(key, prefix):
    end = prefix_end(prefix)
    assert key.startswith(prefix) == (prefix <= key and (end is None or key < end))


@pytest.mark.parametrize("key_range, prefix, expected", [
    pytest.param(WHOLE, "logs/", True, id="whole"),
    pytest.param(KeyRange("logs/m", None), "logs/", True, id="start-inside-prefix"),
    pytest.param(KeyRange("logs/m", None), "logs/z/", True, id="prefix-after-start"),
    pytest.param(KeyRange("logs/m", None), "logs/a/", False, id="prefix-before-start"),
    pytest.param(KeyRange(None, "logs/m"), "logs/m", False, id="prefix-equal-to-end"),
    pytest.param(KeyRange(None, "logs/m"), "logs/", True, id="end-inside-prefix"),
    pytest.param(KeyRange("logs/", "logs0"), "logs/", True, id="exactly-the-prefix"),
    pytest.param(KeyRange("m", "n"), "", True, id="empty-prefix"),
    pytest.param(KeyRange("a/", "a/\x00"), "a/", True, id="only-the-prefix-itself"),
])
def test_reaches(key_range, prefix, expected):
    assert key_range.reaches(prefix) is expected


@hypothesis_settings(max_examples=400, deadline=None)
@given(key=NEAR, prefix=NEAR, start=BOUNDS, end=BOUNDS)
def test_a_prefix_said_unreachable_holds_no_key_of_the_range(key, prefix, start, end):
    key_range = KeyRange(start, end)
    if key.startswith(prefix) and key_range.contains(key):
        assert key_range.reaches(prefix)


@hypothesis_settings(max_examples=400, deadline=None)
@given(key=NEAR, lo=BOUNDS, hi=BOUNDS, start=BOUNDS, end=BOUNDS)
def test_a_range_said_disjoint_holds_no_key_of_the_slice(key, lo, hi, start, end):
    key_range = KeyRange(start, end)
    if key_range.disjoint(lo, hi):
        assert not ((lo is None or key > lo) and (hi is None or key <= hi) and key_range.contains(key))


@hypothesis_settings(max_examples=400, deadline=None)
@given(key=NEAR, old=st.builds(KeyRange, BOUNDS, BOUNDS), new=st.builds(KeyRange, BOUNDS, BOUNDS))
def test_every_key_that_entered_or_left_lies_in_a_changed_region(key, old, new):
    if old.contains(key) != new.contains(key):
        assert any(region.contains(key) for region in changed_between(old, new))


@hypothesis_settings(max_examples=400, deadline=None)
@given(key=NEAR, lo=BOUNDS, start=BOUNDS, end=BOUNDS)
def test_list_after_never_skips_a_key_of_the_slice(key, lo, start, end):
    key_range = KeyRange(start, end)
    after = key_range.list_after(lo)
    if (lo is None or key > lo) and key_range.contains(key):
        assert after is None or key > after


# ---------------------------------------------------------------------------------------------------- the filter

@pytest.mark.parametrize("key_filter, key, expected", [
    pytest.param(KeyFilter((), (), KeyRange("b", "d")), "b", True, id="start-is-inclusive"),
    pytest.param(KeyFilter((), (), KeyRange("b", "d")), "d", False, id="end-is-exclusive"),
    pytest.param(KeyFilter((), (), KeyRange("b", "d")), "a" + MAX_CHAR * 2, False, id="just-below-start"),
    pytest.param(KeyFilter((), (), KeyRange("b", "d")), "c" + MAX_CHAR, True, id="just-below-end"),
    pytest.param(KeyFilter((), (), KeyRange("b", "d")), "d\x00", False, id="just-above-end"),
    pytest.param(KeyFilter(("**/*.gz",), (), KeyRange("b", "d")), "c/x.gz", True, id="pattern-and-range"),
    pytest.param(KeyFilter(("**/*.gz",), (), KeyRange("b", "d")), "e/x.gz", False, id="pattern-outside-range"),
    pytest.param(KeyFilter(("**/*.gz",), (), KeyRange("b", "d")), "c/x.txt", False, id="range-without-pattern"),
])
def test_key_filter_applies_the_range_with_the_patterns(key_filter, key, expected):
    assert key_filter.matches(key) is expected
    assert not key_filter.is_trivial


def test_a_filter_without_range_or_patterns_stays_trivial():
    assert KeyFilter().is_trivial and KeyFilter((), (), WHOLE).is_trivial


# ---------------------------------------------------------------------------------------------------- configuration

@pytest.mark.parametrize("configuration, expected", [
    pytest.param({}, WHOLE, id="unset"),
    pytest.param({"key_range_start": "", "key_range_end": ""}, WHOLE, id="empty"),
    pytest.param({"key_range_start": "m"}, KeyRange("m", None), id="start-only"),
    pytest.param({"key_range_end": "m"}, KeyRange(None, "m"), id="end-only"),
    pytest.param({"key_range_start": "logs/a", "key_range_end": "logs/b"}, KeyRange("logs/a", "logs/b"), id="both"),
    pytest.param({"key_range_start": "\u00e9t\u00e9/", "key_range_end": "\U0001f600"},
                 KeyRange("\u00e9t\u00e9/", "\U0001f600"), id="unicode"),
    pytest.param({"key_range_start": "x" * 1024}, KeyRange("x" * 1024, None), id="longest-key"),
    pytest.param({"prefix": "a/,m/", "key_range_start": "m"}, KeyRange("m", None), id="one-prefix-reaches"),
])
def test_key_range_settings(configuration, expected):
    assert parse_configuration({"bucket": "my-bucket", **configuration}).key_range == expected


@pytest.mark.parametrize("configuration, key, problem", [
    pytest.param({"key_range_start": "m", "key_range_end": "m"}, "key_range_end", "is not after key_range_start",
                 id="empty-slice"),
    pytest.param({"key_range_start": "n", "key_range_end": "m"}, "key_range_end", "is not after key_range_start",
                 id="reversed"),
    pytest.param({"key_range_start": "\u00e9", "key_range_end": "z"}, "key_range_end", "S3's key order",
                 id="unicode-after-ascii"),
    pytest.param({"key_range_start": "x" * 1025}, "key_range_start", "longer than the longest S3 key",
                 id="start-too-long"),
    pytest.param({"key_range_end": "\u00e9" * 513}, "key_range_end", "1026 bytes of UTF-8", id="end-too-long-in-bytes"),
    pytest.param({"key_range_start": "a\ud800"}, "key_range_start", "lone surrogate", id="not-utf8"),
    pytest.param({"prefix": "logs/", "key_range_start": "m"}, "key_range_start", "holds no key under the prefixes",
                 id="prefix-before-start"),
    pytest.param({"prefix": "logs/,raw/", "key_range_end": "a"}, "key_range_end", "holds no key under the prefixes",
                 id="prefixes-after-end"),
    pytest.param({"prefix": "logs/", "key_range_start": "a", "key_range_end": "logs/"}, "key_range_end",
                 "holds no key", id="end-equal-to-prefix"),
    pytest.param({"include_patterns": "logs/**", "key_range_start": "m"}, "key_range_start", "holds no key",
                 id="pattern-prefix-before-start"),
])
def test_key_range_problems(configuration, key, problem):
    with pytest.raises(ConfigurationError) as caught:
        parse_configuration({"bucket": "my-bucket", **configuration})
    assert caught.value.keys == (key,)
    assert problem in str(caught.value)
    assert "Example of a good value" in str(caught.value)


def test_every_bad_key_is_named_at_once():
    with pytest.raises(ConfigurationError) as caught:
        parse_configuration({"bucket": "my-bucket", "key_range_start": "x" * 2000, "key_range_end": "a\udfff",
                             "max_concurrency": "lots"})
    assert set(caught.value.keys) == {"key_range_start", "key_range_end", "max_concurrency"}


@pytest.mark.parametrize("configuration, streams", [
    pytest.param({"prefix": "a/,m/,z/", "key_range_start": "m", "key_range_end": "n"}, ["m/"], id="one-of-three"),
    pytest.param({"prefix": "a/,m/,z/", "key_range_start": "a/x"}, ["a/", "m/", "z/"], id="start-inside-first"),
    pytest.param({"prefix": "a/,m/,z/", "key_range_end": "m/"}, ["a/"], id="end-at-a-prefix"),
    pytest.param({"key_range_start": "m"}, [""], id="whole-bucket"),
])
def test_a_prefix_wholly_outside_the_range_is_no_stream(configuration, streams):
    settings = parse_configuration({"bucket": "my-bucket", **configuration})
    assert settings.streams() == [("my-bucket", prefix) for prefix in streams]


# ---------------------------------------------------------------------------------------------------- walks

KEYS_TO_WALK = ["a", "a" + MAX_CHAR * 2, "b", "b\x00", "c", "c" + MAX_CHAR, "d", "d\x00", "e"]


@pytest.mark.parametrize("key_range, lo, hi, expected", [
    pytest.param(KeyRange("b", "d"), None, None, ["b", "b\x00", "c", "c" + MAX_CHAR], id="slice"),
    pytest.param(KeyRange("b", "d"), None, "c", ["b", "b\x00", "c"], id="hi-inside"),
    pytest.param(KeyRange("b", "d"), "b\x00", None, ["c", "c" + MAX_CHAR], id="lo-inside"),
    pytest.param(KeyRange("b", None), None, None, ["b", "b\x00", "c", "c" + MAX_CHAR, "d", "d\x00", "e"], id="open-end"),
    pytest.param(KeyRange(None, "b\x00"), None, None, ["a", "a" + MAX_CHAR * 2, "b"], id="open-start"),
])
def test_walk_part_lists_the_slice_and_stops_at_its_end(key_range, lo, hi, expected):
    store = Store(KEYS_TO_WALK)
    walked = keys_of(walk_part(store, "bkt", "", key_range.list_after(lo), hi, False, end=key_range.end))
    # What the walk hands on, filtered as the lister filters it: exactly the slice within (lo, hi].
    assert [k for k in walked if key_range.contains(k)] == expected
    # Nothing past the end is handed on, and nothing far below the start is listed.
    assert all(key_range.end is None or k < key_range.end for k in walked)
    assert set(walked) - set(expected) <= {"a" + MAX_CHAR * 2}


@pytest.mark.parametrize("lo, hi, end", [
    pytest.param("d", None, "d", id="lo-at-end"),
    pytest.param("e", "c", None, id="lo-past-hi"),
    pytest.param("x", "y", "e", id="part-after-the-slice"),
])
def test_walks_ask_nothing_when_no_key_can_be_in_bounds(lo, hi, end):
    store = Store(KEYS_TO_WALK)
    assert keys_of(walk_part(store, "bkt", "", lo, hi, False, end=end)) == []
    assert list(walk_versions(store, "bkt", "", lo, hi, end=end)) == []
    assert store.calls == []


# ---------------------------------------------------------------------------------------------------- state

KNOWN = {"count": 5, "digest": 9, "done": True, "ids": 7, "sketch": b"s"}


def entry(hi: str | None) -> RangeEntry:
    return RangeEntry(hi, **KNOWN)


EMPTY = (0, 0, False, 0, None)
FORGOTTEN = (None, None, False, None, None)
KEPT = (5, 9, True, 7, b"s")


@pytest.mark.parametrize("old, new, expected", [
    pytest.param(WHOLE, WHOLE, [KEPT, KEPT, KEPT, KEPT], id="unchanged"),
    pytest.param(WHOLE, KeyRange("f", None), [EMPTY, FORGOTTEN, KEPT, KEPT], id="start-set"),
    pytest.param(WHOLE, KeyRange(None, "n"), [KEPT, KEPT, FORGOTTEN, EMPTY], id="end-set"),
    pytest.param(KeyRange("f", None), KeyRange("h", None), [EMPTY, FORGOTTEN, KEPT, KEPT], id="start-moved-up"),
    pytest.param(KeyRange("h", None), KeyRange("a", None), [FORGOTTEN, FORGOTTEN, KEPT, KEPT], id="start-moved-down"),
    pytest.param(KeyRange(None, "m"), KeyRange(None, "p"), [KEPT, KEPT, FORGOTTEN, EMPTY], id="end-moved-up"),
    pytest.param(WHOLE, KeyRange("x", None), [EMPTY, EMPTY, EMPTY, FORGOTTEN], id="only-the-open-range"),
    pytest.param(KeyRange(None, "k"), WHOLE, [KEPT, FORGOTTEN, FORGOTTEN, FORGOTTEN], id="end-unset-takes-k-itself"),
])
def test_after_key_range_change(old, new, expected):
    """Ranges (-, e], (e, k], (k, r], (r, -): those holding keys that entered or left the slice forget what they knew,
    those wholly outside the new slice are known empty, the others keep everything."""
    entries = [entry("e"), entry("k"), entry("r"), entry(None)]
    after = after_key_range_change(entries, old, new)
    assert [e.hi for e in after] == ["e", "k", "r", None]
    assert [(e.count, e.digest, e.done, e.ids, e.sketch) for e in after] == expected


@pytest.mark.parametrize("key_range", [WHOLE, KeyRange("a", None), KeyRange(None, "\U0001f600"), KeyRange("a", "b")])
def test_state_keeps_the_key_range(key_range):
    saved = SyncState(key_range=key_range).to_json()
    assert ("key_range" in saved) is not key_range.whole
    assert load_state(saved).key_range == key_range


@pytest.mark.parametrize("value", [["a"], "a", [1, None], {"start": "a"}])
def test_state_with_a_bad_key_range_is_refused(value):
    with pytest.raises(ValueError, match="key_range"):
        load_state({"version": 3, "key_range": value})


class Lines:
    """A sink that keeps what it is told to log."""

    def __init__(self) -> None:
        self.info_lines: list[str] = []

    def info(self, message: str) -> None:
        self.info_lines.append(message)


@pytest.mark.parametrize("before, configured, changed", [
    pytest.param(WHOLE, {}, False, id="never-set"),
    pytest.param(KeyRange("k", None), {"key_range_start": "k"}, False, id="unchanged"),
    pytest.param(WHOLE, {"key_range_start": "k"}, True, id="set"),
    pytest.param(KeyRange("k", None), {}, True, id="unset"),
    pytest.param(KeyRange("k", None), {"key_range_start": "k", "key_range_end": "x"}, True, id="end-added"),
])
def test_adopt_key_range(before, configured, changed):
    """A changed key range resets the ranges it touches and forces a listing pass (also in event mode, where no event
    reports a key that entered the slice); the state then remembers the new one."""
    settings = parse_configuration({"bucket": "my-bucket", **configured})
    state = SyncState(key_range=before)
    stream = state.stream("my-bucket", "")
    stream.ranges = [entry("e"), entry("r"), entry(None)]
    stream.watermark = object()  # type: ignore[assignment]
    sink = Lines()
    adopt_key_range(settings, state, sink)  # type: ignore[arg-type]
    assert state.key_range == settings.key_range
    assert (stream.ranges != [entry("e"), entry("r"), entry(None)]) is changed
    assert (stream.watermark is None) is changed
    assert len(sink.info_lines) == int(changed)
