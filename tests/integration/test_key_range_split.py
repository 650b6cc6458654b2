"""One bucket split across several connections by key range, through the SDK runner against one moto.

Each connection (a Harness with its own project directory: its own state and warehouse) owns a slice
`key_range_start <= key < key_range_end`; the slices meet end to start. The union of their tables must equal the
table of one connection over the whole bucket, with no key in two slices, after the first sync and after changes.
"""
from __future__ import annotations

import random
from datetime import timedelta
from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

import pytest

from s3_metadata import event_mode
from s3_metadata.key_range import MAX_CHAR, KeyRange, just_below
from tests.integration.test_event_mode import NOTIFIED_EVENTS, EventQueue, event_summary
from tests.integration.test_full_and_incremental import COMPARED, UNUSUAL_KEYS
from tests.support.harness import Harness, project_rows

BUCKET = "test-bucket"
OLD = timedelta(days=30)
BOUNDARIES = ["g", "p/\u00e9"]
# Keys equal to the boundaries, just below and just above them (in S3's UTF-8 byte order), and unicode around them.
NEAR_BOUNDARIES = [
    "f", "fzz", "f" + MAX_CHAR, "f" + MAX_CHAR * 2, "g", "g ", "g/a", "g\U0001f600", "gg",
    "p/d", "p/e", "p/f", "p/" + MAX_CHAR, "p/\u00e8" + MAX_CHAR, "p/\u00e9", "p/\u00e9/x", "p/\u00e9e", "p/\u00ea",
    "p0", "\u65e5\u672c/\u30d5\u30a1\u30a4\u30eb", "\U0001f600/x",
]


def slices(boundaries: list[str]) -> list[dict[str, str]]:
    """The key range settings of consecutive slices: the first starts at the first key, the last ends at the last."""
    points = ["", *boundaries, ""]
    return [{"key_range_start": start, "key_range_end": end} for start, end in pairwise(points)]


def live_keys(harness: Harness) -> set[str]:
    return {key for _, key in harness.rows()}


def seed(s3, rng: random.Random) -> None:
    s3.create_bucket(BUCKET)
    s3.versioned(BUCKET)
    for key in UNUSUAL_KEYS + NEAR_BOUNDARIES:
        s3.put(BUCKET, key, key.encode()[:10])
    alphabet = "abcfgmopz/\u00e9_-0"
    s3.bulk_put(BUCKET, sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) for _ in range(400)}))
    s3.age_all(BUCKET, OLD)


def change(s3, rng: random.Random) -> None:
    """Random overwrites, deletes and new keys, many of them at or next to the boundaries."""
    keys = sorted(key for _, key in s3.expected_rows(BUCKET))
    for key in rng.sample(keys, 30):
        s3.put(BUCKET, key, b"changed " + key.encode()[:5])
    for key in rng.sample([k for k in keys if k not in NEAR_BOUNDARIES], 30):
        s3.delete(BUCKET, key)
    for boundary in BOUNDARIES:
        for key in (boundary + "-new", just_below(boundary) + "\u00e9", boundary[:-1] + "\U0001f600"):
            s3.put(BUCKET, key, b"new")
    s3.delete(BUCKET, "g")
    s3.put(BUCKET, "p/\u00e9", b"overwritten at the boundary")


@pytest.fixture
def connections(tmp_path, moto_s3, faults):
    """One connection over the whole bucket and one per slice, all against the same moto."""
    def make(count: int) -> list[Harness]:
        return [Harness(tmp_path / f"connection-{i}", moto_s3, faults) for i in range(count)]
    return make


def assert_slices_add_up(whole: Harness, parts: list[Harness], key_ranges: list[KeyRange]) -> None:
    union: dict = {}
    for part, key_range in zip(parts, key_ranges):
        rows = part.rows()
        assert all(key_range.contains(key) for _, key in rows), "a slice holds a key outside its key range"
        assert not set(rows) & set(union), "a key is in two slices"
        union.update(rows)
    assert project_rows(union, COMPARED) == project_rows(whole.rows(), COMPARED)
    assert project_rows(union, COMPARED) == whole.s3.expected_rows(BUCKET)


def test_three_slices_add_up_to_one_connection(connections, base_config, small_pages):
    rng = random.Random(19)
    whole, *parts = connections(4)
    seed(whole.s3, rng)
    settings = slices(BOUNDARIES)
    key_ranges = [KeyRange(s["key_range_start"] or None, s["key_range_end"] or None) for s in settings]
    for round_ in range(2):
        for harness, extra in zip([whole, *parts], [{}, *settings]):
            result = harness.sync(base_config(range_size=10, **extra))
            assert result.ok, result.error
        assert_slices_add_up(whole, parts, key_ranges)
        assert all(live_keys(part) for part in parts)
        if round_ == 0:
            change(whole.s3, rng)
    # The boundary keys landed where the slices say.
    assert "g" not in live_keys(parts[0]) | live_keys(parts[1])  # deleted
    assert "f" + MAX_CHAR in live_keys(parts[0]) and "f" + MAX_CHAR * 2 in live_keys(parts[0])
    assert {"g ", "g/a", "p/f", "p/\u00e8" + MAX_CHAR} <= live_keys(parts[1])
    assert {"p/\u00e9", "p/\u00e9/x", "p/\u00ea", "p/" + MAX_CHAR, "p0"} <= live_keys(parts[2])


