"""The one place that talks to AWS.

It builds the credentials (static keys, the default chain, or an assumed role that renews itself), one
client per region with each bucket routed to its own region, and wraps every call in the same envelope:
a bound on requests in flight (`max_concurrency`), our own retries with backoff (botocore's are switched
off so every retry is counted), request counting by operation, and classification of what fails into a
`SyncError` that says what to do. Callers get plain values back.

Two answers need a second look before they can be classified. A HEAD has no response body, so a wrong key,
a wrong secret, an expired token and a skewed clock all arrive as a bare 400 or 403: a one-key listing of the
same bucket, which does carry an error code, tells them apart (`_probe`). And a server that is not S3 at
all (a web page, a JSON API, a console port) answers ListObjectsV2 with HTML or JSON, which botocore either
parses into an empty listing or turns into a retryable 500: both are recognised and explained at once.

botocore's generic work per request is most of the CPU of a large sync, so the requests made once per object take
shorter paths through it: 200 listings and HEADs are read by our own parsers at botocore's `before-parse` event
(`_read_fast`), and HEADs skip botocore's request path for its HTTP session and a SigV4 signer of ours
(`_direct_head`, object_urls.py). Credentials, endpoints, redirects, error parsing and the HTTP connection stay
botocore's.
"""
from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import cached_property, partial
from typing import Any, Callable, Mapping
from urllib.parse import urlparse

import botocore.handlers
import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, RefreshableCredentials
from botocore.endpoint import convert_to_response_dict
from botocore.exceptions import (
    BotoCoreError, ClientError, ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError,
    IncompleteReadError, NoCredentialsError, ReadTimeoutError, ResponseStreamingError, SSLError,
)
from botocore.hooks import first_non_none_response
from botocore.utils import lowercase_dict

from s3_metadata.configuration import Settings
from s3_metadata.errors import (
    CLOCK_SKEW_CODES, CREDENTIAL_CODES, NO_BUCKET_CODES, ClockSkewError, RetriesExhaustedError, SyncError,
    answered_by_non_s3, classify_client_error, clock_skewed, endpoint_unreachable, gave_up, is_bare, no_credentials,
    not_s3_api, resolve_bare_head, retries_exhausted, role_not_sent, role_unavailable, role_unreachable, tls_failure,
)
from s3_metadata.head_headers import head_fields, user_metadata
from s3_metadata.listing import Position
from s3_metadata.listing_xml import parse_objects_page, parse_versions_page
from s3_metadata.object_urls import PROBE_KEYS, ObjectUrls, PlannedRequest, is_text, object_urls, signed_head
from s3_metadata.retry import RetryPolicy, RetryStats, RetryWaves, Streak, after_failure, gives_up, is_retryable
from s3_metadata.rows import ListedObject, listed_object
from s3_metadata.timestamps import install_fast_timestamp_parser, to_utc

_NETWORK_ERRORS = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError,
                   ResponseStreamingError, IncompleteReadError)
_NETWORK_ERROR_NAMES = frozenset({e.__name__ for e in _NETWORK_ERRORS} | {SSLError.__name__})
ROLE_DURATION_SECONDS = 3600
# A failed role renewal is reported to every worker that asks within this window, without asking STS again.
ROLE_FAILURE_REUSE_SECONDS = 30.0
# The STS client's own retries: botocore's standard mode (3 attempts, jittered backoff). Not ours, because a renewal
# happens inside botocore while a request is signed, outside the envelope of `_call`; each attempt is still counted.
STS_RETRIES = {"mode": "standard"}
LIST_PAGE_SIZE = 1000
DEFAULT_POLICY = RetryPolicy()
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
# The code of a HEAD failure for a key that is not valid Unicode text (object_urls.is_text): no request is sent.
KEY_NOT_TEXT = "KeyNotValidText"
# A probe's verdict (see `_probe`) is reused for this long by every HEAD of the bucket: one probe, not one per object.
PROBE_VERDICT_SECONDS = 30.0
# HEAD statuses whose bare code hides the cause, per operation (HeadBucket: 404 also on a server that is not S3).
_PROBED_STATUS = {"HeadObject": frozenset({400, 403}), "HeadBucket": frozenset({400, 403, 404})}
# A HEAD failure with one of these codes is not about the object: the sync cannot go on.
_FATAL_HEAD_CODES = CREDENTIAL_CODES | CLOCK_SKEW_CODES | NO_BUCKET_CODES
# Where our `before-parse` handlers leave what they read, in botocore's parsed response (see `_read_fast`).
PARSED_HERE = "S3MetadataParsed"
BODY_READ_HERE = "S3MetadataBody"
# The HeadObject members `head_result` reads (and every Checksum* member), and with object details these too and the
# user metadata. No other header is read on either HEAD path: one botocore cannot convert (an `Expires` with no
# value, which botocore's own handler lets through to its parser) then fails no HEAD.
HEAD_MEMBERS = frozenset({"StorageClass", "Restore", "ArchiveStatus", "ContentLength", "ETag", "LastModified",
                          "ChecksumType"})
HEAD_DETAIL_MEMBERS = frozenset({
    "VersionId", "ContentType", "ContentEncoding", "CacheControl", "ServerSideEncryption", "SSEKMSKeyId",
    "BucketKeyEnabled", "ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus",
    "ReplicationStatus", "Expiration", "PartsCount"})
