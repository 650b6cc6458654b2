"""Unit tests for s3_metadata.retry and s3_metadata.errors: what is retried, how long to wait, and what a
failure tells the user."""
from __future__ import annotations

import random

import pytest

from s3_metadata.errors import (
    AccessDeniedError, AwsError, BucketNotFoundError, CredentialsError, EndpointError, RetriesExhaustedError,
    RoleAssumptionError, SyncError, WrongRegionError, classify_client_error, endpoint_unreachable, no_credentials,
    resource_arn, retries_exhausted,
)
from s3_metadata.retry import RetryPolicy, RetryStats, is_retryable

ROLE = "arn:aws:iam::123456789012:role/fivetran-s3-metadata"


# ---------------------------------------------------------------------------------------------------- retry

@pytest.mark.parametrize("code, status, expected", [
    pytest.param("SlowDown", 503, True, id="slow-down"),
    pytest.param("SlowDown", None, True, id="slow-down-code-only"),
    pytest.param("ServiceUnavailable", 503, True, id="service-unavailable"),
    pytest.param("InternalError", 500, True, id="internal-error"),
    pytest.param("RequestTimeout", 400, True, id="request-timeout-is-400"),
    pytest.param("RequestTimeTooSkewed", 403, True, id="clock-skew-is-403"),
    pytest.param("Throttling", 400, True, id="sts-throttling"),
    pytest.param("ThrottlingException", 400, True, id="throttling-exception"),
    pytest.param("TooManyRequestsException", 429, True, id="too-many-requests"),
    pytest.param("OperationAborted", 409, True, id="operation-aborted"),
    pytest.param("503", 503, True, id="head-503-code-is-status"),
    pytest.param(None, 429, True, id="status-429-without-code"),
    pytest.param(None, 500, True, id="status-500"),
    pytest.param(None, 502, True, id="status-502"),
    pytest.param(None, 504, True, id="status-504"),
    pytest.param("Unknown", 503, True, id="unknown-code-retryable-status"),
    pytest.param("AccessDenied", 403, False, id="access-denied"),
    pytest.param("NoSuchBucket", 404, False, id="no-such-bucket"),
    pytest.param("InvalidAccessKeyId", 403, False, id="bad-key"),
    pytest.param("PermanentRedirect", 301, False, id="redirect"),
    pytest.param("404", 404, False, id="not-found"),
    pytest.param(None, 400, False, id="plain-400"),
    pytest.param(None, None, False, id="nothing-known"),
    pytest.param("slowdown", 400, False, id="codes-are-case-sensitive"),
    pytest.param(None, 501, False, id="501-not-implemented"),
])
def test_is_retryable(code, status, expected):
    assert is_retryable(code, status) is expected


@pytest.mark.parametrize("policy", [
    pytest.param(RetryPolicy(), id="default"),
    pytest.param(RetryPolicy(base_delay=1.0, max_delay=5.0), id="low-cap"),
    pytest.param(RetryPolicy(base_delay=0.0005, max_delay=0.005), id="test-speed"),
    pytest.param(RetryPolicy(base_delay=0.0, max_delay=10.0), id="zero-base"),
])
@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in (0, 1, 42)])
def test_delay_stays_within_full_jitter_bounds(policy, seed):
    rng = random.Random(seed)
    for attempt in range(1, 64):
        ceiling = min(policy.max_delay, policy.base_delay * 2 ** attempt)
        delays = [policy.delay(attempt, rng) for _ in range(50)]
        assert all(0.0 <= d <= ceiling for d in delays), (attempt, ceiling, max(delays))


def test_delay_uses_the_whole_jitter_range():
    """Full jitter: draws spread over [0, ceiling], not clustered at the cap (that would retry in lockstep)."""
    policy = RetryPolicy(base_delay=0.1, max_delay=20.0)
    rng = random.Random(7)
    delays = [policy.delay(10, rng) for _ in range(2000)]  # ceiling min(20, 102.4) = 20
    assert min(delays) < 1.0
    assert max(delays) > 19.0
    assert 8.0 < sum(delays) / len(delays) < 12.0


@pytest.mark.parametrize("attempt, ceiling", [
    pytest.param(1, 0.2, id="first-retry"),
    pytest.param(3, 0.8, id="third"),
    pytest.param(7, 12.8, id="seventh"),
    pytest.param(8, 20.0, id="capped"),
])
def test_delay_ceiling_grows_exponentially_then_caps(attempt, ceiling):
    class Top(random.Random):
        def uniform(self, a, b):  # the largest draw full jitter can make
            return b
    assert RetryPolicy().delay(attempt, Top()) == pytest.approx(ceiling)


def test_delay_is_reproducible_with_a_seed():
    policy = RetryPolicy()
    first = [policy.delay(a, random.Random(3)) for a in range(1, 10)]
    second = [policy.delay(a, random.Random(3)) for a in range(1, 10)]
    assert first == second


