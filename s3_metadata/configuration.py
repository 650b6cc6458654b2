"""Reading and validating the connector's configuration.

Fivetran hands every value over as a string, and a form field left empty arrives as "" rather than being
absent, so "" means "not set" throughout. Everything is checked here, before any S3 call, so that a
mistake fails the sync with a message that names the key, says what is wrong and shows a good value,
instead of surfacing later as an AWS error about something else. Every bad key is reported at once, one per
line, so a configuration is fixed in one round. Settings that are valid but almost certainly not what was
meant (a prefix starting with '/', an exclude pattern that leaves nothing) become `Settings.warnings`.

Secrets never reach a message: every value a message shows goes through `quote_value`, which hides the
secret keys, masks credentials in URLs and cuts long values to a short preview. Secrets are also kept out
of `repr`, so a `Settings` can be logged or shown in a traceback without leaking them.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterable, Mapping, Sequence

from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

from s3_metadata.locations import parse_location
from s3_metadata.key_range import WHOLE, KeyRange
from s3_metadata.patterns import (
    KeyFilter, PatternError, SearchBudget, can_match_under, compile_glob, list_prefixes, some_key_passes,
)

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
# Event mode's verification pass re-sends nothing unchanged, so any positive period is allowed.
DEFAULT_VERIFY_HOURS = 24.0
MIN_VERIFY_HOURS = 0.001
MAX_VERIFY_HOURS = 24.0 * 366
RESTORE_SOURCES = ("auto", "listing", "head")
# What `object_details` may choose: the columns of one HEAD per sent object, and its tags (one GetObjectTagging).
DETAILS_HEAD = "head"
DETAILS_TAGS = "tags"
OBJECT_DETAILS = (DETAILS_HEAD, DETAILS_TAGS)
# A reconciliation lists every object and re-sends every row; more often than this it mostly re-writes the table.
MIN_RECONCILE_HOURS = 6.0
MAX_RECONCILE_HOURS = 24.0 * 366
# S3 keys are at most 1,024 bytes of UTF-8, so no key can start with a longer prefix.
MAX_KEY_BYTES = 1024
MAX_URL_LENGTH = 2048
# No value needs more; a longer one is a paste gone wrong, and refusing it keeps validation fast whatever arrives.
MAX_VALUE_LENGTH = 65_536
MAX_LIST_ENTRIES = 1000
# Automaton steps all pattern warnings may take together (a few milliseconds); past it, nothing is claimed.
PATTERN_ANALYSIS_STEPS = 20_000

# inventory_source: find the report from the bucket's inventory configurations (inventory_source.py).
AUTO_INVENTORY = "auto"

KNOWN_KEYS = frozenset({
    "bucket", "prefix",
    "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
    "role_arn", "external_id", "role_session_name",
    "aws_region", "endpoint_url",
    "include_patterns", "exclude_patterns",
    "max_concurrency", "lookback_minutes", "range_size",
    "restore_status_source", "sync_versions", "reconcile_every_hours",
    "sqs_queue_url", "event_max_messages", "event_time_budget_seconds", "verify_every_hours",
    "object_details",
    "key_range_start", "key_range_end",
    "inventory_source",
})
# Accepted so that existing configurations stay valid, but doing nothing: never suggested for a mistyped key.
DEPRECATED_KEYS = frozenset({"lookback_minutes"})
SUGGESTED_KEYS = KNOWN_KEYS - DEPRECATED_KEYS
# How alike a mistyped key must be to a known one (difflib's ratio) to be suggested: 'prefx' -> 'prefix' is 0.91,
# 'region' -> 'aws_region' 0.75; unrelated names ('zeta', 'alpha') stay below 0.5.
SUGGESTION_CUTOFF = 0.7
SECRET_KEYS = frozenset({"aws_secret_access_key", "aws_session_token", "external_id"})
URL_KEYS = frozenset({"endpoint_url", "sqs_queue_url"})
# How much of a value a message may show: enough to recognise it, never a whole pasted document.
PREVIEW_CHARACTERS = 40
KEY_ID_PREVIEW_CHARACTERS = 4
HIDDEN = "(value hidden)"
# A secret shorter than this is not looked for inside other values: "s" would blank out every letter s.
_MIN_SCRUBBED_SECRET = 6

# S3's rules for general purpose bucket names (Amazon S3 User Guide, "General purpose bucket naming rules").
BUCKET_NAME_LENGTH = (3, 63)
_BUCKET_CHARACTERS = re.compile(r"[a-z0-9.-]+")
_IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")
RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_BUCKET_SUFFIXES = {
    "-s3alias": "access point aliases",
    "--ol-s3": "Object Lambda access point aliases",
    ".mrap": "Multi-Region Access Points",
    "--table-s3": "S3 Tables table buckets",
}
DIRECTORY_BUCKET_SUFFIX = "--x-s3"

_REGION = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
# AWS key IDs are 16-128 letters and digits; S3-compatible stores use shorter ones ("minioadmin", "test").
_ACCESS_KEY_ID = re.compile(r"^[A-Za-z0-9_.+=@-]{1,128}$")
_PLACEHOLDER = re.compile(r"^<[^<>]*>$")
_PORT = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one key, and a value that would work."""

    key: str
    problem: str
    example: str

    def __str__(self) -> str:
        stop = "" if self.problem.endswith(("?", ".")) else "."
        return f"Configuration key '{self.key}': {self.problem}{stop} Example of a good value: {self.example}"


