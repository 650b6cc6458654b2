"""Unit tests for s3_metadata.retry and s3_metadata.errors: what is retried, how long to wait, and what a
failure tells the user."""
from __future__ import annotations

import random

import pytest

from s3_metadata.errors import (
    AccessDeniedError, AwsError, BucketNotFoundError, ClockSkewError, CredentialsError, EndpointError,
    RetriesExhaustedError, RoleAssumptionError, SyncError, WrongRegionError, answered_by_non_s3, classify_client_error,
    clock_skewed, endpoint_unreachable, gave_up, is_bare, mask_url, no_credentials, not_s3_api, resolve_bare_head,
    resource_arn, retries_exhausted, role_not_sent, role_unavailable, role_unreachable, tls_failure,
)
from s3_metadata.retry import (
    GIVE_UP_AFTER, RetryPolicy, RetryStats, RetryWaves, Streak, after_failure, gives_up, is_retryable, lasting_failure,
)

ROLE = "arn:aws:iam::123456789012:role/fivetran-s3-metadata"


# ---------------------------------------------------------------------------------------------------- retry

@pytest.mark.parametrize("code, status, expected", [
    pytest.param("SlowDown", 503, True, id="slow-down"),
    pytest.param("SlowDown", None, True, id="slow-down-code-only"),
    pytest.param("ServiceUnavailable", 503, True, id="service-unavailable"),
    pytest.param("InternalError", 500, True, id="internal-error"),
    pytest.param("RequestTimeout", 400, True, id="request-timeout-is-400"),
    pytest.param("RequestTimeTooSkewed", 403, False, id="clock-skew-is-not-throttling"),
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


@pytest.mark.parametrize("code, status, expected", [
    pytest.param("InternalError", 500, True, id="internal-error"),
    pytest.param("500", 500, True, id="bare-500"),
    pytest.param("Unknown", 500, True, id="500-without-code"),
    pytest.param("NotImplemented", 501, True, id="not-implemented"),
    pytest.param("501", 501, True, id="bare-501"),
    pytest.param("BadGateway", 502, True, id="502"),
    pytest.param("SlowDown", 503, False, id="slow-down-is-throttling"),
    pytest.param("503", 503, False, id="bare-503-is-throttling"),
    pytest.param("ServiceUnavailable", 503, False, id="service-unavailable-is-throttling"),
    pytest.param("TooManyRequests", 429, False, id="429-is-throttling"),
    pytest.param("AccessDenied", 403, False, id="access-denied-can-differ-per-object"),
    pytest.param("NoSuchKey", 404, False, id="no-such-key"),
    pytest.param("InvalidArgument", 400, False, id="invalid-argument"),
    pytest.param("RequestTimeout", 400, False, id="request-timeout"),
])
def test_lasting_failure(code, status, expected):
    assert lasting_failure(code, status) is expected


def streak(code: str, *subjects: str, status: int | None = 500, failures: int | None = None) -> Streak:
    return Streak(code, status, frozenset(subjects), len(subjects) if failures is None else failures)


@pytest.mark.parametrize("before, code, status, subject, attempt, retryable, after", [
    pytest.param(None, "InternalError", 500, "a", 1, True, streak("InternalError"),
                 id="a-first-attempt-does-not-count"),
    pytest.param(None, "InternalError", 500, "a", 2, True, streak("InternalError", "a"), id="a-failed-retry-counts"),
    pytest.param(streak("InternalError", "a"), "InternalError", 500, "a", 3, True,
                 streak("InternalError", "a", failures=2), id="the-same-object-again-counts-a-failure-not-an-object"),
    pytest.param(streak("InternalError", "a"), "InternalError", 500, "b", 2, True, streak("InternalError", "a", "b"),
                 id="another-object-adds"),
    pytest.param(streak("InternalError", "a", "b"), "500", 500, "c", 2, True, streak("500", "c"),
                 id="another-code-starts-over"),
    pytest.param(streak("InternalError", "a", "b"), "SlowDown", 503, "c", 2, True, None, id="throttling-ends-it"),
    pytest.param(streak("InternalError", "a", "b"), "AccessDenied", 403, "c", 1, False, None,
                 id="a-per-object-answer-ends-it"),
    pytest.param(None, "NotImplemented", 501, "a", 1, False, streak("NotImplemented", "a", status=501),
                 id="not-implemented-counts-at-once"),
])
def test_after_failure(before, code, status, subject, attempt, retryable, after):
    assert after_failure(before, code, status, subject, attempt, retryable) == after


@pytest.mark.parametrize("subjects, failures, expected", [
    pytest.param(0, 0, False, id="none"),
    pytest.param(GIVE_UP_AFTER - 1, GIVE_UP_AFTER - 1, False, id="one-failure-short"),
    pytest.param(GIVE_UP_AFTER, GIVE_UP_AFTER, True, id="enough-objects"),
    pytest.param(2, GIVE_UP_AFTER, True, id="few-objects-in-flight-failing-again-and-again"),
    pytest.param(1, 100, False, id="never-for-one-object-alone"),
])
def test_gives_up(subjects, failures, expected):
    assert gives_up(streak("InternalError", *map(str, range(subjects)), failures=failures)) is expected
    assert not gives_up(None)


def test_gave_up_message_names_the_operation_the_code_and_what_to_do():
    message = gave_up("GetObjectTagging", "InternalError", 500, 6, 4, 2995)
    assert "GetObjectTagging failed with InternalError (HTTP 500) 6 times in a row, on 4 different objects" in message
    assert "2995 requests not sent" in message and "take 'tags' out of object_details" in message


@pytest.mark.parametrize("attempt, wait, first_contact, exhausted", [
    pytest.param(1, 0.1, False, False, id="first-failure-retried"),
    pytest.param(9, 100.0, False, False, id="ninth-within-budget"),
    pytest.param(10, 0.0, False, True, id="max-attempts"),
    pytest.param(3, 300.5, False, True, id="over-total-wait"),
    pytest.param(2, 0.3, True, False, id="first-contact-second-failure-retried"),
    pytest.param(3, 0.3, True, True, id="first-contact-third-failure-stops"),
    pytest.param(2, 2.5, True, True, id="first-contact-over-its-wait"),
])
def test_when_retries_are_exhausted(attempt, wait, first_contact, exhausted):
    assert RetryPolicy().exhausted(attempt, wait, first_contact) is exhausted


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("retries, logged", [
    pytest.param([(0, "SlowDown")], ["SlowDown@0"], id="one-retry-logged"),
    pytest.param([(0, "SlowDown"), (1, "SlowDown"), (30, "SlowDown"), (89, "SlowDown")], ["SlowDown@0"],
                 id="a-wave-logged-once-while-retries-keep-coming"),
    pytest.param([(0, "SlowDown"), (1, "InternalError"), (2, "SlowDown")], ["SlowDown@0", "InternalError@1"],
                 id="each-reason-its-own-wave"),
    pytest.param([(0, "SlowDown"), (59, "SlowDown"), (118, "SlowDown"), (177.5, "SlowDown")], ["SlowDown@0"],
                 id="gaps-under-a-minute-keep-the-wave"),
    pytest.param([(0, "SlowDown"), (60, "SlowDown"), (61, "SlowDown")], ["SlowDown@0", "SlowDown@60"],
                 id="a-quiet-minute-starts-a-new-wave"),
])
def test_retries_are_logged_once_per_wave(retries, logged):
    clock, messages = Clock(), []
    waves = RetryWaves(messages.append, clock)
    for at, reason in retries:
        clock.now = 100.0 + at
        waves.retrying(reason, f"{reason}@{at:g}")
    assert messages == logged


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
    assert f"Could not assume role {ROLE}: AWS STS answered {code} (HTTP {status})" in message
    assert "sts:AssumeRole" in message
    assert "external_id" in message


@pytest.mark.parametrize("code", ["InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken"])
def test_bad_base_credentials_on_assume_role_name_sts_and_the_role(code):
    message = str(classify_client_error("AssumeRole", code, 403, role_arn=ROLE))
    assert message.startswith(f"AWS STS rejected the base credentials used to assume role {ROLE}: ")
    assert f"({code})" in message


@pytest.mark.parametrize("error, contains", [
    pytest.param(role_unreachable(ROLE, "https://sts.eu-west-1.amazonaws.com", "EndpointConnectionError"),
                 [f"Could not assume role {ROLE}: AWS STS (https://sts.eu-west-1.amazonaws.com) could not be reached "
                  "(EndpointConnectionError)", "The S3 endpoint is not the problem", "AWS_ENDPOINT_URL_STS"],
                 id="sts-unreachable"),
    pytest.param(role_unreachable(ROLE, None, "ConnectTimeoutError"),
                 [f"Could not assume role {ROLE}: AWS STS (its regional endpoint) could not be reached"],
                 id="sts-endpoint-unknown"),
    pytest.param(role_unreachable(ROLE, "http://K:S3CR3T@sts.local:8080", "SSLError"),
                 ["AWS STS (http://***@sts.local:8080)"], id="sts-endpoint-masked"),
    pytest.param(role_not_sent(ROLE, "ParamValidationError"),
                 [f"Could not assume role {ROLE}: the AWS STS AssumeRole request could not be sent "
                  "(ParamValidationError)", "role_session_name"], id="sts-request-invalid"),
    pytest.param(role_unavailable(ROLE, "Throttling", 400),
                 [f"Could not assume role {ROLE}: AWS STS kept answering Throttling (HTTP 400) through botocore's "
                  "retries"], id="sts-throttling"),
])
def test_sts_failures_name_sts_and_the_role(error, contains):
    assert type(error) is RoleAssumptionError
    for text in contains:
        assert text in str(error)
    assert "S3CR3T" not in str(error) and "endpoint_url" not in str(error)


@pytest.mark.parametrize("operation", ["ListObjectsV2", "HeadObject", "HeadBucket", "AssumeRole", "ReceiveMessage"])
def test_clock_skew_is_its_own_error(operation):
    error = classify_client_error(operation, "RequestTimeTooSkewed", 403, bucket="b", role_arn=ROLE)
    assert type(error) is ClockSkewError
    assert str(error) == str(clock_skewed(operation))
    assert f"{operation} was rejected because this machine's clock is too far from AWS's (RequestTimeTooSkewed)" \
        in str(error)
    assert "enable NTP" in str(error) and "last checkpoint saved is kept" in str(error)
    assert "throttl" not in str(error)


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
                  "lower max_concurrency"], id="retries-exhausted"),
    pytest.param(retries_exhausted("AssumeRole", "Throttling", 3, 1.0, None), RetriesExhaustedError,
                 ["AssumeRole kept failing with Throttling after 3 attempts and 1.0s"], id="retries-no-bucket"),
    pytest.param(endpoint_unreachable("http://localhost:9000", "EndpointConnectionError", 4), EndpointError,
                 ["Could not reach endpoint_url http://localhost:9000 after 4 attempts (EndpointConnectionError)",
                  "AWS_ENDPOINT_URL"], id="endpoint-unreachable"),
    pytest.param(endpoint_unreachable(None, "ConnectTimeoutError", 10), EndpointError,
                 ["Could not reach AWS S3 after 10 attempts (ConnectTimeoutError)"], id="aws-unreachable"),
    pytest.param(endpoint_unreachable("http://minio:9000", "ConnectionClosedError", 10), EndpointError,
                 ["(ConnectionClosedError)", "if it serves HTTPS, endpoint_url must start with https://"],
                 id="http-to-a-tls-port"),
    pytest.param(no_credentials(), CredentialsError,
                 ["No AWS credentials were found", "aws_access_key_id and aws_secret_access_key"],
                 id="no-credentials"),
])
def test_other_sync_errors(error, cls, contains):
    assert type(error) is cls
    for text in contains:
        assert text in str(error)


