"""One part of a stream, listed page by page and cut into batches in key order.

A worker owns one part: it walks the part's pages, feeds every kept object to the scanner of the range it
falls in, hands each finished batch to `dispatch` (which starts the HEADs and version listings the batch
needs) and completes batches strictly in key order once their requests are back, so a range counts as done
only after every row before it was sent. At most MAX_PENDING batches wait at once: a HEAD backlog makes
the listing wait instead of holding ever more objects in memory.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import deque
from operator import attrgetter
from typing import Callable, Generic, Iterable, Protocol, TypeVar

from s3_metadata.listing import Page
from s3_metadata.patterns import KeyFilter
from s3_metadata.ranges import Batch, Part, RangeEntry, RangeScanner

MAX_PENDING = 8
_KEY = attrgetter("key")


class PendingLike(Protocol):
    def ready(self) -> bool: ...


P = TypeVar("P", bound=PendingLike)


class Stopped(Exception):
    """Raised in a worker after another worker failed, so it stops without adding an error of its own."""


class PartLister(Generic[P]):
    def __init__(self, part: Part, pages: Iterable[Page], key_filter: KeyFilter,
                 scanner: Callable[[str | None, RangeEntry], RangeScanner], dispatch: Callable[[Batch], P],
                 complete: Callable[[P], None], on_page: Callable[[Page, int], None],
                 stopped: Callable[[], bool]):
        self._part = part
        self._pages = pages
        self._filter = key_filter
        self._scanner = scanner
        self._dispatch = dispatch
        self._complete = complete
        self._on_page = on_page
        self._stopped = stopped
        self._pending: deque[P] = deque()

    def run(self) -> None:
        """List the part. A page is cut into runs of objects of one range (by bisection on the keys, which the
        listing checked to be ascending), each handed to its range's scanner at once: the per-object work stays the
        scanner's fingerprint, not a filter call, a boundary test and an `add` per object."""
        entries = self._part.entries
        index = 0
        scanner = self._scanner(self._part.lo, entries[0])
        matches = self._filter.matches
        for page in self._pages:
            if self._stopped():
                raise Stopped()
            objects = page.objects if self._filter.is_trivial else [o for o in page.objects if matches(o.key)]
            start, kept = 0, len(objects)
            while start < kept:
                hi = entries[index].hi
                end = kept if hi is None or objects[-1].key <= hi else bisect_right(objects, hi, start, kept, key=_KEY)
                if end > start:
                    for batch in scanner.add_run(objects[start:end]):
                        self._push(batch)
                    start = end
                if start < kept:  # the next object is past this range: it ends here
                    self._push(scanner.finish())
                    index += 1
                    scanner = self._scanner(entries[index - 1].hi, entries[index])
            self._on_page(page, kept)
            self._drain(block=False)
        self._push(scanner.finish())
        for later in range(index + 1, len(entries)):
            self._push(self._scanner(entries[later - 1].hi, entries[later]).finish())
        self._drain(block=True)

    def _push(self, batch: Batch) -> None:
        self._pending.append(self._dispatch(batch))
        if len(self._pending) >= MAX_PENDING:
            self._complete(self._pending.popleft())

    def _drain(self, block: bool) -> None:
        while self._pending and (block or self._pending[0].ready()):
            if self._stopped():
                raise Stopped()
            self._complete(self._pending.popleft())
