"""AWS failures, classified and explained.

A raw `AccessDenied` from deep inside a sync tells a user nothing about which permission is missing on
which resource. Every failure that stops a sync is turned into a `SyncError` here, whose message says what
happened and what to change. The functions are pure (codes and names in, an exception out); the aws package feeds
them. Messages are built from codes and names only, never from configuration values, so no secret can
reach them. An endpoint is only ever quoted through `mask_url`, because AWS_ENDPOINT_URL can carry user-info
(`http://KEY:SECRET@host`).
"""
from __future__ import annotations

from urllib.parse import urlsplit

# The IAM action each operation needs, for AccessDenied messages.
PERMISSIONS = {
    "ListObjectsV2": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "GetBucketLocation": "s3:GetBucketLocation",
    "HeadObject": "s3:GetObject",
    "GetObjectTagging": "s3:GetObjectTagging",
    "ListObjectVersions": "s3:ListBucketVersions",
    "GetBucketVersioning": "s3:GetBucketVersioning",
    "ListBucketIntelligentTieringConfigurations": "s3:GetIntelligentTieringConfiguration",
    "ListBucketInventoryConfigurations": "s3:GetInventoryConfiguration",
    "GetObject": "s3:GetObject",
    "AssumeRole": "sts:AssumeRole",
    "GetCallerIdentity": "sts:GetCallerIdentity",
    "ReceiveMessage": "sqs:ReceiveMessage",
    "DeleteMessageBatch": "sqs:DeleteMessage",
    "GetQueueAttributes": "sqs:GetQueueAttributes",
    "GetBucketNotificationConfiguration": "s3:GetBucketNotification",
    "ListRuleNamesByTarget": "events:ListRuleNamesByTarget",
    "DescribeRule": "events:DescribeRule",
}
_OBJECT_LEVEL = frozenset({"HeadObject", "GetObjectTagging"})

CREDENTIAL_CODES = frozenset({
    "InvalidAccessKeyId", "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
    "ExpiredToken", "ExpiredTokenException", "InvalidToken", "TokenRefreshRequired", "AuthFailure",
    "MissingAuthenticationToken", "IncompleteSignature",
})
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "AllAccessDisabled", "403", "Forbidden"})
NO_BUCKET_CODES = frozenset({"NoSuchBucket"})
NO_QUEUE_CODES = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NonExistentQueue"})
WRONG_REGION_CODES = frozenset({
    "PermanentRedirect", "301", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException",
    "IncorrectEndpoint", "TemporaryRedirect", "307",
})
CLOCK_SKEW_CODES = frozenset({"RequestTimeTooSkewed"})
NOT_IMPLEMENTED_CODES = frozenset({"NotImplemented", "501"})
# "Slow down": load, not a missing feature; waiting is the cure however long it lasts (retry.py).
THROTTLING_CODES = frozenset({
    "SlowDown", "ServiceUnavailable", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "RequestThrottledException", "TooManyRequests", "TooManyRequestsException", "RequestLimitExceeded",
    "ProvisionedThroughputExceededException", "BandwidthLimitExceeded", "EC2ThrottledException", "503", "429",
})
THROTTLING_STATUS = frozenset({429, 503})
# What to do when a store does not implement a bucket-level operation the sync needs.
_NOT_IMPLEMENTED_HINTS = {
    "GetBucketVersioning": "A store without versioning keeps no delete markers: its buckets are synced as unversioned.",
    "ListObjectVersions": "The store says the bucket is versioned but cannot list its versions, which the connector "
                          "needs to find deleted objects (and for sync_versions). Suspend versioning on the bucket or "
                          "report this to the store's makers.",
}
# What a probe can reveal about a HEAD that failed without an error code (HEAD responses have no body).
_PROBE_REVEALS = CREDENTIAL_CODES | CLOCK_SKEW_CODES | NO_BUCKET_CODES | WRONG_REGION_CODES


class SyncError(Exception):
    """A failure that stops the sync, with a message a user can act on."""


class CredentialsError(SyncError):
    pass


class AccessDeniedError(SyncError):
    pass


class BucketNotFoundError(SyncError):
    pass


class WrongRegionError(SyncError):
    pass


class EndpointError(SyncError):
    pass


class RoleAssumptionError(SyncError):
    pass