@pytest.mark.parametrize("error", [
    pytest.param(retries_exhausted("HeadObject", "SlowDown", 10, 42.25, "b"), id="retries-exhausted"),
    pytest.param(endpoint_unreachable("http://localhost:9000", "EndpointConnectionError", 4), id="unreachable"),
])
def test_no_message_promises_a_checkpoint(error):
    """Whether a checkpoint was committed is the sync's to say; these messages cannot know it."""
    assert "checkpoint" not in str(error) and "resumes" not in str(error)


def test_retries_exhausted_on_a_server_fault_does_not_blame_throttling():
    message = str(retries_exhausted("ListObjectsV2", "InternalError", 10, 120.0, "b", 500))
    assert "HTTP 500 is a fault of the server, not throttling" in message and "max_concurrency" not in message
    assert "lower max_concurrency" in str(retries_exhausted("ListObjectsV2", "SlowDown", 10, 120.0, "b", 503))


def test_retries_exhausted_keeps_the_last_failure():
    error = retries_exhausted("HeadObject", "SlowDown", 10, 1.0, "b", 503)
    assert (error.code, error.status) == ("SlowDown", 503)


# ------------------------------------------------------------------------------------------ HEAD without a code

@pytest.mark.parametrize("code, status, expected", [
    pytest.param("403", 403, True, id="head-403"),
    pytest.param("400", 400, True, id="head-400"),
    pytest.param("", 404, True, id="empty-code"),
    pytest.param("Unknown", 500, True, id="unknown"),
    pytest.param("AccessDenied", 403, False, id="real-code"),
    pytest.param("404", 403, False, id="code-is-another-status"),
])
def test_is_bare(code, status, expected):
    assert is_bare(code, status) is expected


