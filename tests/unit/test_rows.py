"""Unit tests for s3_metadata.rows: listing entries to ListedObject, and ListedObject to a row of `s3_objects`."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from s3_metadata.restore import ARCHIVED, IN_PROGRESS, NOT_APPLICABLE, RESTORED, RestoreInfo
from s3_metadata.rows import (
    COLUMNS, DESTINATION_TABLE, PRIMARY_KEY, TABLE, ListedObject, listed_from_head, listed_object, multipart_parts,
    object_row,
    table_schema,
)

UTC = timezone.utc
MODIFIED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EXPIRY = datetime(2024, 6, 1, tzinfo=UTC)


def entry(**overrides):
    """A Contents entry as boto3 returns it."""
    value = {"Key": "logs/a.gz", "LastModified": MODIFIED, "ETag": '"9b2cf535f27731c974343645a3985328"',
             "Size": 1234, "StorageClass": "STANDARD"}
    value.update(overrides)
    return {k: v for k, v in value.items() if v is not ...}


@pytest.mark.parametrize("raw, field, expected", [
    pytest.param(entry(), "key", "logs/a.gz", id="key"),
    pytest.param(entry(Key="d\u00e9j\u00e0/\U0001f600\n.txt"), "key", "d\u00e9j\u00e0/\U0001f600\n.txt",
                 id="unicode-key-kept-as-is"),
    pytest.param(entry(), "size", 1234, id="size"),
    pytest.param(entry(Size=0), "size", 0, id="size-zero"),
    pytest.param(entry(Size=...), "size", 0, id="size-missing"),
    pytest.param(entry(Size=5 * 1024 ** 4), "size", 5 * 1024 ** 4, id="size-five-tib"),
    pytest.param(entry(), "storage_class", "STANDARD", id="storage-class"),
    pytest.param(entry(StorageClass="DEEP_ARCHIVE"), "storage_class", "DEEP_ARCHIVE", id="storage-class-archive"),
    # S3-compatible stores, and AWS for some entries, leave StorageClass out; S3's own default is STANDARD.
    pytest.param(entry(StorageClass=...), "storage_class", "STANDARD", id="storage-class-missing"),
    pytest.param(entry(StorageClass=None), "storage_class", "STANDARD", id="storage-class-none"),
    pytest.param(entry(StorageClass=""), "storage_class", "STANDARD", id="storage-class-empty"),
    pytest.param(entry(), "e_tag", "9b2cf535f27731c974343645a3985328", id="etag-quotes-stripped"),
    pytest.param(entry(ETag="abc"), "e_tag", "abc", id="etag-without-quotes"),
    pytest.param(entry(ETag='"d41d8cd98f00b204e9800998ecf8427e-12"'), "e_tag", "d41d8cd98f00b204e9800998ecf8427e-12",
                 id="multipart-etag"),
    pytest.param(entry(ETag=...), "e_tag", "", id="etag-missing"),
    pytest.param(entry(), "checksum_algorithm", None, id="checksum-missing"),
    pytest.param(entry(ChecksumAlgorithm=[]), "checksum_algorithm", None, id="checksum-empty-list"),
    pytest.param(entry(ChecksumAlgorithm=["CRC32"]), "checksum_algorithm", "CRC32", id="checksum-one"),
    pytest.param(entry(ChecksumAlgorithm=["CRC32", "SHA256"]), "checksum_algorithm", "CRC32,SHA256",
                 id="checksum-list-joined"),
    pytest.param(entry(), "checksum_type", None, id="checksum-type-missing"),
    pytest.param(entry(ChecksumType="FULL_OBJECT"), "checksum_type", "FULL_OBJECT", id="checksum-type"),
    pytest.param(entry(), "last_modified", MODIFIED, id="last-modified-aware-utc"),
    pytest.param(entry(LastModified=datetime(2024, 5, 1, 12, 0)), "last_modified", MODIFIED,
                 id="last-modified-naive-taken-as-utc"),
    pytest.param(entry(LastModified=datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))),
                 "last_modified", MODIFIED, id="last-modified-offset-converted"),
])
def test_listed_object_fields(raw, field, expected):
    obj = listed_object(raw, restore_status_requested=False)
    assert getattr(obj, field) == expected
    assert obj.last_modified.tzinfo == UTC


@pytest.mark.parametrize("raw, requested, expected", [
    pytest.param(entry(StorageClass="GLACIER"), False, None, id="not-requested-archive"),
    pytest.param(entry(StorageClass="GLACIER", RestoreStatus={"IsRestoreInProgress": True}), False, None,
                 id="not-requested-ignores-status"),
    pytest.param(entry(), False, None, id="not-requested-standard"),
    pytest.param(entry(), True, NOT_APPLICABLE, id="requested-standard"),
    pytest.param(entry(StorageClass=...), True, NOT_APPLICABLE, id="requested-missing-class"),
    # Requested but absent: the listing says the archived object has no restore.
    pytest.param(entry(StorageClass="GLACIER"), True, RestoreInfo(ARCHIVED), id="requested-archive-no-status"),
    pytest.param(entry(StorageClass="GLACIER", RestoreStatus={"IsRestoreInProgress": True}), True,
                 RestoreInfo(IN_PROGRESS), id="requested-in-progress"),
    pytest.param(entry(StorageClass="DEEP_ARCHIVE",
                       RestoreStatus={"IsRestoreInProgress": False, "RestoreExpiryDate": EXPIRY}), True,
                 RestoreInfo(RESTORED, EXPIRY), id="requested-restored"),
    pytest.param(entry(StorageClass="INTELLIGENT_TIERING"), True, None, id="requested-intelligent-tiering-unknown"),
])
def test_listed_object_restore(raw, requested, expected):
    assert listed_object(raw, restore_status_requested=requested).restore == expected


def test_listed_from_head_copies_every_listed_field():
    """Event mode builds rows from HEAD alone; the restore stays unknown (None) so HEAD's own answer is used."""
    head = SimpleNamespace(storage_class="GLACIER", restore='ongoing-request="true"', archive_status=None, size=42,
                           e_tag="abc-2", last_modified=MODIFIED, checksum_algorithm="CRC32C",
                           checksum_type="FULL_OBJECT")
    assert listed_from_head("k/\u00e9", head) == ListedObject("k/\u00e9", MODIFIED, "abc-2", 42, "GLACIER", "CRC32C",
                                                          "FULL_OBJECT", None)