class RetriesExhaustedError(SyncError):
    """Retries ran out; `code` and `status` are those of the last failure, for callers that may go on without it."""

    def __init__(self, message: str, code: str = "", status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class ClockSkewError(SyncError):
    pass


class AwsError(SyncError):
    pass


class InventoryReportError(SyncError):
    """The S3 Inventory report `inventory_source` names cannot be read as it is."""


class UnreadableAnswerError(SyncError):
    """A listing page came back but holds a value that cannot be read: asking again returns the same page."""


class NotImplementedByStoreError(AwsError):
    """An S3-compatible store answered 501 NotImplemented: asking again never helps."""


def resource_arn(operation: str, bucket: str | None) -> str:
    if operation.startswith(("AssumeRole", "GetCallerIdentity")) or bucket is None:
        return "the resource"
    suffix = "/*" if operation in _OBJECT_LEVEL else ""
    return f"arn:aws:s3:::{bucket}{suffix}"


def _credentials_message(code: str) -> str:
    if code in ("InvalidAccessKeyId", "InvalidClientTokenId", "UnrecognizedClientException", "AuthFailure"):
        return (f"AWS does not recognise the access key ({code}). Check aws_access_key_id (it may have been "
                "deleted or deactivated), or leave both key fields empty to use the default AWS credential chain.")
    if code in ("SignatureDoesNotMatch", "IncompleteSignature"):
        return (f"AWS rejected the request signature ({code}): aws_secret_access_key does not belong to "
                "aws_access_key_id. Paste the secret again without spaces; with endpoint_url, also check that "
                "aws_region is the region that endpoint expects.")
    return (f"The temporary credentials are expired or invalid ({code}). Provide a fresh aws_session_token with its "
            "key pair, or use role_arn, which this connector renews before it expires.")


def classify_client_error(operation: str, code: str, status: int | None, bucket: str | None = None,
                          role_arn: str | None = None) -> SyncError:
    """The SyncError for an AWS error response that is not worth retrying."""
    where = f" for bucket '{bucket}'" if bucket else ""
    if code in CREDENTIAL_CODES:
        if operation == "AssumeRole":
            return CredentialsError(f"AWS STS rejected the base credentials used to assume role {role_arn}: "
                                    + _credentials_message(code))
        return CredentialsError(_credentials_message(code))
    if code in CLOCK_SKEW_CODES:
        return clock_skewed(operation, code)
    if operation == "AssumeRole":
        return RoleAssumptionError(
            f"Could not assume role {role_arn}: AWS STS answered {code} (HTTP {status}). The role's trust policy must "
            "allow the base credentials to call sts:AssumeRole, and its sts:ExternalId condition, if any, must equal "
            "external_id; the base credentials also need sts:AssumeRole on the role.")
    if code in ACCESS_DENIED_CODES or status == 403:
        permission = PERMISSIONS.get(operation, f"the permission for {operation}")
        return AccessDeniedError(
            f"Access denied on {operation}{where} ({code}): the credentials need {permission} on "
            f"{resource_arn(operation, bucket)}. Add it to the IAM policy (see 'IAM policy' in the README), and check "
            "that no bucket policy, SCP or VPC endpoint policy denies it.")
    if code in NO_QUEUE_CODES:
        return AwsError(f"The SQS queue in sqs_queue_url does not exist ({code}): use the queue's URL as the SQS console "
                        "shows it, in the queue's own region.")
    if code in NO_BUCKET_CODES or (status == 404 and operation in ("HeadBucket", "ListObjectsV2", "GetBucketLocation",
                                                                   "ListObjectVersions", "GetBucketVersioning")):
        return BucketNotFoundError(
            f"Bucket '{bucket}' does not exist ({code}). Check the 'bucket' value; with endpoint_url set, check that it "
            "points at the service that holds the bucket.")
    if code in NOT_IMPLEMENTED_CODES or status == 501:
        return NotImplementedByStoreError(
            f"The endpoint does not implement {operation}{where} ({code}, HTTP {status}): this S3-compatible store "
            f"lacks what the connector asked for. {_NOT_IMPLEMENTED_HINTS.get(operation, '')}".rstrip())
    if code in WRONG_REGION_CODES or status in (301, 307):
        return WrongRegionError(
            f"{operation}{where} was sent to the wrong region or endpoint ({code}). Set aws_region to the bucket's "
            "region; with endpoint_url set, the region is not discovered automatically.")
    return AwsError(f"{operation}{where} failed with {code} (HTTP {status}).")


def is_throttling(code: str, status: int | None) -> bool:
    """Whether a failure asks the client to slow down (load), rather than reporting a fault."""
    return code in THROTTLING_CODES or status in THROTTLING_STATUS


def retries_exhausted(operation: str, code: str, attempts: int, waited: float, bucket: str | None,
                      status: int | None = None) -> RetriesExhaustedError:
    where = f" for bucket '{bucket}'" if bucket else ""
    if is_throttling(code, status) or status is None:
        why = "the service is throttling or unavailable. If this repeats, lower max_concurrency."
    else:
        why = (f"HTTP {status} is a fault of the server, not throttling: an S3-compatible store answers so when it "
               "fails on a request it cannot serve (its own log says why). If this repeats, report it to the store's "
               "makers.")
    return RetriesExhaustedError(
        f"{operation}{where} kept failing with {code} after {attempts} attempts and {waited:.1f}s of backoff: {why}",
        code, status)


# What to do when a store keeps failing an operation about objects (see `gave_up`).
_GIVE_UP_HINTS = {
    "GetObjectTagging": "If the store does not support object tags, take 'tags' out of object_details.",
    "HeadObject": "If the store cannot answer HEAD for its objects, take 'head' out of object_details.",
}


def gave_up(operation: str, code: str, status: int | None, failures: int, objects: int, unsent: int) -> str:
    """The closing warning for an operation given up for the rest of a sync (retry.gives_up)."""
    return (f"{operation} failed with {code} (HTTP {status}) {failures} times in a row, on {objects} different "
            "objects, so the endpoint was taken not to serve it: it was not sent again for the rest of this sync "
            f"({unsent} requests not sent). "
            "Those objects' rows say so as for any object that could not be described, and they are tried again on "
            f"the next sync. {_GIVE_UP_HINTS.get(operation, '')}").rstrip()


def clock_skewed(operation: str, code: str = "RequestTimeTooSkewed") -> SyncError:
    """AWS rejects requests signed more than 15 minutes away from its clock; waiting never fixes that."""
    return ClockSkewError(
        f"{operation} was rejected because this machine's clock is too far from AWS's ({code}): AWS refuses requests "
        "signed more than 15 minutes off. Fix the machine's clock (enable NTP time synchronisation) and run the sync "
        "again; what the last checkpoint saved is kept.")


def mask_url(url: str) -> str:
    """`url` with any user-info replaced by ***, so a key pasted into an endpoint URL is never shown.

    Secret access keys hold '/' and '+', which end a URL's authority early, so everything up to the last '@' is
    masked, even an '@' in a path (endpoint URLs have no path worth showing).
    """
    scheme, separator, rest = url.partition("://")
    if not separator or "@" not in rest:
        return url
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def _endpoint_name(endpoint: str | None) -> str:
    return f"endpoint_url {mask_url(endpoint)}" if endpoint else "AWS S3"


def endpoint_unreachable(endpoint: str | None, detail: str, attempts: int) -> SyncError:
    hint = ""
    if endpoint and urlsplit(endpoint).scheme == "http" and detail == "ConnectionClosedError":
        hint = " The server closed the connection without an HTTP answer: if it serves HTTPS, endpoint_url must " \
               "start with https://."
    return EndpointError(
        f"Could not reach {_endpoint_name(endpoint)} after {attempts} attempts ({detail}). Check endpoint_url (or "
        f"AWS_ENDPOINT_URL), the network path and any proxy.{hint}")


def tls_failure(endpoint: str | None, detail: str) -> SyncError | None:
    """The explanation of a TLS failure that retrying cannot fix, from the SSL error's text; None for the others
    (an EOF in the middle of a handshake is a network failure like any other)."""
    text = detail.lower()
    if "wrong version number" in text or "wrong_version_number" in text:
        if endpoint and urlsplit(endpoint).scheme == "https":
            plain = mask_url("http" + endpoint[len("https"):])
            return EndpointError(
                f"{_endpoint_name(endpoint)} starts with https://, but the server there speaks plain HTTP (the TLS "
                f"handshake got an HTTP answer: 'wrong version number'). Use {plain}, or enable TLS on the server.")
        return EndpointError(
            f"The TLS handshake with {_endpoint_name(endpoint)} got a plain HTTP answer ('wrong version number'): a "
            "proxy or the server does not speak HTTPS on that port. Check endpoint_url's scheme and HTTPS_PROXY.")
    if "certificate_verify_failed" in text or "certificate verify failed" in text:
        return EndpointError(
            f"The TLS certificate of {_endpoint_name(endpoint)} is not trusted (certificate verify failed). For a "
            "self-signed certificate or a private CA, set AWS_CA_BUNDLE to the CA certificate; behind a proxy that "
            "inspects TLS, to the proxy's CA bundle.")
    return None


def not_s3_api(endpoint: str | None, operation: str, status: int | None, content_type: str) -> SyncError:
    """A server answered, but not with S3's API: HTML, JSON or a bare status where S3 always sends XML."""
    what = f"HTTP {status}" + (f", {content_type}" if content_type else "")
    if not endpoint:
        return EndpointError(
            f"{operation} got an answer that is not from S3 ({what}, no S3 document): a proxy or firewall between this "
            "machine and AWS answered instead. Check HTTPS_PROXY/NO_PROXY and the network path to S3.")
    hint = " If the server serves HTTPS, use https://." if urlsplit(endpoint).scheme == "http" else ""
    return EndpointError(
        f"{_endpoint_name(endpoint)} answers but is not an S3 API: {operation} got {what} without an S3 document. "
        "Point endpoint_url at the service's S3 API (for MinIO the API port, usually 9000, not the console's 9001; "
        f"no bucket name or path in the URL).{hint}")


def unreadable_answer(endpoint: str | None, operation: str, bucket: str | None, detail: str) -> SyncError:
    """A listing page whose values could not be read (botocore's parser, or our mapping of its parse, failed: a Size
    that is not a number, a timestamp out of range, an entry without a Key). `detail` is the exception's type only:
    its message quotes the body, which could hold anything."""
    where = f" of bucket '{bucket}'" if bucket else ""
    return UnreadableAnswerError(
        f"{_endpoint_name(endpoint)} answered {operation}{where} with a page whose values could not be read "
        f"({detail}): not what S3 sends (a size that is not a number, a date out of range, an entry without a key). "
        "The sync stopped; what the last checkpoint saved is kept. An S3-compatible store that sends such pages is "
        "for its makers to fix; on AWS, look for a proxy that rewrites answers.")


def is_bare(code: str, status: int | None) -> bool:
    """Whether an error response carried no code of its own (botocore then reports the status as the code)."""
    return code in ("", "Unknown") or code == str(status)


def answered_by_non_s3(code: str, status: int | None, headers: dict[str, str]) -> bool:
    """Whether a failed listing was answered by something that is not an S3 API.

    S3 and the S3-compatible stores answer a failed listing with an XML error document that has a code. A bare
    status with an HTML, JSON or text body comes from a web server, another kind of API or a console port (and an
    unparsable 200 reaches here as botocore's 500). 429, 502, 503 and 504 stay retryable: load balancers in front
    of real S3 APIs answer those in HTML too. Without a content type nothing can be told.
    """
    content_type = (headers.get("content-type") or "").lower()
    if not is_bare(code, status) or not content_type or "xml" in content_type:
        return False
    return status not in (429, 502, 503, 504)


def resolve_bare_head(code: str, status: int | None, probe_code: str | None) -> str:
    """The code a HEAD that failed without one would have carried, from a probe request that returns codes.

    HEAD responses have no body, so a wrong key, a wrong secret, an expired token and a skewed clock all read as a
    bare 400 or 403. `probe_code` is what a one-key listing of the same bucket answered (None: it succeeded). When
    the probe shows the credentials, the clock, the bucket or the region at fault, that is the answer; when it
    shows the credentials work (it succeeded, or was itself denied), a 403 is this request's AccessDenied; when it
    shows nothing (throttled, say), the bare code stays.
    """
    if not is_bare(code, status):
        return code
    if probe_code in _PROBE_REVEALS:
        return probe_code
    if probe_code is None or probe_code in ACCESS_DENIED_CODES:
        return "AccessDenied" if status == 403 else code
    return code


def role_unreachable(role_arn: str | None, sts_endpoint: str | None, detail: str) -> SyncError:
    where = mask_url(sts_endpoint) if sts_endpoint else "its regional endpoint"
    return RoleAssumptionError(
        f"Could not assume role {role_arn}: AWS STS ({where}) could not be reached ({detail}). The S3 endpoint is not "
        "the problem: check the network path and any proxy to STS, or set AWS_ENDPOINT_URL_STS for a private STS "
        "endpoint.")


def role_not_sent(role_arn: str | None, detail: str) -> SyncError:
    return RoleAssumptionError(f"Could not assume role {role_arn}: the AWS STS AssumeRole request could not be sent "
                               f"({detail}). Check role_arn, role_session_name and external_id.")


def role_unavailable(role_arn: str | None, code: str, status: int | None) -> SyncError:
    return RoleAssumptionError(
        f"Could not assume role {role_arn}: AWS STS kept answering {code} (HTTP {status}) through botocore's retries "
        "(throttling or an outage). The next sync tries again.")


def no_credentials() -> SyncError:
    return CredentialsError(
        "No AWS credentials were found. Set aws_access_key_id and aws_secret_access_key, or run where the default AWS "
        "credential chain finds some (environment variables, ~/.aws/credentials, an instance or task role).")