@pytest.mark.parametrize("code, status, probe, expected", [
    pytest.param("403", 403, None, "AccessDenied", id="403-credentials-work"),
    pytest.param("403", 403, "AccessDenied", "AccessDenied", id="403-list-denied-too"),
    pytest.param("403", 403, "InvalidAccessKeyId", "InvalidAccessKeyId", id="403-wrong-key"),
    pytest.param("403", 403, "SignatureDoesNotMatch", "SignatureDoesNotMatch", id="403-wrong-secret"),
    pytest.param("400", 400, "ExpiredToken", "ExpiredToken", id="400-expired-token"),
    pytest.param("403", 403, "RequestTimeTooSkewed", "RequestTimeTooSkewed", id="403-clock-skew"),
    pytest.param("400", 400, "AuthorizationHeaderMalformed", "AuthorizationHeaderMalformed", id="400-wrong-region"),
    pytest.param("404", 404, "NoSuchBucket", "NoSuchBucket", id="head-bucket-404-no-bucket"),
    pytest.param("400", 400, None, "400", id="400-credentials-work-sse-c"),
    pytest.param("404", 404, None, "404", id="404-credentials-work"),
    pytest.param("403", 403, "SlowDown", "403", id="403-probe-throttled-shows-nothing"),
    pytest.param("403", 403, "InvalidArgument", "403", id="403-probe-other-code-shows-nothing"),
    pytest.param("AccessDenied", 403, "InvalidAccessKeyId", "AccessDenied", id="real-code-is-kept"),
])
def test_resolve_bare_head(code, status, probe, expected):
    assert resolve_bare_head(code, status, probe) == expected