@pytest.mark.parametrize("e_tag, expected", [
    pytest.param("d41d8cd98f00b204e9800998ecf8427e", None, id="single-part"),
    pytest.param("d41d8cd98f00b204e9800998ecf8427e-2", 2, id="two-parts"),
    pytest.param("d41d8cd98f00b204e9800998ecf8427e-10000", 10000, id="max-parts"),
    pytest.param("", None, id="empty"),
    pytest.param("abc-", None, id="dash-without-number"),
    pytest.param("abc-x1", None, id="dash-then-letters"),
    pytest.param("a-3-5", 5, id="last-dash-counts"),
])
def test_multipart_parts(e_tag, expected):
    assert multipart_parts(e_tag) == expected


_TYPE_CHECKS = {
    "STRING": lambda v: isinstance(v, str),
    "LONG": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "INT": lambda v: isinstance(v, int) and not isinstance(v, bool) and -2 ** 31 <= v < 2 ** 31,
    "BOOLEAN": lambda v: isinstance(v, bool),
    "UTC_DATETIME": lambda v: isinstance(v, datetime) and v.utcoffset() == timedelta(0),
}

FULL = ListedObject("logs/a.gz", MODIFIED, "abc-3", 5 * 1024 ** 3, "GLACIER", "CRC32", "COMPOSITE",
                    RestoreInfo(RESTORED, EXPIRY))
PLAIN = ListedObject("plain.txt", MODIFIED, "abc", 7, "STANDARD")


@pytest.mark.parametrize("obj, restore", [
    pytest.param(FULL, RestoreInfo(RESTORED, EXPIRY, "ARCHIVE_ACCESS"), id="every-column-filled"),
    pytest.param(PLAIN, NOT_APPLICABLE, id="nullable-columns-empty"),
])
def test_object_row_has_every_column_with_declared_type(obj, restore):
    row = object_row("my-bucket", obj, restore)
    assert set(row) == set(COLUMNS)
    for column, declared in COLUMNS.items():
        value = row[column]
        if value is None:
            assert column not in PRIMARY_KEY and column not in ("size", "is_multipart", "last_modified")
            continue
        assert _TYPE_CHECKS[declared](value), f"{column}={value!r} is not {declared}"


@pytest.mark.parametrize("obj, restore, expected", [
    pytest.param(FULL, RestoreInfo(RESTORED, EXPIRY, "ARCHIVE_ACCESS"), {
        "bucket": "my-bucket", "key": "logs/a.gz", "size": 5 * 1024 ** 3, "e_tag": "abc-3",
        "storage_class": "GLACIER", "last_modified": MODIFIED, "restore_status": RESTORED,
        "restore_expiry": EXPIRY, "archive_status": "ARCHIVE_ACCESS", "is_multipart": True,
        "multipart_part_count": 3, "checksum_algorithm": "CRC32", "checksum_type": "COMPOSITE",
    }, id="full"),
    pytest.param(PLAIN, NOT_APPLICABLE, {
        "bucket": "my-bucket", "key": "plain.txt", "size": 7, "e_tag": "abc", "storage_class": "STANDARD",
        "last_modified": MODIFIED, "restore_status": None, "restore_expiry": None, "archive_status": None,
        "is_multipart": False, "multipart_part_count": None, "checksum_algorithm": None, "checksum_type": None,
    }, id="plain"),
    # The restore columns come from the argument, not from what the listing said (HEAD may know better).
    pytest.param(FULL, RestoreInfo("error:AccessDenied"), {
        "restore_status": "error:AccessDenied", "restore_expiry": None, "archive_status": None,
    }, id="restore-argument-wins"),
])
def test_object_row_values(obj, restore, expected):
    row = object_row("my-bucket", obj, restore)
    assert {k: row[k] for k in expected} == expected


def test_table_schema():
    assert table_schema() == [{"table": "s3_objects", "primary_key": ["bucket", "key"], "columns": COLUMNS}]


def test_table_names():
    """The source name must stay `s3_objects`; Fivetran's naming turns it into `s_3_objects`."""
    assert (TABLE, DESTINATION_TABLE) == ("s3_objects", "s_3_objects")


def test_table_schema_is_a_fresh_copy():
    """The SDK may mutate what schema() returns; that must not change the module's COLUMNS."""
    schema = table_schema()
    schema[0]["columns"]["extra"] = "STRING"
    schema[0]["primary_key"].append("extra")
    assert "extra" not in COLUMNS
    assert table_schema()[0]["primary_key"] == ["bucket", "key"]


def test_primary_key_columns_are_declared():
    assert set(PRIMARY_KEY) <= set(COLUMNS)
