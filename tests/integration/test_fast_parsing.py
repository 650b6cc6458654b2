"""The gateway reads ListObjectsV2, ListObjectVersions and HeadObject 200 responses itself; botocore keeps the rest.

Against moto in process: what the gateway returns must equal what a plain boto3 client returns for the same
request (mapped the way the connector maps it), the gateway's own reading must actually have been used, and
the cases botocore handles before parsing (a 200 that is an `<Error>`, a truncated body) must still be retried.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest

from s3_metadata.aws import fast_readers
from s3_metadata.aws import PARSED_HERE, S3Gateway, head_result
from s3_metadata.configuration import parse_configuration
from s3_metadata.rows import listed_object
from tests.support.faults import error_xml

BUCKET = "fast-bucket"
KEYS = ["plain.txt", "a b+c&d", "100% done", "t\tab/new\nline", "d\u00e9j\u00e0/\U0001f600", "folder/", "x" * 1024,
        "tom & jerry <1> 'q' \"dq\""]


def plain_client():
    """A plain boto3 client in a new session, so that the fault injector (and its listing RestoreStatus) applies."""
    return boto3.session.Session().client("s3", region_name="us-east-1")


@pytest.fixture(params=[pytest.param("", id="no-details"), pytest.param("head", id="details")])
def gateway(request, moto_s3, faults) -> S3Gateway:
    moto_s3.create_bucket(BUCKET)
    client = moto_s3.client
    for key in KEYS:
        client.put_object(Bucket=BUCKET, Key=key, Body=b"x", ChecksumAlgorithm="SHA256")
    for key, storage_class in (("cold/archived", "GLACIER"), ("cold/restoring", "GLACIER"),
                               ("cold/restored", "DEEP_ARCHIVE"), ("tiered", "INTELLIGENT_TIERING")):
        moto_s3.put(BUCKET, key, b"y", storage_class=storage_class)
    moto_s3.start_restore(BUCKET, "cold/restoring")
    moto_s3.complete_restore(BUCKET, "cold/restored", datetime.now(timezone.utc) + timedelta(days=3))
    faults.emulate_listing_restore_status(moto_s3.listing_restore)
    client.put_object(Bucket=BUCKET, Key="described", Body=b"z", ContentType="text/csv", CacheControl="no-cache",
                      Metadata={"owner": "team-a"}, ServerSideEncryption="AES256")
    settings = parse_configuration({"bucket": BUCKET, "aws_access_key_id": "testing",
                                    "aws_secret_access_key": "testing", "object_details": request.param})
    return S3Gateway(settings, sleep=lambda seconds: None)


# The HeadResult fields a sync without object details reads; with details it reads every field.
RESTORE_VIEW = ("storage_class", "restore", "archive_status", "size", "e_tag", "last_modified", "checksum_algorithm",
                "checksum_type")


def seen(gateway: S3Gateway, result):
    if gateway.settings.object_details:
        return result
    return tuple(getattr(result, name) for name in RESTORE_VIEW)


@pytest.fixture
def read_here(monkeypatch) -> list[str]:
    """The operations whose 200 response the gateway's handlers read themselves."""
    used: list[str] = []
    for name in ("parse_objects_page", "parse_versions_page", "head_fields"):
        original = getattr(fast_readers, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            result = _original(*args, **kwargs)
            if result is not None:
                used.append(_name)
            return result
        monkeypatch.setattr(fast_readers, name, spy)
    return used


@pytest.mark.parametrize("restore_status", [False, True])
def test_listing_pages_equal_botocore(gateway, read_here, restore_status):
    boto = plain_client()
    extra = {"OptionalObjectAttributes": ["RestoreStatus"]} if restore_status else {}
    token, seen = None, 0
    while True:
        page = gateway.list_page(BUCKET, "", None, token, restore_status=restore_status, max_keys=5)
        request = {"ContinuationToken": token} if token else {}
        theirs = boto.list_objects_v2(Bucket=BUCKET, MaxKeys=5, **request, **extra)
        assert page.objects == [listed_object(entry, restore_status) for entry in theirs.get("Contents", [])]
        assert page.entries == theirs.get("Contents", [])
        assert page.next_token == (theirs.get("NextContinuationToken") if theirs.get("IsTruncated") else None)
        seen += len(page.objects)
        token = page.next_token
        if not token:
            break
    assert seen == len(KEYS) + 5
    assert read_here == ["parse_objects_page"] * 3
    restored = {o.key: o.restore for o in gateway.list_page(BUCKET, "cold/", None, None, restore_status=True).objects}
    assert [restored[k].status for k in ("cold/archived", "cold/restored", "cold/restoring")] == [
        "archived", "restored", "in_progress"]


def test_common_prefixes_equal_botocore(gateway, read_here):
    page = gateway.list_page(BUCKET, "", None, None, delimiter="/")
    theirs = plain_client().list_objects_v2(Bucket=BUCKET, Delimiter="/")
    assert page.common_prefixes == [p["Prefix"] for p in theirs["CommonPrefixes"]]
    assert [o.key for o in page.objects] == [e["Key"] for e in theirs["Contents"]]
    assert read_here == ["parse_objects_page"]


@pytest.mark.parametrize("body", [
    pytest.param(error_xml("InternalError"), id="error-document"),
    pytest.param(b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Contents><Key>a</Key>', id="truncated"),
])
def test_a_bad_200_listing_is_retried_as_botocore_does(gateway, faults, body):
    faults.respond("ListObjectsV2", 200, body=body, when=lambda op, request, number: number == 1)
    page = gateway.list_page(BUCKET, "", None, None)
    assert len(page.objects) == len(KEYS) + 5
    assert gateway.requests["ListObjectsV2"] == 2
    assert gateway.retry_stats.retries == 1


def test_other_operations_keep_botocores_200_error_check(gateway, faults):
    faults.respond("GetBucketVersioning", 200, body=error_xml("InternalError"),
                   when=lambda op, request, number: number == 1)
    assert gateway.bucket_versioning(BUCKET) is None
    assert gateway.requests["GetBucketVersioning"] == 2


@pytest.mark.parametrize("key", ["plain.txt", "a b+c&d", "cold/archived", "cold/restoring", "cold/restored", "tiered",
                                 "described"])
@pytest.mark.parametrize("checksums", [False, True])
def test_head_equals_botocore(gateway, read_here, key, checksums):
    request = {"ChecksumMode": "ENABLED"} if checksums else {}
    theirs = plain_client().head_object(Bucket=BUCKET, Key=key, **request)
    assert seen(gateway, gateway.head_object(BUCKET, key, checksums=checksums)) == seen(gateway, head_result(theirs))
    assert read_here == ["head_fields"]


def test_head_keeps_the_response_metadata(gateway, monkeypatch):
    responses = []
    original = gateway._call

    def keep(*args, **kwargs):
        responses.append(original(*args, **kwargs))
        return responses[-1]
    monkeypatch.setattr(gateway, "_call", keep)
    gateway.head_object(BUCKET, "plain.txt")
    head = responses[-1]  # after the HeadBucket that finds the bucket's region
    theirs = plain_client().head_object(Bucket=BUCKET, Key="plain.txt")["ResponseMetadata"]["HTTPHeaders"]
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert head["ResponseMetadata"]["HTTPHeaders"].keys() == theirs.keys()
    assert PARSED_HERE in head


def test_versions_equal_botocore(gateway, moto_s3, read_here):
    moto_s3.versioned(BUCKET)
    for key in ("a b+c&d", "plain.txt"):
        moto_s3.client.put_object(Bucket=BUCKET, Key=key, Body=b"v2")
        moto_s3.delete(BUCKET, key)
    page = gateway.list_versions_page(BUCKET, "", None, None)
    theirs = plain_client().list_object_versions(Bucket=BUCKET)
    assert page.versions == theirs["Versions"]
    assert page.delete_markers == theirs["DeleteMarkers"]
    assert read_here == ["parse_versions_page"]
    marker = next(v for v in page.delete_markers if v["Key"] == "a b+c&d")
    assert marker["IsLatest"]


def test_botocores_second_parse_of_a_listing_is_skipped_only_when_ours_read_it(gateway, faults, monkeypatch):
    """botocore's 200-error check parses the whole body again; it must not run on a body we read, and must run
    on one we declined (here: a comment, outside the subset), where botocore parses as without us."""
    import botocore.handlers
    checks = []
    original = botocore.handlers._looks_like_special_case_error
    monkeypatch.setattr(botocore.handlers, "_looks_like_special_case_error",
                        lambda status, body: (body and checks.append(status)) or original(status, body))
    gateway.list_page(BUCKET, "", None, None)
    assert checks == []
    declined = _with_comment()
    checks.clear()
    faults.respond("ListObjectsV2", 200, body=declined, when=lambda op, request, number: number == 3)
    page = gateway.list_page(BUCKET, "", None, None)
    assert checks == [200]
    assert page.objects == [listed_object(entry, False) for entry in page.entries] and page.objects


def _with_comment() -> bytes:
    """A real ListObjectsV2 body from moto with an XML comment in it."""
    captured = []
    client = plain_client()
    client.meta.events.register("before-parse.s3.ListObjectsV2",
                                lambda response_dict, **_: captured.append(response_dict["body"]))
    client.list_objects_v2(Bucket=BUCKET)
    return captured[0].replace(b"<Contents>", b"<!-- a comment --><Contents>", 1)
