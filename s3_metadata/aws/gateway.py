"""The one place that talks to AWS: every request of a sync goes through one `S3Gateway`.

It is composed of units that each own one part of the work: the credentials (credentials.py: static keys, the
default chain, or an assumed role that renews itself), the envelope around every call (envelope.py: the bound on
requests in flight, our own retries, request counting, classification of what fails into a `SyncError` that says
what to do), our readers of 200 answers (fast_readers.py), HEADs that skip botocore's request path
(direct_head.py), and SQS and EventBridge for event mode (queues.py). The gateway itself holds one S3 client per
region with each bucket routed to its own region, and makes the S3 requests. Callers get plain values back
(responses.py).

A HEAD has no response body, so a wrong key, a wrong secret, an expired token and a skewed clock all arrive as a bare
400 or 403: a one-key listing of the same bucket, which does carry an error code, tells them apart (`_probe`).

botocore's generic work per request is most of the CPU of a large sync, so the requests made once per object take
shorter paths through it: 200 listings and HEADs are read by our own parsers at botocore's `before-parse` event
(fast_readers.py), and HEADs skip botocore's request path for its HTTP session and a SigV4 signer of ours
(direct_head.py, object_urls.py). Credentials, endpoints, redirects, error parsing and the HTTP connection stay
botocore's.
"""
from __future__ import annotations

import os
import random
import threading
import time
from contextlib import contextmanager
from functools import partial
from typing import Any, Callable, Iterator

import botocore.session
from botocore.config import Config

from s3_metadata.aws.credentials import use_credentials
from s3_metadata.aws.direct_head import DirectHeads
from s3_metadata.aws.envelope import Envelope
from s3_metadata.aws.fast_readers import BODY_READ_HERE, PARSED_HERE, FastReaders
from s3_metadata.aws.queues import Queues
from s3_metadata.aws.responses import (
    AwsCallError, HeadResult, ListPage, VersionsPage, head_result, last_listed, response_date,
)
from s3_metadata.configuration import Settings
from s3_metadata.errors import (
    CLOCK_SKEW_CODES, CREDENTIAL_CODES, NO_BUCKET_CODES, ClockSkewError, RetriesExhaustedError, SyncError,
    classify_client_error, is_bare, resolve_bare_head, unreadable_answer,
)
from s3_metadata.listing import Position
from s3_metadata.object_urls import is_text
from s3_metadata.retry import RetryPolicy
from s3_metadata.rows import listed_object
from s3_metadata.timestamps import install_fast_timestamp_parser

LIST_PAGE_SIZE = 1000
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
# The code of a HEAD failure for a key that is not valid Unicode text (object_urls.is_text): no request is sent.
KEY_NOT_TEXT = "KeyNotValidText"
# A probe's verdict (see `_probe`) is reused for this long by every HEAD of the bucket: one probe, not one per object.
PROBE_VERDICT_SECONDS = 30.0
# HEAD statuses whose bare code hides the cause, per operation (HeadBucket: 404 also on a server that is not S3).
_PROBED_STATUS = {"HeadObject": frozenset({400, 403}), "HeadBucket": frozenset({400, 403, 404})}
# A HEAD failure with one of these codes is not about the object: the sync cannot go on.
_FATAL_HEAD_CODES = CREDENTIAL_CODES | CLOCK_SKEW_CODES | NO_BUCKET_CODES


def configured_endpoint(settings: Settings) -> str | None:
    """The S3 endpoint in use when it is not AWS's own: from the configuration or the environment."""
    return settings.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")


