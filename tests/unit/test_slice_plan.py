"""Unit tests for scripts/slice_plan.py: boundaries between keys, exact plans from sorted keys, and the survey that
estimates a bucket it cannot list, run against an in-memory listing."""
from __future__ import annotations

import random
from bisect import bisect_left, bisect_right

import pytest

from s3_metadata.key_range import WHOLE, KeyRange
from scripts.slice_plan import Slice, Survey, plan_from_keys, separator

PAGE = 1000


class Listing:
    """ListObjectsV2 over sorted keys: up to PAGE keys under a prefix after StartAfter, and whether more follow."""

    def __init__(self, keys: list[str]):
        self.keys = sorted(set(keys))
        self.requests = 0

    def __call__(self, prefix: str, after: str | None) -> tuple[list[str], bool]:
        self.requests += 1
        index = 0 if after is None else bisect_right(self.keys, after)
        index = max(index, bisect_left(self.keys, prefix))
        listed = []
        while index < len(self.keys) and self.keys[index].startswith(prefix) and len(listed) < PAGE:
            listed.append(self.keys[index])
            index += 1
        return listed, index < len(self.keys) and self.keys[index].startswith(prefix)


def counts_of(slices: list[Slice], keys: list[str]) -> list[int]:
    """How many of `keys` each slice really holds."""
    ordered = sorted(keys)
    return [(len(ordered) if s.end is None else bisect_left(ordered, s.end))
            - (0 if s.start is None else bisect_left(ordered, s.start)) for s in slices]


def assert_covering(slices: list[Slice], key_range: KeyRange = WHOLE) -> None:
    """The slices meet end to start from the range's start to its end: no gap, no overlap."""
    assert slices[0].start == key_range.start and slices[-1].end == key_range.end
    for before, after in zip(slices, slices[1:]):
        assert before.end is not None and before.end == after.start
    boundaries = [s.end for s in slices[:-1]]
    assert boundaries == sorted(set(boundaries))  # strictly increasing


@pytest.mark.parametrize("before, after, expected", [
    pytest.param("logs/2024-06-30/z", "logs/2024-07-01/a", "logs/2024-07", id="folders"),
    pytest.param("a", "ab", "ab", id="prefix-of-the-next"),
    pytest.param("a/x", "b", "b", id="first-character"),
    pytest.param("a", "a b", "a b", id="no-trailing-space"),
    pytest.param("a", "a  ", "a  ", id="only-spaces-left"),
    pytest.param("\u00e9t\u00e9/1", "\u00e9t\u00e9/2", "\u00e9t\u00e9/2", id="unicode"),
])
def test_separator(before, after, expected):
    boundary = separator(before, after)
    assert boundary == expected
    assert before < boundary <= after


@pytest.mark.parametrize("keys, parts, counts", [
    pytest.param([f"k/{i:03d}" for i in range(300)], 3, [100, 100, 100], id="even"),
    pytest.param(["a", "b"], 3, [1, 1], id="fewer-keys-than-parts"),
    pytest.param([], 3, [0], id="empty"),
    pytest.param(["f", "g", "g ", "g/a", "\u65e5\u672c", "\U0001f600"], 3, [2, 2, 2], id="unicode"),
])
def test_plan_from_keys(keys, parts, counts):
    slices = plan_from_keys(sorted(keys), parts)
    assert [s.objects for s in slices] == counts
    assert counts_of(slices, keys) == counts
    assert all(s.exact for s in slices)
    assert_covering(slices)


def test_plan_from_keys_prefers_short_boundaries_within_a_percent():
    """60 folders of 500 keys: the boundaries are folder names, and each slice is within 1% of a third."""
    keys = sorted(f"logs/2024-{m:02d}-{d:02d}/part-{i}.gz" for m in range(1, 7) for d in range(1, 11)
                  for i in range(500))
    slices = plan_from_keys(keys, 3)
    assert [s.end for s in slices[:-1]] == ["logs/2024-03", "logs/2024-05"]
    assert all(abs(c - 10_000) <= 100 for c in counts_of(slices, keys))
    assert [s.objects for s in slices] == counts_of(slices, keys)


def test_plan_from_keys_keeps_the_configured_range():
    key_range = KeyRange("k/100", "k/200")
    slices = plan_from_keys([f"k/{i:03d}" for i in range(100, 200)], 4, key_range)
    assert_covering(slices, key_range)
    assert [s.objects for s in slices] == [25, 25, 25, 25]


def test_a_survey_within_its_budget_is_exact():
    keys = [f"logs/2024-{m:02d}-{d:02d}/{i}.gz" for m in range(1, 4) for d in range(1, 29) for i in range(40)]
    listing = Listing(keys)
    found = Survey(listing, [""], lambda key: True, WHOLE, 200).run()
    assert found.exact and found.requests == listing.requests <= 60
    slices = found.plan(4)
    assert slices == plan_from_keys(sorted(keys), 4)
    assert counts_of(slices, keys) == [840, 840, 840, 840]


def hashed(rng: random.Random, count: int) -> list[str]:
    return ["%032x" % rng.getrandbits(128) for _ in range(count)]


def dated(rng: random.Random, scale: int) -> list[str]:
    return [f"logs/2023-{m:02d}-{d:02d}/part-{i:05d}.gz" for m in range(1, 13) for d in range(1, 29)
            for i in range(rng.randint(200, 1500) * scale // 10)]


@pytest.mark.parametrize("make, budget", [
    pytest.param(hashed, 120, id="hashed"),
    pytest.param(dated, 120, id="dated-folders"),
])
def test_a_survey_balances_a_bucket_it_cannot_list(make, budget):
    """About 100,000 keys and a budget that lists about a tenth of them: every slice within 15% of a quarter."""
    rng = random.Random(7)
    keys = make(rng, 100_000) if make is hashed else make(rng, 4)
    listing = Listing(keys)
    found = Survey(listing, [""], lambda key: True, WHOLE, budget).run()
    assert not found.exact
    assert found.requests <= budget + 40  # an expansion in progress finishes: a request per child at most
    slices = found.plan(4)
    assert_covering(slices)
    actual = counts_of(slices, keys)
    assert max(actual) <= 1.15 * len(keys) / 4, actual
    assert not any(s.exact for s in slices)


def test_a_survey_counts_only_what_the_configuration_keeps():
    keys = [f"a/{i:04d}.gz" for i in range(3000)] + [f"a/{i:04d}.tmp" for i in range(3000)] + \
        [f"b/{i:04d}.gz" for i in range(3000)] + [f"z/{i:04d}.gz" for i in range(3000)]
    key_range = KeyRange("a/1000", "z")
    found = Survey(Listing(keys), ["a/", "b/", "z/"], lambda key: key.endswith(".gz") and key_range.contains(key),
                   key_range, 500).run()
    assert found.exact
    slices = found.plan(2)
    assert_covering(slices, key_range)
    kept = [k for k in keys if k.endswith(".gz") and key_range.contains(k)]
    assert counts_of(slices, kept) == [2500, 2500] and [s.objects for s in slices] == [2500, 2500]


def test_a_survey_never_lists_a_prefix_outside_the_range():
    listing = Listing([f"a/{i}" for i in range(5000)] + [f"m/{i}" for i in range(50)])
    found = Survey(listing, ["a/", "m/"], lambda key: key >= "m", KeyRange("m", None), 100).run()
    assert found.exact and found.requests == 1
    assert sum(s.objects for s in found.plan(2)) == 50
