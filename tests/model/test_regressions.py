"""Deterministic regression tests shrunk from the model test's failures (tests/model/shrink.py prints them).

Each one replays a short scenario against the real connector and asserts that the judge finds nothing wrong. The
known open bugs (known_bugs.py), if any, fail and are marked `xfail(strict=True)`: when a fix lands the test passes,
strict xfail turns that into a failure, and the mark and the bug's classifier are to be deleted together.
"""
from __future__ import annotations

import contextlib
import io

import pytest


from tests.model.ops import (  # noqa: F401  (the names shrunk scenarios are printed with)
    Backdate, BulkPut, CopyInPlace, Delete, DeleteVersion, Kill, MultipartPut, Put, RestoreComplete, RestoreExpire,
    RestoreStart, Round, Scenario, Setting, Transition,
)
from tests.model.runner import run_scenario
from tests.model.world import WorldSpec

VERSIONED = WorldSpec(versioned=(True, False))
# A store whose listings ignore RestoreStatus (moto behind endpoint_url): restore status comes from HEAD.
S3_COMPATIBLE = WorldSpec(versioned=(False, False), listing_restore=False)


def replay(scenario: Scenario) -> None:
    """Run the scenario with no bug tolerated; the judge must find nothing wrong."""
    with contextlib.redirect_stdout(io.StringIO()):
        verdict = run_scenario(scenario, known=())
    assert not verdict.failed, verdict.describe()


def test_hard_delete_in_versioned_bucket():
    replay(Scenario(
        seed=1,
        spec=VERSIONED,
        rounds=(
            Round(ops=(Setting("bucket", "0"), Put(0, "k/1", 3), Put(0, "k/2", 3))),
            Round(ops=(DeleteVersion(0, "k/1"),)),
        )))


def test_deletes_are_not_sent_again():
    replay(Scenario(
        seed=1,
        spec=VERSIONED,
        rounds=(
            Round(ops=(Setting("bucket", "0"), Put(0, "k/1", 3), Put(0, "k/2", 3), Put(0, "k/3", 3))),
            Round(ops=(Delete(0, "k/1"),)),
            Round(ops=(Delete(0, "k/2"),)),
        )))


def test_tagging_failure_hides_restore_start():
    replay(Scenario(
        seed=1,
        spec=S3_COMPATIBLE,
        rounds=(
            Round(ops=(Setting("bucket", "0"), Setting("object_details", "tags"),
                       Put(0, "cold/1", 3, storage_class="GLACIER"))),
            Round(ops=(RestoreStart(0, "cold/1"),)),
        )))


def test_delete_and_new_key_with_the_same_key_hash():
    from tests.model.generator import twin_key
    replay(Scenario(
        seed=1,
        spec=VERSIONED,
        rounds=(
            Round(ops=(Setting("bucket", "0"), Put(0, "k/1", 3), Put(0, "k/2", 3))),
            Round(ops=(Delete(0, "k/1"), Put(0, twin_key("k/1"), 3))),
        )))


def test_dropping_tags_sends_nothing():
    replay(Scenario(
        seed=1,
        spec=WorldSpec(versioned=(False, False)),
        rounds=(
            Round(ops=(Setting("bucket", "0"), Setting("object_details", "head,tags"),
                       Put(0, "cold/1", 3, storage_class="GLACIER"), Put(0, "k/2", 3))),
            Round(ops=(Setting("object_details", "head"),)),
        )))


def test_event_mode_lists_keys_patterns_newly_include():
    replay(Scenario(
        seed=1,
        spec=WorldSpec(versioned=(False, False)),
        rounds=(
            Round(ops=(Setting("bucket", "0"), Setting("exclude_patterns", "b/**"), Put(0, "a/1", 5),
                       Put(0, "b/1", 5))),
            Round(ops=(Setting("event_mode", "on"),)),
            Round(ops=(Setting("exclude_patterns", ""),)),
        )))


def test_listing_after_event_mode_sends_only_changes():
    replay(Scenario(
        seed=6,
        spec=WorldSpec(versioned=(False, False)),
        rounds=(
            Round(ops=(Setting("bucket", "0"), Put(0, "a/1", 3), Put(0, "a/2", 3))),
            Round(ops=(Setting("event_mode", "on"),)),
            Round(ops=(Put(0, "b/1", 5),)),
            Round(ops=(Setting("event_mode", ""),)),
        )))