class S3Gateway:
    """Every AWS request of a sync goes through one instance of this class."""

    def __init__(self, settings: Settings, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._endpoint = configured_endpoint(settings)
        self._envelope = Envelope(self._endpoint, settings.role_arn, settings.max_concurrency, policy, sleep, rng,
                                  clock)
        self.requests = self._envelope.requests
        self.retry_stats = self._envelope.retry_stats
        # The envelope's calls, as this gateway's requests make them (see envelope.py).
        self._call = self._envelope.call
        self._call_classified = self._envelope.call_classified
        self._session = botocore.session.get_session()
        install_fast_timestamp_parser(self._session)
        self._readers = FastReaders(self._session, bool(settings.object_details))
        self._direct_heads = DirectHeads(self._session, self._readers, self._envelope.count)
        self.queues = Queues(self._session, self._client_config, settings.aws_region, self._call_classified)
        self._clients: dict[str, Any] = {}
        self._bucket_regions: dict[str, str] = {}
        self._probe_gates: dict[str, threading.Lock] = {}
        self._probe_verdicts: dict[str, tuple[str | SyncError | None, float]] = {}
        use_credentials(self._session, settings, self._envelope.count, clock)

    @property
    def endpoint_is_custom(self) -> bool:
        """Whether requests go to an S3-compatible service rather than AWS."""
        return self._endpoint is not None

    def log_retries_to(self, report: Callable[[str], None]) -> None:
        """Log each wave of retries (the first retry for a reason) through `report`, e.g. the sync's logger."""
        self._envelope.log_retries_to(report)

    def given_up_warnings(self) -> list[str]:
        """One warning per operation given up in this sync, for the closing report."""
        return self._envelope.given_up_warnings()

    # -- clients and regions
    def _client_config(self) -> Config:
        s3_options = {"addressing_style": "path"} if self._endpoint else {}
        return Config(retries={"total_max_attempts": 1}, max_pool_connections=self.settings.max_concurrency + 4,
                      connect_timeout=10, read_timeout=60, s3=s3_options, tcp_keepalive=True)

    def client(self, region: str | None = None) -> Any:
        region = region or self.settings.aws_region
        with self._lock:
            if region not in self._clients:
                client = self._session.create_client(
                    "s3", region_name=region, endpoint_url=self._endpoint, config=self._client_config())
                self._readers.install(client)
                self._direct_heads.install(client)
                self._clients[region] = client
            return self._clients[region]

    def caller_identity(self) -> dict[str, Any]:
        """STS GetCallerIdentity: proves the credentials (or the assumed role) are valid, needs no permission."""
        sts = self._session.create_client("sts", region_name=self.settings.aws_region, config=self._client_config())
        return self._call_classified("GetCallerIdentity", None, sts.get_caller_identity)

    def bucket_region(self, bucket: str) -> str:
        """Find (once) which region holds `bucket`, checking on the way that it exists and can be listed."""
        with self._lock:
            if bucket in self._bucket_regions:
                return self._bucket_regions[bucket]
        client = self.client()
        try:
            response = self._call("HeadBucket", bucket, client.head_bucket, Bucket=bucket)
            region = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
        except AwsCallError as error:
            # A bucket in another region answers 301 (or 400) with its region in a header: that is the answer.
            region = error.headers.get("x-amz-bucket-region")
            if not region or self._endpoint:
                code = self._unmasked_head_code(error, bucket, client)
                raise classify_client_error("HeadBucket", code, error.status, bucket) from None
        if self._endpoint or not region:
            region = self.settings.aws_region
        with self._lock:
            self._bucket_regions[bucket] = region
        return region

    def bucket_client(self, bucket: str) -> Any:
        return self.client(self.bucket_region(bucket))

    # -- operations
    def list_page(self, bucket: str, prefix: str, start_after: str | None, token: str | None,
                  restore_status: bool = False, delimiter: str | None = None, max_keys: int | None = None) -> ListPage:
        """One ListObjectsV2 page. S3 ignores StartAfter once a continuation token is sent, so only one is."""
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys or LIST_PAGE_SIZE}
        if token:
            request["ContinuationToken"] = token
        elif start_after is not None:
            request["StartAfter"] = start_after
        if delimiter:
            request["Delimiter"] = delimiter
        if restore_status:
            request["OptionalObjectAttributes"] = ["RestoreStatus"]
        client = self.bucket_client(bucket)
        with self._reading_page("ListObjectsV2", bucket), self._readers.reading_listing(restore_status):
            response = self._call_classified("ListObjectsV2", bucket, client.list_objects_v2, **request)
        parsed = response.get(PARSED_HERE)
        if parsed is not None:
            body, botocore_parse = response[BODY_READ_HERE], self._readers.parse_with_botocore
            return ListPage(parsed.objects, parsed.common_prefixes, parsed.is_truncated, parsed.next_token,
                            response_date(response),
                            lambda: botocore_parse(client, "ListObjectsV2", body).get("Contents", []),
                            len(parsed.objects) + len(parsed.common_prefixes) >= request["MaxKeys"])
        entries = response.get("Contents", [])
        truncated = bool(response.get("IsTruncated"))
        prefixes = [p["Prefix"] for p in response.get("CommonPrefixes", [])]
        with self._reading_page("ListObjectsV2", bucket):
            objects = [listed_object(entry, restore_status) for entry in entries]
        return ListPage(
            objects=objects,
            common_prefixes=prefixes,
            truncated=truncated,
            next_token=response.get("NextContinuationToken") if truncated else None,
            date=response_date(response),
            botocore_entries=lambda: entries,
            full=len(entries) + len(prefixes) >= request["MaxKeys"],
        )

    @contextmanager
    def _reading_page(self, operation: str, bucket: str) -> Iterator[None]:
        """A listing page that came back but cannot be read, explained: botocore's parser raises ValueError or
        RuntimeError on a value it cannot convert (a Size that is not a number, a timestamp out of range), and its
        url-decoding, or our mapping of its parse, KeyError on an entry without a Key. The sync then stops with a
        message (`unreadable_answer`, which names the exception's type only) instead of a traceback of our
        internals; it is not retried, as the same page would come back. HEAD answers are per-object failures
        (sync.py), and the one-key listings of `_probe` and `_still_listed` fail only the object they are about."""
        try:
            yield
        except UnicodeEncodeError:  # a request botocore cannot serialize was never answered
            raise
        except (ValueError, RuntimeError, KeyError) as error:
            raise unreadable_answer(self._endpoint, operation, bucket, type(error).__name__) from None

    def head_object(self, bucket: str, key: str, checksums: bool = False) -> HeadResult | None:
        """HEAD one object: None when it no longer exists; AwsCallError for a per-object failure (an error response,
        retries run out: code is the last failure's, e.g. SlowDown; or KEY_NOT_TEXT, a key no request can name);
        SyncError when the sync cannot go on (bad credentials, a skewed clock, the bucket gone, the endpoint
        unreachable).

        `checksums` asks for the checksum headers too, which event mode needs to build a whole row without
        a listing entry.
        """
        if not is_text(key):  # botocore's serializer would raise UnicodeEncodeError, on both paths alike
            raise AwsCallError("HeadObject", KEY_NOT_TEXT, None)
        request: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if checksums:
            request["ChecksumMode"] = "ENABLED"
        client = self.bucket_client(bucket)
        urls = self._direct_heads.urls(bucket, client)
        method = "head_object" if urls is None else partial(self._direct_heads.head, client, bucket, urls)
        response = self._object_call("HeadObject", bucket, method, **request)
        if response is None:
            return None
        return head_result(response[PARSED_HERE] if PARSED_HERE in response else response)

    def get_object_tags(self, bucket: str, key: str) -> dict[str, str] | None:
        """GetObjectTagging of the current version: the tags as a mapping ({} when there are none), None when the
        object no longer exists; failures as for `head_object`."""
        response = self._object_call("GetObjectTagging", bucket, "get_object_tagging", Bucket=bucket, Key=key)
        if response is None:
            return None
        return {tag["Key"]: tag.get("Value", "") for tag in response.get("TagSet", [])}

    def read_object(self, bucket: str, key: str) -> Any:
        """GetObject's body, a stream to read (None when the object does not exist): for S3 Inventory reports, in a
        destination bucket of their own. Failures as for `head_object`."""
        response = self._object_call("GetObject", bucket, "get_object", Bucket=bucket, Key=key)
        return None if response is None else response["Body"]

    def _object_call(self, operation: str, bucket: str, method: str | Callable[..., dict[str, Any]],
                     **request: Any) -> dict[str, Any] | None:
        """A request about one object: None when the object no longer exists; AwsCallError for a failure that
        concerns only this object (an error response, or retries run out: code is the last failure's, e.g.
        SlowDown); SyncError when the sync cannot go on (bad credentials, a skewed clock, the bucket gone)."""
        client = self.bucket_client(bucket)
        try:
            return self._call(operation, bucket, getattr(client, method) if isinstance(method, str) else method,
                              f"{bucket}/{request.get('Key')}", **request)
        except RetriesExhaustedError as error:
            raise AwsCallError(operation, error.code, error.status) from None
        except AwsCallError as error:
            if error.code in NOT_FOUND_CODES and not (self._endpoint and self._still_listed(bucket, request["Key"],
                                                                                             client)):
                return None
            code = self._unmasked_head_code(error, bucket, client)
            if code in _FATAL_HEAD_CODES:
                raise classify_client_error(operation, code, error.status, bucket) from None
            if code != error.code:
                raise AwsCallError(operation, code, error.status, error.headers) from None
            raise

    def _still_listed(self, bucket: str, key: str, client: Any) -> bool:
        """Whether a one-key listing still shows `key`, which a request about it just called not found.

        Asked only of S3-compatible endpoints: on AWS, which is strongly consistent, a 404 means the object was
        deleted since it was listed. Some S3-compatible stores answer 404 for objects they list (a key they cannot
        encode, an operation routed nowhere): believing them would drop every such object from the table, so the
        object is kept, with a row that says its request failed. A listing that fails cannot confirm the delete
        either."""
        try:
            response = self._call("ListObjectsV2", bucket, client.list_objects_v2, Bucket=bucket, Prefix=key,
                                  MaxKeys=1)
        except (AwsCallError, RetriesExhaustedError):
            return True
        parsed = response.get(PARSED_HERE)
        listed = [o.key for o in parsed.objects] if parsed else [e.get("Key") for e in response.get("Contents", [])]
        return key in listed

    def _unmasked_head_code(self, error: AwsCallError, bucket: str, client: Any) -> str:
        """The real code behind a HEAD's bare 400/403 (and HeadBucket's 404), found by `_probe`."""
        if not is_bare(error.code, error.status) or error.status not in _PROBED_STATUS.get(error.operation, ()):
            return error.code
        return resolve_bare_head(error.code, error.status, self._probe(bucket, client))

    def _probe(self, bucket: str, client: Any) -> str | None:
        """The error code a one-key ListObjectsV2 of `bucket` answers (None: it succeeded).

        Unlike HEAD, a listing carries an error document, and it works on every S3-compatible store (STS does
        not). Single-flight per bucket: while one thread probes, the others wait for its verdict, which is then
        reused for PROBE_VERDICT_SECONDS, so a bucket of objects that all fail costs one probe, not one per object.
        """
        with self._lock:
            gate = self._probe_gates.setdefault(bucket, threading.Lock())
        with gate:
            cached = self._probe_verdicts.get(bucket)
            if cached is None or self._clock() - cached[1] >= PROBE_VERDICT_SECONDS:
                verdict: str | SyncError | None
                try:
                    self._call("ListObjectsV2", bucket, client.list_objects_v2, Bucket=bucket, MaxKeys=1)
                    verdict = None
                except (AwsCallError, RetriesExhaustedError) as error:
                    verdict = error.code
                except ClockSkewError:
                    verdict = next(iter(CLOCK_SKEW_CODES))
                except SyncError as error:  # the endpoint is unreachable or not S3: every waiting HEAD says so
                    verdict = error
                cached = (verdict, self._clock())
                self._probe_verdicts[bucket] = cached
        if isinstance(cached[0], SyncError):
            raise type(cached[0])(str(cached[0]))
        return cached[0]

    def bucket_versioning(self, bucket: str) -> str | None:
        """'Enabled', 'Suspended' or None (never versioned): whether delete markers can exist."""
        response = self._call_classified("GetBucketVersioning", bucket, self.bucket_client(bucket).get_bucket_versioning,
                                         Bucket=bucket)
        return response.get("Status")

    def intelligent_tiering_configurations(self, bucket: str) -> list[dict[str, Any]]:
        """The bucket's Intelligent-Tiering configurations (archive tiers are opt-in per configuration); failures as
        AwsCallError, for the caller to decide what an unknown tiering means."""
        client = self.bucket_client(bucket)
        return self._configurations(self._call, "ListBucketIntelligentTieringConfigurations", bucket,
                                    client.list_bucket_intelligent_tiering_configurations,
                                    "IntelligentTieringConfigurationList")

    def inventory_configurations(self, bucket: str) -> list[dict[str, Any]]:
        """The bucket's S3 Inventory configurations (inventory_source `auto`); failures classified (SyncError)."""
        client = self.bucket_client(bucket)
        return self._configurations(self._call_classified, "ListBucketInventoryConfigurations", bucket,
                                    client.list_bucket_inventory_configurations, "InventoryConfigurationList")

    @staticmethod
    def _configurations(call: Callable[..., dict[str, Any]], operation: str, bucket: str,
                        method: Callable[..., dict[str, Any]], listed: str) -> list[dict[str, Any]]:
        """Every page of a bucket's List*Configurations, which pages with ContinuationToken."""
        configurations: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            request: dict[str, Any] = {"Bucket": bucket}
            if token:
                request["ContinuationToken"] = token
            response = call(operation, bucket, method, **request)
            configurations.extend(response.get(listed, []))
            token = response.get("NextContinuationToken") if response.get("IsTruncated") else None
            if not token:
                return configurations

    def list_versions_page(self, bucket: str, prefix: str, key_marker: str | None,
                           version_marker: str | None, max_keys: int | None = None) -> VersionsPage:
        """One ListObjectVersions page, starting after `key_marker` (and `version_marker` within that key)."""
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys or LIST_PAGE_SIZE}
        if key_marker is not None:
            request["KeyMarker"] = key_marker
            if version_marker is not None:
                request["VersionIdMarker"] = version_marker
        client = self.bucket_client(bucket)
        with self._reading_page("ListObjectVersions", bucket):
            response = self._call_classified("ListObjectVersions", bucket, client.list_object_versions, **request)
        parsed = response.get(PARSED_HERE)
        if parsed is not None:
            body = response[BODY_READ_HERE]
            last = max(parsed.versions, key=lambda v: (v.key, -v.last_modified.timestamp()), default=None)
            return VersionsPage(parsed.is_truncated, parsed.next_key_marker, parsed.next_version_marker,
                                lambda: self._readers.parse_with_botocore(client, "ListObjectVersions", body),
                                Position(last.key, last.version_id) if last else None,
                                len(parsed.versions) >= request["MaxKeys"])
        truncated = bool(response.get("IsTruncated"))
        entries = response.get("Versions", []) + response.get("DeleteMarkers", [])
        with self._reading_page("ListObjectVersions", bucket):
            last = last_listed(entries)
        return VersionsPage(
            truncated=truncated,
            next_key_marker=response.get("NextKeyMarker") if truncated else None,
            next_version_marker=response.get("NextVersionIdMarker") if truncated else None,
            parse_with_botocore=lambda: response,
            last=last,
            full=len(entries) >= request["MaxKeys"],
        )

    # -- how buckets reach the queue, for the setup check (event mode)
    def bucket_notification_configuration(self, bucket: str) -> dict[str, Any]:
        """The bucket's notification configuration (queue, topic and Lambda entries, and whether EventBridge is on)."""
        response = self._call_classified("GetBucketNotificationConfiguration", bucket,
                                         self.bucket_client(bucket).get_bucket_notification_configuration,
                                         Bucket=bucket)
        return {key: value for key, value in response.items() if key != "ResponseMetadata"}
