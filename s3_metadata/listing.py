"""Walking one part of a stream's key space, page by page, and when a listing is complete.

A part is listed from `StartAfter=lo` and then by continuation tokens only (S3 ignores StartAfter once a
token is sent), and stops at the first page that passes its upper bound: the last page of a part is the
only one that may be partly wasted.

A listing is complete only when S3 said so: a page with `IsTruncated=false` (`next_page`, the one place both
listings ask). Some S3-compatible stores end a truncated page without a continuation token or NextKeyMarker;
the walk then goes on after the last entry listed (StartAfter, or KeyMarker and VersionIdMarker), as a client
of those stores must. A store that answers that with keys it was asked to skip (it ignores StartAfter or the
marker), or with a truncated page it cannot be moved past, stops the sync with `IncompleteListingError`, which
names the endpoint and what it did: a partial listing is never taken for the whole bucket, and never looped on.

Key ranges, resuming and change detection all rest on S3's promise that a listing returns keys in ascending
UTF-8 binary order (which is Python's order of `str`). Some S3-compatible stores list in file-system order
instead; that is detected on the first page where it happens and the sync stops with `ListingOrderError`
before a key can be put in the wrong range.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator, Protocol, Sequence

from s3_metadata.errors import SyncError
from s3_metadata.rows import ListedObject

PREVIEW = 80


class ListingOrderError(SyncError):
    """A listing whose keys are not in ascending order: ranges cannot be trusted, so nothing more is written."""


class IncompleteListingError(SyncError):
    """A listing the store says is unfinished but does not let us finish: nothing after it can be trusted."""


def _preview(key: str) -> str:
    return repr(key if len(key) <= PREVIEW else key[:PREVIEW] + "...")


def out_of_order(endpoint: str, bucket: str, before: str, after: str) -> ListingOrderError:
    return ListingOrderError(
        f"{endpoint} listed key {_preview(after)} after {_preview(before)} in bucket '{bucket}': its ListObjectsV2 "
        "pages are not in key order, which S3 guarantees (ascending UTF-8 binary order) and this connector needs to "
        "resume and to detect changes by key range. The sync stopped before writing any row out of place. Use an "
        "endpoint or store setting that lists keys in S3's order (for example a gateway in front of a file-system "
        "backend that sorts listings), or sync this bucket from a store that does.")


def check_order(objects: list[ListedObject], previous: str | None, endpoint: str, bucket: str) -> None:
    """Raise ListingOrderError unless every key of a page is greater than the one before it."""
    last = previous
    for obj in objects:
        if last is not None and obj.key <= last:
            raise out_of_order(endpoint, bucket, last, obj.key)
        last = obj.key


@dataclass(frozen=True)
class Listing:
    """Which listing is walked, in S3's own words, for the messages of `next_page`."""

    operation: str
    marker: str  # what S3 sends to continue: NextContinuationToken, NextKeyMarker
    start: str  # what we send to start after a key: StartAfter, KeyMarker (and VersionIdMarker)
    endpoint: str
    bucket: str


def objects_listing(endpoint: str, bucket: str) -> Listing:
    return Listing("ListObjectsV2", "NextContinuationToken", "StartAfter", endpoint, bucket)


def versions_listing(endpoint: str, bucket: str) -> Listing:
    return Listing("ListObjectVersions", "NextKeyMarker", "KeyMarker and VersionIdMarker", endpoint, bucket)


@dataclass(frozen=True)
class Position:
    """An entry of a listing: its key and, in a versions listing, its version id."""

    key: str
    version: str | None = None


@dataclass(frozen=True)
class Request:
    """Where a page starts: after a continuation token S3 gave (ListObjectsV2), or after a position (`lo`,
    a NextKeyMarker and NextVersionIdMarker S3 gave, or the last entry of the page before)."""

    token: str | None = None
    after: Position | None = None