class ConfigurationError(ValueError):
    """Configuration values that cannot work: one line per problem, each naming the key and showing a good value.

    `ConfigurationError(key, problem, example)` makes a single-problem error; `ConfigurationError.of(problems)`
    one with several. `.key` is the first key, `.keys` every key named. `notes` are lines after the problems that
    explain nothing by themselves but help fix them (an unknown key, ignored, that looks like a known one).
    """

    def __init__(self, key: str, problem: str, example: str, *more: Problem, notes: Sequence[str] = ()):
        self.problems: tuple[Problem, ...] = (Problem(key, problem, example), *more)
        self.notes = tuple(notes)
        super().__init__("\n".join([*(str(p) for p in self.problems), *self.notes]))

    @classmethod
    def of(cls, problems: Sequence[Problem], notes: Sequence[str] = ()) -> ConfigurationError:
        first, *rest = problems
        return cls(first.key, first.problem, first.example, *rest, notes=notes)

    @property
    def key(self) -> str:
        return self.problems[0].key

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.key for p in self.problems))


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
    # Event mode: how often a listing pass verifies what the events did (passes.verify_due).
    verify_every: timedelta = timedelta(hours=DEFAULT_VERIFY_HOURS)
    # The chosen OBJECT_DETAILS, in that order; empty: off.
    object_details: tuple[str, ...] = ()
    # The slice of every bucket's keys this connection owns (key_range_start <= key < key_range_end).
    key_range: KeyRange = WHOLE
    # Where the S3 Inventory reports of the buckets are, for a stream's first pass (inventory.py); None: list.
    inventory_source: str | None = None
    unknown_keys: tuple[str, ...] = ()
    # Valid settings that are almost certainly not what was meant; to be logged when a sync starts.
    warnings: tuple[str, ...] = ()

    def streams(self) -> list[tuple[str, str]]:
        """(bucket, LIST prefix) pairs, in configuration order: the units of listing, state and progress. A prefix
        whose keys all lie outside the key range is no stream: nothing under it is listed."""
        prefixes = [p for p in list_prefixes(self.prefixes, self.include_patterns) if self.key_range.reaches(p)]
        return [(bucket, prefix) for bucket in self.buckets for prefix in prefixes]

    def key_filter(self) -> KeyFilter:
        """Which listed keys belong to the table: the key range, then the patterns."""
        return KeyFilter(self.include_patterns, self.exclude_patterns, self.key_range)

    def secret_values(self) -> tuple[str, ...]:
        """Every configured secret, so logging can be checked (and scrubbed) against them."""
        return tuple(v for v in (self.aws_secret_access_key, self.aws_session_token, self.external_id) if v)


def mask_url_credentials(text: str, url: bool = False) -> str:
    """`text` with the user-info of a URL (`http://KEY:SECRET@host`) replaced by `***`. Everything up to the last
    '@' is masked, since a secret may itself hold '/', '?' or '#'; with `url`, also when the scheme is missing."""
    at = text.rfind("@")
    if at < 0:
        return text
    scheme_end = text.find("://")
    if 0 <= scheme_end < at:
        return text[:scheme_end + 3] + "***" + text[at:]
    return "***" + text[at:] if url else text


def quote_value(key: str, value: str, secrets: Iterable[str] = ()) -> str:
    """How a message shows the value of configuration key `key`; every message quoting a value goes through here.

    Never the value of a secret key; at most the first characters of an access key ID (it is often where a
    secret gets pasted by mistake); never URL credentials; never any of `secrets`, wherever it was pasted; and
    never more than a short preview, so a pasted document or a huge value stays out of logs.
    """
    if key in SECRET_KEYS:
        return HIDDEN
    for secret in secrets:
        if len(secret) >= _MIN_SCRUBBED_SECRET and secret in value:
            value = value.replace(secret, HIDDEN)
    if key == "aws_access_key_id":
        if HIDDEN in value or len(value) <= 2 * KEY_ID_PREVIEW_CHARACTERS:
            return HIDDEN
        return f"{value[:KEY_ID_PREVIEW_CHARACTERS]!r}… ({len(value)} characters)"
    value = mask_url_credentials(value, url=key in URL_KEYS)
    if len(value) <= PREVIEW_CHARACTERS:
        return repr(value)
    return f"{value[:PREVIEW_CHARACTERS]!r}… ({len(value)} characters)"


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


