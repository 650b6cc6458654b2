"""Exact change capture (issue 11) through the SDK runner: scattered changes send the changed objects and not their
ranges, deletes in unversioned buckets are counted exactly, and a state written before sketches existed is
re-summarised without sending anything."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from s3_metadata.range_codec import decode_ranges
from s3_metadata.sketch import Sketch

from tests.integration.test_full_and_incremental import COMPARED
from tests.support.harness import project_rows

BUCKET = "test-bucket"


def fill(s3, count: int) -> list[str]:
    s3.create_bucket(BUCKET)
    names = [f"{random.Random(i).getrandbits(64):016x}/{i}" for i in range(count)]  # uuid-like keys
    s3.bulk_put(BUCKET, names)
    s3.age_all(BUCKET, timedelta(days=30))
    return sorted(names)


def scattered_transitions(harness, names, share: float, seed: int) -> list[str]:
    changed = random.Random(seed).sample(names, int(len(names) * share))
    for key in changed:
        harness.s3.set_storage_class(BUCKET, key, "GLACIER")
    return changed


@pytest.mark.parametrize("objects, share, seed, most_per_change", [
    pytest.param(10_000, 0.01, 5, 1.1, id="1%-scattered-at-most-1.1-rows-per-change"),
    pytest.param(6_000, 0.05, 6, 3, id="5%-scattered-at-most-3-rows-per-change"),
])
def test_scattered_changes_send_about_the_changed_objects(harness, base_config, objects, share, seed, most_per_change):
    names = fill(harness.s3, objects)
    assert harness.sync(base_config()).ok
    changed = scattered_transitions(harness, names, share, seed)
    result = harness.sync(base_config())
    assert result.ok, result.error
    assert len(changed) <= result.upserts <= len(changed) * most_per_change
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows(BUCKET)


def test_deletes_in_an_unversioned_bucket_are_counted_exactly(harness, base_config, capsys):
    names = fill(harness.s3, 3_000)
    assert harness.sync(base_config()).ok
    gone = random.Random(8).sample(names, 7)
    for key in gone:
        harness.s3.delete(BUCKET, key)
    capsys.readouterr()
    result = harness.sync(base_config())
    assert result.ok, result.error
    assert result.upserts == 0
    output = capsys.readouterr().out
    entries = decode_ranges(harness.saved_state()["streams"][f"{BUCKET}/"]["ranges"])
    ranges = len({next(i for i, e in enumerate(entries) if e.hi is None or key <= e.hi) for key in gone})
    assert f"7 objects deleted since the last sync in {ranges} key ranges" in output
    assert "7 deletes counted but not markable" in output


def test_state_without_sketches_is_migrated_sending_nothing(harness, base_config):
    fill(harness.s3, 2_000)
    assert harness.sync(base_config()).ok
    state = harness.saved_state()
    stream = state["streams"][f"{BUCKET}/"]
    entries = decode_ranges(stream["ranges"])
    assert all(e.sketch is not None and e.ids is not None for e in entries)
    # What the connector's version 1 wrote: ranges of four elements, no versions fields.
    old = {"version": 1, "restore_sources": state["restore_sources"], "last_reconcile": None, "reconcile_started": None,
           "streams": {f"{BUCKET}/": {key: value for key, value in stream.items()
                                      if key not in ("version_ranges", "version_passes")}}}
    old["streams"][f"{BUCKET}/"]["ranges"] = [[e.hi, e.count, f"{e.digest:016x}", int(e.done)] for e in entries]
    migrated = harness.sync(base_config(), state=old)
    assert migrated.ok, migrated.error
    assert migrated.upserts == 0 and migrated.counts.get("Truncates", 0) == 0
    assert decode_ranges(harness.saved_state()["streams"][f"{BUCKET}/"]["ranges"]) == entries


def test_version_2_state_is_migrated_sending_nothing_and_gains_key_sums(harness, base_config):
    """Version 2 wrote each range as a JSON list with a base85 sketch and no key sum: it is read as it is, the
    unchanged ranges get their key sums on the next listing, and nothing is sent."""
    fill(harness.s3, 2_000)
    assert harness.sync(base_config()).ok
    state = harness.saved_state()
    stream = state["streams"][f"{BUCKET}/"]
    entries = decode_ranges(stream["ranges"])
    old = {**state, "version": 2, "streams": {f"{BUCKET}/": {**stream, "version_ranges": [], "ranges": [
        [e.hi, e.count, f"{e.digest:016x}", int(e.done), None, Sketch.from_bytes(e.sketch).to_text()]
        for e in entries]}}}
    migrated = harness.sync(base_config(), state=old)
    assert migrated.ok, migrated.error
    assert migrated.upserts == 0 and migrated.counts.get("Truncates", 0) == 0
    assert decode_ranges(harness.saved_state()["streams"][f"{BUCKET}/"]["ranges"]) == entries