_WHAT_TO_DO = ("The rest of the listing cannot be read, so the sync stopped rather than take part of the bucket for "
               "all of it. Upgrade the store, or report this to its makers: this connector can sync the bucket from "
               "it once it lists as S3 does.")


def skipped_keys_returned(listing: Listing, sent: Request, first: Position) -> IncompleteListingError:
    """The store answered with an entry at or before the one the request asked it to start after."""
    if sent.token is not None:
        what = (f"asked for the next page with the {listing.marker} it had sent, it went back to "
                f"{_preview(first.key)}, which the listing had passed: it ignores {listing.marker}")
    else:
        where = _preview(sent.after.key) if sent.after else "''"
        what = (f"asked to start after {where} ({listing.start}), it listed {_preview(first.key)}, which is not after "
                f"it: it ignores {listing.start}, or does not list keys in S3's order")
    return IncompleteListingError(
        f"{listing.endpoint} does not continue a {listing.operation} listing of bucket '{listing.bucket}' where asked: "
        f"{what}. Following it would list the same keys again and again, or skip some. {_WHAT_TO_DO}")


def no_progress(listing: Listing, reason: str) -> IncompleteListingError:
    return IncompleteListingError(
        f"{listing.endpoint} answered a {listing.operation} page of bucket '{listing.bucket}' with IsTruncated=true "
        f"(more to list) but {reason}, so the listing cannot move on. {_WHAT_TO_DO}")


def _not_after(first: Position, after: Position) -> bool:
    """Whether `first` is at or before `after`: an earlier key, the same key after a key alone, or the same version
    (version ids are not ordered, so an earlier version of the same key cannot be told apart)."""
    same_key = first.key == after.key
    return first.key < after.key or (same_key and (after.version is None or first.version == after.version))


def check_start(listing: Listing, sent: Request, first: Position, page_before: Position | None = None,
                began: Position | None = None) -> None:
    """Raise IncompleteListingError when a page begins where its request said not to.

    After a position, the first entry must come after it. After a token, a page that begins with the first entry of
    the page before (`page_before`), or not after where the walk began (`began`), went back: a store that ignores the
    token lists from the start again. (Any other step back is a key out of order, `check_order`'s to report.)
    """
    if sent.token is not None:
        if first == page_before or (began is not None and _not_after(first, began)):
            raise skipped_keys_returned(listing, sent, first)
        return
    if sent.after is not None and _not_after(first, sent.after):
        raise skipped_keys_returned(listing, sent, first)


def next_page(listing: Listing, sent: Request, truncated: bool, token: str | None, marker: Position | None,
              last: Position | None) -> Request | None:
    """The request for the page after one, or None when the listing is complete: S3 said `IsTruncated=false`.

    `token` is a ListObjectsV2 page's NextContinuationToken; `marker` a ListObjectVersions page's NextKeyMarker (and
    NextVersionIdMarker); `last` the page's last entry. A truncated page without them continues after `last`; one
    that would send the same request again (nothing listed and no new token or marker) is an IncompleteListingError.
    """
    if not truncated:
        return None
    if token:
        following = Request(token=token)
    elif marker is not None and marker.key:
        following = Request(after=marker)
    elif last is not None:
        following = Request(after=last)
    else:
        raise no_progress(listing, f"listed nothing and sent no {listing.marker} to continue from")
    if following == sent:
        raise no_progress(listing, f"sent the same {listing.marker} it had been given")
    return following


class PageSource(Protocol):
    def list_page(self, bucket: str, prefix: str, start_after: str | None, token: str | None,
                  restore_status: bool = False) -> "PageLike": ...


class PageLike(Protocol):
    objects: list[ListedObject]
    truncated: bool
    next_token: str | None
    date: datetime | None


@dataclass(frozen=True)
class Page:
    objects: list[ListedObject]
    date: datetime | None


def nothing_between(lo: str | None, hi: str | None, end: str | None) -> bool:
    """Whether no key `lo < key <= hi` and `key < end` exists (None: unbounded), so a walk need not ask."""
    return lo is not None and ((hi is not None and lo >= hi) or (end is not None and lo >= end))