_EXAMPLES = {
    "configuration": '{"bucket": "my-bucket"}',
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
    "reconcile_every_hours": '"24" (at least 6; empty turns reconciliation off)',
    "sqs_queue_url": '"https://sqs.us-east-1.amazonaws.com/123456789012/s3-events"',
    "event_max_messages": '"100000"',
    "event_time_budget_seconds": '"900"',
    "verify_every_hours": '"24" (any positive number of hours; "0.5" is every half hour)',
    "object_details": '"head", "tags" or "head,tags" (empty: off)',
    "key_range_start": '"logs/2024-07" (this connection syncs the keys from it on; empty: from the first key)',
    "key_range_end": '"logs/2024-07" (this connection syncs the keys before it; empty: to the last key)',
    "inventory_source": '"s3://my-inventory-bucket/inventory/my-bucket/daily/" or "auto" (empty: list the bucket)',
}


def suggested_key(name: str) -> str | None:
    """The known key `name` was most likely meant to be (a typo, another case, '-' for '_', a longer or shorter
    form such as 'bucket_name' or 'region'), or None when nothing is close or two keys are equally likely.
    Deprecated keys are never suggested."""
    folded = name.strip().lower().replace("-", "_").replace(" ", "_")
    if folded in SUGGESTED_KEYS:
        return folded
    close = difflib.get_close_matches(folded, sorted(SUGGESTED_KEYS), n=1, cutoff=SUGGESTION_CUTOFF)
    if close:
        return close[0]
    inside = [k for k in SUGGESTED_KEYS if k in folded]  # 'bucket_name', 's3_bucket'
    around = [k for k in SUGGESTED_KEYS if len(folded) >= 5 and folded in k]  # 'secret'
    candidates = inside or around
    return candidates[0] if len(candidates) == 1 else None  # 'patterns': include or exclude? say nothing


def bucket_name_problem(name: str) -> str | None:
    """What is wrong with `name` as a bucket name (S3's general purpose bucket rules), or None."""
    if name.lower().startswith(("s3://", "arn:", "http://", "https://")) or "/" in name:
        return "is not a bare bucket name (give the name only; put any folder in 'prefix')"
    if name.endswith(DIRECTORY_BUCKET_SUFFIX):
        return ("is an S3 Express directory bucket, whose listings are not in key order; the resumable key ranges "
                "this connector relies on need key order, so directory buckets are not supported")
    low, high = BUCKET_NAME_LENGTH
    why = None
    if not low <= len(name) <= high:
        why = f"it has {len(name)} characters, and bucket names have {low} to {high}"
    elif not _BUCKET_CHARACTERS.fullmatch(name):
        why = "bucket names hold only lowercase letters, digits, '.' and '-'"
    elif not (name[0].isalnum() and name[-1].isalnum()):
        why = "bucket names begin and end with a letter or digit"
    elif ".." in name:
        why = "bucket names never hold two dots in a row"
    elif _IP_ADDRESS.fullmatch(name):
        why = "bucket names are never shaped like an IP address"
    elif name.startswith(RESERVED_BUCKET_PREFIXES):
        why = f"S3 reserves names starting with {next(p for p in RESERVED_BUCKET_PREFIXES if name.startswith(p))!r}"
    else:
        suffix = next((s for s in RESERVED_BUCKET_SUFFIXES if name.endswith(s)), None)
        if suffix is not None:
            why = f"S3 reserves names ending with {suffix!r} for {RESERVED_BUCKET_SUFFIXES[suffix]}"
    return None if why is None else f"is not a valid S3 bucket name: {why}"