# ------------------------------------------------------------------------------------------ endpoints

@pytest.mark.parametrize("url, expected", [
    pytest.param("http://KEY:SECRET@minio:9000", "http://***@minio:9000", id="key-and-secret"),
    pytest.param("https://user@host/path?x=1", "https://***@host/path?x=1", id="user-only"),
    pytest.param("https://a:b@c@host:1", "https://***@host:1", id="at-in-password"),
    pytest.param("http://localhost:9000", "http://localhost:9000", id="none"),
    pytest.param("http://KEY:abc/def+g@minio:9000", "http://***@minio:9000", id="secret-with-slash"),
    pytest.param("https://s3.example.com/p@th", "https://***@th", id="at-in-path-is-masked-too"),
    pytest.param("minio:9000", "minio:9000", id="no-scheme"),
])
def test_mask_url(url, expected):
    assert mask_url(url) == expected


@pytest.mark.parametrize("make", [
    pytest.param(lambda url: endpoint_unreachable(url, "ConnectionClosedError", 3), id="unreachable"),
    pytest.param(lambda url: tls_failure(url, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), id="tls-scheme"),
    pytest.param(lambda url: tls_failure(url, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed"), id="tls-certificate"),
    pytest.param(lambda url: not_s3_api(url, "ListObjectsV2", 404, "text/html"), id="not-s3"),
    pytest.param(lambda url: role_unreachable(ROLE, url, "EndpointConnectionError"), id="sts"),
])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_endpoint_user_info_never_appears(make, scheme):
    message = str(make(f"{scheme}://AKIAKEY:Very+Secret/1@minio.internal:9000"))
    assert "Very+Secret" not in message and "AKIAKEY" not in message
    assert "***@minio.internal:9000" in message


@pytest.mark.parametrize("endpoint, detail, contains", [
    pytest.param("https://minio:9000", "SSL validation failed for https://minio:9000/b [SSL: WRONG_VERSION_NUMBER] "
                 "wrong version number (_ssl.c:1006)",
                 ["endpoint_url https://minio:9000 starts with https://, but the server there speaks plain HTTP",
                  "Use http://minio:9000"], id="https-to-plain-http"),
    pytest.param(None, "[SSL: WRONG_VERSION_NUMBER] wrong version number",
                 ["The TLS handshake with AWS S3 got a plain HTTP answer", "HTTPS_PROXY"], id="proxy-speaks-http"),
    pytest.param("https://minio:9000", "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed",
                 ["The TLS certificate of endpoint_url https://minio:9000 is not trusted", "AWS_CA_BUNDLE"],
                 id="self-signed"),
    pytest.param(None, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer",
                 ["The TLS certificate of AWS S3 is not trusted", "proxy's CA bundle"], id="inspecting-proxy"),
])
def test_tls_failures_that_retrying_cannot_fix(endpoint, detail, contains):
    error = tls_failure(endpoint, detail)
    assert type(error) is EndpointError
    for text in contains:
        assert text in str(error)


@pytest.mark.parametrize("detail", [
    pytest.param("[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol", id="eof"),
    pytest.param("The read operation timed out", id="timeout"),
])
def test_other_tls_failures_are_network_failures(detail):
    assert tls_failure("https://minio:9000", detail) is None


@pytest.mark.parametrize("code, status, content_type, expected", [
    pytest.param("", 404, "text/html", True, id="html-404"),
    pytest.param("500", 500, "application/json", True, id="json-200-became-500"),
    pytest.param("403", 403, "text/html; charset=utf-8", True, id="html-403-block-page"),
    pytest.param("400", 400, "text/plain", True, id="plain-400-http-to-https-port"),
    pytest.param("NoSuchBucket", 404, "application/xml", False, id="s3-error"),
    pytest.param("404", 404, "application/xml", False, id="xml-without-code"),
    pytest.param("503", 503, "text/html", False, id="load-balancer-503-is-retried"),
    pytest.param("502", 502, "text/html", False, id="bad-gateway-is-retried"),
    pytest.param("429", 429, "application/json", False, id="429-is-retried"),
    pytest.param("500", 500, "", False, id="no-content-type"),
    pytest.param("SlowDown", 503, "text/html", False, id="real-code"),
])
def test_answered_by_non_s3(code, status, content_type, expected):
    headers = {"content-type": content_type} if content_type else {}
    assert answered_by_non_s3(code, status, headers) is expected


@pytest.mark.parametrize("endpoint, contains, absent", [
    pytest.param("http://localhost:9001", ["endpoint_url http://localhost:9001 answers but is not an S3 API: "
                                           "ListObjectsV2 got HTTP 404, text/html", "If the server serves HTTPS"],
                 [], id="custom-http"),
    pytest.param("https://console.example", ["endpoint_url https://console.example answers but is not an S3 API"],
                 ["If the server serves HTTPS"], id="custom-https"),
    pytest.param(None, ["ListObjectsV2 got an answer that is not from S3 (HTTP 404, text/html", "proxy"],
                 ["endpoint_url"], id="aws-behind-a-proxy"),
])
def test_not_s3_api(endpoint, contains, absent):
    message = str(not_s3_api(endpoint, "ListObjectsV2", 404, "text/html"))
    for text in contains:
        assert text in message
    for text in absent:
        assert text not in message


@pytest.mark.parametrize("cls", [
    CredentialsError, AccessDeniedError, BucketNotFoundError, WrongRegionError, EndpointError, RoleAssumptionError,
    RetriesExhaustedError, AwsError, ClockSkewError,
])
def test_every_error_is_a_sync_error(cls):
    """run_sync's callers catch SyncError to show the message instead of a traceback."""
    assert issubclass(cls, SyncError)
    assert issubclass(cls, Exception)
