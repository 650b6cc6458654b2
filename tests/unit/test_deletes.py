"""Table tests for the delete-detection policy (s3_metadata/deletes.py): how many keys a range lost, exactly, and
which of them a versioned range's listing names."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from s3_metadata.deletes import (
    MARKER_SLACK, NOTHING, UNKNOWN, Loss, Unnamed, claim_unnamed, key_identity, marker_candidates, named_by_report,
    named_in_range, needs_version_listing, range_loss, unknown_loss,
)
from s3_metadata.sketch import key_hash
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
    pytest.param("a b c", "a c d", "d", "", 1, True, id="delete-and-new-key-exact-when-no-pairing-is-in-doubt"),
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
    assert range_loss(3, 12345, listed, 5, [3, 4], [3, 4]) == Loss(None, False)  # no reading adds up


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
                marker("d"), marker("old", when=WHEN - timedelta(days=400))]
    assert [k for k, _ in marker_candidates(versions, {"d"})] == ["a", "old"]


def exact(*keys) -> Loss:
    return Loss(len(keys), True, frozenset(), ids(keys))


@pytest.mark.parametrize("loss, candidates, tracked, keys, unnamed", [
    pytest.param(exact("b"), "a b c", "", ["b"], 0, id="the-one-lost-key-among-three-markers"),
    pytest.param(exact("a", "c"), "a b c", "", ["a", "c"], 0, id="two-of-three"),
    pytest.param(exact("t", "b"), "a b", "t", ["t", "b"], 0, id="tracked-and-marker"),
    pytest.param(exact("hard"), "", "", [], 1, id="hard-delete-counted"),
    pytest.param(exact("hard", "b"), "b", "", ["b"], 1, id="marker-and-hard-delete"),
    pytest.param(exact("hard", "b"), "a b", "", ["a", "b"], 1,
                 id="no-subset-matches-every-candidate-sent-and-a-hard-delete-counted"),
    pytest.param(exact("hard"), "x", "", [], 1, id="the-one-lost-key-is-no-candidate-so-no-candidate-is-deleted"),
    pytest.param(Loss(1, False), "a b", "", ["a", "b"], 0, id="no-key-sum-every-candidate"),
    pytest.param(UNKNOWN, "a b", "t", ["t", "a", "b"], None, id="unknown-loss-every-candidate-uncounted"),
])
def test_named_in_range(loss, candidates, tracked, keys, unnamed):
    named = named_in_range(loss, [(k, WHEN) for k in candidates.split()], tracked.split())
    assert (sorted(named.keys), named.unnamed) == (sorted(keys), unnamed)


def test_an_unknown_loss_is_proven_by_markers_when_no_key_is_new():
    """A range too changed for its sketch: if the markers add up to what it lost supposing no listed key is new, they
    are the deletes, exactly."""
    loss = Loss(None, False, hypotheses=((2, ids(["b", "d"])),))
    named = named_in_range(loss, [(k, WHEN) for k in "a b c d".split()], [])
    assert (named.keys, named.unnamed) == (("b", "d"), 0)
    unproven = Loss(None, False, hypotheses=((2, ids(["b", "zz"])),))
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
    assert (sorted(named.keys), named.unnamed, named.exact) == (sorted(keys), unnamed, True)


def test_an_unversioned_range_losing_a_key_hash_twin_counts_the_pairings_reading():
    """Soak seed 174: a range of two keys loses both while a new key sharing one's key hash appears. The sketch pairs
    the new key with its lost twin (one changed object); nothing in an unversioned bucket can tell that from the
    other reading (two lost, one new), so the count is the likeliest, the pairing's: 1 (a documented limit, 1 in
    65,536 per such pair). With a marker to search among, the count is only a lower bound ("at least")."""
    deleted, twin = colliding_keys("a/0001~")
    loss = loss_of(sorted(["Z23", deleted]), [twin], [twin], [twin])
    assert (loss.count, loss.proven) == (1, False)
    named = named_in_range(loss, [], [])
    assert (named.keys, named.unnamed, named.exact) == ((), 1, True)
    # A versioned range whose delete marker shares the paired object's key hash: the marker may be the lost twin
    # or an old delete, no sum decides, and the count is a lower bound.
    doubtful = Loss(1, False, lost_ids=loss.lost_ids, hypotheses=loss.hypotheses, doubtful=frozenset({key_hash(twin)}))
    unsettled = named_in_range(doubtful, [(deleted, WHEN)], [], identity=lambda key: 7)
    assert (unsettled.keys, unsettled.exact) == ((deleted,), False)


def test_a_crafted_key_hash_twin_in_a_versioned_range_is_named_exactly():
    """Two deletes and a new key whose key hash equals one deleted key's: the pairing's count (one lost) is wrong, and
    the other reading (the twin is new, two lost) is proven by the two delete markers' key sum (model test seed 8)."""
    deleted, twin = colliding_keys("a/0019.csv~")
    old = sorted(["a/0037", deleted, "z"])
    now = sorted(["z", twin])
    loss = loss_of(old, now, [twin], [twin])
    assert (loss.count, loss.proven) == (1, False) and len(loss.hypotheses) == 2
    named = named_in_range(loss, [(deleted, WHEN), ("a/0037", WHEN)], [])
    assert (sorted(named.keys), named.unnamed) == (sorted([deleted, "a/0037"]), 0)