def url_problem(text: str) -> str | None:
    """What would stop botocore and urllib3 from using `text` as an http(s) URL, or None. Checked here because
    their own errors either crash (`urlparse(...).port` raises ValueError on a bad port) or quote the whole URL,
    credentials included."""
    if len(text) > MAX_URL_LENGTH:
        return f"is {len(text)} characters long, more than any endpoint URL ({MAX_URL_LENGTH})"
    if any(c.isspace() or not c.isprintable() for c in text):
        return "contains a space or a control character; copy the URL again without them"
    if not text.isascii():
        return "contains characters outside ASCII; write an international host name in its ASCII (xn--) form"
    if "@" in text:
        return ("contains credentials (user:password@); they do not belong in the URL: put the key pair in "
                "aws_access_key_id and aws_secret_access_key")
    if "?" in text or "#" in text:
        return "has a query string or fragment ('?...' or '#...'); give the URL without it"
    scheme, separator, rest = text.partition("://")
    if not separator:
        return "has no scheme; start it with http:// or https://"
    if scheme.lower() not in ("http", "https"):
        return "does not start with http:// or https://, the only schemes that work"
    authority = rest.partition("/")[0]
    if not authority:
        return "has no host"
    if "[" in authority or "]" in authority:
        host, bracket, port_part = authority.partition("]")
        if not host.startswith("[") or host.count("[") != 1 or not bracket or "]" in port_part \
                or not (port_part == "" or port_part.startswith(":")):
            return "has misplaced brackets; brackets are only for an IPv6 address, as in http://[::1]:9000"
        port = port_part[1:] if port_part else None
        try:
            valid = bool(is_valid_ipv6_endpoint_url(f"http://{host}]"))
        except ValueError:  # urllib raises for brackets around something that is not an IP address
            valid = False
        if not valid:
            return "has brackets that do not hold an IPv6 address (write one as http://[::1]:9000)"
    else:
        host, colon, port = authority.rpartition(":") if ":" in authority else (authority, "", "")
        port = port if colon else None
        if ":" in host:
            return "holds an IPv6 address without brackets; write it as http://[::1]:9000"
        if not is_valid_endpoint_url(f"http://{host}"):
            return ("has a host name that is not valid (dot-separated labels of letters, digits and '-', no '_'; "
                    "botocore refuses anything else)")
    if port is not None:
        if not port:
            return "ends its host with ':' but gives no port; write it as http://host:9000, or drop the ':'"
        if not _PORT.fullmatch(port):
            return "has a port that is not a number; write it as http://host:9000"
        if not 1 <= int(port) <= 65535:
            return f"has the port {int(port)}, outside 1 to 65535"
    return None


class _Reader:
    """Reads a configuration and gathers every problem and warning instead of stopping at the first."""

    def __init__(self, configuration: Mapping[str, Any]):
        self.configuration = configuration
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.failed: set[str] = set()
        # The value of a mistyped secret key ('aws_secret_acess_key') is kept out of messages as a secret too.
        unknown = (k for k in configuration if k not in KNOWN_KEYS)
        secret_keys = sorted(SECRET_KEYS) + [k for k in unknown if suggested_key(str(k)) in SECRET_KEYS]
        raw = (configuration.get(k) for k in secret_keys)
        self.secrets = tuple(sorted({v.strip() for v in raw if isinstance(v, str) and v.strip()}, key=len,
                                    reverse=True))

    def quote(self, key: str, value: str) -> str:
        return quote_value(key, value, self.secrets)

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            if len(secret) >= _MIN_SCRUBBED_SECRET:
                text = text.replace(secret, HIDDEN)
        return text

    def entries(self, key: str, text: str) -> list[str]:
        """The comma-separated entries of `text`, at most MAX_LIST_ENTRIES of them (the rest is a problem)."""
        entries = split_list(text)
        if len(entries) > MAX_LIST_ENTRIES:
            self.problem(key, f"lists {len(entries)} entries; at most {MAX_LIST_ENTRIES} are supported")
            return []
        return entries

    def problem(self, key: str, problem: str, example: str | None = None) -> None:
        self.failed.add(key)
        self.problems.append(Problem(key, self._scrub(problem), example or _EXAMPLES.get(key, '"..."')))

    def warn(self, text: str) -> None:
        self.warnings.append(self._scrub(text))

    def text(self, key: str) -> str | None:
        """The value of `key` as text, None when absent, empty or unusable (the problem is then recorded).
        Numbers are accepted as written (a hand-made configuration.json often has them)."""
        value = self.configuration.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.problem(key, f"must be a string, got {type(value).__name__}", '"..." (all values are strings)')
            return None
        try:
            text = str(value).strip()
        except ValueError:  # an int with more digits than Python converts to text
            self.problem(key, "is a number with far too many digits")
            return None
        if not text:
            return None
        if len(text) > MAX_VALUE_LENGTH:
            self.problem(key, f"is {len(text)} characters long; no value needs more than {MAX_VALUE_LENGTH}")
            return None
        if _PLACEHOLDER.match(text):
            self.problem(key, f"still holds the placeholder {self.quote(key, text)}; replace it with a real value")
            return None
        return text


def _buckets(r: _Reader) -> tuple[str, ...]:
    text = r.text("bucket")
    if text is None:
        if "bucket" not in r.failed:
            r.problem("bucket", "is required and was empty" if "bucket" in r.configuration else "is required")
        return ()
    buckets: list[str] = []
    names = r.entries("bucket", text)
    if "" in names:
        r.problem("bucket", f"has an empty entry in {r.quote('bucket', text)}")
    for name in names:
        problem = bucket_name_problem(name) if name else None
        if problem:
            r.problem("bucket", f"{r.quote('bucket', name)} {problem}")
        elif name and name not in buckets:
            buckets.append(name)
    return tuple(buckets)


