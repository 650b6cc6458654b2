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
from s3_metadata.listing import ListingOrderError, Page, walk_part
from s3_metadata.patterns import KeyFilter
from s3_metadata.ranges import Part, RangeEntry, RangeScanner
from s3_metadata.rows import ListedObject

T = datetime(2024, 1, 1, tzinfo=timezone.utc)


@dataclass
class FakePage:
    objects: list[ListedObject]
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
        return FakePage(objects, str(number + 1) if more else None)


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
    pytest.param([["a", "b"]], "b", "b", "a", id="start-after-ignored"),
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
