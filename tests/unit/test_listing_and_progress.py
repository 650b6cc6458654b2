"""Unit tests for walking a part (key order is checked on every page), the part lister's bounded backlog, and
when checkpoints are taken."""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from s3_metadata.checkpointing import Checkpointer
from s3_metadata.lister import MAX_PENDING, PartLister
from s3_metadata.listing import (
    IncompleteListingError, ListingOrderError, Page, Position, Request, check_start, next_page, objects_listing,
    versions_listing, walk_part,
)
from s3_metadata.patterns import KeyFilter
from s3_metadata.ranges import Part, RangeEntry, RangeScanner
from s3_metadata.rows import ListedObject

T = datetime(2024, 1, 1, tzinfo=timezone.utc)


@dataclass
class FakePage:
    objects: list[ListedObject]
    truncated: bool
    next_token: str | None
    date: datetime | None = None


class Pages:
    """A PageSource over fixed pages of keys, as an S3-compatible store might send them."""

    def __init__(self, *pages: list[str]):
        self.pages = pages
        self.calls: list[tuple[str | None, str | None]] = []

    def list_page(self, bucket, prefix, start_after, token, restore_status=False):
        self.calls.append((start_after, token))
        number = 0 if token is None else int(token)
        objects = [ListedObject(k, T, "e", 1, "STANDARD") for k in self.pages[number]]
        more = number + 1 < len(self.pages)
        return FakePage(objects, more, str(number + 1) if more else None)


def keys_of(pages) -> list[str]:
    return [o.key for page in pages for o in page.objects]


@pytest.mark.parametrize("pages, lo, hi, expected", [
    pytest.param([["a", "b"], ["c"]], None, None, ["a", "b", "c"], id="in-order"),
    pytest.param([["a", "b"], ["c", "d"]], None, "c", ["a", "b", "c"], id="stops-at-hi"),
    pytest.param([["a-b", "a/b", "a\u00e9", "a\U0001f600"]], None, None, ["a-b", "a/b", "a\u00e9", "a\U0001f600"],
                 id="utf8-binary-order-is-str-order"),
])
def test_walk_part_in_order(pages, lo, hi, expected):
    assert keys_of(walk_part(Pages(*pages), "b", "", lo, hi, False)) == expected


@pytest.mark.parametrize("pages, lo, before, after", [
    pytest.param([["a/b", "a-b"]], None, "a/b", "a-b", id="file-system-order-within-a-page"),
    pytest.param([["a", "c"], ["b"]], None, "c", "b", id="across-pages"),
    pytest.param([["a", "a"]], None, "a", "a", id="duplicate-key"),
])
def test_walk_part_out_of_order_fails_on_the_first_bad_page(pages, lo, before, after):
    with pytest.raises(ListingOrderError) as raised:
        list(walk_part(Pages(*pages), "bkt", "", lo, None, False, "The endpoint http://minio:9000"))
    message = str(raised.value)
    assert "The endpoint http://minio:9000" in message and "bucket 'bkt'" in message
    assert repr(after) in message and repr(before) in message


def test_out_of_order_message_cuts_long_keys():
    long = "k" * 1024
    with pytest.raises(ListingOrderError) as raised:
        list(walk_part(Pages([long + "b", long + "a"]), "bkt", "", None, None, False))
    assert long not in str(raised.value)


# ------------------------------------------------------------------------------------- complete only when S3 says so
LISTING = objects_listing("The endpoint http://127.0.0.1:4568", "bkt")
VERSIONS = versions_listing("The endpoint http://127.0.0.1:4568", "bkt")


@pytest.mark.parametrize("listing, sent, truncated, token, marker, last, expected", [
    pytest.param(LISTING, Request(), False, None, None, Position("k"), None, id="not-truncated-is-complete"),
    pytest.param(LISTING, Request(), False, "t", None, Position("k"), None, id="a-token-without-truncation-ends"),
    pytest.param(LISTING, Request(), True, "t1", None, Position("k"), Request(token="t1"), id="token"),
    pytest.param(LISTING, Request(token="t1"), True, "t2", None, None, Request(token="t2"),
                 id="empty-truncated-page-with-a-new-token-goes-on"),
    pytest.param(LISTING, Request(), True, None, None, Position("k"), Request(after=Position("k")),
                 id="no-token-continues-after-the-last-key"),
    pytest.param(LISTING, Request(token="t1"), True, "", None, Position("k"), Request(after=Position("k")),
                 id="empty-token-continues-after-the-last-key"),
    pytest.param(VERSIONS, Request(), True, None, Position("k", "v2"), Position("k", "v1"),
                 Request(after=Position("k", "v2")), id="versions-next-key-marker"),
    pytest.param(VERSIONS, Request(), True, None, None, Position("k", "v1"), Request(after=Position("k", "v1")),
                 id="versions-no-marker-continues-after-the-last-version"),
])
def test_next_page(listing, sent, truncated, token, marker, last, expected):
    assert next_page(listing, sent, truncated, token, marker, last) == expected