def test_deletes_counted_before_a_kill_are_reported():
    replay(Scenario(
        seed=6,
        spec=WorldSpec(versioned=(False, False), regions=("us-east-1", "us-west-2"), listing_restore=False,
                       page_size=2, checkpoint_every=7),
        rounds=(
            Round(ops=(Setting("bucket", "0,1"), BulkPut(0, ("Z11", "Z14", "b/c/022.csv")),
                       Put(1, "pct%2F9%20x", 16, "s2", storage_class="GLACIER"))),
            # Bucket model-a's stream completes, counting the delete, before the sync dies at model-b's HEAD.
            Round(ops=(Delete(0, "b/c/022.csv"),), kills=(Kill("HeadObject", 2),)),
        )))


# Seed 13's first round: two buckets, object details with tags, and a bucket's first contents.
SEED_13_FIRST = Round(
    ops=(
        Setting(name='bucket', value='0,1'),
        Setting(name='object_details', value='head,tags'),
        BulkPut(bucket=1, keys=('Z1', 'Z15', 'Z18', 'Z38', 'Z6', 'a/0001', 'a/0005', 'a/0005.csv', 'a/0021.csv', 'a/0022', 'a/0024', 'a/0035', 'a/0035.csv', 'b/c/019.csv', 'b/c/024.csv', 'b/c/025.csv', 'b/c/030.csv', 'b/c/039.csv', 'double//slash/12', 'double//slash/35', 'double//slash/7', 'emoji/🙂10', 'emoji/🙂16', 'emoji/🙂33', 'emoji/🙂7', 'folder06/', 'logs/2024/005.gz', 'logs/2024/023.gz', 'long/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/3', 'long/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/12', 'long/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/39', 'long/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/22', 'pct%2F0%20x', 'pct%2F19%20x', 'pct%2F31%20x', 'pct%2F39%20x', 'tab\there/10', 'tab\there/30', 'tab\there/36', 'tab\there/38', 'with space/1 + plus', 'with space/18 + plus', 'ユニコード/データ-11', 'ユニコード/データ-21', 'ユニコード/データ-27', 'ユニコード/データ-8')),
        Put(bucket=1, key='long/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/21', size=1, salt='s10', storage_class='DEEP_ARCHIVE', checksum='CRC32', tags=(('t0', 'x0'),), tick=60),
    ))


def test_a_delete_a_pass_counted_before_its_event_was_drained_is_sent_by_the_drain():
    """Seed 13: a sync lists a range first (counting an unversioned delete it cannot name), then drains the queue;
    the event names the key, whose range's sketch no longer shows a loss. The stream's ledger of unnamed keys lets
    the drain send it."""
    replay(Scenario(
        seed=13,
        spec=WorldSpec(listing_restore=False, page_size=5, checkpoint_every=7),
        rounds=(
            SEED_13_FIRST,
            Round(
                ops=(
                    Setting(name='event_mode', value='on'),
                    Delete(bucket=1, key='pct%2F0%20x', tick=60),
                    DeleteVersion(bucket=1, key='long/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/39'),
                )),
        )))


def test_an_old_delete_marker_is_not_sent_again_beside_a_key_deleted_for_good():
    """Seed 3: a range lost a key to a delete marker and another for good; an older marker (written before the first
    sync) is not among what the range's sketch saw leave, so its delete is not sent again."""
    replay(Scenario(
        seed=3,
        spec=WorldSpec(listing_restore=False),
        rounds=(
            Round(ops=(BulkPut(0, ("a/1", "b/1", "c/1", "d/1")), Put(0, "b/c/018.csv", 26, "s2"),
                       Delete(0, "b/c/018.csv", tick=60))),
            Round(ops=(Delete(0, "b/1"), DeleteVersion(0, "c/1"))),
        )))


