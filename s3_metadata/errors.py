"""AWS failures, classified and explained.

A raw `AccessDenied` from deep inside a sync tells a user nothing about which permission is missing on
which resource. Every failure that stops a sync is turned into a `SyncError` here, whose message says what
happened and what to change. The functions are pure (codes and names in, an exception out); aws.py feeds
them. Messages are built from codes and names only, never from configuration values, so no secret can
reach them.
"""
from __future__ import annotations

# The IAM action each operation needs, for AccessDenied messages.
PERMISSIONS = {
    "ListObjectsV2": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "GetBucketLocation": "s3:GetBucketLocation",
    "HeadObject": "s3:GetObject",
    "ListObjectVersions": "s3:ListBucketVersions",
    "GetBucketVersioning": "s3:GetBucketVersioning",
    "ListBucketIntelligentTieringConfigurations": "s3:GetIntelligentTieringConfiguration",
    "AssumeRole": "sts:AssumeRole",
    "GetCallerIdentity": "sts:GetCallerIdentity",
    "ReceiveMessage": "sqs:ReceiveMessage",
    "DeleteMessageBatch": "sqs:DeleteMessage",
    "GetQueueAttributes": "sqs:GetQueueAttributes",
}
_OBJECT_LEVEL = frozenset({"HeadObject"})

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
    pass


class AwsError(SyncError):
    pass


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
        return CredentialsError(_credentials_message(code))
    if operation == "AssumeRole":
        return RoleAssumptionError(
            f"Could not assume role {role_arn} ({code}). The role's trust policy must allow the base credentials to "
            "call sts:AssumeRole, and its sts:ExternalId condition, if any, must equal external_id; the base "
            "credentials also need sts:AssumeRole on the role.")
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
    if code in WRONG_REGION_CODES or status in (301, 307):
        return WrongRegionError(
            f"{operation}{where} was sent to the wrong region or endpoint ({code}). Set aws_region to the bucket's "
            "region; with endpoint_url set, the region is not discovered automatically.")
    return AwsError(f"{operation}{where} failed with {code} (HTTP {status}).")


def retries_exhausted(operation: str, code: str, attempts: int, waited: float, bucket: str | None) -> SyncError:
    where = f" for bucket '{bucket}'" if bucket else ""
    return RetriesExhaustedError(
        f"{operation}{where} kept failing with {code} after {attempts} attempts and {waited:.1f}s of backoff: the "
        "service is throttling or unavailable. The sync stopped with its last checkpoint intact; the next sync "
        "resumes from there. If this repeats, lower max_concurrency.")


def endpoint_unreachable(endpoint: str, detail: str, attempts: int) -> SyncError:
    return EndpointError(
        f"Could not reach {endpoint} after {attempts} attempts ({detail}). Check endpoint_url (or AWS_ENDPOINT_URL), "
        "the network path and any proxy; the sync stopped with its last checkpoint intact.")


def no_credentials() -> SyncError:
    return CredentialsError(
        "No AWS credentials were found. Set aws_access_key_id and aws_secret_access_key, or run where the default AWS "
        "credential chain finds some (environment variables, ~/.aws/credentials, an instance or task role).")
