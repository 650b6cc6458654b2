"""Configuration, state and AWS errors: explained, early, and without leaking secrets."""
from __future__ import annotations

from datetime import timedelta

import boto3
import pytest

from s3_metadata.configuration import ConfigurationError
from s3_metadata.errors import (
    AccessDeniedError, BucketNotFoundError, ClockSkewError, CredentialsError, RoleAssumptionError,
)
from s3_metadata.state import StateError
from tests.conftest import TEST_SECRET


def seed(s3, count: int = 5) -> None:
    s3.create_bucket("test-bucket")
    for i in range(count):
        s3.put("test-bucket", f"f{i}", b"x")
    s3.put("test-bucket", "cold/a", b"x", storage_class="GLACIER")
    s3.put("test-bucket", "cold/b", b"x", storage_class="DEEP_ARCHIVE")


@pytest.mark.parametrize("overrides,key", [
    pytest.param({"bucket": ""}, "bucket", id="no-bucket"),
    pytest.param({"bucket": "s3://test-bucket/x"}, "bucket", id="bucket-url"),
    pytest.param({"aws_secret_access_key": ""}, "aws_secret_access_key", id="half-keys"),
    pytest.param({"max_concurrency": "lots"}, "max_concurrency", id="bad-number"),
    pytest.param({"aws_region": "<YOUR_AWS_REGION>"}, "aws_region", id="placeholder"),
    pytest.param({"include_patterns": "logs/*", "prefix": "data/"}, "include_patterns", id="disjoint-patterns"),
])
def test_bad_configuration_fails_before_any_request(harness, base_config, overrides, key):
    seed(harness.s3)
    result = harness.sync(base_config(**overrides))
    assert isinstance(result.error, ConfigurationError)
    assert result.error.key == key and key in str(result.error) and "Example of a good value" in str(result.error)
    assert sum(harness.faults.requests.values()) == 0


def test_unreadable_state_fails_before_any_request(harness, base_config):
    seed(harness.s3)
    result = harness.sync(base_config(), state={"version": 99, "streams": {}})
    assert isinstance(result.error, StateError)
    assert "newer version" in str(result.error)
    assert sum(harness.faults.requests.values()) == 0
    assert harness.rows() == {}


def test_missing_bucket_is_explained_before_any_row(harness, base_config):
    seed(harness.s3)
    result = harness.sync(base_config(bucket="test-bucket,no-such-bucket"))
    assert isinstance(result.error, BucketNotFoundError)
    assert "no-such-bucket" in str(result.error)
    assert harness.rows() == {}


def test_list_access_denied_names_the_permission(harness, base_config):
    seed(harness.s3)
    harness.faults.respond("ListObjectsV2", 403, code="AccessDenied")
    result = harness.sync(base_config())
    assert isinstance(result.error, AccessDeniedError)
    assert "s3:ListBucket" in str(result.error) and "arn:aws:s3:::test-bucket" in str(result.error)


@pytest.mark.parametrize("code", ["InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"])
def test_bad_credentials_are_explained(harness, base_config, code):
    seed(harness.s3)
    harness.faults.respond("HeadBucket", 403, code=code)
    result = harness.sync(base_config())
    assert isinstance(result.error, CredentialsError)
    assert code in str(result.error)


def probe_listings(faults) -> int:
    """The one-key listings sent to find out why a HEAD failed without an error code."""
    return sum(1 for op, url in faults.urls if op == "ListObjectsV2" and "max-keys=1&" in url)


@pytest.mark.parametrize("code", ["InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"])
def test_wrong_credentials_on_head_bucket_are_called_wrong_credentials(harness, base_config, code):
    """HEAD has no error body: HeadBucket's bare 403 is explained by a listing, which carries the code."""
    seed(harness.s3)
    harness.faults.respond("HeadBucket", 403)
    harness.faults.respond("ListObjectsV2", 403, code=code)
    result = harness.sync(base_config())
    assert isinstance(result.error, CredentialsError), result.error
    assert f"({code})" in str(result.error) and "s3:ListBucket" not in str(result.error)
    assert probe_listings(harness.faults) == 1


def test_bad_credentials_met_by_head_fail_the_sync_instead_of_writing_error_rows(harness, base_config):
    seed(harness.s3)
    harness.faults.respond("HeadObject", 400)
    harness.faults.respond("ListObjectsV2", 400, code="ExpiredToken", when=lambda op, request, n: "max-keys=1&" in
                           request.url)
    result = harness.sync(base_config())
    assert isinstance(result.error, CredentialsError), result.error
    assert "(ExpiredToken)" in str(result.error)
    assert not [row for row in harness.rows().values() if (row["restore_status"] or "").startswith("error:")]


def test_head_errors_become_rows_that_say_why(harness, base_config, capfd):
    seed(harness.s3)
    for i in range(10):
        harness.s3.put("test-bucket", f"cold/denied-{i}", b"x", storage_class="GLACIER")
    harness.faults.respond("HeadObject", 403, when=lambda op, request, n: "/cold/denied-" in request.url
                           or request.url.endswith("/cold/a"))
    result = harness.sync(base_config())
    assert result.ok, result.error
    rows = harness.rows()
    assert rows[("test-bucket", "cold/a")]["restore_status"] == "error:AccessDenied"
    assert rows[("test-bucket", "cold/denied-7")]["restore_status"] == "error:AccessDenied"
    assert rows[("test-bucket", "cold/b")]["restore_status"] == "archived"
    # Eleven bare 403s, one listing to learn that the credentials work and the objects are denied.
    assert probe_listings(harness.faults) == 1
    out = capfd.readouterr().out
    assert "11 objects could not be described by HEAD (AccessDenied: 11)" in out
    # The failed object is tracked, so the next sync tries again and fixes the row.
    harness.faults.clear()
    assert harness.sync(base_config()).ok
    assert harness.rows()[("test-bucket", "cold/a")]["restore_status"] == "archived"