def _is_text(value: str) -> bool:
    """Whether `value` encodes to UTF-8 (it holds no lone surrogate, which a JSON configuration can carry)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _prefixes(r: _Reader) -> tuple[str, ...]:
    text = r.text("prefix")
    if text is None:
        return ("",)
    prefixes: list[str] = []
    entries = r.entries("prefix", text)
    if "" in entries:
        r.problem("prefix", f"has an empty entry in {r.quote('prefix', text)} (an empty entry would mean the whole "
                            "bucket; leave the whole value empty for that)")
    for prefix in entries:
        if not prefix:
            continue
        if prefix.startswith("s3://"):
            r.problem("prefix", f"{r.quote('prefix', prefix)} is a URL; give the key prefix inside the bucket")
        elif not _is_text(prefix):
            r.problem("prefix", f"{r.quote('prefix', prefix)} is not valid Unicode text (a lone surrogate), which no "
                                "S3 key can start with")
        elif len(prefix.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
            r.problem("prefix", f"{r.quote('prefix', prefix)} is longer than the longest S3 key ({MAX_KEY_BYTES} "
                                "bytes), so no key can start with it")
        elif prefix not in prefixes:
            prefixes.append(prefix)
    return tuple(prefixes) or ("",)


def _patterns(r: _Reader, key: str) -> tuple[str, ...]:
    text = r.text(key)
    if text is None:
        return ()
    patterns: list[str] = []
    entries = r.entries(key, text)
    if "" in entries:
        r.problem(key, f"has an empty pattern in {r.quote(key, text)}")
    for pattern in entries:
        if not pattern:
            continue
        try:
            compile_glob(pattern)
        except PatternError as error:
            r.problem(key, f"{r.quote(key, pattern)}: {error}")
            continue
        patterns.append(pattern)
    return tuple(patterns)


def _number(r: _Reader, key: str, default: float, low: float, high: float, integer: bool) -> float:
    text = r.text(key)
    if text is None:
        return default
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        r.problem(key, f"must be {kind}, got {r.quote(key, text)}")
        return default
    if not (low <= value <= high):  # NaN fails every comparison, so it lands here too
        r.problem(key, f"must be between {low:.10g} and {high:.10g}, got {r.quote(key, text)}")
        return default
    return value


def _choice(r: _Reader, key: str, choices: tuple[str, ...]) -> str:
    text = r.text(key)
    if text is None:
        return choices[0]
    if text.lower() not in choices:
        r.problem(key, f"must be one of {', '.join(choices)}, got {r.quote(key, text)}")
        return choices[0]
    return text.lower()


def _choices(r: _Reader, key: str, choices: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated choice among `choices`, in their order, each once; empty: none."""
    text = r.text(key)
    if text is None:
        return ()
    entries = [entry.lower() for entry in r.entries(key, text)]
    unknown = [entry for entry in entries if entry not in choices]
    if unknown:
        shown = ", ".join(r.quote(key, entry) for entry in unknown)
        r.problem(key, f"{shown} {'is' if len(unknown) == 1 else 'are'} not one of {', '.join(choices)}")
        return ()
    return tuple(choice for choice in choices if choice in entries)


def _flag(r: _Reader, key: str) -> bool:
    value = r.configuration.get(key)
    if isinstance(value, bool):
        return value
    text = r.text(key)
    if text is None:
        return False
    if text.lower() in ("true", "yes", "1", "on"):
        return True
    if text.lower() not in ("false", "no", "0", "off"):
        r.problem(key, f"must be true or false, got {r.quote(key, text)}")
    return False


def _endpoint(r: _Reader) -> str | None:
    text = r.text("endpoint_url")
    if text is None:
        return None
    problem = url_problem(text)
    if problem is None:
        if text.partition("://")[2].partition("/")[2].strip("/"):
            problem = ("has a path, which is not supported: S3-compatible stores serve the S3 API at the root of their "
                       "host, and botocore would put the path in front of every bucket name. Give scheme, host and "
                       "port only, and the bucket in 'bucket'")
    if problem is not None:
        r.problem("endpoint_url", f"{r.quote('endpoint_url', text)} {problem}")
        return None
    return text.rstrip("/")


def _queue_url(r: _Reader) -> str | None:
    text = r.text("sqs_queue_url")
    if text is None:
        return None
    if text.lower().startswith("arn:"):
        problem: str | None = "is not an SQS queue URL (the queue's URL, not its ARN)"
    else:
        problem = url_problem(text)
        segments = [s for s in text.partition("://")[2].partition("/")[2].split("/") if s]
        if problem is None and len(segments) < 2:
            problem = "is not an SQS queue URL: it needs the account and the queue name after the host"
    if problem is not None:
        r.problem("sqs_queue_url", f"{r.quote('sqs_queue_url', text)} {problem}")
        return None
    return text


