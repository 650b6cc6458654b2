"""The gateway's envelope around single calls, against moto with faults injected at botocore's before-send:
what a HEAD's failure becomes, how the real cause of a bare 403 is found, and what is never retried."""
from __future__ import annotations

import threading

import pytest
from botocore.exceptions import EndpointConnectionError

from s3_metadata.aws import PROBE_VERDICT_SECONDS, AwsCallError, S3Gateway
from s3_metadata.configuration import parse_configuration
from s3_metadata.errors import (
    ClockSkewError, CredentialsError, EndpointError, RetriesExhaustedError, UnreadableAnswerError,
)
from s3_metadata.retry import RetryPolicy
from scripts.local_s3 import free_port
from tests.conftest import TEST_SECRET
from tests.unit.test_listing_xml import contents, delete_marker, listing, version, versions_listing

POLICY = RetryPolicy(max_attempts=4, base_delay=0.0005, max_delay=0.001, max_total_wait=1.0)
KEYS = [f"cold/{i:02d}" for i in range(12)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def bucket(moto_s3, faults):
    moto_s3.create_bucket("test-bucket")
    for key in KEYS:
        moto_s3.put("test-bucket", key, b"x", storage_class="GLACIER")
    return faults


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gateway(clock) -> S3Gateway:
    settings = parse_configuration({"bucket": "test-bucket", "aws_access_key_id": "AKIATESTEXAMPLE00001",
                                    "aws_secret_access_key": TEST_SECRET, "aws_region": "us-east-1",
                                    "max_concurrency": "4"})
    return S3Gateway(settings, policy=POLICY, clock=clock)


def probes(faults) -> int:
    """The one-key listings the gateway sent to find out what a bare HEAD failure meant."""
    return sum(1 for op, url in faults.urls if op == "ListObjectsV2" and "max-keys=1&" in url)


def head_all(gateway: S3Gateway, keys: list[str]) -> list[object]:
    """HEAD each key from its own thread, as the sync's workers do; the answer or the exception per key."""
    answers: list[object] = [None] * len(keys)

    def head(index: int) -> None:
        try:
            answers[index] = gateway.head_object("test-bucket", keys[index])
        except Exception as error:  # collected to be asserted on
            answers[index] = error
    threads = [threading.Thread(target=head, args=(i,)) for i in range(len(keys))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_head_that_runs_out_of_retries_is_a_per_object_failure(bucket, gateway):
    bucket.throttle(1.0, operation="HeadObject")
    with pytest.raises(AwsCallError) as raised:
        gateway.head_object("test-bucket", KEYS[0])
    assert (raised.value.operation, raised.value.code, raised.value.status) == ("HeadObject", "SlowDown", 503)
    assert gateway.requests["HeadObject"] == POLICY.max_attempts
    assert gateway.retry_stats.retries == POLICY.max_attempts - 1


def test_listing_that_runs_out_of_retries_still_fails(bucket, gateway):
    bucket.throttle(1.0, operation="ListObjectsV2")
    with pytest.raises(RetriesExhaustedError) as raised:
        gateway.list_page("test-bucket", "", None, None)
    assert "ListObjectsV2 for bucket 'test-bucket' kept failing with SlowDown" in str(raised.value)


def test_bare_403_with_working_credentials_is_access_denied_after_one_probe(bucket, gateway, clock):
    bucket.respond("HeadObject", 403)  # no body: botocore reports the code "403"
    answers = head_all(gateway, KEYS)
    assert all(isinstance(a, AwsCallError) and (a.code, a.status) == ("AccessDenied", 403) for a in answers), answers
    assert probes(bucket) == 1
    clock.now += PROBE_VERDICT_SECONDS - 1
    head_all(gateway, KEYS[:3])
    assert probes(bucket) == 1
    clock.now += 2  # the verdict is older than the window: asked again, once
    head_all(gateway, KEYS)
    assert probes(bucket) == 2


def test_bare_400_with_working_credentials_keeps_its_code(bucket, gateway):
    """SSE-C objects answer HEAD without their key with 400: a per-object failure, not AccessDenied."""
    bucket.respond("HeadObject", 400)
    with pytest.raises(AwsCallError) as raised:
        gateway.head_object("test-bucket", KEYS[0])
    assert (raised.value.code, raised.value.status) == ("400", 400)


@pytest.mark.parametrize("status, probe_code, error", [
    pytest.param(403, "InvalidAccessKeyId", CredentialsError, id="wrong-key"),
    pytest.param(403, "SignatureDoesNotMatch", CredentialsError, id="wrong-secret"),
    pytest.param(400, "ExpiredToken", CredentialsError, id="expired-token"),
    pytest.param(403, "RequestTimeTooSkewed", ClockSkewError, id="clock-skew"),
])
def test_bare_head_failure_with_bad_credentials_stops_the_sync(bucket, gateway, status, probe_code, error):
    bucket.respond("HeadObject", status)
    bucket.respond("ListObjectsV2", 403 if status == 403 else 400, code=probe_code)
    answers = head_all(gateway, KEYS)
    assert all(type(a) is error and f"({probe_code})" in str(a) for a in answers), answers
    assert probes(bucket) == 1


def test_head_with_a_real_code_is_not_probed(bucket, gateway):
    bucket.respond("HeadObject", 403, code="AccessDenied")
    with pytest.raises(AwsCallError) as raised:
        gateway.head_object("test-bucket", KEYS[0])
    assert raised.value.code == "AccessDenied"
    assert probes(bucket) == 0


@pytest.mark.parametrize("operation", ["ListObjectsV2", "HeadObject", "GetBucketVersioning"])
def test_clock_skew_is_never_retried(bucket, gateway, operation):
    bucket.respond(operation, 403, code="RequestTimeTooSkewed")
    calls = {"ListObjectsV2": lambda: gateway.list_page("test-bucket", "", None, None),
             "HeadObject": lambda: gateway.head_object("test-bucket", KEYS[0]),
             "GetBucketVersioning": lambda: gateway.bucket_versioning("test-bucket")}
    with pytest.raises(ClockSkewError) as raised:
        calls[operation]()
    assert gateway.requests[operation] == 1 and gateway.retry_stats.retries == 0
    assert "NTP" in str(raised.value)


def test_probe_that_is_throttled_out_leaves_the_head_failure_per_object(bucket, gateway):
    bucket.respond("HeadObject", 403)
    bucket.throttle(1.0, operation="ListObjectsV2")
    answers = head_all(gateway, KEYS)
    assert all(isinstance(a, AwsCallError) and a.code == "403" for a in answers), answers
    assert probes(bucket) == POLICY.max_attempts  # one probe, retried; its verdict reused by every other HEAD


OUT_OF_RANGE = "99999999999999999999"  # seconds since the epoch: botocore finds no date for it


@pytest.mark.parametrize("operation, body, detail", [
    pytest.param("ListObjectsV2", listing(contents(size="many")), "ValueError", id="size-not-a-number"),
    pytest.param("ListObjectsV2", listing(contents(modified=OUT_OF_RANGE)), "RuntimeError", id="date-out-of-range"),
    pytest.param("ListObjectsV2", listing(contents("gone")).replace(b"<Key>gone</Key>", b""), "KeyError",
                 id="entry-without-a-key"),
    pytest.param("ListObjectsV2", listing(contents("gone"), encoded=False).replace(b"<Key>gone</Key>", b""),
                 "KeyError", id="entry-without-a-key-not-url-encoded"),  # botocore's parse stands; our mapping fails
    pytest.param("ListObjectVersions", versions_listing(version("a", "v1", size="many")), "ValueError",
                 id="version-size-not-a-number"),
    pytest.param("ListObjectVersions", versions_listing(delete_marker("a", modified=OUT_OF_RANGE)), "RuntimeError",
                 id="delete-marker-date-out-of-range"),
    pytest.param("ListObjectVersions", versions_listing(version("gone", "v1")).replace(b"<Key>gone</Key>", b""),
                 "KeyError", id="version-without-a-key"),
    pytest.param("ListObjectVersions", versions_listing(delete_marker("gone")).replace(b"<Key>gone</Key>", b"")
                 .replace(b"<EncodingType>url</EncodingType>", b""), "KeyError",
                 id="delete-marker-without-a-key-not-url-encoded"),
])
def test_listing_page_that_cannot_be_read_fails_explained_at_once(bucket, gateway, operation, body, detail):
    """botocore's parser raises ValueError or RuntimeError on such a page (and our mapping of its parse KeyError):
    the sync stops with a message naming the endpoint and the operation, not a traceback of the connector's
    internals, and without retries, as the same page would come back. The body is never quoted."""
    gateway.bucket_region("test-bucket")
    bucket.respond(operation, 200, headers={"content-type": "application/xml"}, body=body)
    calls = {"ListObjectsV2": lambda: gateway.list_page("test-bucket", "", None, None, restore_status=True),
             "ListObjectVersions": lambda: gateway.list_versions_page("test-bucket", "", None, None)}
    with pytest.raises(UnreadableAnswerError) as raised:
        calls[operation]()
    message = str(raised.value)
    assert message.startswith(f"AWS S3 answered {operation} of bucket 'test-bucket' with a page whose values could "
                              f"not be read ({detail}): ")
    assert "what the last checkpoint saved is kept" in message
    assert "many" not in message and OUT_OF_RANGE not in message
    assert raised.value.__suppress_context__  # nothing chained that a crash report could print
    assert gateway.requests[operation] == 1 and gateway.retry_stats.retries == 0


# ------------------------------------------------------------------------------------------------ GetObjectTagging

def test_get_object_tags_reads_the_tag_set(bucket, gateway, moto_s3):
    # Standard objects: moto refuses GetObjectTagging on archived ones (InvalidObjectState), which AWS does not.
    moto_s3.put("test-bucket", "tagged", b"x")
    moto_s3.put("test-bucket", "untagged", b"x")
    moto_s3.client.put_object_tagging(Bucket="test-bucket", Key="tagged", Tagging={"TagSet": [
        {"Key": "cost-center", "Value": "42"}, {"Key": "empty", "Value": ""}]})
    assert gateway.get_object_tags("test-bucket", "tagged") == {"cost-center": "42", "empty": ""}
    assert gateway.get_object_tags("test-bucket", "untagged") == {}
    assert gateway.get_object_tags("test-bucket", "absent") is None
    assert gateway.requests["GetObjectTagging"] == 3


@pytest.mark.parametrize("status, code, expected", [
    pytest.param(403, "AccessDenied", "AccessDenied", id="denied-is-one-objects-failure"),
    pytest.param(501, "NotImplemented", "NotImplemented", id="store-without-tags"),
    pytest.param(503, "SlowDown", "SlowDown", id="throttled-out-is-one-objects-failure"),
])
def test_get_object_tags_failure_concerns_one_object(bucket, gateway, status, code, expected):
    bucket.respond("GetObjectTagging", status, code=code)
    with pytest.raises(AwsCallError) as raised:
        gateway.get_object_tags("test-bucket", KEYS[0])
    assert (raised.value.operation, raised.value.code) == ("GetObjectTagging", expected)
    assert probes(bucket) == 0  # tagging errors carry their code: nothing to probe


def test_get_object_tags_with_bad_credentials_stops_the_sync(bucket, gateway):
    bucket.respond("GetObjectTagging", 403, code="InvalidAccessKeyId")
    with pytest.raises(CredentialsError):
        gateway.get_object_tags("test-bucket", KEYS[0])


def test_head_asks_for_checksums_only_when_told(bucket, gateway):
    plain = gateway.head_object("test-bucket", KEYS[0])
    with_checksums = gateway.head_object("test-bucket", KEYS[0], checksums=True)
    assert dict(plain.checksums) == {} and plain.checksum_algorithm is None
    assert set(with_checksums.checksums) == {"CRC32"} and with_checksums.checksum_algorithm == "CRC32"


def unreachable(request) -> EndpointConnectionError:
    return EndpointConnectionError(endpoint_url=request.url)


def test_unreachable_endpoint_before_any_answer_fails_after_the_first_contact_attempts(bucket, gateway):
    """A refused connection (or a name that does not resolve) on the very first request is a wrong endpoint, not a
    blip: a few quick attempts, then the clear message, instead of the full backoff."""
    bucket.fail("HeadBucket", unreachable)
    with pytest.raises(EndpointError) as raised:
        gateway.bucket_region("test-bucket")
    assert "after 3 attempts (EndpointConnectionError)" in str(raised.value)
    assert gateway.requests["HeadBucket"] == POLICY.first_contact_attempts == 3
    assert gateway.retry_stats.retries == 2


def test_network_failures_keep_every_retry_once_the_endpoint_has_answered(bucket, gateway):
    assert gateway.bucket_region("test-bucket") == "us-east-1"
    bucket.fail("ListObjectsV2", unreachable)
    with pytest.raises(EndpointError) as raised:
        gateway.list_page("test-bucket", "", None, None)
    assert f"after {POLICY.max_attempts} attempts (EndpointConnectionError)" in str(raised.value)
    assert gateway.requests["ListObjectsV2"] == POLICY.max_attempts > POLICY.first_contact_attempts


def test_throttling_before_any_answer_keeps_every_retry(bucket, gateway):
    """An answer, even SlowDown, is contact: only network failures are cut short."""
    bucket.throttle(1.0, operation="HeadBucket")
    with pytest.raises(RetriesExhaustedError):
        gateway.bucket_region("test-bucket")
    assert gateway.requests["HeadBucket"] == POLICY.max_attempts


def test_a_refused_port_fails_without_backoff_worth_waiting_for():
    """A real socket: nothing listens on the port, so every connection is refused at once."""
    settings = parse_configuration({"bucket": "test-bucket", "aws_access_key_id": "AKIATESTEXAMPLE00001",
                                    "aws_secret_access_key": TEST_SECRET, "endpoint_url": f"http://127.0.0.1:"
                                                                                          f"{free_port()}"})
    slept: list[float] = []
    gateway = S3Gateway(settings, sleep=slept.append)
    with pytest.raises(EndpointError) as raised:
        gateway.bucket_region("test-bucket")
    assert "Could not reach endpoint_url http://127.0.0.1:" in str(raised.value)
    assert gateway.requests["HeadBucket"] == 3 and len(slept) == 2
    assert sum(slept) <= RetryPolicy().first_contact_max_wait


def test_each_wave_of_retries_is_logged_once_with_its_reason(bucket, gateway, clock):
    logged: list[str] = []
    gateway.log_retries_to(logged.append)
    bucket.throttle(1.0, operation="HeadObject")
    for key in KEYS[:3]:
        with pytest.raises(AwsCallError):
            gateway.head_object("test-bucket", key)
    assert gateway.retry_stats.retries == 3 * (POLICY.max_attempts - 1)
    assert logged == ["HeadObject for bucket 'test-bucket' failed with SlowDown (attempt 1); retrying with backoff. "
                      "Further retries after SlowDown are not logged until none has come for a minute; the closing "
                      "summary counts them all"]
    clock.now += 61
    with pytest.raises(AwsCallError):
        gateway.head_object("test-bucket", KEYS[3])
    assert len(logged) == 2
