"""Unit tests for the versions walk: keys grouped with all their versions across pages, identity sums, and when a
versions batch means a version was removed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from s3_metadata.listing import IncompleteListingError, Position
from s3_metadata.ranges import Batch, RangeEntry, RangeScanner
from s3_metadata.resolve import removal_suspected, version_rows
from s3_metadata.versions import (
    KeyVersions, explain_versions, identities_explained, unit_fingerprint, unit_identity, walk_key_versions,
)

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def v(key: str, vid: str, minutes: int = 0, latest: bool = False) -> dict:
    return {"Key": key, "VersionId": vid, "IsLatest": latest, "LastModified": T0 + timedelta(minutes=minutes),
            "ETag": f'"{vid}"', "Size": 1, "StorageClass": "STANDARD"}


@dataclass
class Page:
    versions: list
    delete_markers: list
    next_key_marker: str | None
    next_version_marker: str | None
    truncated: bool | None = None

    def __post_init__(self) -> None:
        if self.truncated is None:
            self.truncated = self.next_key_marker is not None

    @property
    def last(self) -> Position | None:
        entries = sorted(self.versions + self.delete_markers, key=lambda e: (e["Key"], not e["IsLatest"]))
        return Position(entries[-1]["Key"], entries[-1]["VersionId"]) if entries else None


class Source:
    def __init__(self, *pages: Page):
        self.pages = list(pages)
        self.markers: list = []

    def list_versions_page(self, bucket, prefix, key_marker, version_marker):
        self.markers.append((key_marker, version_marker))
        return self.pages[len(self.markers) - 1]


def test_a_key_split_over_two_pages_is_one_unit():
    source = Source(Page([v("a", "1", latest=True), v("b", "3", 2, latest=True)], [], "b", "3"),
                    Page([v("b", "2", 1), v("c", "4", latest=True)], [], None, None))
    units = [u for page in walk_key_versions(source, "bkt", "", None, None) for u in page.objects]
    assert [(u.key, sorted(e["VersionId"] for e, _ in u.entries)) for u in units] == [
        ("a", ["1"]), ("b", ["2", "3"]), ("c", ["4"])]
    assert units[1].last_modified == T0 + timedelta(minutes=2)
    assert source.markers == [(None, None), ("b", "3")]


def test_walk_respects_lo_and_hi_and_keeps_delete_markers():
    source = Source(Page([v("b", "2"), v("d", "4")], [v("c", "3", latest=True)], None, None))
    units = [u for page in walk_key_versions(source, "bkt", "", "a", "c") for u in page.objects]
    assert [(u.key, [m for _, m in u.entries]) for u in units] == [("b", [False]), ("c", [True])]


def test_a_truncated_page_without_next_key_marker_continues_after_its_last_version():
    source = Source(Page([v("a", "1", latest=True), v("b", "3", 2, latest=True), v("b", "2", 1)], [], None, None,
                         truncated=True),
                    Page([v("b", "1"), v("c", "4", latest=True)], [], None, None))
    units = [u for page in walk_key_versions(source, "bkt", "", None, None) for u in page.objects]
    assert [(u.key, sorted(e["VersionId"] for e, _ in u.entries)) for u in units] == [
        ("a", ["1"]), ("b", ["1", "2", "3"]), ("c", ["4"])]
    assert source.markers == [(None, None), ("b", "2")]


@pytest.mark.parametrize("pages, says", [
    pytest.param([Page([v("a", "1", latest=True), v("b", "2", latest=True)], [], None, None, truncated=True),
                  Page([v("a", "1", latest=True), v("b", "2", latest=True)], [], None, None, truncated=True)],
                 "ignores KeyMarker and VersionIdMarker", id="markers-ignored-page-again"),
    pytest.param([Page([v("a", "1", latest=True), v("b", "3", 2, latest=True), v("b", "2", 1)], [], "b", "2"),
                  Page([v("b", "3", 2, latest=True), v("b", "2", 1)], [], "b", "2")],
                 "ignores KeyMarker and VersionIdMarker", id="version-id-marker-ignored"),
    pytest.param([Page([v("a", "1", latest=True)], [], "a", None),
                  Page([], [], None, None, truncated=True)],
                 "listed nothing and sent no NextKeyMarker", id="empty-truncated-page"),
])
def test_a_versions_listing_that_cannot_go_on_fails(pages, says):
    source = Source(*pages)
    with pytest.raises(IncompleteListingError) as raised:
        list(walk_key_versions(source, "bkt", "", None, None, "The endpoint http://127.0.0.1:9000"))
    assert says in str(raised.value) and "ListObjectVersions" in str(raised.value)
    assert len(source.markers) == 2


def unit(key: str, *versions: dict) -> KeyVersions:
    return KeyVersions(key, max(x["LastModified"] for x in versions), tuple((x, False) for x in versions))


@pytest.mark.parametrize("old, new, explained", [
    pytest.param([unit("a", v("a", "1"))], [unit("a", v("a", "1"))], True, id="same"),
    pytest.param([unit("a", v("a", "1"))], [unit("a", v("a", "1"), v("a", "2", 5))], True, id="new-version"),
    pytest.param([unit("a", v("a", "1"))], [unit("a", v("a", "1")), unit("b", v("b", "9", 5))], True, id="new-key"),
    pytest.param([unit("a", v("a", "1"), v("a", "2", 5))], [unit("a", v("a", "2", 5))], False, id="version-removed"),
    pytest.param([unit("a", v("a", "1")), unit("b", v("b", "2"))], [unit("a", v("a", "1"))], False, id="key-removed"),
    pytest.param([unit("a", v("a", "1", 3))], [unit("a", v("a", "1", 3), v("a", "0", 1))], False,
                 id="late-version-older-than-a-seen-one-is-treated-as-removal"),
])
def test_identities_explained(old, new, explained):
    old_ids = sum(unit_identity(u) for u in old) & ((1 << 64) - 1)
    assert identities_explained(new, old_ids) is explained


def scan_versions(entry: RangeEntry, units: list[KeyVersions]) -> Batch:
    scanner = RangeScanner(None, entry, 10, False, unit_fingerprint, unit_identity, 0, explain_versions)
    for u in units:
        assert scanner.add(u) is None
    return scanner.finish()


def known(units: list[KeyVersions]) -> RangeEntry:
    mask = (1 << 64) - 1
    return RangeEntry(None, len(units), sum(unit_fingerprint(u) for u in units) & mask, False,
                      sum(unit_identity(u) for u in units) & mask)


def test_versions_batch_sends_only_changed_keys_with_all_their_versions():
    a, b = unit("a", v("a", "1", latest=True)), unit("b", v("b", "2", latest=True))
    b2 = unit("b", v("b", "2"), v("b", "3", 9, latest=True))
    batch = scan_versions(known([a, b]), [a, b2])
    assert batch.emit == [False, True] and not batch.unexplained
    rows = version_rows(batch, "bkt", lambda key: True)
    assert sorted((r["key"], r["version_id"], r["is_latest"]) for r in rows) == [("b", "2", False), ("b", "3", True)]
    assert not removal_suspected(batch, has_history=True)


@pytest.mark.parametrize("old, new, history, expected", [
    pytest.param([unit("a", v("a", "1"), v("a", "2", 5))], [unit("a", v("a", "2", 5))], True, True,
                 id="removed-noncurrent-version"),
    pytest.param([unit("a", v("a", "1"), v("a", "2", 5))], [unit("a", v("a", "2", 5))], False, False,
                 id="no-rows-sent-before"),
    pytest.param([unit("a", v("a", "1"))], [unit("a", {**v("a", "1"), "StorageClass": "GLACIER"})], True, False,
                 id="noncurrent-transition-changes-columns-not-identities"),
])
def test_removal_suspected(old, new, history, expected):
    batch = scan_versions(known(old), new)
    assert batch.unexplained
    assert removal_suspected(batch, history) is expected


def test_new_delete_marker_sends_only_its_key():
    a, b = unit("a", v("a", "1", latest=True)), unit("b", v("b", "2", latest=True))
    marked = KeyVersions("b", T0 + timedelta(minutes=9), ((v("b", "2"), False), (v("b", "m", 9, latest=True), True)))
    batch = scan_versions(known([a, b]), [a, marked])
    assert batch.emit == [False, True] and not batch.unexplained


def test_unknown_range_with_history_is_suspected():
    batch = scan_versions(RangeEntry(None), [unit("a", v("a", "1"))])
    assert removal_suspected(batch, True) and not removal_suspected(batch, False)
