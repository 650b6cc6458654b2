"""Unit tests for s3_metadata.ranges: fingerprints, the range scanner's decisions, and the entry bookkeeping.

The scanner's contract, checked here batch by batch: every listed object is in exactly one Batch; a Batch's
`replacement`, applied with `replace_entry` in the order the batches come, leaves a list of entries whose
boundaries are strictly increasing, that ends with the open range (hi None), and whose counts and digests
describe exactly the objects in each range; and every object that is new or changed since the range was
last seen is emitted.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import replace
from hashlib import blake2b
from urllib.parse import quote
from datetime import datetime, timedelta, timezone

import pytest

from s3_metadata.ranges import (
    BUFFER_FACTOR, MASK, MAX_RANGES_PER_STREAM, Batch, Part, RangeEntry, RangeScanner, effective_range_size, finish_pass,
    fingerprint, invalidate_digests, merge_small, plan_parts, replace_entry, start_pass,
)
from s3_metadata.deletes import NOTHING, UNKNOWN, Loss, key_identity
from s3_metadata.listing_xml import parse_objects_page
from s3_metadata.restore import ARCHIVED, IN_PROGRESS, RESTORED, RestoreInfo
from s3_metadata.rows import ListedObject
from s3_metadata.sketch import key_hash

UTC = timezone.utc
OLD = datetime(2024, 1, 1, tzinfo=UTC)
MID = datetime(2024, 1, 5, tzinfo=UTC)
NEW = datetime(2024, 1, 10, tzinfo=UTC)
LATER = datetime(2024, 1, 12, tzinfo=UTC)


def obj(key: str, modified: datetime = OLD, **changes) -> ListedObject:
    return replace(ListedObject(key, modified, f"etag-{key}", len(key), "STANDARD"), **changes)


def objs(keys: str, modified: datetime = OLD) -> list[ListedObject]:
    """`objs("a b c")`: one object per space-separated key."""
    return [obj(k, modified) for k in keys.split()]


def digest(objects, include_restore: bool = False) -> int:
    return sum(fingerprint(o, include_restore) for o in objects) & MASK


def keysum(objects) -> int:
    return sum(key_identity(o.key) for o in objects) & MASK


def known(hi, objects, done: bool = False) -> RangeEntry:
    """The entry a previous pass left for `objects`."""
    return RangeEntry(hi, len(objects), digest(objects), done, keysum(objects))


def piece(hi, objects, done: bool = True) -> RangeEntry:
    """The entry a pass leaves for `objects` (without a sketch: the scans here run with sketches off)."""
    return RangeEntry(hi, len(objects), digest(objects), done, keysum(objects))


def scan(lo, entry, objects, target, include_restore=False, sketches=False) -> list[Batch]:
    """Scan with the digest rules alone (sketches off), as for a range without a sketch; see the sketch tests below."""
    scanner = RangeScanner(lo, entry, target, include_restore, sketches=sketches)
    batches = []
    for o in objects:
        assert scanner.contains(o.key)
        batch = scanner.add(o)
        if batch is not None:
            batches.append(batch)
    batches.append(scanner.finish())
    return batches


def emitted_keys(batches) -> list[str]:
    return [o.key for b in batches for o, e in zip(b.objects, b.emit) if e]


def replay(entries, batches) -> list[RangeEntry]:
    for batch in batches:
        entries = replace_entry(entries, batch.entry_hi, batch.replacement)
    return entries


# ---------------------------------------------------------------------------------------------------- fingerprint

BASE = ListedObject("logs/a.gz", OLD, "abc", 10, "STANDARD", "CRC32", "COMPOSITE",
                    RestoreInfo(RESTORED, datetime(2024, 2, 1, tzinfo=UTC)))


@pytest.mark.parametrize("changed", [
    pytest.param(replace(BASE, key="logs/b.gz"), id="key"),
    pytest.param(replace(BASE, e_tag="abd"), id="e_tag"),
    pytest.param(replace(BASE, size=11), id="size"),
    pytest.param(replace(BASE, storage_class="GLACIER"), id="storage_class"),
    pytest.param(replace(BASE, last_modified=OLD + timedelta(microseconds=1)), id="last_modified"),
    pytest.param(replace(BASE, checksum_algorithm="SHA256"), id="checksum_algorithm"),
    pytest.param(replace(BASE, checksum_algorithm=None), id="checksum_algorithm-removed"),
    pytest.param(replace(BASE, checksum_type="FULL_OBJECT"), id="checksum_type"),
])
@pytest.mark.parametrize("include_restore", [pytest.param(False, id="listing"), pytest.param(True, id="with-restore")])
def test_fingerprint_changes_with_every_listed_field(changed, include_restore):
    assert fingerprint(changed, include_restore) != fingerprint(BASE, include_restore)


@pytest.mark.parametrize("changed", [
    pytest.param(replace(BASE, restore=RestoreInfo(IN_PROGRESS)), id="status"),
    pytest.param(replace(BASE, restore=RestoreInfo(RESTORED, datetime(2024, 3, 1, tzinfo=UTC))), id="expiry"),
    pytest.param(replace(BASE, restore=RestoreInfo(RESTORED)), id="expiry-removed"),
    pytest.param(replace(BASE, restore=None), id="restore-unknown"),
])
def test_fingerprint_restore_counts_only_when_included(changed):
    assert fingerprint(changed, include_restore=True) != fingerprint(BASE, include_restore=True)
    assert fingerprint(changed, include_restore=False) == fingerprint(BASE, include_restore=False)


def test_fingerprint_ignores_archive_status():
    """The listing never reports the archive tier, so it cannot be part of what the listing is compared on."""
    changed = replace(BASE, restore=replace(BASE.restore, archive_status="ARCHIVE_ACCESS"))
    assert fingerprint(changed, True) == fingerprint(BASE, True)


@pytest.mark.parametrize("o, include_restore, expected", [
    pytest.param(ListedObject("logs/a.gz", OLD, "abc", 10, "STANDARD"), False, 0x5a46b437e073418a, id="plain"),
    pytest.param(BASE, True, 0x0c395c15adbf81fe, id="all-fields-with-restore"),
    pytest.param(BASE, False, 0xb41dc8a7f7bec885, id="all-fields-without-restore"),
])
def test_fingerprint_is_stable_across_processes_and_versions(o, include_restore, expected):
    """Digests are saved in the state: if these values change, every saved range looks changed and the next
    sync re-sends every row. Change them only together with a state version bump or a digest_mode change."""
    assert fingerprint(o, include_restore) == expected


def original_fingerprint(o: ListedObject, include_restore: bool) -> int:
    """The fingerprint as first written, kept here verbatim: every digest in users' states was made with it."""
    fields = [o.key, o.e_tag, str(o.size), o.storage_class, o.last_modified.isoformat(),
              o.checksum_algorithm or "", o.checksum_type or ""]
    if include_restore and o.restore is not None:
        fields.append(o.restore.status or "")
        fields.append(o.restore.expiry.isoformat() if o.restore.expiry else "")
    data = "\x00".join(fields).encode("utf-8", "surrogatepass")
    return int.from_bytes(blake2b(data, digest_size=8).digest(), "big")