@pytest.mark.parametrize("listing, sent, token, marker, last, says", [
    pytest.param(LISTING, Request(), None, None, None, "listed nothing and sent no NextContinuationToken",
                 id="empty-truncated-page-without-token"),
    pytest.param(LISTING, Request(token="t1"), "t1", None, None, "sent the same NextContinuationToken",
                 id="same-token-again"),
    pytest.param(VERSIONS, Request(after=Position("k", "v")), None, Position("k", "v"), Position("k", "v"),
                 "sent the same NextKeyMarker", id="versions-same-marker-again"),
    pytest.param(VERSIONS, Request(), None, None, None, "listed nothing and sent no NextKeyMarker",
                 id="versions-empty-truncated-page"),
])
def test_next_page_fails_when_the_listing_cannot_move_on(listing, sent, token, marker, last, says):
    with pytest.raises(IncompleteListingError) as raised:
        next_page(listing, sent, True, token, marker, last)
    message = str(raised.value)
    assert says in message and "The endpoint http://127.0.0.1:4568" in message and "bucket 'bkt'" in message
    assert listing.operation in message and "IsTruncated=true" in message


def test_check_start_after_a_token_that_went_back_before_where_the_walk_began():
    with pytest.raises(IncompleteListingError):
        check_start(LISTING, Request(token="t"), Position("a"), Position("m"), began=Position("k"))
    check_start(LISTING, Request(token="t"), Position("n"), Position("m"), began=Position("k"))


@pytest.mark.parametrize("listing, sent, first, page_before, fails", [
    pytest.param(LISTING, Request(), Position("a"), None, False, id="first-page"),
    pytest.param(LISTING, Request(after=Position("b")), Position("c"), None, False, id="after-start-after"),
    pytest.param(LISTING, Request(after=Position("b")), Position("b"), None, True, id="start-after-key-again"),
    pytest.param(LISTING, Request(after=Position("b")), Position("a"), None, True, id="start-after-ignored"),
    pytest.param(LISTING, Request(token="t"), Position("a"), Position("a"), True, id="token-ignored-page-again"),
    pytest.param(LISTING, Request(token="t"), Position("c"), Position("a"), False, id="token-followed"),
    pytest.param(VERSIONS, Request(after=Position("k", "v2")), Position("k", "v1"), None, False,
                 id="versions-rest-of-a-key"),
    pytest.param(VERSIONS, Request(after=Position("k", "v2")), Position("k", "v2"), None, True,
                 id="versions-same-version-again"),
    pytest.param(VERSIONS, Request(after=Position("k")), Position("k", "v1"), None, True,
                 id="versions-key-marker-key-again"),
    pytest.param(VERSIONS, Request(after=Position("k", "v2")), Position("a", "v9"), None, True,
                 id="versions-key-marker-ignored"),
])
def test_check_start(listing, sent, first, page_before, fails):
    if not fails:
        check_start(listing, sent, first, page_before)
        return
    with pytest.raises(IncompleteListingError) as raised:
        check_start(listing, sent, first, page_before)
    assert f"ignores {listing.marker if sent.token else listing.start}" in str(raised.value)


class Store:
    """A PageSource over a sorted key list with the habits of some S3-compatible stores: pages of `size` keys,
    `token` False (truncated pages carry no NextContinuationToken), `start_after` False (StartAfter ignored)."""

    def __init__(self, keys: list[str], size: int = 2, token: bool = True, start_after: bool = True):
        self.keys, self.size, self.token, self.start_after = sorted(keys), size, token, start_after
        self.calls: list[tuple[str | None, str | None]] = []

    def list_page(self, bucket, prefix, start_after, token, restore_status=False):
        self.calls.append((start_after, token))
        assert len(self.calls) < 100, "the walk loops"
        if token is not None:
            begin = int(token)
        elif start_after is not None and self.start_after:
            begin = next((i for i, k in enumerate(self.keys) if k > start_after), len(self.keys))
        else:
            begin = 0
        end = begin + self.size
        objects = [ListedObject(k, T, "e", 1, "STANDARD") for k in self.keys[begin:end]]
        more = end < len(self.keys)
        return FakePage(objects, more, str(end) if more and self.token else None)