def past_bounds(hi: str | None, end: str | None) -> Callable[[str], bool]:
    """Whether a key is past a walk's bounds: after `hi` (inclusive bound) or at or after `end` (exclusive)."""
    if end is None:
        return (lambda key: False) if hi is None else (lambda key: key > hi)
    if hi is None or end <= hi:
        return lambda key: key >= end
    return lambda key: key > hi


def walk_part(source: PageSource, bucket: str, prefix: str, lo: str | None, hi: str | None,
              restore_status: bool, endpoint: str = "The S3 endpoint", end: str | None = None) -> Iterator[Page]:
    """Yield the objects with `lo < key <= hi` (hi None: to the end) and `key < end` (a key range's exclusive end)
    under `prefix`, in key order. Nothing is asked when no key can be in those bounds."""
    if nothing_between(lo, hi, end):
        return
    past = past_bounds(hi, end)
    listing = objects_listing(endpoint, bucket)
    sent = Request(after=None if lo is None else Position(lo))
    previous = lo
    page_before: Position | None = None
    while True:
        page = source.list_page(bucket, prefix, sent.after.key if sent.after else None, sent.token, restore_status)
        objects = page.objects
        if objects:
            first = Position(objects[0].key)
            check_start(listing, sent, first, page_before, None if lo is None else Position(lo))
            page_before = first
        check_order(objects, previous, endpoint, bucket)
        if objects:
            previous = objects[-1].key
        if objects and past(objects[-1].key):
            yield Page([o for o in objects if not past(o.key)], page.date)
            return
        yield Page(objects, page.date)
        following = next_page(listing, sent, page.truncated or _full_but_done(page, objects), page.next_token, None,
                              Position(objects[-1].key) if objects else None)
        if following is None:
            return
        sent = following


def _version_position(entry: dict[str, Any]) -> Position:
    return Position(entry["Key"], entry.get("VersionId") or "null")


def _full_but_done(page: Any, entries: Sequence[Any]) -> bool:
    """A page as full as asked for that says the listing is complete: some stores answer IsTruncated=false on every
    page, so such a page is taken as truncated and the walk asks once more after its last entry (on AWS: one more
    request, and only when a listing ends exactly at a page boundary)."""
    return bool(getattr(page, "full", False)) and bool(entries)


def versions_next_page(listing: Listing, sent: Request, page: Any) -> Request | None:
    """`next_page` for a ListObjectVersions page (see `walk_versions` and versions.walk_key_versions)."""
    marker = Position(page.next_key_marker, page.next_version_marker) if page.next_key_marker else None
    return next_page(listing, sent, page.truncated or _full_but_done(page, (page.last,) if page.last else ()), None,
                     marker, page.last)


def walk_versions(source: Any, bucket: str, prefix: str, lo: str | None, hi: str | None,
                  endpoint: str = "The S3 endpoint", end: str | None = None) -> Iterator[tuple[dict, bool]]:
    """Every version and delete marker with `lo < key <= hi` and `key < end`, as (entry, is_delete_marker), in key
    order."""
    if nothing_between(lo, hi, end):
        return
    past = past_bounds(hi, end)
    listing = versions_listing(endpoint, bucket)
    sent = Request(after=None if lo is None else Position(lo))
    while True:
        page = source.list_versions_page(bucket, prefix, sent.after.key if sent.after else None,
                                         sent.after.version if sent.after else None)
        entries = [(e, False) for e in page.versions] + [(e, True) for e in page.delete_markers]
        entries.sort(key=lambda item: item[0]["Key"])
        if entries:
            check_start(listing, sent, _version_position(entries[0][0]))
        for entry, marker in entries:
            if lo is not None and entry["Key"] <= lo:
                continue
            if past(entry["Key"]):
                return
            yield entry, marker
        following = versions_next_page(listing, sent, page)
        if following is None:
            return
        sent = following