# LastModified as S3 writes it (milliseconds, `.000Z` for whole seconds) and as other stores might: whole seconds
# without a fraction, 1 to 7 fraction digits, a comma, explicit offsets, a leap day, a year before 1000.
S3_SHAPED_TIMES = ["2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123Z",
                   "2024-05-01T12:00:00.100Z", "2024-05-01T12:00:00.5Z", "2024-05-01T12:00:00.000001Z",
                   "2024-05-01T12:00:00.123456Z", "2024-05-01T12:00:00.000000Z", "2024-02-29T23:59:59.999Z",
                   "0999-12-31T00:00:00.010Z"]
OTHER_TIMES = ["2024-05-01T12:00:00.1234567Z", "2024-05-01T12:00:00,5Z", "2024-05-01T12:00:00.000+00:00",
               "2024-05-01T14:00:00.000+02:00", "2024-05-01T12:00:00.250-00:00"]
CORPUS_KEYS = ["logs/2024/05/01/a.gz", "data/t/dt=2024-05-01/part 1+2%.parquet",
               "d\u00e9j\u00e0/\u65e5\u672c/\U0001f600", "k" * 1024]
CORPUS_CHECKSUMS = ["", "<ChecksumAlgorithm>CRC32</ChecksumAlgorithm>",
                    "<ChecksumAlgorithm>CRC32C</ChecksumAlgorithm><ChecksumAlgorithm>SHA256</ChecksumAlgorithm>"
                    "<ChecksumType>FULL_OBJECT</ChecksumType>"]
CORPUS_CLASSES = [("STANDARD", ""), ("GLACIER", ""),
                  ("GLACIER", "<RestoreStatus><IsRestoreInProgress>true</IsRestoreInProgress></RestoreStatus>"),
                  ("DEEP_ARCHIVE", "<RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress>"
                                   "<RestoreExpiryDate>2024-06-01T00:00:00.000Z</RestoreExpiryDate></RestoreStatus>"),
                  ("GLACIER", "<RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress>"
                              "<RestoreExpiryDate>2024-06-01T00:00:00.5Z</RestoreExpiryDate></RestoreStatus>")]


def corpus_page(times: list[str]) -> bytes:
    """A ListObjectsV2 body with every combination of the corpus's times, keys, checksums and restore states."""
    entries = []
    combinations = itertools.product(times, CORPUS_KEYS, CORPUS_CHECKSUMS, CORPUS_CLASSES)
    for index, (modified, key, checksums, (storage_class, restore)) in enumerate(combinations):
        entries.append(f"<Contents><Key>{quote(f'{index:05d}/{key}', safe='/~')}</Key>"
                       f"<LastModified>{modified}</LastModified><ETag>&quot;e{index}&quot;</ETag>{checksums}"
                       f"<Size>{index * 7919}</Size><StorageClass>{storage_class}</StorageClass>{restore}</Contents>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            "<Name>b</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>"
            f"<IsTruncated>false</IsTruncated><EncodingType>url</EncodingType>{''.join(entries)}"
            "</ListBucketResult>").encode()


@pytest.mark.parametrize("times, fast", [pytest.param(S3_SHAPED_TIMES, True, id="s3-shaped-times"),
                                         pytest.param(OTHER_TIMES, False, id="other-times")])
@pytest.mark.parametrize("restore_requested", [False, True], ids=["listing", "restore-status-requested"])
def test_fingerprint_of_listed_objects_equals_the_original_formula(times, fast, restore_requested):
    """The LastModified text read off the listing (and the tuple) leave every fingerprint bit-identical."""
    page = parse_objects_page(corpus_page(times), restore_requested)
    assert page is not None and len(page.objects) == len(times) * 4 * 3 * 5
    for o in page.objects:
        assert (o.last_modified_iso is not None) == fast
        for include_restore in (False, True):
            assert fingerprint(o, include_restore) == original_fingerprint(o, include_restore), o
            assert fingerprint(o, include_restore) == fingerprint(replace(o, last_modified_iso=None), include_restore)


def test_fingerprint_is_64_bits():
    values = [fingerprint(obj(f"k{i}"), False) for i in range(200)]
    assert all(0 <= v <= MASK for v in values)
    assert len(set(values)) == 200


# ---------------------------------------------------------------------------------------------------- new ranges

def test_new_open_range_is_streamed_in_pieces_of_target():
    objects = objs("k1 k2 k3 k4 k5 k6 k7", NEW)
    batches = scan(None, RangeEntry(None), objects, target=3)
    expected = [
        Batch(None, "k3", None, objects[0:3], [True] * 3,
              [piece("k3", objects[0:3]), RangeEntry(None)], unexplained=True, loss=UNKNOWN),
        Batch("k3", "k6", None, objects[3:6], [True] * 3,
              [piece("k6", objects[3:6]), RangeEntry(None)], unexplained=True, loss=UNKNOWN),
        Batch("k6", None, None, objects[6:7], [True], [piece(None, objects[6:7])],
              unexplained=True, loss=UNKNOWN),
    ]
    assert batches == expected
    assert replay([RangeEntry(None)], batches) == [
        piece("k3", objects[0:3]), piece("k6", objects[3:6]),
        piece(None, objects[6:7])]


def test_new_range_emits_everything_whatever_its_age():
    """A range never seen before has no rows in the destination yet, whatever its objects' age."""
    batches = scan(None, RangeEntry(None), objs("a b c d", OLD), target=2)
    assert emitted_keys(batches) == ["a", "b", "c", "d"]
    assert [b.emitted for b in batches] == [2, 2, 0]