# botocore parses every S3 200 body once more to see whether it is an `<Error>`; our listing handlers make that
# check themselves while reading the body. None if a botocore release renames it: then botocore's check stays.
_BOTOCORE_200_CHECK = getattr(botocore.handlers, "_handle_200_error", None)


class _Planned(Exception):
    """Stops a HeadObject botocore was about to sign, carrying what it planned (see `S3Gateway._planned_head`)."""

    def __init__(self, request: PlannedRequest):
        super().__init__("planned, not sent")
        self.request = request


@dataclass
class GivenUp:
    """An operation given up for the rest of the sync: the streak that gave it up, and the requests not sent since."""

    streak: Streak
    unsent: int = 0


class AwsCallError(Exception):
    """A non-retryable AWS error response, before the caller decides whether it is fatal."""

    def __init__(self, operation: str, code: str, status: int | None, headers: dict[str, str] | None = None):
        super().__init__(f"{operation} failed with {code} (HTTP {status})")
        self.operation = operation
        self.code = code
        self.status = status
        self.headers = headers or {}


@dataclass(frozen=True)
class ListPage:
    """One ListObjectsV2 page. `objects` is what the sync reads. `truncated` is the page's IsTruncated, as sent:
    whether S3 has more to list, with `next_token` (NextContinuationToken) or, from some stores, without one
    (listing.next_page decides how to go on). `entries` is botocore's own parse of the same page (dicts), built on
    first use: for callers that need what a dict holds and a ListedObject does not (whether RestoreStatus was there
    at all)."""

    objects: list[ListedObject]
    common_prefixes: list[str]
    truncated: bool
    next_token: str | None
    date: datetime | None
    botocore_entries: Callable[[], list[dict[str, Any]]] = field(default=list, repr=False, compare=False)
    full: bool = False  # as many entries as MaxKeys asked for (see listing.walk_part)

    @cached_property
    def entries(self) -> list[dict[str, Any]]:
        return self.botocore_entries()


@dataclass(frozen=True)
class HeadResult:
    """What a HEAD said of an object, as plain values; the header names in the comments."""

    storage_class: str
    restore: str | None
    archive_status: str | None
    size: int = 0
    e_tag: str = ""
    last_modified: datetime | None = None
    checksum_algorithm: str | None = None
    checksum_type: str | None = None
    version_id: str | None = None  # x-amz-version-id
    content_type: str | None = None
    content_encoding: str | None = None
    cache_control: str | None = None
    server_side_encryption: str | None = None  # x-amz-server-side-encryption
    sse_kms_key_id: str | None = None  # x-amz-server-side-encryption-aws-kms-key-id
    bucket_key_enabled: bool | None = None  # x-amz-server-side-encryption-bucket-key-enabled
    object_lock_mode: str | None = None  # x-amz-object-lock-mode
    object_lock_retain_until: datetime | None = None  # x-amz-object-lock-retain-until-date
    object_lock_legal_hold: str | None = None  # x-amz-object-lock-legal-hold: ON or OFF
    replication_status: str | None = None  # x-amz-replication-status
    expiration: str | None = None  # x-amz-expiration, unparsed (details.parse_expiration)
    parts_count: int | None = None  # x-amz-mp-parts-count
    checksums: Mapping[str, str] = field(default_factory=dict)  # algorithm (CRC32, SHA256, ...) -> value
    user_metadata: Mapping[str, str] = field(default_factory=dict)  # x-amz-meta-*, names without the prefix


@dataclass(frozen=True)
class VersionsPage:
    """One ListObjectVersions page: `versions` and `delete_markers` are botocore's own parse of it (dicts), built on
    first use. `truncated` is the page's IsTruncated, as sent (with or without NextKeyMarker, see listing.next_page);
    `last` the key and version id of the page's last entry, where a store that sends no NextKeyMarker is asked to go
    on; `full`: the page holds as many entries as MaxKeys asked for."""

    truncated: bool
    next_key_marker: str | None
    next_version_marker: str | None
    parse_with_botocore: Callable[[], dict[str, Any]] = field(default=dict, repr=False, compare=False)
    last: Position | None = None
    full: bool = False

    @cached_property
    def _botocore(self) -> dict[str, Any]:
        return self.parse_with_botocore()

    @property
    def versions(self) -> list[dict[str, Any]]:
        return self._botocore.get("Versions", [])

    @property
    def delete_markers(self) -> list[dict[str, Any]]:
        return self._botocore.get("DeleteMarkers", [])


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    receipt_handle: str
    body: str


def last_listed(entries: list[dict[str, Any]]) -> Position | None:
    """The entry a ListObjectVersions page ended with, from botocore's parse (which keeps versions and delete markers
    apart): the greatest key, and of its entries the oldest, as S3 lists each key's newest first. (Some stores, moto
    among them, send all versions before all delete markers, so the body's last element is not always it.)"""
    if not entries:
        return None
    last = max(entries, key=lambda e: (e["Key"], -to_utc(e["LastModified"]).timestamp()))
    return Position(last["Key"], last.get("VersionId") or "null")