def test_head_that_stays_throttled_is_a_row_to_retry_not_a_failed_sync(harness, base_config, fast_retries):
    seed(harness.s3)
    harness.faults.respond("HeadObject", 503, code="SlowDown",
                           when=lambda op, request, n: request.url.endswith("/cold/a"))
    result = harness.sync(base_config())
    assert result.ok, result.error
    assert harness.rows()[("test-bucket", "cold/a")]["restore_status"] == "error:SlowDown"
    assert harness.rows()[("test-bucket", "cold/b")]["restore_status"] == "archived"
    harness.faults.clear()
    assert harness.sync(base_config()).ok
    assert harness.rows()[("test-bucket", "cold/a")]["restore_status"] == "archived"


def test_clock_skew_fails_at_once_and_says_fix_the_clock(harness, base_config, fast_retries):
    seed(harness.s3)
    harness.faults.respond("ListObjectsV2", 403, code="RequestTimeTooSkewed")
    result = harness.sync(base_config())
    assert isinstance(result.error, ClockSkewError), result.error
    assert "clock" in str(result.error) and "NTP" in str(result.error) and "throttl" not in str(result.error)
    assert harness.faults.requests["ListObjectsV2"] == 1


def test_object_deleted_between_list_and_head_is_not_written(harness, base_config):
    seed(harness.s3)
    harness.faults.respond("HeadObject", 404, when=lambda op, request, n: request.url.endswith("/cold/b"))
    result = harness.sync(base_config())
    assert result.ok, result.error
    assert ("test-bucket", "cold/b") not in harness.rows(include_deleted=True)
    assert ("test-bucket", "cold/a") in harness.rows()


def test_deleted_tracked_restore_is_deleted_from_the_table(harness, base_config):
    seed(harness.s3)
    harness.s3.start_restore("test-bucket", "cold/a")
    harness.s3.age_all("test-bucket", timedelta(days=3))
    assert harness.sync(base_config()).ok
    harness.s3.delete("test-bucket", "cold/a")
    result = harness.sync(base_config())
    assert result.ok and result.deletes == 1
    assert ("test-bucket", "cold/a") not in harness.rows()


def test_buckets_in_two_regions(harness, base_config):
    harness.s3.create_bucket("bucket-east", region="us-east-1")
    harness.s3.create_bucket("bucket-west", region="eu-west-1")
    boto3.client("s3", region_name="eu-west-1").put_object(Bucket="bucket-west", Key="w", Body=b"w")
    harness.s3.put("bucket-east", "e", b"e")
    result = harness.sync(base_config(bucket="bucket-east,bucket-west", aws_region="us-east-1"))
    assert result.ok, result.error
    assert sorted(harness.rows()) == [("bucket-east", "e"), ("bucket-west", "w")]
    west_lists = [url for op, url in harness.faults.urls if op == "ListObjectsV2" and "bucket-west" in url]
    assert west_lists and all("eu-west-1" in url for url in west_lists)


def test_assumed_role_is_used_and_renewed(harness, base_config):
    from s3_metadata.aws import S3Gateway
    from s3_metadata.configuration import parse_configuration
    seed(harness.s3)
    config = base_config(role_arn="arn:aws:iam::123456789012:role/reader", external_id="ext-123")
    assert harness.sync(config).ok
    assert harness.faults.requests["AssumeRole"] == 1
    assert len(harness.rows()) == 7

    gateway = S3Gateway(parse_configuration(config))
    credentials = gateway._session.get_credentials()
    assert credentials.method == "sts-assume-role"
    credentials._expiry_time = credentials._expiry_time - timedelta(hours=2)  # as if the sync ran for two hours
    gateway.list_page("test-bucket", "", None, None)
    assert harness.faults.requests["AssumeRole"] == 3
    assert gateway.requests["AssumeRole"] == 2  # STS attempts are counted with the gateway's own requests


def test_refused_role_is_explained(harness, base_config):
    seed(harness.s3)
    harness.faults.respond("AssumeRole", 403, code="AccessDenied")
    result = harness.sync(base_config(role_arn="arn:aws:iam::123456789012:role/reader"))
    assert isinstance(result.error, RoleAssumptionError)
    assert "arn:aws:iam::123456789012:role/reader" in str(result.error) and "sts:AssumeRole" in str(result.error)


@pytest.mark.parametrize("fault", ["none", "access-denied", "bad-key"])
def test_secrets_never_appear_in_output(harness, base_config, capfd, fault):
    seed(harness.s3)
    if fault == "access-denied":
        harness.faults.respond("ListObjectsV2", 403, code="AccessDenied")
    elif fault == "bad-key":
        harness.faults.respond("HeadBucket", 403, code="SignatureDoesNotMatch")
    config = base_config(aws_session_token="SESSION-TOKEN-SECRET-987", role_arn="", external_id="")
    result = harness.sync(config)
    captured = capfd.readouterr()
    text = captured.out + captured.err + repr(result.error) + str(result.error) + harness.state_path.read_text() \
        if harness.state_path.exists() else captured.out + captured.err + repr(result.error)
    assert TEST_SECRET not in text
    assert "SESSION-TOKEN-SECRET-987" not in text