def test_new_closed_range_streams_and_its_last_batch_keeps_the_boundary():
    objects = objs("b c d e f")
    batches = scan("a", RangeEntry("m"), objects, target=2)
    assert [(b.lo, b.hi, b.entry_hi, [o.key for o in b.objects]) for b in batches] == [
        ("a", "c", "m", ["b", "c"]), ("c", "e", "m", ["d", "e"]), ("e", "m", "m", ["f"])]
    assert [b.replacement for b in batches] == [
        [piece("c", objects[0:2]), RangeEntry("m")],
        [piece("e", objects[2:4]), RangeEntry("m")],
        [piece("m", objects[4:5])],
    ]
    entries = replay([RangeEntry("a", 1, 1), RangeEntry("m"), RangeEntry(None, 0, 0)], batches)
    assert [e.hi for e in entries] == ["a", "c", "e", "m", None]


def test_new_range_with_exact_multiple_of_target_ends_with_an_empty_piece():
    objects = objs("a b c d")
    batches = scan(None, RangeEntry(None), objects, target=2)
    assert [len(b.objects) for b in batches] == [2, 2, 0]
    assert batches[-1] == Batch("d", None, None, [], [], [piece(None, [])], unexplained=True, loss=UNKNOWN)
    assert replay([RangeEntry(None)], batches) == [
        piece("b", objects[:2]), piece("d", objects[2:]),
        piece(None, [])]


def test_new_empty_range():
    assert scan("a", RangeEntry("m"), [], target=5) == [Batch("a", "m", "m", [], [], [piece("m", [])],
                                                                     unexplained=True, loss=UNKNOWN)]


@pytest.mark.parametrize("entry, key, contains", [
    pytest.param(RangeEntry(None), "\U0010ffff", True, id="open-range-contains-everything"),
    pytest.param(RangeEntry("m"), "m", True, id="hi-is-inclusive"),
    pytest.param(RangeEntry("m"), "l\uffff", True, id="below-hi"),
    pytest.param(RangeEntry("m"), "m\x00", False, id="just-above-hi"),
    pytest.param(RangeEntry("m"), "n", False, id="above-hi"),
])
def test_contains(entry, key, contains):
    assert RangeScanner("a", entry, 10, False, sketches=False).contains(key) is contains


# ---------------------------------------------------------------------------------------------------- known ranges

def test_unchanged_known_range_emits_nothing_even_recently_written_objects():
    """Count and digest equal: nothing in the range changed, however recently its objects were written."""
    objects = [obj("a", OLD), obj("b", NEW), obj("c", OLD), obj("d", NEW)]
    entry = known("m", objects)
    batches = scan(None, entry, objects, target=10)
    assert batches == [Batch(None, "m", "m", objects, [False] * 4, [RangeEntry("m", 4, entry.digest, True, entry.ids)],
                             previous_ids=entry.ids)]


@pytest.mark.parametrize("before, after", [
    pytest.param([obj("a"), obj("b"), obj("c")], [obj("a"), obj("b"), obj("c", storage_class="GLACIER")],
                 id="storage-class-transition"),
    pytest.param([obj("a"), obj("b"), obj("c")], [obj("a"), obj("b", e_tag="other"), obj("c")],
                 id="overwrite-behind-watermark"),
    pytest.param([obj("a"), obj("b"), obj("c")], [obj("a"), obj("b", size=999), obj("c")], id="size-change"),
    pytest.param([obj("a"), obj("b"), obj("c")], [obj("a"), obj("c")], id="deletion"),
    pytest.param([obj("a"), obj("b"), obj("c")], [], id="everything-deleted"),
    pytest.param([obj("a"), obj("b"), obj("c")], [obj("a"), obj("bb"), obj("c")], id="key-replaced-by-old-key"),
    # Same count, one new recent key: the non-recent rest no longer adds up to the old range, so resend all.
    pytest.param([obj("a"), obj("b"), obj("c")], [obj("a"), obj("b"), obj("bb", NEW)], id="delete-plus-new-key"),
    pytest.param([obj("a"), obj("b", NEW), obj("c")], [obj("a"), obj("c")], id="recent-object-deleted"),
])
def test_changed_known_range_emits_everything(before, after):
    entry = known("m", before)
    batches = scan("0", entry, after, target=10)
    assert digest(after) != entry.digest or len(after) != entry.count  # the case really changes the range
    assert batches == [Batch("0", "m", "m", after, [True] * len(after),
                             [piece("m", after)], unexplained=True, previous_ids=entry.ids, loss=UNKNOWN)]


def test_restore_reported_by_listing_changes_range_only_with_include_restore():
    before = [obj("a", storage_class="GLACIER", restore=RestoreInfo(ARCHIVED))]
    after = [obj("a", storage_class="GLACIER", restore=RestoreInfo(IN_PROGRESS))]
    entry_with = RangeEntry("m", 1, digest(before, True))
    assert emitted_keys(scan(None, entry_with, after, 10, include_restore=True)) == ["a"]
    entry_without = RangeEntry("m", 1, digest(before, False))
    assert emitted_keys(scan(None, entry_without, after, 10, include_restore=False)) == []


@pytest.mark.parametrize("before, after, new_keys, expected_emitted", [
    pytest.param("a c e", "a b c d e", "b d", ["b", "d"], id="two-new-keys-inside"),
    pytest.param("a b", "a b c", "c", ["c"], id="one-new-key-at-end"),
    pytest.param("b", "a b", "a", ["a"], id="new-key-before-old"),
    pytest.param("", "a b", "a b", ["a", "b"], id="empty-range-gains-keys"),
])
def test_known_range_with_only_new_keys_emits_only_the_new_ones(before, after, new_keys, expected_emitted):
    """Within the buffer limit, a range whose older objects add up to its old count and digest only gained
    new keys: only those are sent, and the whole range becomes one finished entry again."""
    old = objs(before, OLD) if before else []
    now = sorted(old + objs(new_keys, NEW), key=lambda o: o.key)
    assert [o.key for o in now] == after.split()
    batches = scan(None, known("m", old), now, target=10)
    assert emitted_keys(batches) == expected_emitted
    assert [b.replacement for b in batches] == [[piece("m", now)]]


def test_new_keys_next_to_a_recent_old_object_send_only_the_new_ones():
    """The previous pass saw `c` (written at MID); `b` was written after: only `b` is sent, although `c` is recent."""
    old = [obj("a", OLD), obj("c", MID)]
    now = [obj("a", OLD), obj("b", NEW), obj("c", MID)]
    assert emitted_keys(scan(None, known("m", old), now, target=10)) == ["b"]