def head_result(response: dict[str, Any]) -> HeadResult:
    """The plain values of a HeadObject response (checksums only appear when ChecksumMode was ENABLED)."""
    checksums = {name[len("Checksum"):].upper(): value for name, value in response.items()
                 if name.startswith("Checksum") and name != "ChecksumType" and value}
    last_modified = response.get("LastModified")
    retain_until = response.get("ObjectLockRetainUntilDate")
    parts = response.get("PartsCount")
    return HeadResult(
        storage_class=response.get("StorageClass") or "STANDARD",
        restore=response.get("Restore"),
        archive_status=response.get("ArchiveStatus"),
        size=int(response.get("ContentLength") or 0),
        e_tag=(response.get("ETag") or "").strip('"'),
        last_modified=to_utc(last_modified) if last_modified else None,
        checksum_algorithm=",".join(sorted(checksums)) or None,
        checksum_type=response.get("ChecksumType"),
        version_id=response.get("VersionId"),
        content_type=response.get("ContentType"),
        content_encoding=response.get("ContentEncoding"),
        cache_control=response.get("CacheControl"),
        server_side_encryption=response.get("ServerSideEncryption"),
        sse_kms_key_id=response.get("SSEKMSKeyId"),
        bucket_key_enabled=response.get("BucketKeyEnabled"),
        object_lock_mode=response.get("ObjectLockMode"),
        object_lock_retain_until=to_utc(retain_until) if retain_until else None,
        object_lock_legal_hold=response.get("ObjectLockLegalHoldStatus"),
        replication_status=response.get("ReplicationStatus"),
        expiration=response.get("Expiration"),
        parts_count=int(parts) if parts is not None else None,
        checksums=checksums,
        user_metadata=dict(response.get("Metadata") or {}),
    )


def _botocore_200_check_unless_read_here(operation_model: Any, response_dict: dict[str, Any], **kwargs: Any) -> None:
    """botocore's check for an `<Error>` inside a 200, for every S3 operation but the two listings we read."""
    if operation_model.name not in ("ListObjectsV2", "ListObjectVersions"):
        _BOTOCORE_200_CHECK(operation_model=operation_model, response_dict=response_dict, **kwargs)


def _read_listing(parse: Callable[[bytes], Any] | None, operation_model: Any, response_dict: dict[str, Any],
                  customized_response_dict: dict[str, Any]) -> None:
    """Our reading of a 200 listing body, or else botocore's 200-error check and parse, as without us."""
    if response_dict["status_code"] == 200 and parse is not None:
        parsed = parse(response_dict["body"])
        if parsed is not None:
            customized_response_dict[PARSED_HERE] = parsed
            customized_response_dict[BODY_READ_HERE] = response_dict["body"]
            response_dict["body"] = b""
            return
    if _BOTOCORE_200_CHECK is not None:
        _BOTOCORE_200_CHECK(operation_model=operation_model, response_dict=response_dict)


def _before_parse_versions(operation_model: Any, response_dict: dict[str, Any],
                           customized_response_dict: dict[str, Any], **_: Any) -> None:
    _read_listing(parse_versions_page, operation_model, response_dict, customized_response_dict)


def _head_values(headers: Mapping[str, str], lowered: dict[str, str], members: dict[str, tuple[str, str]],
                 metadata: bool) -> dict[str, Any] | None:
    """What a HeadObject 200 says of `members` (and the user metadata with `metadata`), as botocore would parse it;
    None when a value does not convert cleanly and botocore's parse must stand. `headers` is the response's own
    header mapping (user-metadata names keep the case S3 sent, as in botocore's parse), `lowered` its lower-case
    copy."""
    fields = head_fields(lowered, members)
    if fields is not None and metadata:
        fields["Metadata"] = user_metadata(headers)
    return fields


def _before_parse_head(members: dict[str, tuple[str, str]], metadata: bool, response_dict: dict[str, Any],
                       customized_response_dict: dict[str, Any]) -> None:
    if response_dict["status_code"] != 200:
        return
    lowered = lowercase_dict(response_dict["headers"])
    fields = _head_values(response_dict["headers"], lowered, members, metadata)
    if fields is not None:
        customized_response_dict[PARSED_HERE] = fields
        response_dict["headers"] = lowered


def response_date(response: dict[str, Any]) -> datetime | None:
    """S3's own clock, from the Date header of a response."""
    text = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if not text:
        return None
    try:
        return to_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


def queue_location(queue_url: str, default_region: str) -> tuple[str, str | None]:
    """(region, endpoint override) of an SQS queue URL such as https://sqs.eu-west-1.amazonaws.com/1234/q."""
    parsed = urlparse(queue_url)
    host = parsed.hostname or ""
    parts = host.split(".")
    if host.endswith((".amazonaws.com", ".amazonaws.com.cn")) and len(parts) >= 4 and parts[0] == "sqs":
        return parts[1], None
    if host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        return default_region, None
    return default_region, f"{parsed.scheme}://{parsed.netloc}"


def configured_endpoint(settings: Settings) -> str | None:
    """The S3 endpoint in use when it is not AWS's own: from the configuration or the environment."""
    return settings.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")


class _NoCache(dict):
    """The fetcher's credential cache, switched off: RefreshableCredentials holds the current credentials and
    decides when to renew them, and a cache would only hand the same ones back."""

    def __contains__(self, key: object) -> bool:
        return False