@pytest.mark.parametrize("store, lo, expected, calls", [
    pytest.param(Store(list("abcde"), token=False), None, list("abcde"), [(None, None), ("b", None), ("d", None)],
                 id="no-token-continues-by-start-after"),
    pytest.param(Store(list("abcde"), token=False), "a", list("bcde"), [("a", None), ("c", None)],
                 id="no-token-from-lo"),
    pytest.param(Store(list("abcde")), None, list("abcde"), [(None, None), (None, "2"), (None, "4")], id="tokens"),
])
def test_walk_part_goes_on_until_s3_says_the_listing_is_complete(store, lo, expected, calls):
    assert keys_of(walk_part(store, "bkt", "", lo, None, False)) == expected
    assert store.calls == calls


@pytest.mark.parametrize("store, lo, says", [
    pytest.param(Store(list("abcde"), token=False, start_after=False), None, "it ignores StartAfter",
                 id="no-token-and-start-after-ignored"),
    pytest.param(Store(list("abcde"), start_after=False), "b", "it ignores StartAfter", id="start-after-ignored-at-lo"),
])
def test_walk_part_never_loops_nor_ends_early_on_a_store_that_ignores_where_to_start(store, lo, says):
    with pytest.raises(IncompleteListingError) as raised:
        list(walk_part(store, "bkt", "", lo, None, False, "The endpoint http://127.0.0.1:4568"))
    assert says in str(raised.value) and "The endpoint http://127.0.0.1:4568" in str(raised.value)
    assert len(store.calls) <= 2


def test_walk_part_stops_on_a_page_that_repeats_the_one_before():
    class Repeating(Store):
        """Sends a new token with every page, and answers every token with the first page."""

        def list_page(self, bucket, prefix, start_after, token, restore_status=False):
            self.calls.append((start_after, token))
            return FakePage([ListedObject(k, T, "e", 1, "STANDARD") for k in self.keys[:2]], True, str(len(self.calls)))
    store = Repeating(list("abcde"))
    with pytest.raises(IncompleteListingError) as raised:
        list(walk_part(store, "bkt", "", None, None, False))
    assert "it ignores NextContinuationToken" in str(raised.value)


# ------------------------------------------------------------------------------------------------ bounded backlog

class Never:
    """A pending batch whose requests never come back on their own."""

    def ready(self) -> bool:
        return False


def test_part_lister_bounds_pending_batches_by_completing_the_oldest():
    objects = [ListedObject(f"k{i:03}", T, "e", 1, "STANDARD") for i in range(100)]
    page = Page(objects, None)
    completed: list[int] = []
    waiting: list[int] = []

    def dispatch(batch):
        waiting.append(len(batch.objects))
        return Never()

    def complete(pending):
        completed.append(1)
        assert len(waiting) - len(completed) < MAX_PENDING

    lister = PartLister(Part(None, (RangeEntry(None),)), [page], KeyFilter(),
                        lambda lo, entry: RangeScanner(lo, entry, 5, False), dispatch, complete,
                        lambda page, kept: None, lambda: False)
    lister.run()
    assert len(completed) == len(waiting) == 21  # 20 pieces of 5, then the empty remainder


class Ready:
    def ready(self) -> bool:
        return True


def batches_one_by_one(part: Part, pages: list[Page], key_filter: KeyFilter, target: int) -> tuple[list, list[int]]:
    """The part lister's loop as first written, object by object: the reference for the page-level one."""
    entries, index, batches, kept_counts = part.entries, 0, [], []
    scanner = RangeScanner(part.lo, entries[0], target, False)
    for page in pages:
        kept = 0
        for o in page.objects:
            if not key_filter.matches(o.key):
                continue
            kept += 1
            while not scanner.contains(o.key):
                batches.append(scanner.finish())
                index += 1
                scanner = RangeScanner(entries[index - 1].hi, entries[index], target, False)
            batch = scanner.add(o)
            if batch is not None:
                batches.append(batch)
        kept_counts.append(kept)
    batches.append(scanner.finish())
    for later in range(index + 1, len(entries)):
        batches.append(RangeScanner(entries[later - 1].hi, entries[later], target, False).finish())
    return batches, kept_counts