def _inventory_source(r: _Reader) -> str | None:
    """inventory_source: the s3:// folder of an inventory configuration's reports (or the destination prefix above
    `<bucket>/<configuration id>/`), or `auto`: the bucket's own inventory configurations say where."""
    text = r.text("inventory_source")
    if text is None:
        return None
    if text.lower() == AUTO_INVENTORY:
        return AUTO_INVENTORY
    try:
        location = parse_location(text)
    except ValueError as error:
        r.problem("inventory_source", f"{r.quote('inventory_source', text)} {error}")
        return None
    return str(location)


def _credentials(r: _Reader) -> dict[str, str | None]:
    key_id = r.text("aws_access_key_id")
    secret = r.text("aws_secret_access_key")
    token = r.text("aws_session_token")
    both_or_neither = "give both or neither (neither uses the default AWS credential chain)"
    if key_id and not secret and "aws_secret_access_key" not in r.failed:
        r.problem("aws_secret_access_key", f"is empty but aws_access_key_id is set; {both_or_neither}")
    if secret and not key_id and "aws_access_key_id" not in r.failed:
        r.problem("aws_access_key_id", f"is empty but aws_secret_access_key is set; {both_or_neither}")
    if token and not key_id and "aws_access_key_id" not in r.failed:
        r.problem("aws_session_token", "is only used with aws_access_key_id and aws_secret_access_key")
    if key_id and not _ACCESS_KEY_ID.match(key_id):
        r.problem("aws_access_key_id", f"{r.quote('aws_access_key_id', key_id)} has characters an access key ID "
                                       "never has (an AWS key ID looks like AKIA... or ASIA...); check for stray "
                                       "spaces, quotes or a pasted secret")
    return {"aws_access_key_id": key_id, "aws_secret_access_key": secret, "aws_session_token": token}


def _role(r: _Reader) -> dict[str, str | None]:
    role_arn = r.text("role_arn")
    external_id = r.text("external_id")
    session_name = r.text("role_session_name")
    if role_arn and not _ROLE_ARN.match(role_arn):
        r.problem("role_arn", f"{r.quote('role_arn', role_arn)} is not an IAM role ARN")
    if not role_arn and "role_arn" not in r.failed:
        for which, value in (("external_id", external_id), ("role_session_name", session_name)):
            if value:
                r.problem(which, "is only used together with role_arn, which is empty", _EXAMPLES["role_arn"])
    if external_id and not (2 <= len(external_id) <= 1224):
        r.problem("external_id", "must be 2 to 1224 characters long")
    if session_name and not _SESSION_NAME.match(session_name):
        r.problem("role_session_name", f"{r.quote('role_session_name', session_name)} must be 2 to 64 letters, "
                                       "digits or +=,.@_-")
    return {"role_arn": role_arn, "external_id": external_id,
            "role_session_name": session_name or DEFAULT_ROLE_SESSION_NAME}


def _region(r: _Reader) -> str:
    region = r.text("aws_region")
    if region is None:
        return DEFAULT_REGION
    if not _REGION.match(region):
        r.problem("aws_region", f"{r.quote('aws_region', region)} is not a region name")
        return DEFAULT_REGION
    return region


def _reconcile_every(r: _Reader) -> timedelta | None:
    hours = _number(r, "reconcile_every_hours", 0.0, 0.0, MAX_RECONCILE_HOURS, integer=False)
    if 0 < hours < MIN_RECONCILE_HOURS:
        r.problem("reconcile_every_hours",
                  f"must be at least {MIN_RECONCILE_HOURS:g} (or 0 or empty to turn reconciliation off), got "
                  f"{hours:g}: every reconciliation lists the whole bucket and re-sends every row, each of which "
                  f"Fivetran bills as a monthly active row, so more often than every {MIN_RECONCILE_HOURS:g} hours "
                  "it mostly re-writes the whole table")
        return None
    return timedelta(hours=hours) if hours > 0 else None