def test_new_key_in_the_same_second_as_a_seen_object_sends_both():
    """Objects with the same LastModified stand or fall together (whole-second stores): `b` and the already
    seen `c` share a second, so both are sent, and nothing else."""
    old = [obj("a", OLD), obj("c", NEW)]
    now = [obj("a", OLD), obj("b", NEW), obj("c", NEW)]
    assert emitted_keys(scan(None, known("m", old), now, target=10)) == ["a", "b", "c"]


@pytest.mark.parametrize("before, after, expected", [
    pytest.param([("a", OLD), ("b", MID)], [("a", OLD), ("b", MID), ("c", NEW), ("d", LATER)], ["c", "d"],
                 id="two-moments-after-the-old-ones"),
    pytest.param([("a", NEW), ("b", MID)], [("a", NEW), ("b", MID), ("c", LATER)], ["c"],
                 id="newest-old-object-not-in-key-order"),
    pytest.param([("a", OLD)], [("a", OLD), ("b", OLD)], ["a", "b"], id="new-key-as-old-as-a-seen-one"),
    pytest.param([("a", OLD), ("b", MID)], [("a", OLD), ("c", NEW)], ["a", "c"], id="one-gone-one-new"),
])
def test_changed_range_sends_the_objects_after_the_newest_explaining_moment(before, after, expected):
    old = [obj(k, t) for k, t in before]
    now = [obj(k, t) for k, t in after]
    batches = scan(None, known("m", old), now, target=10)
    assert emitted_keys(batches) == expected
    assert batches[-1].unexplained is (expected == [k for k, _ in after])


def test_new_keys_plus_a_change_behind_the_watermark_sends_everything():
    old = objs("a c", OLD)
    now = [obj("a", OLD, storage_class="GLACIER"), obj("b", NEW), obj("c", OLD)]
    assert emitted_keys(scan(None, known("m", old), now, target=10)) == ["a", "b", "c"]


def test_late_multipart_upload_with_old_last_modified_sends_everything():
    """A multipart upload's LastModified is when it started, so a new key can look older than the watermark."""
    old = objs("a c", OLD)
    now = [obj("a", OLD), obj("b", OLD, e_tag="x-3"), obj("c", OLD)]
    assert emitted_keys(scan(None, known("m", old), now, target=10)) == ["a", "b", "c"]


def test_known_range_growing_within_buffer_stays_buffered_and_splits():
    """Old count 2, target 2: up to max(2, 2) x BUFFER_FACTOR = 4 objects are buffered, then split."""
    old = objs("b d", OLD)
    now = sorted(old + objs("a c", NEW), key=lambda o: o.key)
    scanner = RangeScanner(None, known("m", old), 2, False, sketches=False)
    assert [scanner.add(o) for o in now] == [None] * 4
    batch = scanner.finish()
    assert (batch.lo, batch.hi, batch.entry_hi, batch.emit) == (None, "m", "m", [True, False, True, False])
    assert batch.replacement == [piece("b", now[:2]), piece("m", now[2:])]


def test_known_range_growing_far_past_its_old_size_switches_to_streaming():
    """Old count 2, target 2: the fifth object (over max(2, 2) x BUFFER_FACTOR) switches to streaming; all
    buffered objects go out as the first piece, then pieces of `target`. Every old object also changed
    class, so sending everything is right whatever strategy the scanner uses."""
    assert BUFFER_FACTOR == 2
    old = objs("b d")
    now = [obj(key, storage_class="STANDARD_IA") for key in "a b c d e f g h i j".split()]
    batches = scan(None, known("m", old), now, target=2)
    assert [(b.lo, b.hi, b.entry_hi, [o.key for o in b.objects], b.emit) for b in batches] == [
        (None, "e", "m", ["a", "b", "c", "d", "e"], [True] * 5),
        ("e", "g", "m", ["f", "g"], [True] * 2),
        ("g", "i", "m", ["h", "i"], [True] * 2),
        ("i", "m", "m", ["j"], [True]),
    ]
    assert [b.replacement for b in batches] == [
        [piece("e", now[0:5]), RangeEntry("m")],
        [piece("g", now[5:7]), RangeEntry("m")],
        [piece("i", now[7:9]), RangeEntry("m")],
        [piece("m", now[9:10])],
    ]


def test_known_range_does_not_stream_before_it_exceeds_its_count():
    """Up to the old count the scanner must buffer: it cannot yet know whether anything changed."""
    old = objs("a b c d e")
    scanner = RangeScanner(None, known("m", old), 2, False, sketches=False)
    assert [scanner.add(o) for o in old] == [None] * 5
    assert scanner.finish().emit == [False] * 5


@pytest.mark.parametrize("count, target, expected_sizes", [
    pytest.param(7, 5, [7], id="within-1.5x-target-kept-whole"),
    pytest.param(8, 5, [5, 3], id="over-1.5x-target-split"),
    pytest.param(16, 5, [5, 5, 5, 1], id="much-larger-split-into-targets"),
    pytest.param(15, 10, [15], id="exactly-1.5x-target-kept-whole"),
    pytest.param(16, 10, [10, 6], id="just-over-1.5x-target"),
])
def test_large_known_range_is_split(count, target, expected_sizes):
    objects = [obj(f"k{i:03d}") for i in range(count)]
    batches = scan(None, known("z", objects), objects, target=target)
    assert len(batches) == 1
    batch = batches[0]
    assert batch.emit == [False] * count
    assert [e.count for e in batch.replacement] == expected_sizes
    ends, start = [], 0
    for size in expected_sizes:
        ends.append(objects[start + size - 1].key)
        start += size
    ends[-1] = "z"
    assert [e.hi for e in batch.replacement] == ends
    start = 0
    for entry, size in zip(batch.replacement, expected_sizes):
        assert entry.digest == digest(objects[start:start + size])
        assert entry.done
        start += size


def test_changed_large_known_range_is_split_and_fully_emitted():
    old = [obj(f"k{i:02d}") for i in range(10)]
    now = old[:4] + old[5:]  # one deleted, 9 left
    batches = scan(None, known(None, old), now, target=4)
    assert len(batches) == 1
    assert batches[0].emit == [True] * 9
    assert [(e.hi, e.count) for e in batches[0].replacement] == [("k03", 4), ("k08", 4), (None, 1)]


# ---------------------------------------------------------------------------------------------------- boundaries