@pytest.mark.parametrize("seed", range(4))
def test_part_lister_cuts_pages_into_the_same_batches_as_object_by_object(seed):
    """Pages cut at range boundaries (empty ranges, boundaries that are keys or not, a filter or none) give the
    same batches, in the same order, and the same kept counts, as feeding the scanners one object at a time."""
    rng = random.Random(seed)
    for _ in range(200):
        keys = sorted({f"{rng.choice('abc')}/{rng.randint(0, 99):02}" for _ in range(rng.randint(0, 60))})
        objects = [ListedObject(k, T, "e", 1, "STANDARD") for k in keys]
        cuts = sorted(rng.sample(range(len(objects) + 1), rng.randint(0, min(3, len(objects) + 1))))
        pages = [Page(objects[a:b], None) for a, b in zip([0] + cuts, cuts + [len(objects)])]
        boundaries = sorted({rng.choice(keys) if keys and rng.random() < 0.5  # a key, or between keys
                             else f"{rng.choice('abc')}/{rng.randint(0, 99):02}x" for _ in range(rng.randint(0, 5))})
        part = Part(None, tuple(RangeEntry(hi) for hi in boundaries) + (RangeEntry(None),))
        key_filter = rng.choice([KeyFilter(), KeyFilter(("a/*", "c/*")), KeyFilter((), ("*5",))])
        target = rng.randint(1, 7)
        dispatched: list = []
        kept_counts: list[int] = []
        PartLister(part, pages, key_filter, lambda lo, entry: RangeScanner(lo, entry, target, False),
                   lambda batch: dispatched.append(batch) or Ready(), lambda pending: None,
                   lambda page, kept: kept_counts.append(kept), lambda: False).run()
        assert (dispatched, kept_counts) == batches_one_by_one(part, pages, key_filter, target)


# ------------------------------------------------------------------------------------------------ checkpoints

class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self):
        self.states: list[dict] = []

    def checkpoint(self, state):
        self.states.append(state)


@pytest.mark.parametrize("objects, every", [(0, 100), (1_999, 100), (4_000, 200), (1_000_000, 50_000)])
def test_a_large_pass_checkpoints_a_fixed_number_of_times_by_count(objects, every):
    clock, sink, state = Clock(), Recorder(), {"n": 0}
    checkpoints = Checkpointer(sink, lambda: dict(state), threading.Lock(), clock, every_objects=100,
                               every_seconds=60)
    checkpoints.scale_to(objects)
    checkpoints.add(every - 1)
    checkpoints.maybe()
    assert sink.states == []
    checkpoints.add(1)
    checkpoints.maybe()
    assert sink.states == [{"n": 0}]


def test_a_pass_of_unknown_size_checkpoints_less_often_as_it_grows():
    """A first pass (scale_to had nothing to go by): by count, each checkpoint waits for 1/CHECKPOINTS_PER_PASS more
    of what was sent, so 10,000,000 objects make about 100 checkpoints, not 1,000 of an ever larger state."""
    clock, sink, state = Clock(), Recorder(), {"n": 0}
    checkpoints = Checkpointer(sink, lambda: dict(state), threading.Lock(), clock, every_objects=10_000,
                               every_seconds=10**9)
    for n in range(1, 10_001):
        checkpoints.add(1_000)
        state["n"] = n
        checkpoints.maybe()
    assert 80 <= len(sink.states) <= 120
    gaps = [b["n"] - a["n"] for a, b in zip(sink.states, sink.states[1:])]
    assert gaps[0] == 10 and max(gaps) >= 400


def test_checkpoints_by_count_by_time_and_never_twice_the_same_state():
    clock, sink, state = Clock(), Recorder(), {"n": 0}
    lock = threading.Lock()
    checkpoints = Checkpointer(sink, lambda: dict(state), lock, clock, every_objects=100, every_seconds=60)
    checkpoints.add(99)
    checkpoints.maybe()
    assert sink.states == []
    checkpoints.add(1)
    state["n"] = 1
    checkpoints.maybe()
    assert sink.states == [{"n": 1}]
    clock.now = 59
    state["n"] = 2
    checkpoints.maybe()
    assert len(sink.states) == 1
    clock.now = 61
    checkpoints.maybe()
    assert sink.states[-1] == {"n": 2}
    clock.now = 200
    checkpoints.maybe()  # due by time, but the state is the one already committed
    assert len(sink.states) == 2
    assert checkpoints.committed == 2


def test_failure_note_says_whether_anything_was_committed():
    sink = Recorder()
    checkpoints = Checkpointer(sink, lambda: {"n": 1}, threading.Lock(), Clock())
    assert "committed no checkpoint" in checkpoints.failure_note()
    checkpoints.commit()
    assert "committed 1 checkpoint(s)" in checkpoints.failure_note()