def _key_range(r: _Reader) -> KeyRange:
    """key_range_start and key_range_end: each a possible S3 key (empty: unbounded), the start before the end."""
    bounds: dict[str, str | None] = {}
    for key in ("key_range_start", "key_range_end"):
        text = r.text(key)
        bounds[key] = None
        if text is None:
            continue
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            r.problem(key, f"{r.quote(key, text)} holds a lone surrogate (an unpaired \\ud800-\\udfff escape), which "
                           "is not UTF-8 text; S3 keys are")
            continue
        if size > MAX_KEY_BYTES:
            r.problem(key, f"{r.quote(key, text)} is {size} bytes of UTF-8, longer than the longest S3 key "
                           f"({MAX_KEY_BYTES} bytes)")
            continue
        bounds[key] = text
    start, end = bounds["key_range_start"], bounds["key_range_end"]
    if start is not None and end is not None and start >= end:
        r.problem("key_range_end", f"{r.quote('key_range_end', end)} is not after key_range_start "
                                   f"{r.quote('key_range_start', start)} in S3's key order (UTF-8 bytes), so the "
                                   "slice would hold no key: it holds the keys from key_range_start up to, not "
                                   "including, key_range_end",
                  '"logs/2024-07" with key_range_start "logs/2024-01"')
        return WHOLE
    return KeyRange(start, end)


def _check_key_range_reaches_prefixes(r: _Reader, key_range: KeyRange, prefixes: tuple[str, ...],
                                      includes: tuple[str, ...]) -> None:
    listed = list_prefixes(prefixes, includes)
    if any(key_range.reaches(prefix) for prefix in listed):
        return
    where = f"under the prefixes {r.quote('prefix', ','.join(listed))}" if listed != [""] else "in the bucket"
    # Blame the bound that shuts the prefixes out: the start when they all end before it, else the end.
    key = "key_range_start" if key_range.start is not None and not any(
        KeyRange(key_range.start, None).reaches(p) for p in listed) else "key_range_end"
    r.problem(key, f"the key range {key_range.describe()} holds no key {where}: a key belongs to the connection only "
                   "when it is under a prefix (and matches the patterns) and lies in the key range, so this "
                   "connection could never sync anything",
              '"logs/m" with prefix "logs/"')


def _check_includes_reach_prefixes(r: _Reader, prefixes: tuple[str, ...], includes: tuple[str, ...]) -> None:
    where = f"the prefixes {r.quote('prefix', ','.join(prefixes))}"
    if not list_prefixes(prefixes, includes):
        r.problem("include_patterns", f"no pattern in {r.quote('include_patterns', ','.join(includes))} can match a "
                                      f"key under {where}; a pattern is matched against the whole key, prefix "
                                      "included", '"logs/**/*.gz" together with prefix "logs/"')
        return
    unreachable = [p for p in includes if not any(can_match_under(p, prefix) for prefix in prefixes)]
    if unreachable:
        r.problem("include_patterns", f"{r.quote('include_patterns', ', '.join(unreachable))} cannot match any key "
                                      f"under {where}; patterns are matched against the whole key, prefix included",
                  '"logs/**/*.gz" together with prefix "logs/"')


def _pattern_warnings(r: _Reader, prefixes: tuple[str, ...], includes: tuple[str, ...],
                      excludes: tuple[str, ...]) -> None:
    """Warn about prefixes and patterns that are valid but select nothing, or far less than they seem to."""
    slash = "S3 keys almost never start with '/' (a folder shown as 'logs' in the console is the prefix 'logs/')"
    for prefix in prefixes:
        if prefix.startswith("/"):
            r.warn(f"prefix {r.quote('prefix', prefix)} starts with '/': {slash}, so nothing is listed unless your "
                   "keys really begin with '/'")
    for key, patterns, effect in (("include_patterns", includes, "matches nothing"),
                                  ("exclude_patterns", excludes, "excludes nothing")):
        for pattern in patterns:
            if pattern.startswith("/"):
                r.warn(f"{key} {r.quote(key, pattern)} starts with '/': {slash}, so it {effect} unless your keys "
                       "really begin with '/'")
    if not excludes:
        return
    budget = SearchBudget(PATTERN_ANALYSIS_STEPS)
    listed = list_prefixes(prefixes, includes)
    empty = [p for p in listed if some_key_passes(p, includes, excludes, budget) is False]
    for prefix in empty:
        where = f"under the prefix {r.quote('prefix', prefix)}" if prefix else "in the bucket"
        r.warn(f"exclude_patterns: no key {where} can be synced: every key there that the prefixes and include "
               f"patterns allow matches an exclude pattern ({r.quote('exclude_patterns', ','.join(excludes))}), and "
               "excludes win, so those rows stay empty")
    if len(empty) == len(listed):
        return
    for pattern in includes:
        if some_key_passes("", (pattern,), excludes, budget) is False:
            r.warn(f"include_patterns {r.quote('include_patterns', pattern)} selects nothing: every key it matches "
                   "also matches an exclude pattern, and excludes win")