class AssumedRole:
    """Credentials of `role_arn` that renew themselves, fetched by botocore's own AssumeRoleCredentialFetcher.

    botocore renews them inside the request that notices they are about to expire, while that request is being
    signed and already holds one of the gateway's `max_concurrency` slots. So renewal never goes through the
    gateway's envelope: the STS client has its own retries (standard mode) and takes no slot, and a sync with
    max_concurrency 1 renews as often as it needs to. A failed renewal raises a RoleAssumptionError (or a
    CredentialsError for bad base credentials) that names STS and the role; it is remembered for
    ROLE_FAILURE_REUSE_SECONDS, so the other workers, which botocore holds until the renewal is done, fail at once
    instead of each asking STS in turn.
    """

    def __init__(self, settings: Settings, count: Callable[[str], None], clock: Callable[[], float] = time.monotonic):
        self._role_arn = settings.role_arn
        self._region = settings.aws_region
        self._count = count
        self._clock = clock
        self._lock = threading.Lock()
        self._failure: tuple[type[SyncError], str, float] | None = None
        self._sts_endpoint: str | None = None
        self._base = botocore.session.get_session()
        if settings.aws_access_key_id and settings.aws_secret_access_key:
            self._base.set_credentials(settings.aws_access_key_id, settings.aws_secret_access_key,
                                       settings.aws_session_token)
        source = self._base.get_credentials()
        if source is None:
            raise no_credentials()
        extra: dict[str, Any] = {"RoleSessionName": settings.role_session_name,
                                 "DurationSeconds": ROLE_DURATION_SECONDS}
        if settings.external_id:
            extra["ExternalId"] = settings.external_id
        self._fetcher = AssumeRoleCredentialFetcher(self._sts_client, source, settings.role_arn, extra_args=extra,
                                                    cache=_NoCache())

    def credentials(self) -> RefreshableCredentials:
        """The role's first credentials (fetched now, so a refused role fails before any S3 request)."""
        return RefreshableCredentials.create_from_metadata(metadata=self.fetch(), refresh_using=self.fetch,
                                                           method="sts-assume-role")

    def _sts_client(self, service: str, **credentials: Any) -> Any:
        """The STS client botocore's fetcher asks for, given the source credentials (keys and token). They are
        cleared from this frame however it is left, so that no crash report, which prints our frames' locals, can
        show them (those of the default chain are not in the configuration, the only values it redacts)."""
        try:
            client = self._base.create_client(service, region_name=self._region, **credentials,
                                              config=Config(retries=STS_RETRIES, connect_timeout=10, read_timeout=60))
        finally:
            credentials.clear()
        self._sts_endpoint = client.meta.endpoint_url
        client.meta.events.register("before-send.sts.AssumeRole", self._count_attempt)
        return client

    def _count_attempt(self, **_: Any) -> None:
        self._count("AssumeRole")

    def fetch(self) -> dict[str, Any]:
        """AssumeRole, for botocore's refresh; failures classified (and reused for a short while)."""
        with self._lock:
            if self._failure and self._clock() - self._failure[2] < ROLE_FAILURE_REUSE_SECONDS:
                raise self._failure[0](self._failure[1])
        try:
            return self._fetcher.fetch_credentials()
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code") or "Unknown")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            failure = role_unavailable(self._role_arn, code, status) if is_retryable(code, status) else \
                classify_client_error("AssumeRole", code, status, None, self._role_arn)
        except NoCredentialsError:
            failure = no_credentials()
        except (*_NETWORK_ERRORS, SSLError) as error:
            failure = role_unreachable(self._role_arn, self._sts_endpoint, type(error).__name__)
        except BotoCoreError as error:
            failure = role_not_sent(self._role_arn, type(error).__name__)
        with self._lock:
            self._failure = (type(failure), str(failure), self._clock())
        raise failure