# The round of seed 8 that overflows a small range's sketch: puts, a key put and deleted, a key deleted for good.
SEED_8_BURST = Round(
    ops=(
        Put(bucket=0, key='folder12/', size=17, salt='s34', metadata=(('m0', 'v3'), ('m2', 'v1')), tags=(('t0', 'x1'),), encrypted=True, tick=0),
        MultipartPut(bucket=0, key='tab\there/23', part_sizes=(6,), salt='s35'),
        Put(bucket=0, key='pct%2F36%20x', size=6, salt='s36', content_type='text/csv', metadata=(('m0', 'v1'), ('m1', 'v0'))),
        Put(bucket=0, key='logs/2024/033.gz', size=1, salt='s38', content_type='application/json', tick=2),
        RestoreStart(bucket=1, key='with space/11 + plus'),
        Put(bucket=0, key='pct%2F19%20x', size=4, salt='s44', checksum='SHA1', content_type='text/csv', metadata=(('m1', 'v1'),), tags=(('t1', 'x0'),), encrypted=True, tick=2),
        Put(bucket=0, key='emoji/🙂12', size=1, same_bytes=True, tick=2),
        CopyInPlace(bucket=0, key='long/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/27', metadata=(('c2', 'yes'),)),
        Put(bucket=0, key='a/0018.csv', size=5, salt='s45', storage_class='STANDARD_IA', checksum='CRC32', metadata=(('m0', 'v0'), ('m0', 'v1')), encrypted=True),
        Put(bucket=0, key='double//slash/28', size=5, salt='s46', content_type='text/csv', tags=(('t1', 'x2'),), tick=60),
        Delete(bucket=0, key='pct%2F36%20x'),
        Put(bucket=0, key='emoji/🙂12', size=1, salt='s47', checksum='SHA256', content_type='application/json', metadata=(('m0', 'v2'),), tags=(('t1', 'x0'), ('t2', 'x0')), tick=2),
        RestoreStart(bucket=0, key='double//slash/21'),
        MultipartPut(bucket=0, key='emoji/🙂26', part_sizes=(15, 16), salt='s48'),
        DeleteVersion(bucket=0, key='with space/33 + plus', tick=2),
        Transition(bucket=0, key='double//slash/2', storage_class='INTELLIGENT_TIERING'),
    ))


def test_a_range_that_was_empty_lost_nothing():
    """Seed 8: objects put in a range that held none, one of them deleted before the sync: no delete is sent for a
    row that never existed (an empty range's loss is zero, whatever its sketch)."""
    replay(Scenario(
        seed=8,
        spec=WorldSpec(page_size=2, checkpoint_every=7, archived_tags=True),
        rounds=(
            Round(
                ops=(
                    Setting(name='range_size', value='20'),
                )),
            SEED_8_BURST,
        )))


def test_a_delete_in_a_range_a_pass_could_not_count_is_sent_when_its_event_is_drained():
    """Seed 13 with restore_status_source changed: the pass cannot count the range's loss at all; the ledger records
    an uncounted loss, and the event drained afterwards names the key, whose delete is sent."""
    replay(Scenario(
        seed=13,
        spec=WorldSpec(listing_restore=False, page_size=5, checkpoint_every=7),
        rounds=(
            SEED_13_FIRST,
            Round(
                ops=(
                    Setting(name='event_mode', value='on'),
                    Setting(name='restore_status_source', value='head'),
                    Delete(bucket=1, key='pct%2F0%20x', tick=60),
                    DeleteVersion(bucket=1, key='long/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/39'),
                )),
        )))


