"""Walking one part of a stream's key space, page by page.

A part is listed from `StartAfter=lo` and then by continuation tokens only (S3 ignores StartAfter once a
token is sent), and stops at the first page that passes its upper bound: the last page of a part is the
only one that may be partly wasted.

Key ranges, resuming and change detection all rest on S3's promise that a listing returns keys in ascending
UTF-8 binary order (which is Python's order of `str`). Some S3-compatible stores list in file-system order
instead; that is detected on the first page where it happens and the sync stops with `ListingOrderError`
before a key can be put in the wrong range.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator, Protocol

from s3_metadata.errors import SyncError
from s3_metadata.rows import ListedObject

PREVIEW = 80


class ListingOrderError(SyncError):
    """A listing whose keys are not in ascending order: ranges cannot be trusted, so nothing more is written."""


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


class PageSource(Protocol):
    def list_page(self, bucket: str, prefix: str, start_after: str | None, token: str | None,
                  restore_status: bool = False) -> "PageLike": ...


class PageLike(Protocol):
    objects: list[ListedObject]
    next_token: str | None
    date: datetime | None


@dataclass(frozen=True)
class Page:
    objects: list[ListedObject]
    date: datetime | None


def walk_part(source: PageSource, bucket: str, prefix: str, lo: str | None, hi: str | None,
              restore_status: bool, endpoint: str = "The S3 endpoint") -> Iterator[Page]:
    """Yield the objects with `lo < key <= hi` (hi None: to the end) under `prefix`, in key order."""
    token: str | None = None
    previous = lo
    while True:
        page = source.list_page(bucket, prefix, lo, token, restore_status)
        objects = page.objects
        check_order(objects, previous, endpoint, bucket)
        if objects:
            previous = objects[-1].key
        if hi is not None and objects and objects[-1].key > hi:
            yield Page([o for o in objects if o.key <= hi], page.date)
            return
        yield Page(objects, page.date)
        if not page.next_token:
            return
        token = page.next_token


def walk_versions(source: Any, bucket: str, prefix: str, lo: str | None, hi: str | None) -> Iterator[tuple[dict, bool]]:
    """Every version and delete marker with `lo < key <= hi`, as (entry, is_delete_marker), in key order."""
    key_marker, version_marker = lo, None
    while True:
        page = source.list_versions_page(bucket, prefix, key_marker, version_marker)
        entries = [(e, False) for e in page.versions] + [(e, True) for e in page.delete_markers]
        entries.sort(key=lambda item: item[0]["Key"])
        for entry, marker in entries:
            if lo is not None and entry["Key"] <= lo:
                continue
            if hi is not None and entry["Key"] > hi:
                return
            yield entry, marker
        if page.next_key_marker is None:
            return
        key_marker, version_marker = page.next_key_marker, page.next_version_marker