def test_retry_stats_record():
    stats = RetryStats()
    for seconds in (0.5, 1.25, 0.0):
        stats.record(seconds)
    assert (stats.retries, stats.waited) == (3, 1.75)
    assert "_lock" not in repr(stats)


# ---------------------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("code, contains", [
    pytest.param("InvalidAccessKeyId", ["AWS does not recognise the access key (InvalidAccessKeyId)",
                                        "aws_access_key_id", "default AWS credential chain"], id="invalid-key-id"),
    pytest.param("InvalidClientTokenId", ["does not recognise the access key"], id="sts-invalid-token-id"),
    pytest.param("SignatureDoesNotMatch", ["request signature (SignatureDoesNotMatch)", "aws_secret_access_key",
                                           "does not belong to aws_access_key_id"], id="signature"),
    pytest.param("ExpiredToken", ["expired or invalid (ExpiredToken)", "aws_session_token", "role_arn"],
                 id="expired-token"),
    pytest.param("ExpiredTokenException", ["expired or invalid (ExpiredTokenException)"], id="expired-token-exc"),
    pytest.param("InvalidToken", ["expired or invalid (InvalidToken)"], id="invalid-token"),
])
@pytest.mark.parametrize("operation", ["ListObjectsV2", "HeadObject", "HeadBucket", "AssumeRole"])
def test_credential_errors(operation, code, contains):
    """Bad credentials are explained the same way whatever call met them (AssumeRole included)."""
    error = classify_client_error(operation, code, 403, bucket="my-bucket", role_arn=ROLE)
    assert type(error) is CredentialsError
    for text in contains:
        assert text in str(error)


@pytest.mark.parametrize("operation, code, status, permission, resource", [
    pytest.param("ListObjectsV2", "AccessDenied", 403, "s3:ListBucket", "arn:aws:s3:::my-bucket.", id="list"),
    pytest.param("HeadBucket", "403", 403, "s3:ListBucket", "arn:aws:s3:::my-bucket.", id="head-bucket-bare-403"),
    pytest.param("HeadObject", "AccessDenied", 403, "s3:GetObject", "arn:aws:s3:::my-bucket/*", id="head-object"),
    pytest.param("HeadObject", "403", 403, "s3:GetObject", "arn:aws:s3:::my-bucket/*", id="head-object-bare-403"),
    pytest.param("GetBucketLocation", "AccessDenied", 403, "s3:GetBucketLocation", "arn:aws:s3:::my-bucket.",
                 id="bucket-location"),
    pytest.param("ListObjectsV2", "AllAccessDisabled", 403, "s3:ListBucket", "arn:aws:s3:::my-bucket.",
                 id="all-access-disabled"),
    pytest.param("ListObjectsV2", "SomethingNew", 403, "s3:ListBucket", "arn:aws:s3:::my-bucket.",
                 id="any-403-is-access-denied"),
    pytest.param("ReceiveMessage", "AccessDenied", 403, "sqs:ReceiveMessage", "arn:aws:s3:::my-bucket.",
                 id="sqs"),
    pytest.param("MadeUpOperation", "AccessDenied", 403, "the permission for MadeUpOperation",
                 "arn:aws:s3:::my-bucket.", id="unknown-operation"),
])
def test_access_denied(operation, code, status, permission, resource):
    error = classify_client_error(operation, code, status, bucket="my-bucket")
    message = str(error)
    assert type(error) is AccessDeniedError
    assert f"Access denied on {operation} for bucket 'my-bucket' ({code})" in message
    assert f"the credentials need {permission} on {resource}" in message
    assert "IAM policy" in message


def test_access_denied_on_list_does_not_name_object_arn():
    """s3:ListBucket is granted on the bucket ARN itself; naming `/*` would send users to the wrong policy line."""
    message = str(classify_client_error("ListObjectsV2", "AccessDenied", 403, bucket="my-bucket"))
    assert "arn:aws:s3:::my-bucket/*" not in message


def test_access_denied_without_bucket():
    message = str(classify_client_error("GetCallerIdentity", "AccessDenied", 403))
    assert "the credentials need sts:GetCallerIdentity on the resource" in message
    assert "for bucket" not in message


@pytest.mark.parametrize("code, status", [
    pytest.param("AccessDenied", 403, id="access-denied"),
    pytest.param("InvalidParameterValue", 400, id="bad-parameter"),
    pytest.param("RegionDisabledException", 403, id="region-disabled"),
])
def test_assume_role_refused(code, status):
    error = classify_client_error("AssumeRole", code, status, role_arn=ROLE)
    message = str(error)
    assert type(error) is RoleAssumptionError
    assert f"Could not assume role {ROLE} ({code})" in message
    assert "sts:AssumeRole" in message
    assert "external_id" in message


