"""The one package that talks to AWS (see gateway.py)."""
from s3_metadata.aws.gateway import (
    HEAD_DETAIL_MEMBERS, HEAD_MEMBERS, KEY_NOT_TEXT, PARSED_HERE, PROBE_VERDICT_SECONDS, ROLE_DURATION_SECONDS,
    AwsCallError, HeadResult, ListPage, QueueMessage, S3Gateway, VersionsPage, configured_endpoint, head_result,
    queue_location,
)

__all__ = [
    "HEAD_DETAIL_MEMBERS", "HEAD_MEMBERS", "KEY_NOT_TEXT", "PARSED_HERE", "PROBE_VERDICT_SECONDS",
    "ROLE_DURATION_SECONDS", "AwsCallError", "HeadResult", "ListPage", "QueueMessage", "S3Gateway", "VersionsPage",
    "configured_endpoint", "head_result", "queue_location",
]
