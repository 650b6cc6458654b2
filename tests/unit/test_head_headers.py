"""s3_metadata.head_headers must read HeadObject headers as botocore does, or decline.

Each set of headers goes through botocore's RestXMLParser for HeadObject (with its default dateutil timestamps and
with the connector's fast parser) and through `head_fields`; `aws.head_result` maps both, and the results must be
equal. Where botocore fails, `head_fields` must decline.
"""
from __future__ import annotations

from datetime import datetime, timezone

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import RestXMLParser, create_parser
from botocore.utils import lowercase_dict

from s3_metadata.aws import HEAD_DETAIL_MEMBERS, HEAD_MEMBERS, HeadResult, head_result
from s3_metadata.head_headers import head_fields, http_date, user_metadata
from s3_metadata.timestamps import fast_timestamp_parser

SHAPE = botocore.session.get_session().get_service_model("s3").operation_model("HeadObject").output_shape
MEMBERS = {name: (member.serialization["name"].lower(), member.type_name) for name, member in SHAPE.members.items()
           if member.serialization.get("location") == "header"
           and (name in HEAD_MEMBERS or name.startswith("Checksum"))}
# With object_details chosen, the detail members are read too (and the x-amz-meta-* map).
EVERY_MEMBER = {name: (member.serialization["name"].lower(), member.type_name) for name, member in SHAPE.members.items()
                if member.serialization.get("location") == "header"
                and (name in HEAD_MEMBERS | HEAD_DETAIL_MEMBERS or name.startswith("Checksum"))}
# The HeadResult fields a sync without object details reads.
RESTORE_VIEW = ("storage_class", "restore", "archive_status", "size", "e_tag", "last_modified", "checksum_algorithm",
                "checksum_type")
PARSERS = {"dateutil": create_parser("rest-xml"), "fast": RestXMLParser(timestamp_parser=fast_timestamp_parser)}
BASE = {"Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT", "ETag": '"9b2cf535f27731c974343645a3985328"',
        "Content-Length": "1234", "Content-Type": "binary/octet-stream", "Accept-Ranges": "bytes",
        "x-amz-request-id": "TX", "x-amz-id-2": "ID", "Date": "Sat, 21 Nov 2026 21:52:12 GMT"}
CHECKSUMS = {f"x-amz-checksum-{name}": "AAAA" for name in
             ("crc32", "crc32c", "crc64nvme", "sha1", "sha256", "sha512", "md5", "xxhash64", "xxhash3", "xxhash128")}


def headers(**changes: str | None) -> dict[str, str]:
    values = {**BASE, **{name.replace("_", "-"): value for name, value in changes.items()}}
    return {name: value for name, value in values.items() if value is not None}


CASES = {
    "standard": headers(),
    "glacier-archived": headers(x_amz_storage_class="GLACIER"),
    "restore-in-progress": headers(x_amz_storage_class="DEEP_ARCHIVE", x_amz_restore='ongoing-request="true"'),
    "restored": headers(x_amz_storage_class="GLACIER",
                        x_amz_restore='ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'),
    "intelligent-tiering-archive": headers(x_amz_storage_class="INTELLIGENT_TIERING",
                                           x_amz_archive_status="DEEP_ARCHIVE_ACCESS"),
    "every-checksum": {**headers(x_amz_checksum_type="COMPOSITE"), **CHECKSUMS},
    "one-checksum": headers(x_amz_checksum_crc64nvme="AAAAAAAAAAA=", x_amz_checksum_type="FULL_OBJECT"),
    "empty-checksum": headers(x_amz_checksum_sha256=""),
    "multipart-etag": headers(ETag='"d41d8cd98f00b204e9800998ecf8427e-12"'),
    "etag-missing": headers(ETag=None),
    "content-length-missing": headers(Content_Length=None),
    "content-length-zero-and-huge": headers(Content_Length=str(5 * 1024 ** 4)),
    "last-modified-missing": headers(Last_Modified=None),
    "lower-case-names": {name.lower(): value for name, value in headers(x_amz_storage_class="GLACIER").items()},
    "every-weekday-and-month": headers(Last_Modified="Sun, 29 Feb 2032 23:59:59 GMT"),
    "wrong-weekday": headers(Last_Modified="Mon, 21 Oct 2015 07:28:00 GMT"),
    "rfc-850-date": headers(Last_Modified="Wednesday, 21-Oct-15 07:28:00 GMT"),
    "asctime-date": headers(Last_Modified="Wed Oct 21 07:28:00 2015"),
    "iso-date": headers(Last_Modified="2015-10-21T07:28:00.000Z"),
    "empty-storage-class": headers(x_amz_storage_class=""),
    "unicode-restore": headers(x_amz_restore='ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'),
    "every-detail": headers(x_amz_version_id="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", Content_Encoding="gzip",
                            Cache_Control="max-age=60", x_amz_server_side_encryption="aws:kms",
                            x_amz_server_side_encryption_aws_kms_key_id="arn:aws:kms:us-east-1:1:key/k",
                            x_amz_server_side_encryption_bucket_key_enabled="true", x_amz_object_lock_mode="GOVERNANCE",
                            x_amz_object_lock_retain_until_date="2030-01-01T00:00:00.000Z",
                            x_amz_object_lock_legal_hold="ON", x_amz_replication_status="COMPLETED",
                            x_amz_expiration='expiry-date="Fri, 23 Dec 2030 00:00:00 GMT", rule-id="r%201"',
                            x_amz_mp_parts_count="3", x_amz_meta_owner="team-a", x_amz_meta_empty=""),
    "bucket-key-false": headers(x_amz_server_side_encryption_bucket_key_enabled="false"),
    "metadata-names-in-mixed-case": headers(X_Amz_Meta_Color="red", x_amz_meta_Size_Class="L", X_AMZ_META_UP="u"),
}