def list_requests(harness: Harness) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(url).query) for operation, url in harness.faults.urls if operation == "ListObjectsV2"]


def test_a_slice_does_not_list_the_rest_of_the_bucket(harness, base_config, small_pages):
    """2,000 keys, 60 of them in the slice: the sync asks for about the slice's pages, not the bucket's 40."""
    harness.s3.create_bucket(BUCKET)
    harness.s3.bulk_put(BUCKET, [f"k/{i:04d}" for i in range(2000)])
    harness.s3.age_all(BUCKET, OLD)
    config = base_config(key_range_start="k/1000", key_range_end="k/1060")
    result = harness.sync(config)
    assert result.ok, result.error
    assert live_keys(harness) == {f"k/{i:04d}" for i in range(1000, 1060)}
    requests = list_requests(harness)
    # The first-pass size check, the restore-status probe and the two pages of the slice (the second one past its
    # end); every request but the probe's starts just below the slice.
    assert len(requests) <= 5, requests
    starts = [r.get("start-after", [None])[0] for r in requests if "continuation-token" not in r]
    assert starts.count(just_below("k/1000")) >= 2
    harness.faults.clear()
    again = harness.sync(config)
    assert again.ok and again.upserts == 0
    assert len(list_requests(harness)) <= 4


def test_event_mode_ignores_events_outside_the_slice(harness, base_config, capfd, monkeypatch):
    monkeypatch.setattr(event_mode, "OPENING_WAIT_SECONDS", 1)  # moto really waits for a long poll
    monkeypatch.setattr(event_mode, "DRAINING_WAIT_SECONDS", 0)
    s3 = harness.s3
    s3.create_bucket(BUCKET)
    for i in range(20):
        s3.put(BUCKET, f"k/{i:03d}.csv", b"x" * i)
    s3.age_all(BUCKET, OLD)
    queue = EventQueue()
    s3.client.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": queue.arn, "Events": NOTIFIED_EVENTS}]})
    config = base_config(sqs_queue_url=queue.url, key_range_start="k/005", key_range_end="k/010")
    assert harness.sync(config).ok
    assert live_keys(harness) == {f"k/{i:03d}.csv" for i in range(5, 10)}

    s3.put(BUCKET, "k/005", b"equal to the start: in")
    s3.put(BUCKET, "k/010", b"equal to the end: out")
    s3.put(BUCKET, "k/007.csv", b"overwritten inside")
    s3.delete(BUCKET, "k/008.csv")
    s3.put(BUCKET, "k/001.csv", b"overwritten outside")
    s3.delete(BUCKET, "k/015.csv")
    capfd.readouterr()
    result = harness.sync(config)
    assert result.ok, result.error
    counts = event_summary(capfd.readouterr().out)
    assert counts["events ignored"] >= 3  # S3's test event is not an object event; the three outside are ignored
    assert counts["rows upserted"] == 2 and counts["rows deleted"] == 1
    expected = {key: row for key, row in s3.expected_rows(BUCKET).items() if KeyRange("k/005", "k/010").contains(key[1])}
    assert project_rows(harness.rows(), COMPARED) == expected


def test_changing_the_slice_sends_only_the_ranges_it_touches(harness, base_config, small_pages, capfd):
    """Moving the end from k/0600 to k/0700: the keys that entered are sent, the ranges that did not change send
    nothing, and the rows of keys that left (none here) would stay."""
    harness.s3.create_bucket(BUCKET)
    harness.s3.bulk_put(BUCKET, [f"k/{i:04d}" for i in range(1000)])
    harness.s3.age_all(BUCKET, OLD)
    assert harness.sync(base_config(range_size=20, key_range_start="k/0200", key_range_end="k/0600")).ok
    assert live_keys(harness) == {f"k/{i:04d}" for i in range(200, 600)}
    capfd.readouterr()

    moved = base_config(range_size=20, key_range_start="k/0300", key_range_end="k/0700")
    result = harness.sync(moved)
    assert result.ok, result.error
    assert ("the key range changed (it was from 'k/0200' to before 'k/0600', it is now from 'k/0300' to before "
            "'k/0700')") in capfd.readouterr().out
    # Rows of keys that left the slice stay (as when prefixes change); every key of the new slice is live and equal.
    assert live_keys(harness) == {f"k/{i:04d}" for i in range(200, 700)}
    assert project_rows(harness.rows(), COMPARED) == {
        key: row for key, row in harness.s3.expected_rows(BUCKET).items() if "k/0200" <= key[1] < "k/0700"}
    # The 100 keys that entered, and at most the range that straddled the old end again: not the 300 that stayed.
    assert 100 <= result.upserts <= 100 + 2 * 20
    assert result.deletes == 0
    again = harness.sync(moved)
    assert again.ok and again.upserts == again.deletes == 0