def test_stream_cut_below_boundary_never_duplicates_hi():
    """The boundary 'c~' is not a key, so no streamed piece can end on it."""
    objects = objs("a b c")
    entries = replay([RangeEntry("c~"), RangeEntry(None)], scan(None, RangeEntry("c~"), objects, target=3))
    his = [e.hi for e in entries]
    assert his == ["c", "c~", None]
    assert len(set(his)) == len(his)


@pytest.mark.parametrize("lo, entry, keys, target", [
    pytest.param(None, RangeEntry("c"), "a b c", 3, id="new-range-last-key-is-boundary"),
    pytest.param(None, RangeEntry("c"), "c", 1, id="target-one"),
    pytest.param("a", RangeEntry("f"), "b c d e f", 1, id="target-one-longer"),
    # Old count 1, target 1: buffered up to 2 objects, streamed from "c" on, and "d" is the boundary.
    pytest.param(None, known("d", objs("d")), "a b c d", 1, id="grown-known-range-ends-on-boundary"),
])
def test_stream_cut_on_boundary_key_never_duplicates_hi(lo, entry, keys, target):
    """A piece that fills up on the range's own boundary key must not be cut there: the cut would leave an
    empty remainder with the same boundary, the final batch would replace the wrong one of the two, and the
    saved state would no longer load (its boundaries must be strictly increasing)."""
    objects = objs(keys)
    batches = scan(lo, entry, objects, target)
    start = [RangeEntry(lo, 0, 0), entry, RangeEntry(None, 0, 0)] if lo else [entry, RangeEntry(None, 0, 0)]
    entries = replay(start, batches)
    his = [e.hi for e in entries]
    assert len(set(his)) == len(his)
    assert sum(e.count or 0 for e in entries if e.hi is not None and (lo is None or e.hi > lo)) == len(objects)
    assert all(b.lo != b.hi for b in batches)


def test_stream_piece_ending_on_boundary_is_the_final_batch():
    objects = objs("a b c")
    assert scan(None, RangeEntry("c"), objects, target=3) == [
        Batch(None, "c", "c", objects, [True] * 3, [piece("c", objects)], unexplained=True, loss=UNKNOWN)]


# ---------------------------------------------------------------------------------------------------- merge / plan

def k(hi, count, dig=None, done=False):
    return RangeEntry(hi, count, count * 7 if dig is None else dig, done)


@pytest.mark.parametrize("entries, target, expected", [
    pytest.param([], 5, [], id="empty"),
    pytest.param([k("a", 2), k("b", 3), k(None, 4)], 5, [k("b", 5, 35), k(None, 4)], id="merge-up-to-target"),
    pytest.param([k("a", 2), k("b", 3), k(None, 4)], 9, [k(None, 9, 63)], id="merge-all"),
    pytest.param([k("a", 2), k("b", 3), k(None, 4)], 4, [k("a", 2), k("b", 3), k(None, 4)], id="nothing-fits"),
    pytest.param([k("a", 1), k("b", 1), k("c", 1), k(None, 1)], 2, [k("b", 2, 14), k(None, 2, 14)],
                 id="greedy-pairs"),
    pytest.param([k("a", 2), RangeEntry("b"), k(None, 2)], 100, [k("a", 2), RangeEntry("b"), k(None, 2)],
                 id="unknown-entry-never-merged"),
    pytest.param([k("a", 2), RangeEntry("b", 3, None), k(None, 2)], 100,
                 [k("a", 2), RangeEntry("b", 3, None), k(None, 2)], id="count-without-digest-not-merged"),
    pytest.param([k("a", 0, 0), k("b", 0, 0), k(None, 5)], 5, [k(None, 5)], id="empty-ranges-absorbed"),
    pytest.param([k("a", 1, MASK), k(None, 1, 2)], 2, [k(None, 2, 1)], id="digest-wraps-at-64-bits"),
    pytest.param([k("a", 1, 1, done=False), k(None, 1, 1, done=True)], 2, [k(None, 2, 2, done=True)],
                 id="done-from-later-entry"),
])
def test_merge_small(entries, target, expected):
    assert merge_small(entries, target) == expected


@pytest.mark.parametrize("entries, max_parts, min_objects, expected", [
    pytest.param([RangeEntry(None)], 4, 100, [Part(None, (RangeEntry(None),))], id="new-stream-one-part"),
    pytest.param([k("a", 10), k("b", 10), k("c", 10), k(None, 10)], 2, 1,
                 [Part(None, (k("a", 10), k("b", 10))), Part("b", (k("c", 10), k(None, 10)))],
                 id="equal-shares"),
    pytest.param([k("a", 10), k("b", 10), k("c", 10), k(None, 10)], 2, 100,
                 [Part(None, (k("a", 10), k("b", 10), k("c", 10), k(None, 10)))], id="min-objects-respected"),
    pytest.param([k("a", 10, done=True), k("b", 10), k("c", 10, done=True), k(None, 10)], 4, 1,
                 [Part("a", (k("b", 10),)), Part("c", (k(None, 10),))], id="done-ranges-split-runs"),
    pytest.param([k("a", 1), k("b", 1, done=True), k(None, 1)], 1, 100,
                 [Part(None, (k("a", 1),)), Part("b", (k(None, 1),))], id="done-range-cuts-even-below-share"),
    pytest.param([k("a", 1, done=True), k(None, 1, done=True)], 4, 1, [], id="all-done"),
    pytest.param([k("a", 10), k("b", 10), k(None, 10, done=True)], 1, 1, [Part(None, (k("a", 10), k("b", 10)))],
                 id="open-range-done"),
    # Unknown counts weigh one share each: they may hold anything.
    pytest.param([RangeEntry("a"), RangeEntry("b"), RangeEntry(None)], 4, 5,
                 [Part(None, (RangeEntry("a"),)), Part("a", (RangeEntry("b"),)), Part("b", (RangeEntry(None),))],
                 id="unknown-counts"),
    pytest.param([k("a", 10), k("b", 10), k(None, 10)], 0, 1, [Part(None, (k("a", 10), k("b", 10), k(None, 10)))],
                 id="zero-max-parts-is-one"),
    # Share ceil(51 / 10) = 6: "a" alone is below it, and the open range never closes a part early.
    pytest.param([k("a", 1), k(None, 50)], 10, 1, [Part(None, (k("a", 1), k(None, 50)))],
                 id="small-range-joins-open-range"),
    pytest.param([k("a", 6), k(None, 50)], 10, 1, [Part(None, (k("a", 6),)), Part("a", (k(None, 50),))],
                 id="range-reaching-share-closes-part"),
])
def test_plan_parts(entries, max_parts, min_objects, expected):
    parts = plan_parts(entries, max_parts, min_objects)
    assert parts == expected