class S3Gateway:
    """Every AWS request of a sync goes through one instance of this class."""

    def __init__(self, settings: Settings, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.policy = policy or DEFAULT_POLICY
        self.retry_stats = RetryStats()
        self.requests: Counter[str] = Counter()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        self._lock = threading.Lock()
        self._in_flight = threading.BoundedSemaphore(settings.max_concurrency)
        self._endpoint = configured_endpoint(settings)
        self._session = botocore.session.get_session()
        install_fast_timestamp_parser(self._session)
        self._clients: dict[str, Any] = {}
        self._bucket_regions: dict[str, str] = {}
        self._probe_gates: dict[str, threading.Lock] = {}
        self._probe_verdicts: dict[str, tuple[str | SyncError | None, float]] = {}
        # Per operation about single objects: its failures in a row, and whether it was given up (retry.py).
        self._streaks: dict[str, Streak | None] = {}
        self._given_up: dict[str, GivenUp] = {}
        # Whether the ListObjectsV2 call in flight on this thread asked for RestoreStatus (see `_read_fast`).
        self._listing = threading.local()
        # Per bucket, where its HEADs go when they skip botocore's request path (None: they do not; see `head_object`).
        self._object_urls: dict[str, ObjectUrls | None] = {}
        # Set on a thread while it asks botocore to plan a HEAD it will not send (see `_planned_head`).
        self._planning = threading.local()
        self._head_members: dict[str, tuple[str, str]] = {}
        self._head_parser = self._session.get_component("response_parser_factory").create_parser("rest-xml")
        # Whether any endpoint has answered a request yet (see retry.py: network failures before that are cut short).
        self._answered = False
        self._retry_waves: RetryWaves | None = None
        self._setup_credentials()

    @property
    def endpoint_is_custom(self) -> bool:
        """Whether requests go to an S3-compatible service rather than AWS."""
        return self._endpoint is not None

    # -- credentials and clients
    def _setup_credentials(self) -> None:
        s = self.settings
        if s.aws_access_key_id and s.aws_secret_access_key:
            self._session.set_credentials(s.aws_access_key_id, s.aws_secret_access_key, s.aws_session_token)
        if s.role_arn:
            # botocore has no public setter for a session's credentials object.
            self._session._credentials = AssumedRole(s, self._count, self._clock).credentials()

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
                self._read_fast(client)
                self._clients[region] = client
            return self._clients[region]

    def _read_fast(self, client: Any) -> None:
        """Read ListObjectsV2, ListObjectVersions and HeadObject 200 responses ourselves, before botocore parses.

        botocore still signs, sends, redirects, retries and parses every error. For a 200 listing, our
        `before-parse` handler reads the body (`listing_xml`), leaves the values in the parsed response under
        PARSED_HERE and empties the body, so botocore's parser finds nothing left to walk; for a 200 HEAD it reads
        the headers `head_result` needs (`head_headers`) and hands botocore a plain lower-cased copy of the headers
        (what its metadata holds anyway), in which its case-sensitive lookups of mixed-case names such as
        Last-Modified find nothing to parse. A body our parser declines (not S3's usual shape, or an error) is left
        to botocore untouched: its own 200-error check (which our handlers replace for the two listings, since it
        parses the whole body a second time) runs on it, then its parser.
        """
        events = client.meta.events
        if _BOTOCORE_200_CHECK is not None:
            events.unregister("before-parse.s3.*", _BOTOCORE_200_CHECK)
            events.register_first("before-parse.s3.*", _botocore_200_check_unless_read_here)
        events.register("before-parse.s3.ListObjectsV2", self._before_parse_listing)
        events.register("before-parse.s3.ListObjectVersions", _before_parse_versions)
        shape = client.meta.service_model.operation_model("HeadObject").output_shape
        details = bool(self.settings.object_details)
        members = {name: (member.serialization["name"].lower(), member.type_name)
                   for name, member in shape.members.items() if member.serialization.get("location") == "header"
                   and (name in HEAD_MEMBERS or name.startswith("Checksum")
                        or (details and name in HEAD_DETAIL_MEMBERS))}
        self._head_members = members
        events.register("before-parse.s3.HeadObject",
                        lambda response_dict, customized_response_dict, **_: _before_parse_head(
                            members, details, response_dict, customized_response_dict))
        events.register("before-sign.s3.HeadObject", self._stop_if_planning)

    def _before_parse_listing(self, operation_model: Any, response_dict: dict[str, Any],
                              customized_response_dict: dict[str, Any], **_: Any) -> None:
        restore_status = getattr(self._listing, "restore_status", None)
        parse = None if restore_status is None else lambda body: parse_objects_page(body, restore_status)
        _read_listing(parse, operation_model, response_dict, customized_response_dict)

    def _parse_with_botocore(self, client: Any, operation: str, body: bytes) -> dict[str, Any]:
        """botocore's own parse of a 200 listing body our handler read: its parser, then the url-decoding it
        applies to listings after the call."""
        model = client.meta.service_model.operation_model(operation)
        parser = self._session.get_component("response_parser_factory").create_parser("rest-xml")
        parsed = parser.parse({"body": body, "headers": {}, "status_code": 200}, model.output_shape)
        decode = (botocore.handlers.decode_list_object_v2 if operation == "ListObjectsV2"
                  else botocore.handlers.decode_list_object_versions)
        decode(parsed=parsed, context={"encoding_type_auto_set": True})
        return parsed

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
        self._listing.restore_status = restore_status
        try:
            response = self._call_classified("ListObjectsV2", bucket, client.list_objects_v2, **request)
        finally:
            self._listing.restore_status = None
        parsed = response.get(PARSED_HERE)
        if parsed is not None:
            body = response[BODY_READ_HERE]
            return ListPage(parsed.objects, parsed.common_prefixes, parsed.is_truncated, parsed.next_token,
                            response_date(response),
                            lambda: self._parse_with_botocore(client, "ListObjectsV2", body).get("Contents", []),
                            len(parsed.objects) + len(parsed.common_prefixes) >= request["MaxKeys"])
        entries = response.get("Contents", [])
        truncated = bool(response.get("IsTruncated"))
        prefixes = [p["Prefix"] for p in response.get("CommonPrefixes", [])]
        return ListPage(
            objects=[listed_object(entry, restore_status) for entry in entries],
            common_prefixes=prefixes,
            truncated=truncated,
            next_token=response.get("NextContinuationToken") if truncated else None,
            date=response_date(response),
            botocore_entries=lambda: entries,
            full=len(entries) + len(prefixes) >= request["MaxKeys"],
        )

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
        urls = self._head_urls(bucket)
        method = "head_object" if urls is None else partial(self._direct_head, self.bucket_client(bucket), bucket, urls)
        response = self._object_call("HeadObject", bucket, method, **request)
        if response is None:
            return None
        return head_result(response[PARSED_HERE] if PARSED_HERE in response else response)

    def _head_urls(self, bucket: str) -> ObjectUrls | None:
        """Where `bucket`'s HEADs go when they skip botocore's request path, planned once per bucket; None when
        botocore's plans show they cannot (see object_urls.py), or botocore's HTTP session is not where we look."""
        with self._lock:
            if bucket in self._object_urls:
                return self._object_urls[bucket]
        client = self.bucket_client(bucket)
        planned = {key: self._planned_head(client, bucket, key) for key in PROBE_KEYS}
        usable = all(planned.values()) and getattr(getattr(client, "_endpoint", None), "http_session", None)
        urls = object_urls(planned) if usable else None  # type: ignore[arg-type]
        with self._lock:
            return self._object_urls.setdefault(bucket, urls)

    def _planned_head(self, client: Any, bucket: str, key: str) -> PlannedRequest | None:
        """The HeadObject of `key` as botocore plans it: built by its whole request path, stopped just before
        signing (by `_stop_if_planning`), so nothing is sent. None when botocore cannot build it."""
        self._planning.active = True
        try:
            client.head_object(Bucket=bucket, Key=key)
        except _Planned as planned:
            return planned.request
        except BotoCoreError:
            return None
        finally:
            self._planning.active = False
        return None

    def _stop_if_planning(self, request: Any, signing_name: str, region_name: str, signature_version: str,
                          **_: Any) -> None:
        """botocore's `before-sign` event: on a thread that is planning a HEAD, stop it with what it planned."""
        if not getattr(self._planning, "active", False):
            return
        signing = request.context.get("signing", {})
        raise _Planned(PlannedRequest(
            url=request.url, headers=frozenset(name.lower() for name in request.headers.keys()),
            region=signing.get("region") or region_name, service=signing.get("signing_name") or signing_name,
            signature_version=signature_version,
            own_credentials=bool(signing.get("request_credentials") or signing.get("identity_cache") is not None),
            user_agent=str(request.headers.get("User-Agent") or "")))

    def _direct_head(self, client: Any, bucket: str, urls: ObjectUrls, Bucket: str,  # noqa: N803 (botocore's names)
                     Key: str, ChecksumMode: str | None = None) -> dict[str, Any]:  # noqa: N803
        """HeadObject through botocore's signer and HTTP session only, answered as `client.head_object` answers.

        About 40% of the CPU of botocore's whole path (bench/parse_cost.py). botocore's `before-send` event still
        runs (so whatever answers requests there, moto or a test's faults, answers these too); a 200 is read by
        `head_fields`, anything else goes through botocore's `before-parse` handlers and parser and is raised as
        botocore raises it. A redirect, or a region S3 names that is not the one signed for, is left to botocore's
        whole path, which follows it; the bucket's later HEADs then take that path too.
        """
        request = {"Bucket": Bucket, "Key": Key, **({"ChecksumMode": ChecksumMode} if ChecksumMode else {})}
        response = self._send_direct_head(client, urls, Key, ChecksumMode == "ENABLED")
        status = response.status_code
        lowered = lowercase_dict(response.headers)
        if status == 200:
            fields = _head_values(response.headers, lowered, self._head_members, bool(self.settings.object_details))
            if fields is not None:
                return {PARSED_HERE: fields, "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": lowered}}
        named_region = lowered.get("x-amz-bucket-region")
        if 300 <= status < 400 or (status == 400 and named_region and named_region != urls.region):
            with self._lock:
                self._object_urls[bucket] = None
            self._count("HeadObject")
            return client.head_object(**request)
        parsed = self._parsed_head(client, response)
        if status >= 300:
            error = parsed.get("Error", {})
            raise client.exceptions.from_code(error.get("QueryErrorCode") or error.get("Code"))(parsed, "HeadObject")
        return parsed

    def _send_direct_head(self, client: Any, urls: ObjectUrls, key: str, checksums: bool) -> Any:
        """Sign one HEAD (`signed_head`) and send it through botocore's `before-send` event and HTTP session.

        The signed request carries the session token: this frame drops it however it is left, so that the crash
        report of an unexpected exception (it prints our frames' locals) cannot show it; the credentials themselves
        are only ever held inside the signer (`object_urls._sign`).
        """
        prepared = signed_head(urls, key, checksums, self._session.get_credentials())
        try:
            answered = first_non_none_response(client.meta.events.emit("before-send.s3.HeadObject", request=prepared))
            return answered if answered is not None else client._endpoint.http_session.send(prepared)
        finally:
            del prepared

    def _parsed_head(self, client: Any, response: Any) -> dict[str, Any]:
        """botocore's parse of a HeadObject response, as its endpoint makes it: the `before-parse` handlers first
        (botocore's drop an `Expires` it cannot read; ours reads a 200 it can), then its parser."""
        model = client.meta.service_model.operation_model("HeadObject")
        response_dict = convert_to_response_dict(response, model)
        customized: dict[str, Any] = {}
        client.meta.events.emit("before-parse.s3.HeadObject", operation_model=model, response_dict=response_dict,
                                customized_response_dict=customized)
        parsed: dict[str, Any] = self._head_parser.parse(response_dict, model.output_shape)
        parsed.update(customized)
        return parsed

    def get_object_tags(self, bucket: str, key: str) -> dict[str, str] | None:
        """GetObjectTagging of the current version: the tags as a mapping ({} when there are none), None when the
        object no longer exists; failures as for `head_object`."""
        response = self._object_call("GetObjectTagging", bucket, "get_object_tagging", Bucket=bucket, Key=key)
        if response is None:
            return None
        return {tag["Key"]: tag.get("Value", "") for tag in response.get("TagSet", [])}

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
        """The bucket's Intelligent-Tiering configurations (archive tiers are opt-in per configuration)."""
        client = self.bucket_client(bucket)
        configurations: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            request: dict[str, Any] = {"Bucket": bucket}
            if token:
                request["ContinuationToken"] = token
            response = self._call("ListBucketIntelligentTieringConfigurations", bucket,
                                  client.list_bucket_intelligent_tiering_configurations, **request)
            configurations.extend(response.get("IntelligentTieringConfigurationList", []))
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
        response = self._call_classified("ListObjectVersions", bucket, client.list_object_versions, **request)
        parsed = response.get(PARSED_HERE)
        if parsed is not None:
            body = response[BODY_READ_HERE]
            last = max(parsed.versions, key=lambda v: (v.key, -v.last_modified.timestamp()), default=None)
            return VersionsPage(parsed.is_truncated, parsed.next_key_marker, parsed.next_version_marker,
                                lambda: self._parse_with_botocore(client, "ListObjectVersions", body),
                                Position(last.key, last.version_id) if last else None,
                                len(parsed.versions) >= request["MaxKeys"])
        truncated = bool(response.get("IsTruncated"))
        entries = response.get("Versions", []) + response.get("DeleteMarkers", [])
        return VersionsPage(
            truncated=truncated,
            next_key_marker=response.get("NextKeyMarker") if truncated else None,
            next_version_marker=response.get("NextVersionIdMarker") if truncated else None,
            parse_with_botocore=lambda: response,
            last=last_listed(entries),
            full=len(entries) >= request["MaxKeys"],
        )

    # -- SQS, for event mode
    def _sqs(self, queue_url: str) -> Any:
        return self._client_near_queue("sqs", queue_url)

    def _client_near_queue(self, service: str, queue_url: str) -> Any:
        """A client for the queue's own region; a queue URL that is not AWS's (a local emulator) is its endpoint."""
        region, endpoint = queue_location(queue_url, self.settings.aws_region)
        name = f"{service}:{region}:{endpoint}"
        with self._lock:
            if name not in self._clients:
                self._clients[name] = self._session.create_client(
                    service, region_name=region, endpoint_url=endpoint, config=self._client_config())
            return self._clients[name]

    def receive_messages(self, queue_url: str, wait_seconds: int = 20, max_messages: int = 10,
                         visibility_timeout: int | None = None) -> list[QueueMessage]:
        """One long poll of up to 10 messages."""
        request: dict[str, Any] = {"QueueUrl": queue_url, "MaxNumberOfMessages": max_messages,
                                   "WaitTimeSeconds": wait_seconds}
        if visibility_timeout is not None:
            request["VisibilityTimeout"] = visibility_timeout
        response = self._call_classified("ReceiveMessage", None, self._sqs(queue_url).receive_message, **request)
        return [QueueMessage(m["MessageId"], m["ReceiptHandle"], m.get("Body", "")) for m in response.get("Messages", [])]

    def delete_messages(self, queue_url: str, receipt_handles: list[str]) -> list[str]:
        """Delete in batches of 10; returns the receipt handles SQS did not delete (they come back later)."""
        failed: list[str] = []
        for start in range(0, len(receipt_handles), 10):
            chunk = receipt_handles[start:start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(chunk)]
            response = self._call_classified("DeleteMessageBatch", None, self._sqs(queue_url).delete_message_batch,
                                             QueueUrl=queue_url, Entries=entries)
            failed.extend(chunk[int(f["Id"])] for f in response.get("Failed", []))
        return failed

    def queue_attributes(self, queue_url: str) -> dict[str, str]:
        response = self._call_classified("GetQueueAttributes", None, self._sqs(queue_url).get_queue_attributes,
                                         QueueUrl=queue_url, AttributeNames=["All"])
        return response.get("Attributes", {})

    # -- how buckets reach the queue, for the setup check (event mode)
    def bucket_notification_configuration(self, bucket: str) -> dict[str, Any]:
        """The bucket's notification configuration (queue, topic and Lambda entries, and whether EventBridge is on)."""
        response = self._call_classified("GetBucketNotificationConfiguration", bucket,
                                         self.bucket_client(bucket).get_bucket_notification_configuration,
                                         Bucket=bucket)
        return {key: value for key, value in response.items() if key != "ResponseMetadata"}

    def _events(self, queue_url: str) -> Any:
        """An EventBridge client for the queue's region, where the rules that target it live."""
        return self._client_near_queue("events", queue_url)

    def rules_targeting(self, queue_url: str, queue_arn: str) -> list[str]:
        """The names of the default event bus's rules that target the queue."""
        names: list[str] = []
        request: dict[str, Any] = {"TargetArn": queue_arn}
        while True:
            response = self._call_classified("ListRuleNamesByTarget", None,
                                             self._events(queue_url).list_rule_names_by_target, **request)
            names.extend(response.get("RuleNames", []))
            if not response.get("NextToken"):
                return names
            request["NextToken"] = response["NextToken"]

    def event_rule(self, queue_url: str, name: str) -> dict[str, Any]:
        """DescribeRule: the rule's ARN, event pattern and state."""
        return self._call_classified("DescribeRule", None, self._events(queue_url).describe_rule, Name=name)

    # -- the envelope
    def log_retries_to(self, report: Callable[[str], None]) -> None:
        """Log each wave of retries (the first retry for a reason) through `report`, e.g. the sync's logger."""
        self._retry_waves = RetryWaves(report, self._clock)

    def _retrying(self, operation: str, bucket: str | None, failure: str, attempt: int) -> None:
        if self._retry_waves is not None:
            where = f" for bucket '{bucket}'" if bucket else ""
            self._retry_waves.retrying(failure, (
                f"{operation}{where} failed with {failure} (attempt {attempt}); retrying with backoff. Further "
                f"retries after {failure} are not logged until none has come for a minute; the closing summary "
                "counts them all"))

    def _count(self, operation: str) -> None:
        with self._lock:
            self.requests[operation] += 1

    def _raise_if_given_up(self, operation: str) -> None:
        given_up = self._given_up.get(operation)
        if given_up is None:
            return
        with self._lock:
            given_up.unsent += 1
        raise AwsCallError(operation, given_up.streak.code, given_up.streak.status)

    def _note_success(self, operation: str) -> None:
        with self._lock:
            if operation not in self._given_up:
                self._streaks[operation] = None

    def _note_failure(self, operation: str, subject: str, code: str, status: int | None, attempt: int,
                      retryable: bool) -> bool:
        """Record a failed request about one object; whether its operation is now given up (see retry.py)."""
        with self._lock:
            if operation in self._given_up:
                return True
            streak = after_failure(self._streaks.get(operation), code, status, subject, attempt, retryable)
            self._streaks[operation] = streak
            if gives_up(streak):
                self._given_up[operation] = GivenUp(streak)  # type: ignore[arg-type]
                return True
            return False

    def given_up_warnings(self) -> list[str]:
        """One warning per operation given up in this sync, for the closing report."""
        with self._lock:
            return [gave_up(operation, g.streak.code, g.streak.status, g.streak.failures, len(g.streak.subjects),
                            g.unsent)
                    for operation, g in sorted(self._given_up.items())]

    def _call_classified(self, operation: str, bucket: str | None, method: Callable[..., dict[str, Any]],
                         **request: Any) -> dict[str, Any]:
        try:
            return self._call(operation, bucket, method, **request)
        except AwsCallError as error:
            raise classify_client_error(error.operation, error.code, error.status, bucket,
                                        self.settings.role_arn) from None

    def _call(self, operation: str, bucket: str | None, method: Callable[..., dict[str, Any]],
              subject: str | None = None, **request: Any) -> dict[str, Any]:
        """Call with retries; raises SyncError when retries run out (RetriesExhaustedError when the service kept
        failing) or retrying cannot help (a skewed clock, a TLS or scheme mistake, a server that is not S3),
        AwsCallError for other error responses.

        `subject` names the object of a request about one object: such an operation is given up for the rest of
        the sync when retry.gives_up says so, and then fails at once, unsent, with the code that gave it up."""
        attempt = 0
        waited = 0.0
        status: int | None = None
        while True:
            attempt += 1
            if subject is not None:
                self._raise_if_given_up(operation)
            self._count(operation)
            try:
                with self._in_flight:
                    response = method(**request)
                self._answered = True
                if operation == "ListObjectsV2" and "IsTruncated" not in response and PARSED_HERE not in response:
                    # Any XML parses, so a web page answering 200 would read as an empty bucket.
                    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
                    raise not_s3_api(self._endpoint, operation, 200, headers.get("content-type", ""))
                if subject is not None and self._streaks.get(operation) is not None:
                    self._note_success(operation)
                return response
            except ClientError as error:
                self._answered = True
                raw_code = str(error.response.get("Error", {}).get("Code") or "")
                code = raw_code or "Unknown"
                status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
                if code in CLOCK_SKEW_CODES:
                    raise clock_skewed(operation, code) from None
                if operation == "ListObjectsV2" and answered_by_non_s3(raw_code, status, headers):
                    raise not_s3_api(self._endpoint, operation, status, headers.get("content-type", "")) from None
                retryable = is_retryable(code, status)
                if subject is not None and self._note_failure(operation, subject, code, status, attempt, retryable):
                    raise AwsCallError(operation, code, status, headers) from None
                if not retryable:
                    raise AwsCallError(operation, code, status, headers) from None
                failure = code
            except NoCredentialsError:
                raise no_credentials() from None
            except SSLError as error:
                explained = tls_failure(self._endpoint, str(error))
                if explained is not None:
                    raise explained from None
                failure = type(error).__name__
            except _NETWORK_ERRORS as error:
                failure = type(error).__name__
            except SyncError:
                raise
            except BotoCoreError as error:
                raise SyncError(f"{operation} could not be sent: {type(error).__name__}") from None
            delay = self.policy.delay(attempt, self._rng)
            network = failure in _NETWORK_ERROR_NAMES
            if self.policy.exhausted(attempt, waited + delay, first_contact=network and not self._answered):
                if network:
                    raise endpoint_unreachable(self._endpoint, failure, attempt)
                raise retries_exhausted(operation, failure, attempt, waited, bucket, status)
            self._retrying(operation, bucket, failure, attempt)
            self.retry_stats.record(delay)
            waited += delay
            self._sleep(delay)