def test_a_changed_object_beside_a_key_deleted_for_good_sends_no_old_marker_again():
    """Model test seed 3: one object changed (its pairing in doubt) and one deleted for good in the same range, and an
    old delete marker elsewhere in it. Neither reading (one key lost, or two with the changed one new) is matched by
    the marker, and both were searched in full: the pairing's reading is taken, the lost key is counted, and the
    marker's delete (sent when it was written) is not sent again."""
    old = sorted(["keep", "changed", "gone-for-good"])
    now = sorted(["keep", "changed"])
    loss = loss_of(old, now, ["changed"], ["changed"])
    assert (loss.count, loss.proven) == (1, False) and len(loss.hypotheses) == 2
    named = named_in_range(loss, [("old-marker", WHEN)], [])
    assert (named.keys, named.unnamed) == ((), 1)
    many = named_in_range(loss, [(f"old-{i}", WHEN) for i in range(5)], [])
    assert (many.keys, many.unnamed) == ((), 1)


@pytest.mark.parametrize("ledger, keys, claimed, left", [
    pytest.param(Unnamed(), ["a"], [], Unnamed(), id="nothing-owed-a-duplicate-event-sends-nothing"),
    pytest.param(Unnamed(1, ids(["a"])), ["a"], ["a"], Unnamed(), id="the-one-owed-key"),
    pytest.param(Unnamed(1, ids(["a"])), ["b"], [], Unnamed(1, ids(["a"])), id="another-key-was-named-before"),
    pytest.param(Unnamed(2, ids(["a", "b"])), ["c", "b", "a"], ["a", "b"], Unnamed(), id="exact-subset"),
    pytest.param(Unnamed(2, ids(["a", "b"])), ["a"], ["a"], Unnamed(1, None), id="part-named-cannot-be-checked"),
    pytest.param(Unnamed(2, None), ["a", "b", "c"], ["a", "b", "c"], Unnamed(), id="unknown-sum-claims-all"),
    pytest.param(Unnamed(0, None, True), ["a"], ["a"], Unnamed(0, None, True), id="uncounted-claims-every-key"),
    pytest.param(Unnamed(1, ids(["a"]), True), ["b"], ["b"], Unnamed(0, None, True), id="uncounted-cannot-check"),
])
def test_events_claim_the_keys_an_earlier_listing_counted_but_could_not_name(ledger, keys, claimed, left):
    assert claim_unnamed(ledger, keys) == (claimed, left)


def test_the_ledger_adds_counts_and_loses_the_sum_once_one_is_unknown():
    assert Unnamed().plus(1, ids(["a"])).plus(1, ids(["b"])) == Unnamed(2, ids(["a", "b"]))
    assert Unnamed(1, ids(["a"])).plus(2, None) == Unnamed(3, None)
    assert Unnamed(1, 5).plus(0, None) == Unnamed(1, 5)
    assert Unnamed().plus(None, None) == Unnamed(0, 0, True)
    assert Unnamed(1, 5).plus(None, None).plus(1, 3) == Unnamed(2, None, True)


def test_a_settled_single_loss_matching_no_candidate_keeps_its_sum_for_the_ledger():
    loss = Loss(1, True, frozenset(), ids(["gone-for-good"]))
    named = named_in_range(loss, [("old-marker", WHEN)], [])
    assert (named.keys, named.unnamed, named.unnamed_ids) == ((), 1, ids(["gone-for-good"]))


def test_a_candidate_whose_key_hash_did_not_leave_the_range_is_no_candidate():
    """The decoded sketch names the key hashes that left the range; an older marker is not among them, so even when
    the count cannot be settled its delete is not sent again."""
    loss = Loss(None, False, gone=frozenset({key_hash("new-marker")}))
    named = named_in_range(loss, [("new-marker", WHEN), ("old-marker", WHEN - timedelta(days=3))], [])
    assert named.keys == ("new-marker",)