@pytest.mark.parametrize("seed", range(5))
def test_plan_parts_covers_every_pending_entry_once_in_order(seed):
    rng = random.Random(seed)
    for _ in range(200):
        n = rng.randint(1, 30)
        his = sorted(rng.sample(range(1000), n - 1))
        entries = [RangeEntry(f"{h:04d}", rng.choice([None, rng.randint(0, 50)]), 1, rng.random() < 0.3)
                   for h in his] + [RangeEntry(None, rng.randint(0, 50), 1, rng.random() < 0.3)]
        entries = [e if e.count is not None else replace(e, digest=None) for e in entries]
        parts = plan_parts(entries, rng.randint(1, 8), rng.randint(1, 60))
        assert [e for p in parts for e in p.entries] == [e for e in entries if not e.done]
        for part in parts:
            first = entries.index(part.entries[0])
            assert part.lo == (entries[first - 1].hi if first else None)
            assert part.hi == part.entries[-1].hi
            run = entries[first:first + len(part.entries)]
            assert list(part.entries) == run  # a part never skips over a done range


# ---------------------------------------------------------------------------------------------------- bookkeeping

@pytest.mark.parametrize("entries, entry_hi, replacement, expected", [
    pytest.param([RangeEntry("a"), RangeEntry("m"), RangeEntry(None)], "m", [k("f", 1), RangeEntry("m")],
                 [RangeEntry("a"), k("f", 1), RangeEntry("m"), RangeEntry(None)], id="middle"),
    pytest.param([RangeEntry("a"), RangeEntry(None)], None, [k(None, 3)], [RangeEntry("a"), k(None, 3)],
                 id="open-range"),
    pytest.param([RangeEntry("a"), RangeEntry(None)], "a", [k("a", 2, done=True)],
                 [k("a", 2, done=True), RangeEntry(None)], id="first"),
    pytest.param([RangeEntry(None)], None, [k("c", 3), k("f", 3), RangeEntry(None)],
                 [k("c", 3), k("f", 3), RangeEntry(None)], id="one-into-three"),
])
def test_replace_entry(entries, entry_hi, replacement, expected):
    before = list(entries)
    assert replace_entry(entries, entry_hi, replacement) == expected
    assert entries == before  # the input list is not changed


def linear_replace(entries, entry_hi, replacement):
    """replace_entry as first written: the first entry with that boundary, found by walking the list."""
    index = [e.hi for e in entries].index(entry_hi)
    return list(entries[:index]) + list(replacement) + list(entries[index + 1:])


@pytest.mark.parametrize("open_range", [True, False], ids=["open-range-last", "no-open-range"])
def test_replace_entry_finds_every_boundary_of_a_long_list(open_range):
    entries = [k(f"key{i:04d}", i) for i in range(0, 1000, 3)] + ([RangeEntry(None)] if open_range else [])
    replacement = [k("new", 1), RangeEntry("x")]
    for entry in entries:
        assert replace_entry(entries, entry.hi, replacement) == linear_replace(entries, entry.hi, replacement)
    for missing in ("key0001", "a", "z", "key0999x"):
        with pytest.raises(KeyError):
            replace_entry(entries, missing, replacement)


@pytest.mark.parametrize("entries, entry_hi", [
    pytest.param([RangeEntry("m"), RangeEntry("a"), RangeEntry(None)], "a", id="out-of-order"),
    pytest.param([RangeEntry("a"), RangeEntry(None), RangeEntry("m")], "m", id="open-range-in-the-middle"),
    pytest.param([RangeEntry("a"), RangeEntry("a"), RangeEntry(None)], "a", id="repeated-boundary"),
])
def test_replace_entry_outside_key_order_replaces_the_first_match(entries, entry_hi):
    assert replace_entry(entries, entry_hi, [k("q", 9)]) == linear_replace(entries, entry_hi, [k("q", 9)])


@pytest.mark.parametrize("entries, entry_hi", [
    pytest.param([RangeEntry("a"), RangeEntry(None)], "b", id="missing-boundary"),
    pytest.param([RangeEntry("a")], None, id="no-open-range"),
    pytest.param([], "a", id="empty"),
])
def test_replace_entry_missing_raises_key_error(entries, entry_hi):
    with pytest.raises(KeyError, match=repr(entry_hi)):
        replace_entry(entries, entry_hi, [RangeEntry(entry_hi)])


@pytest.mark.parametrize("entries, expected", [
    pytest.param([], [RangeEntry(None)], id="new-stream-is-one-open-range"),
    pytest.param([k("a", 1, done=True), k(None, 2, done=True)], [k("a", 1), k(None, 2)], id="done-cleared"),
    pytest.param([RangeEntry("a", None, None, True), RangeEntry(None)], [RangeEntry("a"), RangeEntry(None)],
                 id="unknown-kept-unknown"),
])
def test_start_pass(entries, expected):
    assert start_pass(entries) == expected


@pytest.mark.parametrize("entries, target, expected", [
    pytest.param([k("a", 2, done=True), k("b", 2, done=True), k(None, 5, done=True)], 4, [k("b", 4, 28), k(None, 5)],
                 id="merged-and-not-done"),
    pytest.param([k("a", 5, done=True), k(None, 5, done=True)], 4, [k("a", 5), k(None, 5)], id="nothing-to-merge"),
    pytest.param([k("a", 0, 0, done=True), k(None, 0, 0, done=True)], 4, [k(None, 0, 0)], id="empty-stream"),
])
def test_finish_pass(entries, target, expected):
    assert finish_pass(entries, target) == expected


def test_invalidate_digests_keeps_boundaries_and_progress():
    entries = [k("a", 2, done=True), k("b", 3), RangeEntry("c"), k(None, 4, done=True)]
    assert invalidate_digests(entries) == [RangeEntry("a", None, None, True), RangeEntry("b"), RangeEntry("c"),
                                           RangeEntry(None, None, None, True)]
    assert not any(e.known for e in invalidate_digests(entries))


@pytest.mark.parametrize("entry, is_known", [
    pytest.param(RangeEntry("a", 0, 0), True, id="empty-known"),
    pytest.param(RangeEntry("a", 3, None), False, id="count-only"),
    pytest.param(RangeEntry("a", None, 5), False, id="digest-only"),
    pytest.param(RangeEntry("a"), False, id="nothing"),
])
def test_range_entry_known(entry, is_known):
    assert entry.known is is_known


