"""Table tests for the pure decisions of a sync: which objects need a HEAD (restore_mode.needs_head) and what a
batch means for the destination (resolve.resolve): rows, deletes and tracked restores."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from s3_metadata.ranges import Batch, RangeEntry
from s3_metadata.resolve import StreamView, may_hide_deletes, resolve
from s3_metadata.restore import ARCHIVED, IN_PROGRESS, NOT_APPLICABLE, RESTORED, RestoreInfo, error_info
from s3_metadata.restore_mode import CONFIRMING, HEAD, LISTING, RestoreMode, Tiering, last_sent, listed_restore, needs_head
from s3_metadata.rows import ListedObject

UTC = timezone.utc
NOW = datetime(2026, 6, 1, tzinfo=UTC)
OLD = NOW - timedelta(days=400)
EXPIRY = datetime(2026, 6, 8, tzinfo=UTC)

TRUSTED = RestoreMode(LISTING, True, "test")
EVERY = RestoreMode(HEAD, True, "test")
CONFIRM = RestoreMode(CONFIRMING, True, "test")
NO_TIERS = Tiering(True, None)
TIERS_90 = Tiering(True, timedelta(days=90))
UNKNOWN_TIERS = Tiering(False)


def obj(key: str, storage_class: str = "STANDARD", modified: datetime = OLD, restore: RestoreInfo | None = None):
    return ListedObject(key, modified, f"etag-{key}", 1, storage_class, restore=restore)


# ------------------------------------------------------------------------------------------------ needs_head

@pytest.mark.parametrize("mode, tiering, o, sent, tracked, expected", [
    pytest.param(TRUSTED, NO_TIERS, obj("g", "GLACIER"), True, False, False, id="trusted-listing-never-heads-archived"),
    pytest.param(EVERY, NO_TIERS, obj("g", "GLACIER"), False, False, True,
                 id="untrusted-listing-heads-every-archived-object-even-unchanged"),
    pytest.param(EVERY, NO_TIERS, obj("d", "DEEP_ARCHIVE"), False, False, True, id="untrusted-deep-archive"),
    pytest.param(CONFIRM, NO_TIERS, obj("g", "GLACIER"), False, False, False, id="confirming-unchanged-no-head"),
    pytest.param(CONFIRM, NO_TIERS, obj("g", "GLACIER"), True, False, True, id="confirming-sent-heads"),
    pytest.param(CONFIRM, NO_TIERS, obj("g", "GLACIER"), False, True, True, id="confirming-tracked-heads"),
    pytest.param(EVERY, NO_TIERS, obj("s"), True, False, False, id="standard-never"),
    pytest.param(EVERY, NO_TIERS, obj("ir", "GLACIER_IR"), True, False, False, id="glacier-ir-is-readable"),
    pytest.param(TRUSTED, NO_TIERS, obj("it", "INTELLIGENT_TIERING"), True, False, False, id="it-without-archive-tiers"),
    pytest.param(TRUSTED, NO_TIERS, obj("it", "INTELLIGENT_TIERING"), False, True, True,
                 id="it-tracked-still-heads-when-tiers-were-removed"),
    pytest.param(TRUSTED, TIERS_90, obj("it", "INTELLIGENT_TIERING"), False, False, True, id="it-old-enough"),
    pytest.param(TRUSTED, TIERS_90, obj("it", "INTELLIGENT_TIERING", NOW - timedelta(days=10)), False, False, False,
                 id="it-too-young"),
    pytest.param(TRUSTED, UNKNOWN_TIERS, obj("it", "INTELLIGENT_TIERING"), False, False, False, id="it-unknown-unsent"),
    pytest.param(TRUSTED, UNKNOWN_TIERS, obj("it", "INTELLIGENT_TIERING"), True, False, True, id="it-unknown-sent"),
])
def test_needs_head(mode, tiering, o, sent, tracked, expected):
    assert needs_head(mode, tiering, o, sent, tracked, NOW) is expected


@pytest.mark.parametrize("mode, o, expected", [
    pytest.param(TRUSTED, obj("g", "GLACIER", restore=RestoreInfo(IN_PROGRESS)), RestoreInfo(IN_PROGRESS),
                 id="trusted-uses-listing"),
    pytest.param(EVERY, obj("g", "GLACIER", restore=RestoreInfo(IN_PROGRESS)), NOT_APPLICABLE,
                 id="untrusted-ignores-listing"),
    pytest.param(TRUSTED, obj("s", restore=NOT_APPLICABLE), NOT_APPLICABLE, id="standard"),
])
def test_listed_restore(mode, o, expected):
    assert listed_restore(mode, o) == expected


# ------------------------------------------------------------------------------------------------ resolve

def batch(objects, emit, unexplained=False, lo=None, hi="z") -> Batch:
    return Batch(lo, hi, hi, objects, emit, [RangeEntry(hi, len(objects), 0, True)], unexplained)


def view(mode=TRUSTED, tracked=None, history=True, keep=lambda key: True) -> StreamView:
    return StreamView("b", mode, tracked or {}, history, keep)


def marker(key, latest=True):
    return ({"Key": key, "VersionId": f"v-{key}", "IsLatest": latest, "LastModified": NOW}, True)


def version(key, latest=True):
    return ({"Key": key, "VersionId": f"v-{key}", "IsLatest": latest, "LastModified": OLD, "ETag": '"e"', "Size": 1,
             "StorageClass": "STANDARD"}, False)


def keys(rows):
    return [row["key"] for row in rows]


@pytest.mark.parametrize("b, described, expected_upserts", [
    pytest.param(batch([obj("a"), obj("b")], [False, False]), {}, [], id="unchanged-range-sends-nothing"),
    pytest.param(batch([obj("a"), obj("b")], [False, True]), {}, ["b"], id="sends-what-the-scan-emits"),
    pytest.param(batch([obj("g", "GLACIER")], [False]), {0: RestoreInfo(ARCHIVED)}, [],
                 id="head-confirms-archived-nothing-sent"),
    pytest.param(batch([obj("g", "GLACIER")], [False]), {0: RestoreInfo(IN_PROGRESS)}, ["g"],
                 id="head-shows-restore-started-behind-last-modified"),
    pytest.param(batch([obj("g", "GLACIER")], [True]), {0: None}, [], id="gone-between-list-and-head"),
    pytest.param(batch([obj("g", "GLACIER")], [False]), {0: error_info("SlowDown")}, ["g"],
                 id="head-failure-is-a-row-that-says-why"),
])
def test_resolve_rows(b, described, expected_upserts):
    out = resolve(b, view(EVERY), described, [], None)
    assert keys(out.upserts) == expected_upserts


def test_resolve_row_carries_head_restore_and_tracks_it():
    out = resolve(batch([obj("g", "GLACIER")], [False]), view(EVERY), {0: RestoreInfo(RESTORED, EXPIRY)}, [], None)
    assert [(r["restore_status"], r["restore_expiry"]) for r in out.upserts] == [(RESTORED, EXPIRY)]
    assert out.tracking == {"g": RestoreInfo(RESTORED, EXPIRY)}


def test_resolve_tracked_restore_unchanged_is_not_resent_and_completion_is():
    tracked = {"g": RestoreInfo(IN_PROGRESS)}
    same = resolve(batch([obj("g", "GLACIER")], [False]), view(EVERY, tracked), {0: RestoreInfo(IN_PROGRESS)}, [], None)
    assert same.upserts == []
    done = resolve(batch([obj("g", "GLACIER")], [False]), view(EVERY, tracked), {0: RestoreInfo(RESTORED, EXPIRY)},
                   [], None)
    assert keys(done.upserts) == ["g"]


def test_resolve_errors_counted_by_code():
    b = batch([obj("a", "GLACIER"), obj("b", "GLACIER")], [True, True])
    out = resolve(b, view(EVERY), {0: error_info("SlowDown"), 1: error_info("AccessDenied")}, [], None)
    assert dict(out.errors) == {"SlowDown": 1, "AccessDenied": 1}
    assert out.tracking == {"a": error_info("SlowDown"), "b": error_info("AccessDenied")}


@pytest.mark.parametrize("b, history, versions, expected_deletes", [
    pytest.param(batch([obj("a")], [True], unexplained=True), True, [version("a"), marker("x")], ["x"],
                 id="unexplained-with-history-finds-delete-marker"),
    pytest.param(batch([obj("a")], [True], unexplained=True), False, [version("a"), marker("x")], [],
                 id="first-pass-has-nothing-to-delete"),
    pytest.param(batch([obj("a")], [True], unexplained=False), True, [version("a"), marker("x")], [],
                 id="explained-range-cannot-hide-a-delete"),
    pytest.param(batch([obj("a")], [True], unexplained=True), True, [marker("x", latest=False), version("x")], [],
                 id="noncurrent-marker-is-not-a-delete"),
    pytest.param(batch([obj("a")], [True], unexplained=True), True, [marker("a")], [],
                 id="listed-key-is-never-deleted"),
])
def test_resolve_versioned_deletes(b, history, versions, expected_deletes):
    assert resolve(b, view(history=history), {}, [], versions).deletes == expected_deletes


def test_resolve_tracked_key_not_listed_is_deleted_and_untracked():
    out = resolve(batch([obj("a")], [False]), view(tracked={"g": RestoreInfo(IN_PROGRESS)}), {}, ["g"], None)
    assert out.deletes == ["g"]
    assert out.tracking == {"g": None}


def test_resolve_deletes_respect_patterns():
    out = resolve(batch([], [], unexplained=True), view(keep=lambda key: key != "x"), {}, [], [marker("x"), marker("y")])
    assert out.deletes == ["y"]


@pytest.mark.parametrize("unexplained, history, expected", [
    (True, True, True), (True, False, False), (False, True, False), (False, False, False),
])
def test_may_hide_deletes_follows_history_not_digests(unexplained, history, expected):
    assert may_hide_deletes(batch([], [], unexplained), history) is expected


def test_last_sent():
    assert last_sent(obj("g", "GLACIER")) == RestoreInfo(ARCHIVED)
    assert last_sent(replace(obj("s"), storage_class="STANDARD_IA")) == NOT_APPLICABLE