@pytest.mark.parametrize("old, now, expected", [
    pytest.param("a", "a b c", Loss(0, True, frozenset({1, 2}), 0), id="one-old-key-still-listed"),
    pytest.param("b", "a c d", Loss(1, True, frozenset({0, 1, 2}), ids(["b"])), id="one-old-key-gone"),
    pytest.param("a b", "a b c", Loss(0, True, frozenset({2}), 0), id="two-old-keys-still-listed"),
    pytest.param("a b", "a c d", UNKNOWN, id="two-old-keys-one-gone-is-not-counted"),
    pytest.param("a b c", "a b c d", UNKNOWN, id="three-old-keys-are-not-searched"),
])
def test_a_small_range_that_grew_past_its_sketch_still_proves_its_loss(old, now, expected):
    old_keys, now_keys = old.split(), now.split()
    loss = unknown_loss(len(old_keys), ids(old_keys), lambda: [key_identity(k) for k in now_keys], len(now_keys))
    assert loss == expected


def test_a_range_that_held_nothing_lost_nothing():
    assert unknown_loss(0, None, tuple, 5) == Loss(0, True, frozenset(range(5)), 0, gone=frozenset())
    assert unknown_loss(0, 0, tuple, 0).none


@pytest.mark.parametrize("candidates, expected", [
    pytest.param([("new", WHEN), ("old", WHEN - timedelta(days=2))], ("new",), id="an-old-marker-is-not-sent-again"),
    pytest.param([("old", WHEN - timedelta(days=2)), ("older", WHEN - timedelta(days=9))], ("old", "older"),
                 id="no-marker-is-recent-the-clocks-may-disagree-so-all"),
    pytest.param([("event", None), ("new", WHEN), ("old", WHEN - timedelta(days=2))], ("new", "event"),
                 id="a-key-an-event-removed-is-always-sent"),
    pytest.param([("slack", WHEN - timedelta(minutes=59)), ("new", WHEN)], ("new", "slack"),
                 id="a-marker-within-the-slack-is-sent"),
])
def test_a_range_that_cannot_name_its_losses_sends_only_markers_written_since_its_last_pass(candidates, expected):
    named = named_in_range(UNKNOWN, candidates, [], since=WHEN - MARKER_SLACK)
    assert named.keys == expected


def test_without_a_last_pass_every_marker_is_sent():
    named = named_in_range(UNKNOWN, [("new", WHEN), ("old", WHEN - timedelta(days=2))], [], since=None)
    assert named.keys == ("new", "old")


def test_a_marker_twin_of_an_object_paired_as_changed_is_deleted_and_the_key_deleted_for_good_counted():
    """Model seed 130: a range {a/0001, a/0020.csv} loses a/0001 for good and a/0020.csv to a marker while a new key
    sharing a/0020.csv's key hash appears; the sketch pairs the new key as a change. The likeliest reading (one key
    lost) matches no candidate, but the marker is the twin of the paired key, so it is deleted, and one lost key is
    counted."""
    old, new = ["a/0001", "a/0020.csv"], "a/0020.csv~twin"
    loss = Loss(1, False, None, (ids(old) - key_identity(new)) & MASK,
                ((1, (ids(old) - key_identity(new)) & MASK), (2, ids(old))),
                gone=frozenset({key_hash("a/0001"), key_hash("a/0020.csv")}), doubtful=frozenset({key_hash("a/0020.csv")}))
    named = named_in_range(loss, [("a/0020.csv", WHEN)], [])
    assert (named.keys, named.unnamed) == (("a/0020.csv",), 1)


@pytest.mark.parametrize("candidates, lost, every, named", [
    pytest.param("a b c", "b", False, "b", id="the-range-s-lost-key-among-keys-deleted-before"),
    pytest.param("a b c", "a c", False, "a c", id="two-lost-keys"),
    pytest.param("a b c", "z", False, "", id="a-key-the-report-does-not-list-stays-counted"),
    pytest.param("a b c", "b z", False, "", id="part-listed-cannot-be-checked-stays-counted"),
    pytest.param("a b c", "z", True, "a b c", id="the-bootstrap-s-report-takes-every-candidate"),
    pytest.param("a b", 1, True, "a b", id="unknown-sum-the-bootstrap-s-report"),
    pytest.param("a b", 1, False, "", id="unknown-sum-a-newer-report-stays-counted"),
    pytest.param("a b", None, False, "a b", id="uncounted-range-every-candidate"),
])
def test_a_report_names_exactly_what_a_range_lost(candidates, lost, every, named):
    if lost is None or isinstance(lost, int):
        unnamed, unnamed_ids = lost, None
    else:
        unnamed, unnamed_ids = len(lost.split()), ids(lost.split())
    assert named_by_report(candidates.split(), unnamed, unnamed_ids, every) == named.split()


def test_an_unversioned_range_s_unnamed_keys_keep_their_sum_for_a_report_to_find_them():
    """A range that lost two keys with no candidate to name them leaves both unnamed with their identities' sum
    (it was dropped, so a later report could not tell them from keys deleted before)."""
    named = named_in_range(exact("a", "b"), [], [])
    assert (named.keys, named.unnamed, named.unnamed_ids, named.exact) == ((), 2, ids(["a", "b"]), True)