@pytest.mark.parametrize("range_size, total, expected", [
    pytest.param(250, None, 250, id="unknown-total"),
    pytest.param(250, 0, 250, id="empty-stream"),
    pytest.param(250, 1_000_000, 250, id="under-limit"),
    pytest.param(250, 250 * MAX_RANGES_PER_STREAM, 250, id="at-limit"),
    pytest.param(250, 250 * MAX_RANGES_PER_STREAM + 1, 251, id="just-over-limit-rounds-up"),
    pytest.param(250, 100_000_000, 20_000, id="huge-bucket"),
    pytest.param(10, 60_000, 12, id="small-configured-size"),
])
def test_effective_range_size(range_size, total, expected):
    assert effective_range_size(range_size, total) == expected


# ---------------------------------------------------------------------------------------------------- properties

ALPHABET = "ab/.\u00e9\U0001f600"


def random_keys(rng: random.Random, n: int, exclude=frozenset()) -> list[str]:
    keys: set[str] = set()
    while len(keys) < n:
        key = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6)))
        if key not in exclude:
            keys.add(key)
    return sorted(keys)


def check_entries(entries, objects, done=True):
    """Boundaries strictly increasing, open range last, and each range's count/digest exactly its objects."""
    his = [e.hi for e in entries]
    assert his[-1] is None
    assert None not in his[:-1]
    assert all(a < b for a, b in zip(his[:-2], his[1:-1])), his
    assert sum(e.count for e in entries) == len(objects)
    lo = None
    for entry in entries:
        inside = [o for o in objects if (lo is None or o.key > lo) and (entry.hi is None or o.key <= entry.hi)]
        assert (entry.count, entry.digest) == (len(inside), digest(inside))
        assert entry.done is done
        lo = entry.hi


def add_as_first_written(scanner: RangeScanner, o: ListedObject) -> Batch | None:
    """RangeScanner.add as it was before runs, kept as the reference: one object, then whatever it triggers."""
    scanner._objects.append(o)
    scanner._fingerprints.append(scanner.fingerprint_of(o))
    if not scanner._streaming and len(scanner._objects) > scanner._limit:
        scanner._streaming = True
    if scanner._streaming and len(scanner._objects) >= scanner.target and o.key != scanner.entry.hi:
        return scanner._cut(final=False)
    return None


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in range(4)])
def test_property_add_run_is_add_of_each_object_in_turn(seed):
    """Whatever runs a range's objects come in, the scanner cuts the same batches at the same objects: streamed
    from the start, or buffered until it passes its limit, the last key on the boundary or not."""
    rng = random.Random(seed)
    for _ in range(300):
        objects = [obj(key, rng.choice([OLD, NEW])) for key in random_keys(rng, rng.randint(0, 40))]
        hi = rng.choice([None, objects[-1].key if objects else None, "\U0010ffff"])
        known = rng.random() < 0.5
        entry = RangeEntry(hi, rng.randint(0, 12), 12345) if known else RangeEntry(hi)
        settings = dict(target=rng.randint(1, 6), include_restore=False, min_buffer=rng.choice([0, 3, 20]),
                        sketches=rng.random() < 0.5)
        one_by_one = RangeScanner(None, entry, **settings)
        expected = [b for b in (add_as_first_written(one_by_one, o) for o in objects) if b is not None]
        expected.append(one_by_one.finish())
        in_runs = RangeScanner(None, entry, **settings)
        batches, position = [], 0
        while position < len(objects):
            end = position + rng.randint(1, 15)
            batches.extend(in_runs.add_run(objects[position:end]))
            position = end
        assert batches + [in_runs.finish()] == expected


def run_pass(entries, objects, target, emitted):
    """List `objects` through scanners for `entries`, as one pass of sync.py does, replaying every batch."""
    live = start_pass(entries)
    position, lo, seen = 0, None, []
    for entry in list(live):
        scanner = RangeScanner(lo, entry, target, False)
        batches = []
        while position < len(objects) and scanner.contains(objects[position].key):
            batch = scanner.add(objects[position])
            position += 1
            if batch is not None:
                batches.append(batch)
        batches.append(scanner.finish())
        for batch in batches:
            assert all((batch.lo is None or o.key > batch.lo) and (batch.hi is None or o.key <= batch.hi)
                       for o in batch.objects)
            assert batch.entry_hi == entry.hi
            seen.extend(batch.objects)
            emitted.update(o.key for o, e in zip(batch.objects, batch.emit) if e)
            live = replace_entry(live, batch.entry_hi, batch.replacement)
        lo = entry.hi
    assert position == len(objects)
    assert seen == objects
    return live


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in range(6)])
def test_property_single_pass_replay_keeps_entries_consistent(seed):
    """Random keys, cut into random ranges (boundaries between keys, counts known, stale or unknown), one pass."""
    rng = random.Random(seed)
    for _ in range(150):
        objects = [obj(key, rng.choice([OLD, NEW])) for key in random_keys(rng, rng.randint(0, 60))]
        keys = {o.key for o in objects}
        boundaries = random_keys(rng, rng.randint(0, 8), exclude=keys)
        entries = []
        for hi in boundaries + [None]:
            inside = [o for o in objects if (not entries or o.key > entries[-1].hi) and (hi is None or o.key <= hi)]
            kind = rng.choice(["unknown", "exact", "stale"])
            if kind == "unknown":
                entries.append(RangeEntry(hi))
            elif kind == "exact":
                entries.append(known(hi, inside))
            else:
                entries.append(RangeEntry(hi, rng.randint(0, 70), rng.getrandbits(64)))
        emitted: set[str] = set()
        target = rng.randint(1, 12)
        live = run_pass(entries, objects, target, emitted)
        check_entries(live, objects)
        check_entries(finish_pass(live, target), objects, done=False)
        # Everything in a range that was not known exactly must be sent; nothing in one that was.
        must, unchanged = set(), set()
        lo = None
        for entry in entries:
            inside = [o for o in objects if (lo is None or o.key > lo) and (entry.hi is None or o.key <= entry.hi)]
            if entry != known(entry.hi, inside):
                must.update(o.key for o in inside)
            else:
                unchanged.update(o.key for o in inside)
            lo = entry.hi
        assert must <= emitted
        assert not unchanged & emitted


