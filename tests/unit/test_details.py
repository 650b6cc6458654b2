"""Table tests for s3_metadata.details: the x-amz-expiration header, HEAD answers turned into detail columns, and
which columns each choice declares. HEAD answers are built from botocore-shaped responses through aws.head_result,
the same path the sync takes."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from s3_metadata.aws import head_result
from s3_metadata.details import (
    EXPIRATION_HEADER, HEAD_COLUMNS, LEGAL_HOLD_HEADER, ExpirationHeaderError, detail_columns, detail_values,
    head_details, newly_chosen, parse_expiration,
)
from s3_metadata.rows import COLUMNS, VERSIONS_COLUMNS, table_schema

UTC = timezone.utc
DEC_23 = datetime(2012, 12, 23, tzinfo=UTC)


# ------------------------------------------------------------------------------------------------ x-amz-expiration

@pytest.mark.parametrize("value, expected", [
    pytest.param('expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"',
                 (DEC_23, "picture-deletion-rule"), id="aws-documented-example"),
    pytest.param('rule-id="r", expiry-date="Fri, 23 Dec 2012 00:00:00 GMT"', (DEC_23, "r"), id="pairs-in-any-order"),
    pytest.param('expiry-date="Fri, 23 Dec 2012 00:00:00 GMT",rule-id="a"', (DEC_23, "a"), id="no-space-after-comma"),
    pytest.param('  expiry-date = "Fri, 23 Dec 2012 00:00:00 GMT" ,  rule-id = "a"  ', (DEC_23, "a"),
                 id="spaces-around"),
    pytest.param('expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="delete%20old%2Flogs%22x%22"',
                 (DEC_23, 'delete old/logs"x"'), id="rule-id-is-url-decoded"),
    pytest.param('expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="50%25+off"', (DEC_23, "50%+off"),
                 id="plus-is-not-a-space"),
    pytest.param('expiry-date="Fri, 23 Dec 2012 00:00:00 GMT"', (DEC_23, None), id="no-rule-id"),
    pytest.param('Expiry-Date="Fri, 23 Dec 2012 00:00:00 GMT", Rule-ID="a"', (DEC_23, "a"), id="names-any-case"),
    pytest.param('expiry-date="Sun, 23 Dec 2012 01:00:00 +0100", rule-id="a"', (DEC_23, "a"), id="offset-to-utc"),
])
def test_parse_expiration(value, expected):
    assert parse_expiration(value) == expected


@pytest.mark.parametrize("value", [
    pytest.param("", id="empty"),
    pytest.param("NotImplemented", id="directory-bucket-answer"),
    pytest.param('rule-id="a"', id="no-expiry-date"),
    pytest.param('expiry-date="tomorrow", rule-id="a"', id="date-unreadable"),
    pytest.param('expiry-date="Fri, 23 Dec 2012 00:00:00 GMT" rule-id="a"', id="missing-comma"),
    pytest.param('expiry-date=Fri, 23 Dec 2012 00:00:00 GMT, rule-id="a"', id="unquoted"),
    pytest.param('expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="a', id="unterminated-quote"),
])
def test_parse_expiration_refuses_what_it_cannot_read(value):
    with pytest.raises(ExpirationHeaderError):
        parse_expiration(value)


# ------------------------------------------------------------------------------------------------ HEAD -> columns

FULL_HEAD = {
    "ContentLength": 5, "ETag": '"e"', "LastModified": datetime(2024, 5, 1, tzinfo=UTC), "StorageClass": "STANDARD",
    "VersionId": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", "ContentType": "text/csv", "ContentEncoding": "gzip",
    "CacheControl": "max-age=60", "ServerSideEncryption": "aws:kms",
    "SSEKMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/k", "BucketKeyEnabled": True,
    "ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": datetime(2030, 1, 1, 1, tzinfo=UTC),
    "ObjectLockLegalHoldStatus": "ON", "ReplicationStatus": "FAILED",
    "Expiration": 'expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"', "PartsCount": 3,
    "ChecksumCRC32": "AAAAAA==", "ChecksumSHA256": "abc=-3", "ChecksumType": "COMPOSITE",
    "Metadata": {"owner": "data-team", "source": "etl"},
}
FULL_COLUMNS = {
    "version_id": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", "content_type": "text/csv", "content_encoding": "gzip",
    "cache_control": "max-age=60", "server_side_encryption": "aws:kms",
    "sse_kms_key_id": "arn:aws:kms:us-east-1:123456789012:key/k", "bucket_key_enabled": True,
    "object_lock_mode": "COMPLIANCE", "object_lock_retain_until": datetime(2030, 1, 1, 1, tzinfo=UTC),
    "object_lock_legal_hold": True, "replication_status": "FAILED", "expiration_date": DEC_23,
    "expiration_rule_id": "picture-deletion-rule", "parts_count": 3, "checksum_crc32": "AAAAAA==",
    "checksum_crc32c": None, "checksum_crc64nvme": None, "checksum_sha1": None, "checksum_sha256": "abc=-3",
    "user_metadata": {"owner": "data-team", "source": "etl"},
}
PLAIN_COLUMNS = {**dict.fromkeys(HEAD_COLUMNS), "user_metadata": {}}


@pytest.mark.parametrize("response, columns, unreadable", [
    pytest.param(FULL_HEAD, FULL_COLUMNS, (), id="every-header"),
    pytest.param({"ContentLength": 1, "ETag": '"e"'}, PLAIN_COLUMNS, (), id="bare-head-nulls-and-empty-metadata"),
    pytest.param({**FULL_HEAD, "ObjectLockLegalHoldStatus": "OFF"}, {**FULL_COLUMNS, "object_lock_legal_hold": False},
                 (), id="legal-hold-off"),
    pytest.param({**FULL_HEAD, "ObjectLockLegalHoldStatus": "maybe"}, {**FULL_COLUMNS, "object_lock_legal_hold": None},
                 (LEGAL_HOLD_HEADER,), id="legal-hold-unreadable"),
    pytest.param({**FULL_HEAD, "Expiration": "NotImplemented"},
                 {**FULL_COLUMNS, "expiration_date": None, "expiration_rule_id": None}, (EXPIRATION_HEADER,),
                 id="expiration-unreadable-leaves-both-null"),
    pytest.param({**FULL_HEAD, "ObjectLockRetainUntilDate": datetime(2030, 1, 1, 3)},
                 {**FULL_COLUMNS, "object_lock_retain_until": datetime(2030, 1, 1, 3, tzinfo=UTC)}, (),
                 id="naive-retain-until-is-utc"),
    pytest.param({**FULL_HEAD, "BucketKeyEnabled": False}, {**FULL_COLUMNS, "bucket_key_enabled": False}, (),
                 id="bucket-key-disabled"),
])
def test_head_details(response, columns, unreadable):
    assert head_details(head_result(response)) == (columns, unreadable)


def test_head_result_keeps_checksum_algorithm_from_the_checksum_values():
    head = head_result(FULL_HEAD)
    assert head.checksum_algorithm == "CRC32,SHA256"
    assert dict(head.checksums) == {"CRC32": "AAAAAA==", "SHA256": "abc=-3"}


@pytest.mark.parametrize("chosen, head, tags, expected", [
    pytest.param((), FULL_COLUMNS, {"a": "1"}, {}, id="off-adds-nothing"),
    pytest.param(("head",), FULL_COLUMNS, None, FULL_COLUMNS, id="head"),
    pytest.param(("head",), None, None, dict.fromkeys(HEAD_COLUMNS), id="head-failed-all-null"),
    pytest.param(("tags",), FULL_COLUMNS, {"cost-center": "42"}, {"tags": {"cost-center": "42"}},
                 id="tags-alone-leaves-head-columns-out"),
    pytest.param(("tags",), None, {}, {"tags": {}}, id="no-tags-is-an-empty-object"),
    pytest.param(("tags",), None, None, {"tags": None}, id="tags-unknown-is-null"),
    pytest.param(("head", "tags"), FULL_COLUMNS, {"t": "v"}, {**FULL_COLUMNS, "tags": {"t": "v"}}, id="both"),
])
def test_detail_values(chosen, head, tags, expected):
    assert detail_values(chosen, head, tags) == expected


@pytest.mark.parametrize("chosen, expected", [
    pytest.param((), {}, id="off"),
    pytest.param(("tags",), {"tags": "JSON"}, id="tags"),
    pytest.param(("head",), HEAD_COLUMNS, id="head"),
    pytest.param(("head", "tags"), {**HEAD_COLUMNS, "tags": "JSON"}, id="both"),
])
def test_detail_columns(chosen, expected):
    assert detail_columns(chosen) == expected


def test_head_column_types():
    assert {name: kind for name, kind in HEAD_COLUMNS.items() if kind != "STRING"} == {
        "bucket_key_enabled": "BOOLEAN", "object_lock_retain_until": "UTC_DATETIME", "object_lock_legal_hold": "BOOLEAN",
        "expiration_date": "UTC_DATETIME", "parts_count": "INT", "user_metadata": "JSON"}
    assert not set(HEAD_COLUMNS) & set(COLUMNS)


@pytest.mark.parametrize("details, versions, expected", [
    pytest.param((), False, [COLUMNS], id="off-declares-no-detail-column"),
    pytest.param(("tags",), False, [{**COLUMNS, "tags": "JSON"}], id="tags-only"),
    pytest.param(("head", "tags"), True, [{**COLUMNS, **HEAD_COLUMNS, "tags": "JSON"}, VERSIONS_COLUMNS],
                 id="versions-table-carries-no-details"),
])
def test_table_schema_declares_only_the_chosen_details(details, versions, expected):
    assert [table["columns"] for table in table_schema(versions, details)] == expected


@pytest.mark.parametrize("recorded, chosen, expected", [
    pytest.param((), (), (), id="never-chosen"),
    pytest.param((), ("head",), ("head",), id="turned-on"),
    pytest.param(("head",), ("head", "tags"), ("tags",), id="tags-added"),
    pytest.param(("head", "tags"), ("head",), (), id="turned-off-needs-no-resend"),
    pytest.param(("head", "tags"), ("head", "tags"), (), id="unchanged"),
])
def test_newly_chosen(recorded, chosen, expected):
    assert newly_chosen(recorded, chosen) == expected
