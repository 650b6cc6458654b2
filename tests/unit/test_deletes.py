"""Table tests for the delete-detection policy (s3_metadata/deletes.py): how many keys a range lost, exactly, and
which of them a versioned range's listing names."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from s3_metadata.deletes import (
    NOTHING, UNKNOWN, Loss, key_identity, marker_candidates, named_in_range, needs_version_listing, range_loss,
)
from s3_metadata.ranges import MASK, RangeEntry, RangeScanner
from s3_metadata.rows import ListedObject
from tests.support.collisions import colliding_keys

UTC = timezone.utc
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def ids(keys) -> int:
    return sum(map(key_identity, keys)) & MASK


def loss_of(old: list[str], now: list[str], appeared: list[str], paired: list[str]) -> Loss:
    """range_loss for a range that held `old` and lists `now`, the sketch having named `appeared`, `paired` of them
    with a disappeared element of the same key hash."""
    index = {key: i for i, key in enumerate(now)}
    return range_loss(len(old), ids(old), lambda: [key_identity(k) for k in now], len(now),
                      sorted(index[k] for k in appeared), [index[k] for k in paired])


@pytest.mark.parametrize("old, now, appeared, paired, count, proven", [
    pytest.param("a b c", "a b c", "b", "b", 0, True, id="one-change-nothing-lost"),
    pytest.param("a b c", "a b c d", "d", "", 0, True, id="one-new-key"),
    pytest.param("a b c", "a c", "", "", 1, True, id="one-delete-nothing-appeared-is-exact"),
    pytest.param("a b c", "a c d", "d", "", 1, False, id="delete-and-new-key-counted-by-pairing"),
    pytest.param("a b c", "a c", "c", "c", 1, False, id="delete-and-change"),
    pytest.param("a b c", "", "", "", 3, True, id="everything-deleted"),
    pytest.param("a b c", "a b d", "d", "d", 1, True,
                 id="pairing-said-changed-but-the-key-sum-proves-a-delete-and-a-new-key"),
    pytest.param("a b c", "a b c x y", "x y", "x", 0, True, id="wrong-pairing-of-a-new-key-but-nothing-lost"),
])
def test_range_loss(old, now, appeared, paired, count, proven):
    loss = loss_of(old.split(), now.split(), appeared.split(), paired.split())
    assert (loss.count, loss.proven) == (count, proven)


def test_range_loss_names_the_new_keys_when_nothing_was_lost():
    loss = loss_of(["a", "b"], ["a", "b", "c", "d"], ["b", "c", "d"], ["b", "c"])
    assert loss == Loss(0, True, frozenset({2, 3}), 0)


def test_range_loss_without_a_key_sum_is_the_pairings_guess():
    assert range_loss(3, None, lambda: [], 3, [2], [2]) == Loss(0, False, frozenset())
    assert range_loss(3, None, lambda: [], 2, [], []) == Loss(1, True, frozenset())


def test_range_loss_with_more_new_keys_than_the_pairing_allows():
    now = ["a", "b", "c", "x", "y"]
    listed = lambda: [key_identity(k) for k in now]  # noqa: E731
    assert range_loss(3, None, listed, 5, [3, 4], [3, 4]) == UNKNOWN
    assert range_loss(3, ids("abc"), listed, 5, [3, 4], [3, 4]) == Loss(0, True, frozenset({3, 4}), 0)
    assert range_loss(3, 12345, listed, 5, [3, 4], [3, 4]) == Loss(1, False)


def test_the_key_sum_is_only_computed_when_the_range_keeps_one():
    called = []
    range_loss(3, None, lambda: called.append(1) or [], 3, [0], [0])
    assert not called


def test_a_delete_and_a_new_key_sharing_a_key_hash_is_a_delete_not_a_change():
    """Issue 16 item 2: the sketch pairs them (16-bit key hashes), the key sum does not."""
    deleted, added = colliding_keys()
    old = sorted(["a", "b", deleted])
    now = sorted(["a", "b", added])
    loss = loss_of(old, now, [added], [added])
    assert loss == Loss(1, True, frozenset({now.index(added)}), key_identity(deleted))
    assert needs_version_listing(loss)


def test_through_the_scanner_a_colliding_delete_and_new_key_lose_one_key():
    """The same case through RangeScanner, its sketch and the policy: the batch says one key was lost."""
    deleted, added = colliding_keys("data/obj")
    keys = [f"data/obj-a{i:03d}" for i in range(100)]
    when = datetime(2024, 1, 1, tzinfo=UTC)
    before = sorted(keys + [deleted])
    after = sorted(keys + [added])
    scanner = RangeScanner(None, RangeEntry(None), 250, False)
    for key in before:
        scanner.add(ListedObject(key, when, "e", 1, "STANDARD"))
    (entry,) = scanner.finish().replacement
    again = RangeScanner(None, RangeEntry(None, entry.count, entry.digest, False, entry.ids, entry.sketch), 250, False)
    for key in after:
        again.add(ListedObject(key, when, "e", 1, "STANDARD"))
    batch = again.finish()
    assert [o.key for o, e in zip(batch.objects, batch.emit) if e] == [added]
    assert (batch.loss.count, batch.loss.proven, batch.loss.lost_ids) == (1, True, key_identity(deleted))


@pytest.mark.parametrize("loss, expected", [
    pytest.param(NOTHING, False, id="proven-nothing-lost"),
    pytest.param(Loss(0, False), True, id="unproven-zero"),
    pytest.param(Loss(1, True), True, id="one-lost"),
    pytest.param(UNKNOWN, True, id="unknown"),
])
def test_needs_version_listing(loss, expected):
    assert needs_version_listing(loss) is expected


def marker(key, latest=True, when=WHEN):
    return ({"Key": key, "IsLatest": latest, "LastModified": when}, True)


def test_marker_candidates():
    versions = [marker("a"), marker("b", latest=False), ({"Key": "c", "IsLatest": True, "LastModified": WHEN}, False),
                marker("d"), marker("old", when=WHEN - timedelta(days=1)), marker("edge", when=WHEN - timedelta(seconds=1))]
    assert [k for k, _ in marker_candidates(versions, {"d"}, WHEN)] == ["a", "edge"]
    assert [k for k, _ in marker_candidates(versions, set(), None)] == ["a", "d", "old", "edge"]


def exact(*keys) -> Loss:
    return Loss(len(keys), True, frozenset(), ids(keys))


@pytest.mark.parametrize("loss, candidates, tracked, keys, unnamed", [
    pytest.param(exact("b"), "a b c", "", ["b"], 0, id="the-one-lost-key-among-three-markers"),
    pytest.param(exact("a", "c"), "a b c", "", ["a", "c"], 0, id="two-of-three"),
    pytest.param(exact("t", "b"), "a b", "t", ["t", "b"], 0, id="tracked-and-marker"),
    pytest.param(exact("hard"), "", "", [], 1, id="hard-delete-counted"),
    pytest.param(exact("hard", "b"), "b", "", ["b"], 1, id="marker-and-hard-delete"),
    pytest.param(exact("hard", "b"), "a b", "", ["a", "b"], 0, id="no-subset-matches-every-candidate-sent"),
    pytest.param(Loss(1, False), "a b", "", ["a", "b"], 0, id="no-key-sum-every-candidate"),
    pytest.param(UNKNOWN, "a b", "t", ["t", "a", "b"], None, id="unknown-loss-every-candidate-uncounted"),
])
def test_named_in_range(loss, candidates, tracked, keys, unnamed):
    named = named_in_range(loss, [(k, WHEN) for k in candidates.split()], tracked.split())
    assert (sorted(named.keys), named.unnamed) == (sorted(keys), unnamed)


def test_an_unknown_loss_is_proven_by_markers_when_no_key_is_new():
    """A range too changed for its sketch: if the markers add up to what it lost supposing no listed key is new, they
    are the deletes, exactly."""
    loss = Loss(None, False, if_none_new=(2, ids(["b", "d"])))
    named = named_in_range(loss, [(k, WHEN) for k in "a b c d".split()], [])
    assert (named.keys, named.unnamed) == (("b", "d"), 0)
    unproven = Loss(None, False, if_none_new=(2, ids(["b", "zz"])))
    named = named_in_range(unproven, [(k, WHEN) for k in "a b c d".split()], [])
    assert (sorted(named.keys), named.unnamed) == (["a", "b", "c", "d"], None)


def test_named_in_range_finds_the_lost_keys_among_many_old_markers():
    rng = random.Random(3)
    markers = [f"gone-{i:04d}" for i in range(300)]
    lost = rng.sample(markers, 4)
    named = named_in_range(exact(*lost), [(k, WHEN) for k in markers], [])
    assert (sorted(named.keys), named.unnamed) == (sorted(lost), 0)


@pytest.mark.parametrize("loss, candidates, tracked, keys, unnamed", [
    pytest.param(exact("a", "b"), "", "", [], 2, id="unversioned-counted"),
    pytest.param(exact("a", "b"), "", "a", ["a"], 1, id="tracked-key-named"),
    pytest.param(UNKNOWN, "", "", [], None, id="unknown"),
    pytest.param(NOTHING, "x", "", [], 0, id="nothing-lost-an-event-named-key-was-handled-before"),
    pytest.param(exact("x"), "x y", "", ["x"], 0, id="event-named-key-among-others"),
])
def test_named_in_range_without_markers(loss, candidates, tracked, keys, unnamed):
    named = named_in_range(loss, [(k, None) for k in candidates.split()], tracked.split())
    assert (sorted(named.keys), named.unnamed) == (sorted(keys), unnamed)