def mutate(rng, objects, allow_inserts):
    """Deletions, changes behind the watermark, and new keys (appended only, unless inserts are allowed)."""
    changed: set[str] = set()
    result = []
    for o in objects:
        roll = rng.random()
        if roll < 0.1:
            continue
        if roll < 0.2:
            o = replace(o, storage_class=rng.choice([c for c in ("GLACIER", "STANDARD_IA", "STANDARD")
                                                     if c != o.storage_class]))
            changed.add(o.key)
        elif roll < 0.25:
            o = replace(o, e_tag=o.e_tag + "-2", last_modified=NEW)
            changed.add(o.key)
        result.append(o)
    existing = {o.key for o in objects}
    if allow_inserts:
        new_keys = random_keys(rng, rng.randint(0, 15), exclude=existing)
    else:
        top = max(existing, default="")
        new_keys = [top + "~" + key for key in random_keys(rng, rng.randint(0, 15))]
    for key in new_keys:
        result.append(obj(key, NEW))
        changed.add(key)
    return sorted(result, key=lambda o: o.key), changed


def multi_pass(seed, allow_inserts):
    rng = random.Random(seed)
    for _ in range(60):
        target = rng.randint(1, 8)
        objects = [obj(key) for key in random_keys(rng, rng.randint(0, 50))]
        emitted: set[str] = set()
        entries = finish_pass(run_pass([], objects, target, emitted), target)
        assert emitted == {o.key for o in objects}
        check_entries(entries, objects, done=False)
        for _ in range(3):
            objects, changed = mutate(rng, objects, allow_inserts)
            emitted = set()
            entries = run_pass(entries, objects, target, emitted)
            check_entries(entries, objects)
            assert changed <= emitted
            entries = finish_pass(entries, target)
            check_entries(entries, objects, done=False)


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in range(4)])
def test_property_multi_pass_with_appends_and_changes(seed):
    """Several passes over a changing bucket; new keys only after the last key, so no known range grows."""
    multi_pass(seed, allow_inserts=False)


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in range(4)])
def test_property_multi_pass_with_inserts_anywhere(seed):
    """New keys anywhere, so known ranges grow, are buffered or streamed, and streamed pieces can fill up on a
    boundary key (boundaries of later passes are keys)."""
    multi_pass(seed, allow_inserts=True)


# ---------------------------------------------------------------------------------------------------- sketches

def sketched(hi, objects, target=250) -> RangeEntry:
    """The entry a previous pass with sketches left for `objects`."""
    scanner = RangeScanner(None, RangeEntry(hi), target, False)
    for o in objects:
        assert scanner.add(o) is None
    (entry,) = scanner.finish().replacement
    return replace(entry, done=False)


def many(n: int) -> list[ListedObject]:
    return [obj(f"k{i:04d}") for i in range(n)]


def test_streamed_pieces_carry_a_sketch():
    entry = sketched(None, many(10))
    assert entry.sketch is not None and (entry.count, entry.digest) == (10, digest(many(10)))


@pytest.mark.parametrize("change, expected_emitted, expected_loss", [
    pytest.param(lambda o: [replace(x, storage_class="GLACIER") if x.key == "k0120" else x for x in o], ["k0120"],
                 NOTHING, id="one-transition-in-the-middle"),
    pytest.param(lambda o: [replace(x, e_tag="new") if x.key in ("k0003", "k0200") else x for x in o],
                 ["k0003", "k0200"], NOTHING, id="two-overwrites-keeping-last-modified"),
    pytest.param(lambda o: [x for x in o if x.key != "k0050"], [], Loss(1, True, frozenset(),
                                                                     key_identity("k0050")), id="one-delete"),
    pytest.param(lambda o: sorted(o + [obj("k0100a", OLD)], key=lambda x: x.key), ["k0100a"],
                 Loss(0, True, frozenset({101}), 0), id="late-upload-with-an-old-last-modified"),
])
def test_sketch_names_exactly_what_changed(change, expected_emitted, expected_loss):
    before = many(240)
    after = change(before)
    batch = scan(None, sketched(None, before), after, target=250, sketches=True)[-1]
    assert emitted_keys([batch]) == expected_emitted
    assert replace(batch.loss, gone=None, doubtful=frozenset()) == expected_loss
    left = {x.key for x in before} - {x.key for x in after} | {x.key for x in after if x not in before}
    assert batch.loss.gone == frozenset(key_hash(key) for key in left & {x.key for x in before})
    assert batch.unexplained is not expected_loss.none
    (entry,) = batch.replacement
    assert replace(entry, done=False) == sketched(None, after)  # the stored sketch is the one the listing builds


def test_sketch_overflow_sends_a_superset_and_deletes_are_unknown():
    before = many(240)
    after = [replace(x, size=99) if i % 3 == 0 else x for i, x in enumerate(before)]
    batch = scan(None, sketched(None, before), after, target=250, sketches=True)[-1]
    changed = {x.key for i, x in enumerate(after) if i % 3 == 0}
    assert changed <= set(emitted_keys([batch]))
    assert batch.loss.count is None and batch.unexplained
    assert batch.loss.hypotheses == ((0, 0),)  # nothing lost, if no listed key is new


def test_range_without_a_sketch_gets_one_and_sends_nothing_when_unchanged():
    """A range from a state written before sketches existed: re-summarised on its next listing, nothing sent."""
    objects = many(50)
    batch = scan(None, known(None, objects), objects, target=250, sketches=True)[-1]
    assert batch.emit == [False] * 50 and not batch.unexplained
    assert batch.replacement[0].sketch == sketched(None, objects).sketch


def test_merged_neighbours_keep_a_sketch_of_both():
    left, right = many(40)[:20], many(40)[20:]
    merged = merge_small([sketched("k0019", left), sketched(None, right)], 250)
    assert len(merged) == 1 and merged[0].sketch == sketched(None, left + right).sketch


def test_in_parts_tells_the_keys_a_resumed_pass_still_needs():
    """Parts with a done range between them (a gap), bounds exclusive below and inclusive above."""
    from s3_metadata.ranges import Part, in_parts
    parts = [Part(None, (RangeEntry("c"),)), Part("f", (RangeEntry("h"), RangeEntry(None)))]
    inside = in_parts(parts)
    assert inside is not None
    assert [k for k in ["a", "c", "c0", "f", "f0", "h", "z"] if inside(k)] == ["a", "c", "f0", "h", "z"]
    assert in_parts([Part(None, (RangeEntry(None),))]) is None
    assert not in_parts([Part("m", (RangeEntry("p"),))])("a")