def botocore_head(raw: dict[str, str], timestamps: str) -> dict:
    response = {"headers": HeadersDict(raw), "body": b"", "status_code": 200}
    return PARSERS[timestamps].parse(response, SHAPE)


def restore_view(result: HeadResult) -> tuple:
    return tuple(getattr(result, name) for name in RESTORE_VIEW)


@pytest.mark.parametrize("timestamps", ["dateutil", "fast"])
@pytest.mark.parametrize("raw", list(CASES.values()), ids=list(CASES))
def test_head_fields_equal_botocore(raw, timestamps):
    """Without details: the fields the sync reads are botocore's."""
    fields = head_fields(lowercase_dict(HeadersDict(raw)), MEMBERS)
    assert fields is not None
    assert restore_view(head_result(fields)) == restore_view(head_result(botocore_head(raw, timestamps)))
    parsed = botocore_head(raw, timestamps)
    for member, value in fields.items():
        expected = parsed[member]
        if isinstance(expected, datetime):
            expected = expected.astimezone(timezone.utc)
        assert value == expected, member
    assert set(fields) == {m for m in MEMBERS if m in parsed}


@pytest.mark.parametrize("timestamps", ["dateutil", "fast"])
@pytest.mark.parametrize("raw", list(CASES.values()), ids=list(CASES))
def test_every_header_equals_botocore_with_details(raw, timestamps):
    """With details: every header member and the user metadata, as botocore reads them, field by field."""
    lowered = lowercase_dict(HeadersDict(raw))
    fields = head_fields(lowered, EVERY_MEMBER)
    assert fields is not None
    fields["Metadata"] = user_metadata(HeadersDict(raw))
    assert head_result(fields) == head_result(botocore_head(raw, timestamps))


def test_user_metadata_names_keep_the_case_s3_sent():
    """botocore's Metadata keeps each name as sent (`X-Amz-Meta-Color: red` is {"Color": "red"}); a repeated name
    arrives from urllib3 joined with `, `, in the case of its first appearance."""
    raw = HeadersDict(CASES["metadata-names-in-mixed-case"])
    assert user_metadata(raw) == {"Color": "red", "Size-Class": "L", "UP": "u"}
    assert user_metadata(raw) == botocore_head(CASES["metadata-names-in-mixed-case"], "dateutil")["Metadata"]


@pytest.mark.parametrize("raw", [
    pytest.param(headers(Content_Length="many"), id="content-length-not-a-number"),
    pytest.param(headers(Content_Length=""), id="content-length-empty"),
    pytest.param(headers(Last_Modified="not a date"), id="last-modified-garbage"),
    pytest.param(headers(Last_Modified="Wed, 31 Feb 2015 07:28:00 GMT"), id="no-such-day"),
])
def test_values_botocore_fails_on_are_declined(raw):
    assert head_fields(lowercase_dict(HeadersDict(raw)), MEMBERS) is None
    with pytest.raises(Exception):
        head_result(botocore_head(raw, "dateutil"))


def test_http_date_by_hand():
    assert http_date("Wed, 21 Oct 2015 07:28:00 GMT") == datetime(2015, 10, 21, 7, 28, tzinfo=timezone.utc)
    assert http_date("Wed, 21 Oct 2015 07:28:00 GMT").tzinfo is timezone.utc


def test_the_members_read_are_exactly_what_head_result_reads():
    """The gateway reads only these members (plus every Checksum* one, and the metadata with details), so they must
    be what head_result asks a response for: nothing it needs is missed, nothing it ignores can fail a HEAD."""
    asked: set[str] = set()

    class Recording(dict):
        def get(self, name, default=None):
            asked.add(name)
            return default

    head_result(Recording())
    assert asked == HEAD_MEMBERS | HEAD_DETAIL_MEMBERS | {"Metadata"}
    assert all(SHAPE.members[name].serialization.get("location") == "header" for name in HEAD_DETAIL_MEMBERS)


def test_members_cover_what_head_result_reads():
    """head_result reads these members (every Checksum* one for the algorithm list); all come from headers."""
    assert HEAD_MEMBERS <= set(MEMBERS)
    assert {m for m in SHAPE.members if m.startswith("Checksum")} <= set(MEMBERS)