def _unknown_key_notes(r: _Reader, unknown_keys: tuple[str, ...]) -> list[str]:
    """What to say about keys this connector does not know, which are ignored. One that looks like a key with a
    problem is named in that problem's line ("'bucket' is required; 'buckte' is not a configuration key: did you mean
    'bucket'?"); the others get a line of their own, returned: warnings of a sync, or lines under the problems."""
    notes = []
    for key in unknown_keys:
        shown = r.quote("", key)
        suggestion = suggested_key(key)
        if suggestion is not None and suggestion in r.failed:
            index = next(i for i, p in enumerate(r.problems) if p.key == suggestion)
            problem = r.problems[index]
            r.problems[index] = Problem(problem.key, f"{problem.problem}; {shown} is not a configuration key: did you "
                                                     f"mean '{suggestion}'?", problem.example)
        elif suggestion is not None:
            notes.append(f"unknown configuration key {shown} is ignored; did you mean '{suggestion}'?")
        else:
            notes.append(f"unknown configuration key {shown} is ignored")
    return notes


def parse_configuration(configuration: Mapping[str, Any] | None) -> Settings:
    """Validate `configuration` and return `Settings`; raises ConfigurationError naming every bad value, and
    nothing else, whatever the input."""
    if configuration is None:
        configuration = {}
    if not isinstance(configuration, Mapping):
        raise ConfigurationError("configuration", "must be a JSON object of string values", _EXAMPLES["configuration"])
    r = _Reader(configuration)
    buckets = _buckets(r)
    prefixes = _prefixes(r)
    include_patterns = _patterns(r, "include_patterns")
    exclude_patterns = _patterns(r, "exclude_patterns")
    credentials = _credentials(r)
    role = _role(r)
    region = _region(r)
    endpoint_url = _endpoint(r)
    max_concurrency = _number(r, "max_concurrency", DEFAULT_MAX_CONCURRENCY, 1, MAX_MAX_CONCURRENCY, integer=True)
    lookback_minutes = _number(r, "lookback_minutes", DEFAULT_LOOKBACK_MINUTES, 0, MAX_LOOKBACK_MINUTES,
                               integer=False)
    range_size = _number(r, "range_size", DEFAULT_RANGE_SIZE, MIN_RANGE_SIZE, MAX_RANGE_SIZE, integer=True)
    restore_status_source = _choice(r, "restore_status_source", RESTORE_SOURCES)
    sync_versions = _flag(r, "sync_versions")
    reconcile_every = _reconcile_every(r)
    sqs_queue_url = _queue_url(r)
    event_max_messages = _number(r, "event_max_messages", DEFAULT_EVENT_MAX_MESSAGES, 1, 10_000_000, integer=True)
    event_time_budget = _number(r, "event_time_budget_seconds", DEFAULT_EVENT_TIME_BUDGET_SECONDS, 10, 86_400,
                                integer=False)
    verify_hours = _number(r, "verify_every_hours", DEFAULT_VERIFY_HOURS, MIN_VERIFY_HOURS, MAX_VERIFY_HOURS,
                           integer=False)
    object_details = _choices(r, "object_details", OBJECT_DETAILS)
    key_range = _key_range(r)
    inventory_source = _inventory_source(r)
    if not key_range.whole and not r.failed & {"prefix", "include_patterns"}:
        _check_key_range_reaches_prefixes(r, key_range, prefixes, include_patterns)
    if include_patterns and not r.failed & {"prefix", "include_patterns"}:
        _check_includes_reach_prefixes(r, prefixes, include_patterns)
    if not r.failed & {"prefix", "include_patterns", "exclude_patterns"}:
        _pattern_warnings(r, prefixes, include_patterns, exclude_patterns)
    if restore_status_source == "listing" and endpoint_url:
        r.warn("restore_status_source is 'listing' while endpoint_url is set: S3-compatible stores do not report "
               "RestoreStatus in listings, so restored objects would show as archived forever; use 'auto' or 'head'")
    unknown_keys = tuple(sorted(str(k) for k in configuration if k not in KNOWN_KEYS))
    notes = _unknown_key_notes(r, unknown_keys)
    if r.problems:
        raise ConfigurationError.of(r.problems, notes)
    return Settings(
        buckets=buckets,
        prefixes=prefixes,
        **credentials,
        **role,
        aws_region=region,
        endpoint_url=endpoint_url,
        include_patterns=include_patterns,
        exclude_patterns=exclude_patterns,
        max_concurrency=int(max_concurrency),
        lookback=timedelta(minutes=lookback_minutes),
        range_size=int(range_size),
        restore_status_source=restore_status_source,
        sync_versions=sync_versions,
        reconcile_every=reconcile_every,
        sqs_queue_url=sqs_queue_url,
        event_max_messages=int(event_max_messages),
        event_time_budget=timedelta(seconds=event_time_budget),
        verify_every=timedelta(hours=verify_hours),
        object_details=object_details,
        key_range=key_range,
        inventory_source=inventory_source,
        unknown_keys=unknown_keys,
        warnings=(*notes, *r.warnings),
    )
