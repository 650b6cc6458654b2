"""The one package that talks to AWS: every request of a sync goes through one `S3Gateway` (gateway.py), which
composes the units beside it. The names other modules use are imported from here."""
from s3_metadata.aws.credentials import ROLE_DURATION_SECONDS
from s3_metadata.aws.fast_readers import HEAD_DETAIL_MEMBERS, HEAD_MEMBERS, PARSED_HERE
from s3_metadata.aws.gateway import KEY_NOT_TEXT, PROBE_VERDICT_SECONDS, S3Gateway, configured_endpoint
from s3_metadata.aws.queues import QueueMessage, queue_location
from s3_metadata.aws.responses import AwsCallError, HeadResult, ListPage, VersionsPage, head_result

__all__ = [
    "HEAD_DETAIL_MEMBERS", "HEAD_MEMBERS", "KEY_NOT_TEXT", "PARSED_HERE", "PROBE_VERDICT_SECONDS",
    "ROLE_DURATION_SECONDS", "AwsCallError", "HeadResult", "ListPage", "QueueMessage", "S3Gateway", "VersionsPage",
    "configured_endpoint", "head_result", "queue_location",
]
