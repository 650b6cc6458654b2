"""Reading and validating the connector's configuration.

Fivetran hands every value over as a string, and a form field left empty arrives as "" rather than being
absent, so "" means "not set" throughout. Everything is checked here, before any S3 call, so that a
mistake fails the sync with a message that names the key, says what is wrong and shows a good value,
instead of surfacing later as an AWS error about something else. Secrets are kept out of `repr` so a
`Settings` can be logged or shown in a traceback without leaking them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Mapping
from urllib.parse import urlparse

from s3_metadata.patterns import PatternError, can_match_under, compile_glob, list_prefixes

DEFAULT_REGION = "us-east-1"
DEFAULT_MAX_CONCURRENCY = 16
MAX_MAX_CONCURRENCY = 128
# Whole-second LastModified values, clock skew between S3 front ends and single PUTs that take minutes
# are all covered by an hour. Multipart uploads, whose LastModified is when they were initiated and can be
# days old when they complete, are caught by the key-range digests instead (see ranges.py).
DEFAULT_LOOKBACK_MINUTES = 60.0
MAX_LOOKBACK_MINUTES = 60.0 * 24 * 366
DEFAULT_RANGE_SIZE = 250
MIN_RANGE_SIZE = 10
MAX_RANGE_SIZE = 100_000
DEFAULT_ROLE_SESSION_NAME = "fivetran-s3-metadata"
DEFAULT_EVENT_MAX_MESSAGES = 100_000
DEFAULT_EVENT_TIME_BUDGET_SECONDS = 900.0
RESTORE_SOURCES = ("auto", "listing", "head")

KNOWN_KEYS = frozenset({
    "bucket", "prefix",
    "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
    "role_arn", "external_id", "role_session_name",
    "aws_region", "endpoint_url",
    "include_patterns", "exclude_patterns",
    "max_concurrency", "lookback_minutes", "range_size",
    "restore_status_source", "sync_versions", "reconcile_every_hours",
    "sqs_queue_url", "event_max_messages", "event_time_budget_seconds",
})

_BUCKET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$")
_REGION = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
# AWS key IDs are 16-128 letters and digits; S3-compatible stores use shorter ones ("minioadmin", "test").
_ACCESS_KEY_ID = re.compile(r"^[A-Za-z0-9_.+=@-]{1,128}$")
_PLACEHOLDER = re.compile(r"^<[^<>]*>$")


class ConfigurationError(ValueError):
    """A configuration value that cannot work; the message names the key and shows a good value."""

    def __init__(self, key: str, problem: str, example: str):
        self.key = key
        super().__init__(f"Configuration key '{key}': {problem}. Example of a good value: {example}")


@dataclass(frozen=True)
class Settings:
    """The validated configuration. Secrets are excluded from repr and equality noise is irrelevant here."""

    buckets: tuple[str, ...]
    prefixes: tuple[str, ...] = ("",)
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)
    role_arn: str | None = None
    external_id: str | None = field(default=None, repr=False)
    role_session_name: str = DEFAULT_ROLE_SESSION_NAME
    aws_region: str = DEFAULT_REGION
    endpoint_url: str | None = None
    include_patterns: tuple[str, ...] = ()
    exclude_patterns: tuple[str, ...] = ()
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    lookback: timedelta = timedelta(minutes=DEFAULT_LOOKBACK_MINUTES)
    range_size: int = DEFAULT_RANGE_SIZE
    restore_status_source: str = "auto"
    sync_versions: bool = False
    reconcile_every: timedelta | None = None
    sqs_queue_url: str | None = None
    event_max_messages: int = DEFAULT_EVENT_MAX_MESSAGES
    event_time_budget: timedelta = timedelta(seconds=DEFAULT_EVENT_TIME_BUDGET_SECONDS)
    unknown_keys: tuple[str, ...] = ()

    def streams(self) -> list[tuple[str, str]]:
        """(bucket, LIST prefix) pairs, in configuration order: the units of listing, state and progress."""
        prefixes = list_prefixes(self.prefixes, self.include_patterns)
        return [(bucket, prefix) for bucket in self.buckets for prefix in prefixes]

    def secret_values(self) -> tuple[str, ...]:
        """Every configured secret, so logging can be checked (and scrubbed) against them."""
        return tuple(v for v in (self.aws_secret_access_key, self.aws_session_token, self.external_id) if v)


def split_list(text: str) -> list[str]:
    r"""Split a comma-separated value; `\,` is a literal comma and surrounding spaces are dropped."""
    items: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append(char if char in ",\\" else "\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    items.append("".join(current).strip())
    return items


def _text(configuration: Mapping[str, Any], key: str) -> str | None:
    """The value of `key` as text, None when absent or empty. Numbers are accepted as written (a hand-made
    configuration.json often has them); other types and unfilled placeholders are rejected."""
    value = configuration.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigurationError(key, f"must be a string, got {type(value).__name__}", '"..." (all values are strings)')
    text = str(value).strip()
    if not text:
        return None
    if _PLACEHOLDER.match(text):
        raise ConfigurationError(key, f"still holds the placeholder {text}; replace it with a real value",
                                 _EXAMPLES.get(key, '"..."'))
    return text


_EXAMPLES = {
    "bucket": '"my-data-bucket" or "logs-bucket,archive-bucket"',
    "prefix": '"logs/2024/" or "raw/,curated/"',
    "aws_access_key_id": '"AKIAIOSFODNN7EXAMPLE"',
    "aws_secret_access_key": '"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
    "aws_session_token": "the session token that came with temporary credentials",
    "role_arn": '"arn:aws:iam::123456789012:role/fivetran-s3-metadata"',
    "external_id": '"fivetran-7f3a"',
    "role_session_name": '"fivetran-s3-metadata"',
    "aws_region": '"us-east-1" or "eu-west-1"',
    "endpoint_url": '"http://localhost:9000" or "https://<account>.r2.cloudflarestorage.com"',
    "include_patterns": '"**/*.parquet,logs/*/*.gz"',
    "exclude_patterns": '"**/_temporary/**,**/*.tmp"',
    "max_concurrency": '"16"',
    "lookback_minutes": '"60"',
    "range_size": '"250"',
    "restore_status_source": '"auto", "listing" or "head"',
    "sync_versions": '"true" or "false"',
    "reconcile_every_hours": '"24" (or "0.5"; empty turns reconciliation off)',
    "sqs_queue_url": '"https://sqs.us-east-1.amazonaws.com/123456789012/s3-events"',
    "event_max_messages": '"100000"',
    "event_time_budget_seconds": '"900"',
}


def _buckets(configuration: Mapping[str, Any]) -> tuple[str, ...]:
    text = _text(configuration, "bucket")
    if text is None:
        raise ConfigurationError("bucket", "is required and was empty", _EXAMPLES["bucket"])
    buckets: list[str] = []
    for name in split_list(text):
        if not name:
            raise ConfigurationError("bucket", f"has an empty entry in {text!r}", _EXAMPLES["bucket"])
        if name.lower().startswith(("s3://", "arn:", "http://", "https://")) or "/" in name:
            raise ConfigurationError(
                "bucket", f"{name!r} is not a bare bucket name (give the name only; put any folder in 'prefix')",
                _EXAMPLES["bucket"])
        if not _BUCKET_NAME.match(name) or ".." in name:
            raise ConfigurationError(
                "bucket", f"{name!r} is not a valid S3 bucket name (3 to 255 letters, digits, '.', '-' or '_', "
                          "starting and ending with a letter or digit)", _EXAMPLES["bucket"])
        if name.endswith("--x-s3"):
            raise ConfigurationError(
                "bucket", f"{name!r} is an S3 Express directory bucket, whose listings are not in key order; the "
                          "resumable key ranges this connector relies on need key order, so directory buckets are not "
                          "supported", _EXAMPLES["bucket"])
        if name not in buckets:
            buckets.append(name)
    return tuple(buckets)


def _prefixes(configuration: Mapping[str, Any]) -> tuple[str, ...]:
    text = configuration.get("prefix")
    if text is None or (isinstance(text, str) and not text.strip()):
        return ("",)
    _text(configuration, "prefix")
    prefixes: list[str] = []
    for prefix in split_list(str(text)):
        if not prefix:
            raise ConfigurationError("prefix", f"has an empty entry in {text!r} (an empty entry would mean the whole "
                                     "bucket; leave the whole value empty for that)", _EXAMPLES["prefix"])
        if prefix.startswith("s3://"):
            raise ConfigurationError("prefix", f"{prefix!r} is a URL; give the key prefix inside the bucket",
                                     _EXAMPLES["prefix"])
        if prefix not in prefixes:
            prefixes.append(prefix)
    return tuple(prefixes)


def _patterns(configuration: Mapping[str, Any], key: str) -> tuple[str, ...]:
    text = _text(configuration, key)
    if text is None:
        return ()
    patterns = []
    for pattern in split_list(text):
        if not pattern:
            raise ConfigurationError(key, f"has an empty pattern in {text!r}", _EXAMPLES[key])
        try:
            compile_glob(pattern)
        except PatternError as error:
            raise ConfigurationError(key, str(error), _EXAMPLES[key]) from None
        patterns.append(pattern)
    return tuple(patterns)


def _number(configuration: Mapping[str, Any], key: str, default: float, low: float, high: float,
            integer: bool) -> float:
    text = _text(configuration, key)
    if text is None:
        return default
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ConfigurationError(key, f"must be {kind}, got {text!r}", _EXAMPLES[key]) from None
    if not (low <= value <= high) or value != value:
        raise ConfigurationError(key, f"must be between {low:.10g} and {high:.10g}, got {text!r}", _EXAMPLES[key])
    return value


def _choice(configuration: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
    text = _text(configuration, key)
    if text is None:
        return choices[0]
    if text.lower() not in choices:
        raise ConfigurationError(key, f"must be one of {', '.join(choices)}, got {text!r}", _EXAMPLES[key])
    return text.lower()


def _flag(configuration: Mapping[str, Any], key: str) -> bool:
    value = configuration.get(key)
    if isinstance(value, bool):
        return value
    text = _text(configuration, key)
    if text is None:
        return False
    if text.lower() in ("true", "yes", "1", "on"):
        return True
    if text.lower() in ("false", "no", "0", "off"):
        return False
    raise ConfigurationError(key, f"must be true or false, got {text!r}", _EXAMPLES[key])


def _queue_url(configuration: Mapping[str, Any]) -> str | None:
    text = _text(configuration, "sqs_queue_url")
    if text is None:
        return None
    parsed = urlparse(text)
    segments = [segment for segment in parsed.path.split("/") if segment]
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(segments) < 2:
        raise ConfigurationError("sqs_queue_url", f"{text!r} is not an SQS queue URL (the queue's URL, not its ARN)",
                                 _EXAMPLES["sqs_queue_url"])
    return text


def _endpoint(configuration: Mapping[str, Any]) -> str | None:
    text = _text(configuration, "endpoint_url")
    if text is None:
        return None
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigurationError("endpoint_url", f"{text!r} is not an http(s) URL", _EXAMPLES["endpoint_url"])
    return text.rstrip("/")


def _credentials(configuration: Mapping[str, Any]) -> dict[str, str | None]:
    key_id = _text(configuration, "aws_access_key_id")
    secret = _text(configuration, "aws_secret_access_key")
    token = _text(configuration, "aws_session_token")
    if key_id and not secret:
        raise ConfigurationError("aws_secret_access_key", "is empty but aws_access_key_id is set; give both or neither "
                                 "(neither uses the default AWS credential chain)", _EXAMPLES["aws_secret_access_key"])
    if secret and not key_id:
        raise ConfigurationError("aws_access_key_id", "is empty but aws_secret_access_key is set; give both or neither "
                                 "(neither uses the default AWS credential chain)", _EXAMPLES["aws_access_key_id"])
    if token and not key_id:
        raise ConfigurationError("aws_session_token", "is only used with aws_access_key_id and aws_secret_access_key",
                                 _EXAMPLES["aws_session_token"])
    if key_id and not _ACCESS_KEY_ID.match(key_id):
        raise ConfigurationError("aws_access_key_id", "has characters an access key ID never has (an AWS key ID looks like "
                                 "AKIA... or ASIA...); check for stray spaces, quotes or a pasted secret",
                                 _EXAMPLES["aws_access_key_id"])
    return {"aws_access_key_id": key_id, "aws_secret_access_key": secret, "aws_session_token": token}


def _role(configuration: Mapping[str, Any]) -> dict[str, str | None]:
    role_arn = _text(configuration, "role_arn")
    external_id = _text(configuration, "external_id")
    session_name = _text(configuration, "role_session_name")
    if role_arn and not _ROLE_ARN.match(role_arn):
        raise ConfigurationError("role_arn", f"{role_arn!r} is not an IAM role ARN", _EXAMPLES["role_arn"])
    if (external_id or session_name) and not role_arn:
        which = "external_id" if external_id else "role_session_name"
        raise ConfigurationError(which, "is only used together with role_arn, which is empty", _EXAMPLES["role_arn"])
    if external_id and not (2 <= len(external_id) <= 1224):
        raise ConfigurationError("external_id", "must be 2 to 1224 characters long", _EXAMPLES["external_id"])
    if session_name and not _SESSION_NAME.match(session_name):
        raise ConfigurationError("role_session_name", "must be 2 to 64 letters, digits or +=,.@_-",
                                 _EXAMPLES["role_session_name"])
    return {"role_arn": role_arn, "external_id": external_id,
            "role_session_name": session_name or DEFAULT_ROLE_SESSION_NAME}


def _region(configuration: Mapping[str, Any]) -> str:
    region = _text(configuration, "aws_region") or DEFAULT_REGION
    if not _REGION.match(region):
        raise ConfigurationError("aws_region", f"{region!r} is not a region name", _EXAMPLES["aws_region"])
    return region


def _reconcile_every(configuration: Mapping[str, Any]) -> timedelta | None:
    hours = _number(configuration, "reconcile_every_hours", 0.0, 0.0, 24.0 * 366, integer=False)
    return timedelta(hours=hours) if hours > 0 else None


def parse_configuration(configuration: Mapping[str, Any] | None) -> Settings:
    """Validate `configuration` and return `Settings`; raises ConfigurationError on the first bad value."""
    if configuration is None:
        configuration = {}
    if not isinstance(configuration, Mapping):
        raise ConfigurationError("configuration", "must be a JSON object of string values", '{"bucket": "my-bucket"}')
    lookback_minutes = _number(configuration, "lookback_minutes", DEFAULT_LOOKBACK_MINUTES, 0, MAX_LOOKBACK_MINUTES,
                               integer=False)
    prefixes = _prefixes(configuration)
    include_patterns = _patterns(configuration, "include_patterns")
    if include_patterns and not list_prefixes(prefixes, include_patterns):
        raise ConfigurationError(
            "include_patterns", f"no pattern in {','.join(include_patterns)!r} can match a key under the prefixes "
                                f"{','.join(prefixes)!r}; a pattern is matched against the whole key, prefix included",
            '"logs/**/*.gz" together with prefix "logs/"')
    unreachable = [p for p in include_patterns if not any(can_match_under(p, prefix) for prefix in prefixes)]
    if unreachable:
        raise ConfigurationError(
            "include_patterns", f"{', '.join(unreachable)!r} cannot match any key under the prefixes "
                                f"{','.join(prefixes)!r}; patterns are matched against the whole key, prefix included",
            '"logs/**/*.gz" together with prefix "logs/"')
    return Settings(
        buckets=_buckets(configuration),
        prefixes=prefixes,
        **_credentials(configuration),
        **_role(configuration),
        aws_region=_region(configuration),
        endpoint_url=_endpoint(configuration),
        include_patterns=include_patterns,
        exclude_patterns=_patterns(configuration, "exclude_patterns"),
        max_concurrency=int(_number(configuration, "max_concurrency", DEFAULT_MAX_CONCURRENCY, 1, MAX_MAX_CONCURRENCY,
                                    integer=True)),
        lookback=timedelta(minutes=lookback_minutes),
        range_size=int(_number(configuration, "range_size", DEFAULT_RANGE_SIZE, MIN_RANGE_SIZE, MAX_RANGE_SIZE,
                               integer=True)),
        restore_status_source=_choice(configuration, "restore_status_source", RESTORE_SOURCES),
        sync_versions=_flag(configuration, "sync_versions"),
        reconcile_every=_reconcile_every(configuration),
        sqs_queue_url=_queue_url(configuration),
        event_max_messages=int(_number(configuration, "event_max_messages", DEFAULT_EVENT_MAX_MESSAGES, 1, 10_000_000,
                                       integer=True)),
        event_time_budget=timedelta(seconds=_number(configuration, "event_time_budget_seconds",
                                                    DEFAULT_EVENT_TIME_BUDGET_SECONDS, 10, 86_400, integer=False)),
        unknown_keys=tuple(sorted(k for k in configuration if k not in KNOWN_KEYS)),
    )