def test_a_one_key_range_that_grew_past_its_sketch_proves_it_lost_nothing():
    """Seed 8: a range of one object gains eight in one round (more than its small sketch decodes) and a key put and
    deleted in the same round: the old key is still listed, so nothing was lost and no delete is sent."""
    replay(Scenario(
        seed=8,
        spec=WorldSpec(page_size=2, checkpoint_every=7, archived_tags=True),
        rounds=(
            Round(
                ops=(
                    Setting(name='range_size', value='20'),
                    Put(bucket=0, key='with space/12 + plus', size=5, salt='s13', storage_class='DEEP_ARCHIVE', checksum='CRC32', encrypted=True),
                )),
            SEED_8_BURST,
        )))


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="known bug markers-resent-when-a-range-cannot-count")
def test_markers_are_not_sent_again_when_a_burst_overflows_a_range():
    """Seed 8: a versioned range of two keys gains more changes in one round than its sketch decodes and loses one
    key to a delete marker; a key put and deleted in the same round has a marker too, and its delete is sent for a
    row that never existed."""
    replay(Scenario(
        seed=8,
        spec=WorldSpec(page_size=2, checkpoint_every=7, archived_tags=True),
        rounds=(
            Round(
                ops=(
                    Setting(name='range_size', value='20'),
                    Put(bucket=0, key='emoji/🙂21', size=1, salt='s10', storage_class='GLACIER', checksum='CRC32', content_type='application/json', metadata=(('m0', 'v1'), ('m2', 'v0')), tags=(('t0', 'x2'), ('t1', 'x2')), encrypted=True, tick=60),
                    Put(bucket=0, key='a/0019.csv~24583', size=3, salt='s11', tick=0),
                )),
            Round(
                ops=(
                    MultipartPut(bucket=0, key='tab\there/23', part_sizes=(6,), salt='s35'),
                    Put(bucket=0, key='pct%2F36%20x', size=6, salt='s36', content_type='text/csv', metadata=(('m0', 'v1'), ('m1', 'v0'))),
                    Put(bucket=1, key='b/c/009.csv', size=17, salt='s37', checksum='CRC32', encrypted=True, tick=2),
                    Put(bucket=0, key='logs/2024/033.gz', size=1, salt='s38', content_type='application/json', tick=2),
                    RestoreStart(bucket=1, key='with space/11 + plus'),
                    Put(bucket=0, key='pct%2F19%20x', size=4, salt='s44', checksum='SHA1', content_type='text/csv', metadata=(('m1', 'v1'),), tags=(('t1', 'x0'),), encrypted=True, tick=2),
                    Transition(bucket=1, key='Z15', storage_class='DEEP_ARCHIVE'),
                    Delete(bucket=0, key='a/0019.csv~24583'),
                    CopyInPlace(bucket=0, key='folder35/', metadata=(('c3', 'yes'),), tick=2),
                    Put(bucket=0, key='emoji/🙂12', size=1, same_bytes=True, tick=2),
                    CopyInPlace(bucket=0, key='long/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/27', metadata=(('c2', 'yes'),)),
                    Put(bucket=0, key='a/0018.csv', size=5, salt='s45', storage_class='STANDARD_IA', checksum='CRC32', metadata=(('m0', 'v0'), ('m0', 'v1')), encrypted=True),
                    Put(bucket=0, key='double//slash/28', size=5, salt='s46', content_type='text/csv', tags=(('t1', 'x2'),), tick=60),
                    Delete(bucket=0, key='pct%2F36%20x'),
                    Put(bucket=0, key='emoji/🙂12', size=1, salt='s47', checksum='SHA256', content_type='application/json', metadata=(('m0', 'v2'),), tags=(('t1', 'x0'), ('t2', 'x0')), tick=2),
                    RestoreStart(bucket=0, key='double//slash/21'),
                    MultipartPut(bucket=0, key='emoji/🙂26', part_sizes=(15, 16), salt='s48'),
                    DeleteVersion(bucket=0, key='with space/33 + plus', tick=2),
                    Transition(bucket=0, key='double//slash/2', storage_class='INTELLIGENT_TIERING'),
                )),
        )))


def test_a_range_losing_both_keys_beside_a_key_hash_twin_is_counted_as_documented():
    """Soak seed 174, shrunk: an unversioned range of two keys loses both while a new key sharing one's 16-bit key hash
    appears. Both rows stay live (expected without events); the sketch takes the new key and its lost twin for one
    changed object, so the closing warning counts 1: the documented limit (1 in 65,536 per such pair) the judge now
    knows, which it took for an undercount."""
    replay(Scenario(
        seed=174,
        spec=WorldSpec(versioned=(False, False), page_size=2, checkpoint_every=7),
        rounds=(
            Round(
                ops=(
                    Put(bucket=0, key='Z23', size=10, salt='s5'),
                    Put(bucket=0, key='a/0001', size=5, salt='s32', storage_class='GLACIER'),
                )),
            Round(),
            Round(
                ops=(
                    Delete(bucket=0, key='Z23'),
                    Delete(bucket=0, key='a/0001'),
                    Put(bucket=0, key='a/0001~66838', size=3, salt='s57', tick=0),
                )),
        )))


def test_keys_an_exclude_pattern_covers_again_are_sent_once_more():
    """Soak seed 209, shrunk: a key is excluded by a pattern, then the pattern is removed. The row stayed in the table
    while excluded (documented), but the range digests no longer held the key, so the connector sends it again: the
    judge took that for a re-send of an unchanged row."""
    replay(Scenario(
        seed=209,
        spec=WorldSpec(versioned=(True, True), regions=('us-east-1', 'us-west-2'), page_size=5, checkpoint_every=7,
                       archived_tags=True),
        rounds=(
            Round(ops=(BulkPut(bucket=0, keys=('a/0035',)),)),
            Round(ops=(Setting(name='exclude_patterns', value='a/00*'),)),
            Round(ops=(Setting(name='exclude_patterns', value=''),)),
        )))
