"""Table tests for the pure decisions of a sync: which objects need a HEAD (restore_mode.needs_head) and what a
batch means for the destination (resolve.resolve): rows, deletes and tracked restores."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from s3_metadata.ranges import Batch, RangeEntry
from s3_metadata.details import HEAD_COLUMNS
from s3_metadata.deletes import NOTHING, UNKNOWN, Loss, key_identity
from s3_metadata.resolve import Description, StreamView, failed_description, resolve, row_due
from s3_metadata.restore import ARCHIVED, IN_PROGRESS, NOT_APPLICABLE, RESTORED, RestoreInfo, error_info
from s3_metadata.restore_mode import (
    CONFIRMING, FOR_DETAILS, FOR_RESTORE, HEAD, LISTING, RestoreMode, Tiering, head_purpose, head_purposes,
    kept_in_listing_mode, last_sent, listed_restore, needs_head,
)
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

def batch(objects, emit, loss=NOTHING, lo=None, hi="z") -> Batch:
    return Batch(lo, hi, hi, objects, emit, [RangeEntry(hi, len(objects), 0, True)], not loss.none, loss=loss)


def view(mode=TRUSTED, tracked=None, history=True, keep=lambda key: True, versioned=True) -> StreamView:
    return StreamView("b", mode, tracked or {}, history, keep, (), versioned)


def marker(key, latest=True, when=NOW):
    return ({"Key": key, "VersionId": f"v-{key}", "IsLatest": latest, "LastModified": when}, True)


def lost(*keys, count=None):
    """The loss of a range that lost exactly `keys` (their key sum known)."""
    return Loss(len(keys) if count is None else count, True, frozenset(), sum(map(key_identity, keys)) & (2**64 - 1))


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


@pytest.mark.parametrize("b, v, versions, expected_deletes, unnamed", [
    pytest.param(batch([obj("a")], [True], UNKNOWN), view(), [version("a"), marker("x")], ["x"], None,
                 id="unknown-loss-deletes-every-marker-and-cannot-count"),
    pytest.param(batch([obj("a")], [True], lost("x")), view(history=False), [version("a"), marker("x")], [], 0,
                 id="first-pass-has-nothing-to-delete"),
    pytest.param(batch([obj("a")], [True], lost("x")), view(), [marker("x", latest=False), version("x")], [], 1,
                 id="noncurrent-marker-is-not-a-delete-so-the-loss-is-unnamed"),
    pytest.param(batch([obj("a")], [True], UNKNOWN), view(), [marker("a")], [], None,
                 id="listed-key-is-never-deleted"),
    pytest.param(batch([obj("a")], [True], lost("x")), view(), [marker("w"), marker("x"), marker("y")], ["x"], 0,
                 id="key-sum-picks-the-lost-key-among-old-markers"),
    pytest.param(batch([obj("a")], [True], lost("x", "y")), view(), [marker("w"), marker("x"), marker("y")],
                 ["x", "y"], 0, id="key-sum-picks-two-lost-keys"),
    pytest.param(batch([obj("a")], [True], lost("x", "gone-for-good")), view(), [marker("w"), marker("x")],
                 ["w", "x"], 1, id="a-hard-delete-among-markers-sends-every-candidate-and-is-counted"),
    pytest.param(batch([obj("a")], [True], lost("gone-for-good")), view(), [], [], 1,
                 id="hard-delete-in-a-versioned-bucket-is-counted"),
    pytest.param(batch([obj("a")], [True], lost("x")), view(),
                 [marker("w", when=NOW - timedelta(days=3)), marker("x", when=NOW - timedelta(days=9))], ["x"], 0,
                 id="the-key-sum-not-the-markers-times-decides"),
    pytest.param(batch([obj("a")], [True], Loss(2, False)), view(), [marker("w"), marker("x")], ["w", "x"], 0,
                 id="without-key-sums-every-candidate"),
])
def test_resolve_versioned_deletes(b, v, versions, expected_deletes, unnamed):
    out = resolve(b, v, {}, [], versions)
    assert (out.deletes, out.unnamed) == (expected_deletes, unnamed)


@pytest.mark.parametrize("b, gone_tracked, expected_deletes, unnamed", [
    pytest.param(batch([obj("a")], [False], lost("x", "y")), [], [], 2, id="unversioned-loss-is-counted"),
    pytest.param(batch([obj("a")], [False], lost("g", "y")), ["g"], ["g"], 1, id="tracked-key-named-not-counted"),
    pytest.param(batch([obj("a")], [False], UNKNOWN), [], [], None, id="unknown-loss-is-uncounted"),
])
def test_resolve_unversioned_deletes(b, gone_tracked, expected_deletes, unnamed):
    out = resolve(b, view(versioned=False), {}, gone_tracked, None)
    assert (out.deletes, out.unnamed) == (expected_deletes, unnamed)


def test_resolve_tracked_key_not_listed_is_deleted_and_untracked():
    out = resolve(batch([obj("a")], [False]), view(tracked={"g": RestoreInfo(IN_PROGRESS)}), {}, ["g"], None)
    assert out.deletes == ["g"]
    assert out.tracking == {"g": None}


def test_resolve_deletes_respect_patterns():
    out = resolve(batch([], [], UNKNOWN), view(keep=lambda key: key != "x"), {}, [], [marker("x"), marker("y")])
    assert out.deletes == ["y"]


def test_last_sent():
    assert last_sent(obj("g", "GLACIER")) == RestoreInfo(ARCHIVED)
    assert last_sent(replace(obj("s"), storage_class="STANDARD_IA")) == NOT_APPLICABLE


# ------------------------------------------------------------------------------------------------ object details

HEAD_DETAILS = {"content_type": "text/csv", "server_side_encryption": "aws:kms"}
TAGS = {"cost-center": "42"}


@pytest.mark.parametrize("mode, tiering, o, sent, tracked, details, expected", [
    pytest.param(EVERY, NO_TIERS, obj("g", "GLACIER"), False, False, True, FOR_RESTORE,
                 id="restore-head-serves-details-too"),
    pytest.param(EVERY, NO_TIERS, obj("g", "GLACIER"), True, False, False, FOR_RESTORE, id="restore-without-details"),
    pytest.param(TRUSTED, NO_TIERS, obj("s"), True, False, True, FOR_DETAILS, id="sent-object-heads-for-details"),
    pytest.param(TRUSTED, NO_TIERS, obj("g", "GLACIER"), True, False, True, FOR_DETAILS,
                 id="trusted-listing-archived-sent-heads-for-details"),
    pytest.param(TRUSTED, NO_TIERS, obj("s"), False, True, True, FOR_DETAILS, id="tracked-failure-is-retried"),
    pytest.param(TRUSTED, NO_TIERS, obj("s"), False, False, True, None, id="unchanged-object-costs-nothing"),
    pytest.param(TRUSTED, NO_TIERS, obj("s"), True, False, False, None, id="details-off-no-head"),
    pytest.param(TRUSTED, NO_TIERS, obj("s"), False, True, False, None, id="tracked-without-details-no-head"),
])
def test_head_purpose(mode, tiering, o, sent, tracked, details, expected):
    assert head_purpose(mode, tiering, o, sent, tracked, NOW, details) == expected


@pytest.mark.parametrize("details", [False, True], ids=["details-off", "details-on"])
@pytest.mark.parametrize("tiering", [NO_TIERS, TIERS_90, UNKNOWN_TIERS], ids=["no-tiers", "tiers-90", "unknown-tiers"])
@pytest.mark.parametrize("mode", [TRUSTED, EVERY, CONFIRM], ids=["listing", "head", "confirming"])
def test_head_purposes_of_a_batch_are_head_purpose_of_each_object(mode, tiering, details):
    classes = ["STANDARD", "STANDARD_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE", "INTELLIGENT_TIERING", "ONEZONE_IA"]
    objects, sent, tracked = [], [], set()
    for storage_class in classes:
        for modified in (OLD, NOW - timedelta(days=10)):
            for emitted in (False, True):
                for is_tracked in (False, True):
                    o = obj(f"{len(objects):03}", storage_class, modified)
                    objects.append(o)
                    sent.append(emitted)
                    if is_tracked:
                        tracked.add(o.key)
    expected = {index: purpose for index, o in enumerate(objects)
                if (purpose := head_purpose(mode, tiering, o, sent[index], o.key in tracked, NOW, details)) is not None}
    assert head_purposes(mode, tiering, objects, sent, tracked, NOW, details) == expected
    assert expected  # the cases include objects that get a HEAD


@pytest.mark.parametrize("info, details, expected", [
    pytest.param(RestoreInfo(ARCHIVED, None, "ARCHIVE_ACCESS"), False, True, id="archive-tier-kept"),
    pytest.param(RestoreInfo(IN_PROGRESS), True, False, id="listing-restores-dropped"),
    pytest.param(error_info("AccessDenied"), False, False, id="errors-dropped-without-details"),
    pytest.param(error_info("AccessDenied"), True, True, id="failed-description-kept-with-details"),
    pytest.param(RestoreInfo(note="tags:AccessDenied"), True, True, id="failed-tagging-kept-with-details"),
    pytest.param(RestoreInfo(note="replication:PENDING"), True, True, id="pending-replication-kept-with-details"),
    pytest.param(RestoreInfo(note="replication:PENDING"), False, False, id="pending-replication-dropped-without"),
])
def test_kept_in_listing_mode(info, details, expected):
    assert kept_in_listing_mode(info, details) is expected


def details_view(mode=TRUSTED, tracked=None, chosen=("head", "tags")) -> StreamView:
    return StreamView("b", mode, tracked or {}, True, lambda key: True, chosen)


def test_sent_object_row_carries_its_details():
    described = Description(NOT_APPLICABLE, HEAD_DETAILS, TAGS)
    out = resolve(batch([obj("s")], [True]), details_view(), {0: described}, [], None)
    [row] = out.upserts
    assert (row["content_type"], row["server_side_encryption"], row["tags"]) == ("text/csv", "aws:kms", TAGS)
    assert row["cache_control"] is None  # every declared column is in the row
    assert set(row) >= set(HEAD_COLUMNS) | {"tags"}
    assert out.tracking == {"s": None}


def test_object_headed_for_restore_gets_no_row_for_its_details_alone():
    out = resolve(batch([obj("g", "GLACIER")], [False]), details_view(EVERY),
                  {0: Description(RestoreInfo(ARCHIVED), HEAD_DETAILS)}, [], None)
    assert out.upserts == []


def test_object_whose_restore_changed_gets_a_full_row_with_details():
    out = resolve(batch([obj("g", "GLACIER")], [False]), details_view(EVERY),
                  {0: Description(RestoreInfo(IN_PROGRESS), HEAD_DETAILS, TAGS)}, [], None)
    [row] = out.upserts
    assert (row["restore_status"], row["content_type"], row["tags"]) == (IN_PROGRESS, "text/csv", TAGS)


def test_sent_object_without_a_head_cannot_happen_with_details():
    with pytest.raises(AssertionError, match="without the HEAD"):
        resolve(batch([obj("s")], [True]), details_view(), {}, [], None)


def test_details_off_rows_have_no_detail_columns():
    out = resolve(batch([obj("s")], [True]), view(), {}, [], None)
    assert not set(out.upserts[0]) & (set(HEAD_COLUMNS) | {"tags"})


def test_failed_tagging_writes_what_is_known_counts_and_tracks():
    described = Description(NOT_APPLICABLE, HEAD_DETAILS, tags_error="AccessDenied")
    out = resolve(batch([obj("s")], [True]), details_view(), {0: described}, [], None)
    [row] = out.upserts
    assert (row["content_type"], row["tags"], row["restore_status"]) == ("text/csv", None, None)
    assert dict(out.tag_errors) == {"AccessDenied": 1} and not out.errors
    assert out.tracking == {"s": RestoreInfo(note="tags:AccessDenied")}


def test_failed_head_for_details_keeps_the_listing_restore_and_nulls_details():
    mode_obj = obj("g", "GLACIER", restore=RestoreInfo(RESTORED, EXPIRY))
    described = failed_description(TRUSTED, mode_obj, FOR_DETAILS, "AccessDenied")
    out = resolve(batch([mode_obj], [True]), details_view(), {0: described}, [], None)
    [row] = out.upserts
    assert (row["restore_status"], row["restore_expiry"]) == (RESTORED, EXPIRY)
    assert row["content_type"] is None and row["tags"] is None
    assert dict(out.errors) == {"AccessDenied": 1}
    assert out.tracking == {"g": RestoreInfo(RESTORED, EXPIRY, note="head:AccessDenied")}


def test_failed_head_for_restore_says_why_in_restore_status():
    described = failed_description(EVERY, obj("g", "GLACIER"), FOR_RESTORE, "AccessDenied")
    out = resolve(batch([obj("g", "GLACIER")], [True]), details_view(EVERY), {0: described}, [], None)
    assert out.upserts[0]["restore_status"] == "error:AccessDenied"
    assert dict(out.errors) == {"AccessDenied": 1}


TAGS_DENIED = RestoreInfo(note="tags:AccessDenied")
HEAD_DENIED = RestoreInfo(note="head:AccessDenied")


@pytest.mark.parametrize("previous, described, expected", [
    pytest.param(TAGS_DENIED, Description(NOT_APPLICABLE, HEAD_DETAILS, TAGS), True,
                 id="tagging-works-now-row-sent-once"),
    pytest.param(TAGS_DENIED, Description(NOT_APPLICABLE, HEAD_DETAILS, tags_error="AccessDenied"), False,
                 id="same-tagging-failure-no-row-again"),
    pytest.param(HEAD_DENIED, Description(NOT_APPLICABLE, HEAD_DETAILS, TAGS), True,
                 id="head-works-now-row-sent-once"),
    pytest.param(HEAD_DENIED, Description(NOT_APPLICABLE, head_error="AccessDenied"), False,
                 id="same-head-failure-no-row-again"),
    pytest.param(HEAD_DENIED, Description(NOT_APPLICABLE, head_error="SlowDown"), True,
                 id="failure-changed-row-sent"),
])
def test_tracked_failure_is_resent_once_it_succeeds(previous, described, expected):
    out = resolve(batch([obj("s")], [False]), details_view(tracked={"s": previous}), {0: described}, [], None)
    assert (keys(out.upserts) == ["s"]) is expected


@pytest.mark.parametrize("restore_after, sent", [
    pytest.param(RestoreInfo(ARCHIVED), False, id="nothing-changed-no-row"),
    pytest.param(RestoreInfo(IN_PROGRESS), True, id="restore-started-is-sent-though-tagging-still-fails"),
    pytest.param(RestoreInfo(RESTORED, EXPIRY), True, id="restore-completed-is-sent-though-tagging-still-fails"),
])
def test_a_failing_column_does_not_hide_another_columns_change(restore_after, sent):
    """Issue 16 item 3: each column's freshness is independent of another column's failure."""
    tracked = {"g": Description(RestoreInfo(ARCHIVED), HEAD_DETAILS, tags_error="AccessDenied").observed}
    described = Description(restore_after, HEAD_DETAILS, tags_error="AccessDenied")
    out = resolve(batch([obj("g", "GLACIER")], [False]), details_view(EVERY, tracked), {0: described}, [], None)
    assert (keys(out.upserts) == ["g"]) is sent
    if sent:
        assert (out.upserts[0]["restore_status"], out.upserts[0]["tags"]) == (restore_after.status, None)
    assert out.tracking["g"] == RestoreInfo(restore_after.status, restore_after.expiry, note="tags:AccessDenied")


def test_unreadable_headers_are_counted():
    described = Description(NOT_APPLICABLE, HEAD_DETAILS, TAGS, unreadable=("x-amz-expiration",))
    out = resolve(batch([obj("s"), obj("t")], [True, True]), details_view(), {0: described, 1: described}, [], None)
    assert dict(out.unreadable) == {"x-amz-expiration": 2}


@pytest.mark.parametrize("sent, described, previous, expected", [
    pytest.param(True, None, NOT_APPLICABLE, True, id="sent-by-the-scan"),
    pytest.param(False, None, NOT_APPLICABLE, False, id="not-sent-not-described"),
    pytest.param(False, Description(NOT_APPLICABLE), NOT_APPLICABLE, False, id="described-unchanged"),
    pytest.param(False, Description(RestoreInfo(RESTORED, EXPIRY)), RestoreInfo(ARCHIVED), True,
                 id="described-restore-changed"),
    pytest.param(False, Description(NOT_APPLICABLE, tags_error="AccessDenied"), NOT_APPLICABLE, True,
                 id="new-failure-is-sent"),
])
def test_row_due(sent, described, previous, expected):
    assert row_due(sent, described, previous) is expected


def test_restore_only_answers_keep_working_and_count_unreadable_restore_headers():
    """Callers that HEAD for restore status only pass restore columns, as before details existed."""
    bad = RestoreInfo("error:UnreadableRestoreHeader", None, "ARCHIVE_ACCESS")
    out = resolve(batch([obj("it", "INTELLIGENT_TIERING")], [True]), view(), {0: bad}, [], None)
    assert dict(out.errors) == {"UnreadableRestoreHeader": 1}
    assert out.tracking == {"it": bad}
    assert out.upserts[0]["archive_status"] == "ARCHIVE_ACCESS"


@pytest.mark.parametrize("previous, now, sent_again, tracked_after", [
    pytest.param(None, "PENDING", True, True, id="first-sent-pending-is-tracked"),
    pytest.param("pending", "PENDING", False, True, id="still-pending-no-row"),
    pytest.param("pending", "COMPLETED", True, False, id="completed-row-sent-untracked"),
    pytest.param("pending", "FAILED", True, False, id="failed-row-sent-untracked"),
    pytest.param(None, "COMPLETED", True, False, id="completed-at-once-not-tracked"),
])
def test_pending_replication_is_tracked_until_it_settles(previous, now, sent_again, tracked_after):
    pending = Description(NOT_APPLICABLE, {"replication_status": "PENDING"}).observed
    tracked = {"s": pending} if previous else {}
    described = Description(NOT_APPLICABLE, {**HEAD_DETAILS, "replication_status": now}, TAGS)
    out = resolve(batch([obj("s")], [previous is None]), details_view(tracked=tracked), {0: described}, [], None)
    assert (keys(out.upserts) == ["s"]) is sent_again
    assert (out.tracking["s"] is not None) is tracked_after
    if sent_again:
        assert out.upserts[0]["replication_status"] == now


def test_pending_replication_does_not_hide_a_restore_change():
    """Both change behind LastModified: the tracked value carries the restore status too."""
    pending_archived = Description(RestoreInfo(IN_PROGRESS), {"replication_status": "PENDING"}).observed
    described = Description(RestoreInfo(RESTORED, EXPIRY), {"replication_status": "PENDING"})
    out = resolve(batch([obj("g", "GLACIER")], [False]), details_view(EVERY, {"g": pending_archived}),
                  {0: described}, [], None)
    assert keys(out.upserts) == ["g"]
    assert out.tracking["g"] == RestoreInfo(RESTORED, EXPIRY, note="replication:PENDING")


def test_pending_replication_marker_survives_the_state():
    from s3_metadata.state import SyncState, load_state
    state = SyncState()
    stream = state.stream("b", "")
    stream.restores = {"k": Description(RestoreInfo(ARCHIVED), {"replication_status": "PENDING"}).observed}
    assert load_state(state.to_json()).streams["b/"].restores == stream.restores
