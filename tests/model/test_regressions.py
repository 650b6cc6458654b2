"""Deterministic regression tests shrunk from the model test's failures (tests/model/shrink.py prints them).

Each one replays a short scenario against the real connector and asserts that the judge finds nothing wrong. The
known open bugs (known_bugs.py) fail today and are marked `xfail(strict=True)`: when a fix lands the test passes,
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


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="issue 16: a hard delete in a versioned bucket (DeleteObject with the VersionId of a "
                          "key's only version) leaves the row live forever")
def test_hard_delete_in_versioned_bucket():
    replay(Scenario(
        seed=1,
        spec=VERSIONED,
        rounds=(
            Round(ops=(Setting("bucket", "0"), Put(0, "k/1", 3), Put(0, "k/2", 3))),
            Round(ops=(DeleteVersion(0, "k/1"),)),
        )))


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="issue 16: versioned buckets re-send deletes for already-deleted keys of a range each "
                          "time the range loses another object")
def test_deletes_are_not_sent_again():
    replay(Scenario(
        seed=1,
        spec=VERSIONED,
        rounds=(
            Round(ops=(Setting("bucket", "0"), Put(0, "k/1", 3), Put(0, "k/2", 3), Put(0, "k/3", 3))),
            Round(ops=(Delete(0, "k/1"),)),
            Round(ops=(Delete(0, "k/2"),)),
        )))


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="issue 16: with object_details=tags, a GetObjectTagging failure on an archived object "
                          "(moto refuses it, as a store may) hides a later restore start")
def test_tagging_failure_hides_restore_start():
    replay(Scenario(
        seed=1,
        spec=S3_COMPATIBLE,
        rounds=(
            Round(ops=(Setting("bucket", "0"), Setting("object_details", "tags"),
                       Put(0, "cold/1", 3, storage_class="GLACIER"))),
            Round(ops=(RestoreStart(0, "cold/1"),)),
        )))


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="issue 16: a delete and a new key with the same 16-bit key hash in one range count as "
                          "one change, so a versioned bucket never looks the delete up")
def test_delete_and_new_key_with_the_same_key_hash():
    from tests.model.generator import twin_key
    replay(Scenario(
        seed=1,
        spec=VERSIONED,
        rounds=(
            Round(ops=(Setting("bucket", "0"), Put(0, "k/1", 3), Put(0, "k/2", 3))),
            Round(ops=(Delete(0, "k/1"), Put(0, twin_key("k/1"), 3))),
        )))


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="model test seed 7: taking tags out of object_details re-sends, unchanged, every "
                          "object whose GetObjectTagging had failed (tracked as error:tags:*)")
def test_dropping_tags_sends_nothing():
    replay(Scenario(
        seed=1,
        spec=WorldSpec(versioned=(False, False)),
        rounds=(
            Round(ops=(Setting("bucket", "0"), Setting("object_details", "head,tags"),
                       Put(0, "cold/1", 3, storage_class="GLACIER"), Put(0, "k/2", 3))),
            Round(ops=(Setting("object_details", "head"),)),
        )))


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="model test: in event mode, keys newly included by a pattern change under the same "
                          "LIST prefix are never listed, so they get no row")
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


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="model test seed 6: a listing sync after event-mode syncs sends again, unchanged, every "
                          "object the events already sent (events do not update the range digests)")
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


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="model test seed 6: deletes of an unversioned bucket counted in ranges a killed sync had "
                          "finished are in no closing warning (the resumed sync does not list those ranges again)")
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
