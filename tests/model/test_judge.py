"""The judge on hand-made observations: it must fail what is wrong and let through only what the README allows."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.model.judge import (
    COLUMN, MISSING_ROW, RESEND, RESEND_DELETE, STALE_ROW, Judge, Observation, SyncRecord,
)
from tests.model.oracle import Scope

BUCKET = "model-a"
WHEN = datetime(2025, 1, 6, tzinfo=timezone.utc)


def row(key: str, size: int = 1, deleted: bool = False) -> dict:
    return {"bucket": BUCKET, "key": key, "size": size, "e_tag": "e", "storage_class": "STANDARD",
            "last_modified": WHEN, "restore_status": None, "restore_expiry": None, "archive_status": None,
            "is_multipart": False, "multipart_part_count": None, "checksum_algorithm": None, "checksum_type": None,
            "_fivetran_deleted": deleted}


def truth(key: str, size: int = 1) -> dict:
    return {c: v for c, v in row(key, size).items() if c not in ("bucket", "key", "_fivetran_deleted")}


def observe(before: dict, after: dict, s3: dict, record: SyncRecord, versioned: bool = False,
            ranges: list | None = None) -> Observation:
    state = {"streams": {f"{BUCKET}/": {"digest_mode": "listing", "ranges": ranges or [[None, 9, "00", 0]]}}}
    return Observation(1, Scope((BUCKET,)), (), {BUCKET: versioned}, False, {BUCKET: s3}, {}, before, after, {}, {},
                       state, state, {BUCKET: [""]}, record, {(BUCKET, k) for k in s3})


def table(*rows: dict) -> dict:
    return {(BUCKET, r["key"]): r for r in rows}


@pytest.mark.parametrize("warning, expected", [
    pytest.param("1 objects deleted since the last sync in 1 key ranges", [], id="counted"),
    pytest.param("no deleted object counted; in 1 more ranges too much changed to count deletes", [],
                 id="uncountable-range"),
    pytest.param(None, [STALE_ROW], id="not-counted"),
])
def test_a_deleted_objects_row_in_an_unversioned_bucket_needs_the_warning(warning, expected):
    before = after = table(row("a"), row("b"))
    record = SyncRecord(warnings=[warning] if warning else [])
    failures = Judge().check(observe(before, after, {"a": truth("a")}, record))
    assert [f.category for f in failures] == expected


def test_a_stale_row_in_a_versioned_bucket_always_fails():
    before = after = table(row("a"), row("b"))
    record = SyncRecord(warnings=["5 objects deleted since the last sync in 1 key ranges"])
    failures = Judge().check(observe(before, after, {"a": truth("a")}, record, versioned=True))
    assert [(f.category, f.key) for f in failures] == [(STALE_ROW, "b")]


def test_missing_rows_and_wrong_columns_fail():
    after = table(row("a", size=2), row("b", deleted=True))
    failures = Judge().check(observe(after, after, {"a": truth("a", 1), "b": truth("b")}, SyncRecord()))
    assert sorted((f.category, f.key) for f in failures) == [(COLUMN, "a"), (MISSING_ROW, "b")]


@pytest.mark.parametrize("changed, expected", [
    pytest.param(0, [RESEND], id="nothing-changed"),
    pytest.param(1, [RESEND], id="one-change-the-sketch-names"),
    pytest.param(2, [], id="two-changes-may-overflow"),
])
def test_an_unchanged_row_sent_again_fails_unless_its_range_changed_too_much(changed, expected):
    keys = ["a", "b", "c"]
    before = table(*(row(k) for k in keys))
    s3 = {k: truth(k, size=2 if k in keys[1:1 + changed] else 1) for k in keys}
    after = table(*(row(k, size=s3[k]["size"]) for k in keys))
    sent = [("s3_objects", {c: v for c, v in row("a").items() if c != "_fivetran_deleted"})]
    failures = Judge().check(observe(before, after, s3, SyncRecord(upserts=sent)))
    assert [f.category for f in failures if f.key == "a"] == expected


def test_a_delete_sent_for_a_row_already_deleted_fails():
    before = after = table(row("a"), row("b", deleted=True))
    record = SyncRecord(deletes=[("s3_objects", {"bucket": BUCKET, "key": "b"})])
    failures = Judge().check(observe(before, after, {"a": truth("a")}, record, versioned=True))
    assert [(f.category, f.key) for f in failures] == [(RESEND_DELETE, "b")]
