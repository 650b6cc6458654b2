"""The setup form's fields and the checks Fivetran runs before the first sync.

Both are plain data and plain functions, so the package does not depend on the SDK: connector.py turns
the field specs into `form_field` objects and wraps each check in a setup test. A check returns a
`CheckResult`: passed, skipped with the reason it did not apply, or failed with a message saying what is
wrong and how to fix it. A check never passes what it did not test: with `endpoint_url` there is no STS to
ask, without `sqs_queue_url` there is no queue, and a bucket with nothing under the prefix has no object to
HEAD. The SDK's setup tests only know success and failure, so connector.py reports a skip as a success
and logs the reason; the labels say when a check does not apply.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from s3_metadata.aws import AwsCallError, S3Gateway
from s3_metadata.configuration import (
    DEFAULT_LOOKBACK_MINUTES, DEFAULT_MAX_CONCURRENCY, DEFAULT_RANGE_SIZE, DETAILS_HEAD, DETAILS_TAGS,
    ConfigurationError, Settings, parse_configuration,
)
from s3_metadata.errors import AccessDeniedError, SyncError, classify_client_error
from s3_metadata.wiring import FIX_COMMAND, Rule, bucket_wiring, eventbridge_enabled, needs

TEXT, PASSWORD, DROPDOWN = "text", "password", "dropdown"
PASSED, SKIPPED, FAILED = "passed", "skipped", "failed"

AWS_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1", "sa-east-1", "mx-central-1",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
    "eu-south-2", "il-central-1", "me-south-1", "me-central-1", "af-south-1", "ap-east-1", "ap-south-1",
    "ap-south-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "us-gov-west-1", "us-gov-east-1",
    "cn-north-1", "cn-northwest-1", "auto",
)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str = TEXT
    description: str = ""
    placeholder: str | None = None
    required: bool = False
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    """What a setup check found. `message` is the reason for a skip, the fix for a failure, a note for a pass."""

    outcome: str
    message: str = ""


def passed(note: str = "") -> CheckResult:
    return CheckResult(PASSED, note)


def skipped(reason: str) -> CheckResult:
    return CheckResult(SKIPPED, reason)


def failed(message: str) -> CheckResult:
    return CheckResult(FAILED, message)


Check = Callable[[Mapping[str, str]], CheckResult]

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("bucket", "Bucket(s)", required=True, placeholder="my-data-bucket",
              description="One bucket name, or several separated by commas."),
    FieldSpec("prefix", "Prefix(es)", placeholder="logs/2024/",
              description="Only keys under these prefixes (comma separated) are synced. Empty: the whole bucket."),
    FieldSpec("aws_access_key_id", "AWS access key ID", placeholder="AKIAIOSFODNN7EXAMPLE",
              description="Leave both key fields empty to use the default AWS credential chain."),
    FieldSpec("aws_secret_access_key", "AWS secret access key", PASSWORD),
    FieldSpec("aws_session_token", "AWS session token", PASSWORD,
              description="Only for temporary credentials; prefer role_arn, which is renewed automatically."),
    FieldSpec("role_arn", "IAM role ARN to assume", placeholder="arn:aws:iam::123456789012:role/fivetran-s3-metadata",
              description="Assumed through STS on top of the credentials above, and renewed before it expires."),
    FieldSpec("external_id", "External ID", PASSWORD, description="The sts:ExternalId the role's trust policy requires."),
    FieldSpec("role_session_name", "Role session name", placeholder="fivetran-s3-metadata"),
    FieldSpec("aws_region", "Default AWS region", DROPDOWN, options=AWS_REGIONS,
              description="Used for STS and as the fallback region; each bucket's own region is discovered."),
    FieldSpec("endpoint_url", "S3-compatible endpoint URL", placeholder="http://minio.internal:9000",
              description="Only for MinIO, Ceph, R2 and other S3-compatible services. Empty for AWS."),
    FieldSpec("include_patterns", "Include patterns", placeholder="**/*.parquet,logs/*/*.gz",
              description="Comma-separated globs on the whole key: * within a segment, ** across segments, ? one "
                          "character. Empty: every key."),
    FieldSpec("exclude_patterns", "Exclude patterns", placeholder="**/_temporary/**",
              description="Keys matching any of these globs are skipped, even when an include pattern matches."),
    FieldSpec("max_concurrency", "Maximum concurrent S3 requests", DROPDOWN,
              options=("4", "8", "16", "32", "64"),
              description=f"Upper bound on S3 requests in flight (default {DEFAULT_MAX_CONCURRENCY})."),
    FieldSpec("lookback_minutes", "LastModified look-back (minutes)", placeholder=f"{DEFAULT_LOOKBACK_MINUTES:g}",
              description="No longer used: range digests tell exactly which objects changed. Kept so existing "
                          "configurations stay valid; leave it empty."),
    FieldSpec("range_size", "Change-detection range size (objects)", placeholder=str(DEFAULT_RANGE_SIZE),
              description="Smaller ranges re-send fewer unchanged rows when something changes, at the cost of a "
                          "larger state."),
    FieldSpec("restore_status_source", "Where restore status comes from", DROPDOWN, options=("auto", "listing", "head"),
              description="auto: from the listing on AWS (no extra request), from HEAD on S3-compatible endpoints."),
    FieldSpec("sync_versions", "Sync object versions", DROPDOWN, options=("false", "true"),
              description="Also fill s3_object_versions with every version and delete marker of versioned buckets."),
    FieldSpec("reconcile_every_hours", "Reconcile deletes every (hours)", placeholder="24",
              description="Unversioned buckets: a full re-send that marks deleted objects as deleted. Empty: never."),
    FieldSpec("object_details", "Object details", placeholder="head,tags",
              description="Extra columns for compliance and cost questions: head (encryption, object lock, "
                          "replication, content type, lifecycle expiration, checksums, user metadata) and tags. Each "
                          "costs one request per new or changed object (head: HEAD; tags: GetObjectTagging, and the "
                          "HEAD is made anyway). Empty: off."),
    FieldSpec("key_range_start", "Key range start (inclusive)", placeholder="logs/2024-07",
              description="To split one bucket across several connections: this connection syncs only keys from this "
                          "one on (in S3's key order), and the previous connection's key range end is this same "
                          "value. Empty: from the first key. See docs/key-range-split.md."),
    FieldSpec("key_range_end", "Key range end (exclusive)", placeholder="logs/2025-01",
              description="This connection syncs only keys before this one; the next connection's key range start "
                          "is this same value. Empty: to the last key."),
    FieldSpec("inventory_source", "S3 Inventory reports (first sync)",
              placeholder="s3://my-inventory-bucket/inventory/my-bucket/daily/",
              description="Large buckets: the first sync reads the newest S3 Inventory report (CSV) in this folder "
                          "(or, with auto, where the bucket's inventory configuration writes) instead of listing the "
                          "bucket; the next sync's listing catches up what changed since. Empty: list. See "
                          "docs/inventory.md."),
    FieldSpec("sqs_queue_url", "SQS queue URL for S3 events",
              placeholder="https://sqs.us-east-1.amazonaws.com/123456789012/s3-events",
              description="Event mode: after the first full sync, sync from S3 event notifications instead of listing."),
    FieldSpec("event_max_messages", "Maximum messages per sync", placeholder="100000"),
    FieldSpec("event_time_budget_seconds", "Event mode time budget per sync (seconds)", placeholder="900"),
    FieldSpec("verify_every_hours", "Event mode: verify every (hours)", placeholder="24",
              description="Event mode: a listing pass this often sends only what no event reported (lost events) and "
                          "counts deletes whose events were lost. Re-sends nothing unchanged; fractions allowed."),
)


def _settings(configuration: Mapping[str, str]) -> tuple[Settings | None, str | None]:
    try:
        return parse_configuration(configuration), None
    except ConfigurationError as error:
        return None, str(error)


def _with_gateway(configuration: Mapping[str, str], check: Callable[[Settings, S3Gateway], CheckResult]) -> CheckResult:
    settings, problem = _settings(configuration)
    if settings is None:
        return failed(problem or "the configuration is not valid")
    try:
        return check(settings, S3Gateway(settings))
    except SyncError as error:
        return failed(str(error))


def check_configuration(configuration: Mapping[str, str]) -> CheckResult:
    """Every value is valid."""
    problem = _settings(configuration)[1]
    return passed() if problem is None else failed(problem)


def check_credentials(configuration: Mapping[str, str]) -> CheckResult:
    """The credentials (and the role, when one is set) are accepted by AWS STS; skipped with endpoint_url."""
    def check(settings: Settings, gateway: S3Gateway) -> CheckResult:
        if settings.endpoint_url:
            return skipped("endpoint_url is set, and S3-compatible services rarely offer STS; the bucket checks "
                           "exercise the credentials instead")
        gateway.caller_identity()
        return passed()
    return _with_gateway(configuration, check)


def check_buckets_listable(configuration: Mapping[str, str]) -> CheckResult:
    """Each bucket exists and s3:ListBucket is allowed."""
    def check(settings: Settings, gateway: S3Gateway) -> CheckResult:
        for bucket in settings.buckets:
            gateway.bucket_region(bucket)
            gateway.list_page(bucket, settings.prefixes[0], None, None, max_keys=1)
        return passed()
    return _with_gateway(configuration, check)


def check_objects_readable(configuration: Mapping[str, str]) -> CheckResult:
    """An object of each bucket that has one under the prefix can be described as the sync describes it: HEAD
    (s3:GetObject), with object_details `head` asking for checksums as well (kms:Decrypt on an SSE-KMS object's
    key), and with `tags` GetObjectTagging (s3:GetObjectTagging)."""
    def check(settings: Settings, gateway: S3Gateway) -> CheckResult:
        details = settings.object_details
        empty = []
        for bucket in settings.buckets:
            page = gateway.list_page(bucket, settings.prefixes[0], None, None, max_keys=1)
            if not page.entries:
                empty.append(bucket)
                continue
            key = page.entries[0]["Key"]
            try:
                gateway.head_object(bucket, key, checksums=DETAILS_HEAD in details)
                if DETAILS_TAGS in details:
                    gateway.get_object_tags(bucket, key)
            except AwsCallError as error:
                return failed(_object_failure(error, bucket, details))
        return _objects_outcome(settings.buckets, empty, settings.prefixes[0])
    return _with_gateway(configuration, check)


def _object_failure(error: AwsCallError, bucket: str, details: tuple[str, ...]) -> str:
    """What a failed request about an object means, with what object_details adds to it."""
    message = str(classify_client_error(error.operation, error.code, error.status, bucket))
    if error.operation == "HeadObject" and DETAILS_HEAD in details:
        message += (" With object_details 'head', HEAD asks for the checksum values, which for an object encrypted "
                    "with SSE-KMS also needs kms:Decrypt on its KMS key.")
    if error.operation == "GetObjectTagging":
        message += (" This store does not support object tags: take 'tags' out of object_details."
                    if error.code in ("NotImplemented", "501") else " Or take 'tags' out of object_details.")
    return message


def _objects_outcome(buckets: tuple[str, ...], empty: list[str], prefix: str) -> CheckResult:
    where = f"under the prefix '{prefix}'" if prefix else "in it"
    names = ", ".join(f"'{bucket}'" for bucket in empty)
    if len(empty) == len(buckets):
        return skipped(f"no object to HEAD: {names} {'has' if len(empty) == 1 else 'have'} no object {where}; "
                       "the first sync reports any object it cannot read")
    if empty:
        return passed(f"not tested on {names}, which {'has' if len(empty) == 1 else 'have'} no object {where}")
    return passed()


def check_event_queue(configuration: Mapping[str, str]) -> CheckResult:
    """With sqs_queue_url: the queue exists and sqs:GetQueueAttributes, ReceiveMessage and DeleteMessage are allowed.

    Nothing is consumed: the receive makes any message visible again at once, and the delete uses a receipt
    handle that cannot exist, which SQS rejects only after checking the permission. Without a queue it is skipped.
    """
    def check(settings: Settings, gateway: S3Gateway) -> CheckResult:
        if not settings.sqs_queue_url:
            return skipped("sqs_queue_url is empty, so event mode is off and there is no queue to test")
        gateway.queues.queue_attributes(settings.sqs_queue_url)
        gateway.queues.receive_messages(settings.sqs_queue_url, wait_seconds=0, max_messages=1, visibility_timeout=0)
        gateway.queues.delete_messages(settings.sqs_queue_url, ["setup-test-receipt-handle-that-does-not-exist"])
        return passed()
    return _with_gateway(configuration, check)


def check_event_wiring(configuration: Mapping[str, str]) -> CheckResult:
    """With sqs_queue_url: every bucket sends the event types event mode needs to the queue, for every configured
    prefix, and the queue's policy lets the sender in (see `wiring`).

    Reads each bucket's notification configuration (s3:GetBucketNotification) and the queue's policy (within
    sqs:GetQueueAttributes, which event mode needs anyway). Where a bucket sends to EventBridge, the rules that
    target the queue are read too (events:ListRuleNamesByTarget, events:DescribeRule); without those permissions
    the check passes with a note that the rules were not checked. Skipped without a queue, and with endpoint_url
    (S3-compatible stores wire notifications their own way).
    """
    def check(settings: Settings, gateway: S3Gateway) -> CheckResult:
        queue_url = settings.sqs_queue_url
        if not queue_url:
            return skipped("sqs_queue_url is empty, so event mode is off and there is no queue to test")
        if settings.endpoint_url:
            return skipped("endpoint_url is set: S3-compatible stores configure their notifications their own way, "
                           "which this check cannot read")
        attributes = gateway.queues.queue_attributes(queue_url)
        queue_arn = attributes.get("QueueArn", "")
        queue_region = queue_arn.split(":")[3] if queue_arn.count(":") >= 5 else None
        wanted = needs(settings.object_details)
        problems: list[str] = []
        notes: list[str] = []
        rules: list[Rule] | None = None
        rules_read = False
        for bucket in settings.buckets:
            region = gateway.bucket_region(bucket)
            if queue_region and region != queue_region:
                problems.append(f"bucket '{bucket}' is in {region} and the queue in {queue_region}: S3 sends events "
                                "only to a queue (or EventBridge rule) in the bucket's own region.")
                continue
            document = gateway.bucket_notification_configuration(bucket)
            if eventbridge_enabled(document) and not rules_read:
                rules, rules_read = _rules_targeting(gateway, queue_url, queue_arn), True
            prefixes = [prefix for name, prefix in settings.streams() if name == bucket]
            found = bucket_wiring(bucket, document, queue_arn, attributes.get("Policy"), prefixes, wanted,
                                  settings.include_patterns, rules)
            problems.extend(found.problems)
            notes.extend(found.notes)
        if problems:
            return failed(" ".join(problems) + f" To fix it, run {FIX_COMMAND} from the connector's directory (without "
                          "--apply it only shows what it would change); see docs/event-mode.md.")
        return passed("; ".join(notes))
    return _with_gateway(configuration, check)


def _rules_targeting(gateway: S3Gateway, queue_url: str, queue_arn: str) -> list[Rule] | None:
    """The EventBridge rules that target the queue; None when the credentials may not read them."""
    try:
        found = []
        for name in gateway.queues.rules_targeting(queue_url, queue_arn):
            rule = gateway.queues.event_rule(queue_url, name)
            found.append(Rule(name, rule.get("Arn", ""), rule.get("EventPattern"), rule.get("State") == "ENABLED"))
        return found
    except AccessDeniedError:
        return None


CHECKS: tuple[tuple[str, Check], ...] = (
    ("Configuration values are valid", check_configuration),
    ("AWS STS accepts the credentials and the role, when set (skipped with endpoint_url)", check_credentials),
    ("Each bucket exists and can be listed (s3:ListBucket)", check_buckets_listable),
    ("Objects can be described (s3:GetObject for HEAD, s3:GetObjectTagging with object_details tags; skipped with no "
     "object under the prefix)", check_objects_readable),
    ("Event queue can be read and emptied (sqs:GetQueueAttributes, ReceiveMessage, DeleteMessage; skipped without "
     "sqs_queue_url)", check_event_queue),
    ("Buckets send the events event mode needs to the queue (s3:GetBucketNotification; skipped without "
     "sqs_queue_url)", check_event_wiring),
)