@pytest.mark.parametrize("operation, code, status", [
    pytest.param("ListObjectsV2", "NoSuchBucket", 404, id="list-no-such-bucket"),
    pytest.param("HeadBucket", "404", 404, id="head-bucket-404"),
    pytest.param("HeadBucket", "NotFound", 404, id="head-bucket-not-found"),
    pytest.param("GetBucketLocation", "NoSuchBucket", 404, id="location"),
    pytest.param("HeadObject", "NoSuchBucket", 404, id="head-object-no-such-bucket"),
])
def test_bucket_not_found(operation, code, status):
    error = classify_client_error(operation, code, status, bucket="missing-bucket")
    assert type(error) is BucketNotFoundError
    assert f"Bucket 'missing-bucket' does not exist ({code})" in str(error)
    assert "endpoint_url" in str(error)


def test_404_on_head_object_is_not_a_missing_bucket():
    """An object deleted between LIST and HEAD answers 404 too; that must not claim the bucket is gone."""
    error = classify_client_error("HeadObject", "404", 404, bucket="my-bucket")
    assert type(error) is AwsError


@pytest.mark.parametrize("operation, code, status", [
    pytest.param("ListObjectsV2", "PermanentRedirect", 301, id="permanent-redirect"),
    pytest.param("HeadBucket", "301", 301, id="head-bucket-301"),
    pytest.param("ListObjectsV2", "AuthorizationHeaderMalformed", 400, id="authorization-header-malformed"),
    pytest.param("ListObjectsV2", "TemporaryRedirect", 307, id="temporary-redirect"),
    pytest.param("ListObjectsV2", "Whatever", 307, id="any-307"),
])
def test_wrong_region(operation, code, status):
    error = classify_client_error(operation, code, status, bucket="my-bucket")
    assert type(error) is WrongRegionError
    assert f"{operation} for bucket 'my-bucket' was sent to the wrong region or endpoint ({code})" in str(error)
    assert "aws_region" in str(error)


@pytest.mark.parametrize("operation, code, status, bucket, expected", [
    pytest.param("ListObjectsV2", "InvalidArgument", 400, "my-bucket",
                 "ListObjectsV2 for bucket 'my-bucket' failed with InvalidArgument (HTTP 400).", id="invalid-argument"),
    pytest.param("HeadObject", "MethodNotAllowed", 405, "b1", "HeadObject for bucket 'b1' failed with "
                 "MethodNotAllowed (HTTP 405).", id="method-not-allowed"),
    pytest.param("GetCallerIdentity", "Weird", None, None, "GetCallerIdentity failed with Weird (HTTP None).",
                 id="no-bucket-no-status"),
])
def test_unknown_codes(operation, code, status, bucket, expected):
    error = classify_client_error(operation, code, status, bucket=bucket)
    assert type(error) is AwsError
    assert str(error) == expected


@pytest.mark.parametrize("operation, bucket, expected", [
    pytest.param("ListObjectsV2", "b", "arn:aws:s3:::b", id="bucket-level"),
    pytest.param("HeadObject", "b", "arn:aws:s3:::b/*", id="object-level"),
    pytest.param("AssumeRole", "b", "the resource", id="sts"),
    pytest.param("GetCallerIdentity", None, "the resource", id="sts-no-bucket"),
    pytest.param("ListObjectsV2", None, "the resource", id="no-bucket"),
])
def test_resource_arn(operation, bucket, expected):
    assert resource_arn(operation, bucket) == expected


@pytest.mark.parametrize("error, cls, contains", [
    pytest.param(retries_exhausted("ListObjectsV2", "SlowDown", 10, 42.25, "my-bucket"), RetriesExhaustedError,
                 ["ListObjectsV2 for bucket 'my-bucket' kept failing with SlowDown after 10 attempts and 42.2s",
                  "last checkpoint intact", "lower max_concurrency"], id="retries-exhausted"),
    pytest.param(retries_exhausted("AssumeRole", "Throttling", 3, 1.0, None), RetriesExhaustedError,
                 ["AssumeRole kept failing with Throttling after 3 attempts and 1.0s"], id="retries-no-bucket"),
    pytest.param(endpoint_unreachable("http://localhost:9000", "connection refused", 4), EndpointError,
                 ["Could not reach http://localhost:9000 after 4 attempts (connection refused)", "endpoint_url"],
                 id="endpoint-unreachable"),
    pytest.param(no_credentials(), CredentialsError,
                 ["No AWS credentials were found", "aws_access_key_id and aws_secret_access_key"],
                 id="no-credentials"),
])
def test_other_sync_errors(error, cls, contains):
    assert type(error) is cls
    for text in contains:
        assert text in str(error)


@pytest.mark.parametrize("cls", [
    CredentialsError, AccessDeniedError, BucketNotFoundError, WrongRegionError, EndpointError, RoleAssumptionError,
    RetriesExhaustedError, AwsError,
])
def test_every_error_is_a_sync_error(cls):
    """run_sync's callers catch SyncError to show the message instead of a traceback."""
    assert issubclass(cls, SyncError)
    assert issubclass(cls, Exception)
