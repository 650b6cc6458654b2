"""A fast, in-memory stand-in for the parts of Amazon S3 that an object-metadata connector touches.

moto is accurate but spends milliseconds of CPU per request, so a benchmark against it measures moto. This server keeps
one bucket in memory, prepares each object's XML once, and answers a page of a thousand keys with a bisect and a join, so
that nearly all the CPU a benchmark sees is the client's. A configurable sleep before every answer stands in for the
network round trip, which is what concurrency in a connector is meant to hide.

It is not S3: there is one bucket, no authentication, path-style addressing only, and no object bodies.

Run it as a program (see `--help`); it prints `READY http://127.0.0.1:<port>` once it listens.
"""
from __future__ import annotations

import argparse
import base64
import bisect
import itertools
import json
import random
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable, Optional, Sequence
from urllib.parse import parse_qs, quote, unquote
from xml.sax.saxutils import escape

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_KEYS = 1000
OPERATIONS = ("ListObjectsV2", "HeadObject", "HeadBucket", "ListObjectVersions", "GetBucketVersioning",
              "GetBucketLocation", "ListBucketIntelligentTieringConfigurations", "other")

# Shares of the bucket by storage class; STANDARD takes whatever rounding leaves.
STORAGE_CLASS_SHARES = {
    "STANDARD_IA": 0.08,
    "GLACIER_IR": 0.05,
    "GLACIER": 0.10,
    "DEEP_ARCHIVE": 0.04,
    "INTELLIGENT_TIERING": 0.03,
}
RESTORABLE_CLASSES = ("GLACIER", "DEEP_ARCHIVE")
RESTORE_IN_PROGRESS_SHARE = 0.02
RESTORED_SHARE = 0.03
ARCHIVED_TIERING_SHARE = 1 / 3
MULTIPART_SHARE = 0.05
UNUSUAL_KEY_SHARE = 0.01
OLDEST_MODIFICATION = datetime(2023, 1, 1, tzinfo=timezone.utc)
NEWEST_MODIFICATION_AGE = timedelta(days=3)
MIB = 1 << 20


def iso_timestamp(epoch: int) -> str:
    """The form S3 uses in XML bodies, always with milliseconds, which a listing of whole seconds leaves at .000."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def http_date(epoch: float) -> str:
    """The RFC 1123 form S3 uses in headers."""
    return formatdate(epoch, usegmt=True)


def url_encode(value: str) -> str:
    """How S3 encodes names in a listing asked for with `encoding-type=url`: botocore decodes with `unquote_plus`, so a
    literal `+` must be escaped, and only `/` and `~` among the punctuation are left as they are."""
    return quote(value, safe="/~")


def xml_text(value: str, encoded: bool) -> str:
    return url_encode(value) if encoded else escape(value)


def next_after_prefix(prefix: str) -> str:
    """The smallest string that sorts after every string starting with `prefix` (S3 orders keys by code point)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def encode_token(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode("utf-8")).decode("ascii")


def decode_token(token: str) -> str:
    return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")


class S3Object:
    """One object's metadata, with its listing XML prepared when it is made or changed, so that serving a page costs
    no formatting."""

    __slots__ = ("key", "size", "etag", "storage_class", "last_modified", "restore", "archive_status", "_fragments")

    def __init__(self, key: str, size: int, etag: str, storage_class: str, last_modified: int,
                 restore: Optional[int | bool] = None, archive_status: Optional[str] = None):
        self.key = key
        self.size = size
        self.etag = etag
        self.storage_class = storage_class
        self.last_modified = last_modified
        # None: no restore; True: a restore is in progress; an epoch: restored until then.
        self.restore = restore
        self.archive_status = archive_status
        self._fragments: dict[tuple[str, bool, bool], bytes] = {}
        self.prepare()

    def prepare(self) -> None:
        """Builds the variant a botocore listing asks for (url-encoded, with restore status): the first page of a sync
        must not pay for formatting. The other variants are built on first use."""
        self._fragments = {}
        self.fragment("Contents", True, True)
        self.fragment("Contents", True, False)

    def fragment(self, element: str, encoded: bool, with_restore: bool) -> bytes:
        with_restore = with_restore and self.restore is not None
        cache_key = (element, encoded, with_restore)
        cached = self._fragments.get(cache_key)
        if cached is None:
            cached = self._render(element, encoded, with_restore).encode("utf-8")
            self._fragments[cache_key] = cached
        return cached

    def _render(self, element: str, encoded: bool, with_restore: bool) -> str:
        version = "<VersionId>null</VersionId><IsLatest>true</IsLatest>" if element == "Version" else ""
        restore = ""
        if with_restore:
            if self.restore is True:
                restore = "<RestoreStatus><IsRestoreInProgress>true</IsRestoreInProgress></RestoreStatus>"
            else:
                restore = (f"<RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress>"
                           f"<RestoreExpiryDate>{iso_timestamp(self.restore)}</RestoreExpiryDate></RestoreStatus>")
        return (f"<{element}><Key>{xml_text(self.key, encoded)}</Key>{version}"
                f"<LastModified>{iso_timestamp(self.last_modified)}</LastModified>"
                f"<ETag>&quot;{self.etag}&quot;</ETag><Size>{self.size}</Size>"
                f"<StorageClass>{self.storage_class}</StorageClass>{restore}</{element}>")

    def head_headers(self) -> list[tuple[str, str]]:
        """The headers of a HeadObject answer, named and worded as S3 sends them."""
        headers = [
            ("Last-Modified", http_date(self.last_modified)),
            ("ETag", f'"{self.etag}"'),
            ("Accept-Ranges", "bytes"),
            ("Content-Type", "binary/octet-stream"),
        ]
        if self.storage_class != "STANDARD":
            headers.append(("x-amz-storage-class", self.storage_class))
        if self.restore is True:
            headers.append(("x-amz-restore", 'ongoing-request="true"'))
        elif self.restore is not None:
            headers.append(("x-amz-restore", f'ongoing-request="false", expiry-date="{http_date(self.restore)}"'))
        if self.archive_status:
            headers.append(("x-amz-archive-status", self.archive_status))
        return headers


class KeyFactory:
    """Makes plausible keys. Unusual keys (spaces, `+`, `%`, markup characters, non-ASCII, very long) are mixed in
    because they are where listing encoding and HEAD path quoting go wrong."""

    SERVICES = ("api", "web", "worker", "auth", "billing", "search")
    IMAGE_SETS = ("products", "avatars", "banners", "thumbnails", "uploads")
    DATABASES = ("orders", "customers", "inventory", "analytics")
    TABLES = ("events", "sessions", "clicks", "payments", "shipments", "users")
    UNICODE_WORDS = ("résumé", "日本語", "данные", "naïve café", "Ωmega", "emoji-😀", "ñandú", "Zürich")

    def __init__(self, rng: random.Random):
        self.rng = rng

    def make(self, modified: datetime) -> str:
        roll = self.rng.random()
        if roll < UNUSUAL_KEY_SHARE:
            return self._unusual()
        if roll < 0.36:
            return self._log(modified)
        if roll < 0.56:
            return self._image()
        if roll < 0.66:
            return self._backup(modified)
        return self._data(modified)

    def _hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(digits * 4):0{digits}x}"

    def _log(self, modified: datetime) -> str:
        return (f"logs/{modified:%Y/%m/%d/%H}/{self.rng.choice(self.SERVICES)}-{self._hex(8)}.log"
                + self.rng.choice((".gz", ".gz", ".gz", "")))

    def _image(self) -> str:
        extension = self.rng.choice(("jpg", "jpg", "png", "webp", "gif"))
        return f"images/{self.rng.choice(self.IMAGE_SETS)}/{self._hex(2)}/{self._hex(16)}.{extension}"

    def _backup(self, modified: datetime) -> str:
        return f"backups/db/{self.rng.choice(self.DATABASES)}/{modified:%Y-%m-%d}/dump-{self.rng.randrange(1, 100):03d}.sql.gz"

    def _data(self, modified: datetime) -> str:
        table = self.rng.choice(self.TABLES)
        if self.rng.random() < 0.3:
            return f"data/{table}/part-{self.rng.randrange(100000):05d}.parquet"
        return f"data/{table}/dt={modified:%Y-%m-%d}/part-{self.rng.randrange(1000):05d}-{self._hex(12)}.snappy.parquet"

    def _unusual(self) -> str:
        n = self.rng.randrange(1_000_000)
        word = self.rng.choice(self.UNICODE_WORDS)
        choices: Sequence[Callable[[], str]] = (
            lambda: f"reports/Q{n % 4 + 1} {2023 + n % 2} summary (v{n}).pdf",
            lambda: f"tmp/a+b=c {n}+1.txt",
            lambda: f"weird/100% done-{n}.txt",
            lambda: f"weird/%41%2F%20literal-{n}",
            lambda: f"weird/tom & jerry <{n}> 'single' \"double\".txt",
            lambda: f"unicode/{word}/{word}-{n}.txt",
            lambda: f"folders/{n}/",
            lambda: "deep/" + "/".join(f"level-{i:02d}-{self._hex(6)}" for i in range(14 + n % 20)) + f"/file-{n}.bin",
            lambda: f"symbols/semi;colon,comma=equals!bang*star(paren)~tilde@at$dollar-{n}",
        )
        return self.rng.choice(choices)()


@dataclass(frozen=True)
class Generation:
    """What the generated bucket looks like; the clock is fixed at a day boundary so one seed gives one bucket all day."""

    count: int
    seed: int
    today: datetime

    @property
    def newest(self) -> int:
        return int((self.today - NEWEST_MODIFICATION_AGE).timestamp())

    def expiry(self, rng: random.Random) -> int:
        return int((self.today + timedelta(days=rng.randint(2, 6))).timestamp())


def exact_assignment(rng: random.Random, count: int, shares: dict[str, float], rest: str) -> list[str]:
    """Exactly round(share * count) of each label, in random order: exact counts make two benchmark runs comparable."""
    labels: list[str] = []
    for label, share in shares.items():
        labels += [label] * round(share * count)
    labels += [rest] * (count - len(labels))
    rng.shuffle(labels)
    return labels


def generate_objects(generation: Generation) -> list[S3Object]:
    rng = random.Random(generation.seed)
    factory = KeyFactory(rng)
    oldest = int(OLDEST_MODIFICATION.timestamp())
    classes = exact_assignment(rng, generation.count, STORAGE_CLASS_SHARES, "STANDARD")
    objects: list[S3Object] = []
    seen: set[str] = set()
    for storage_class in classes:
        modified = rng.randint(oldest, generation.newest)
        key = factory.make(datetime.fromtimestamp(modified, timezone.utc))
        while key in seen:
            key = factory.make(datetime.fromtimestamp(modified, timezone.utc))
        seen.add(key)
        size, etag = _size_and_etag(rng, key)
        objects.append(S3Object(key, size, etag, storage_class, modified))
    _assign_restores(rng, generation, [o for o in objects if o.storage_class in RESTORABLE_CLASSES])
    _assign_archive_tiers(rng, [o for o in objects if o.storage_class == "INTELLIGENT_TIERING"])
    return objects


def _size_and_etag(rng: random.Random, key: str) -> tuple[int, str]:
    if key.endswith("/"):
        return 0, "d41d8cd98f00b204e9800998ecf8427e"
    exponent = {"l": (2, 7.7), "i": (3.5, 7.3), "b": (6, 9.7), "d": (5, 9.3)}.get(key[0], (0, 4))
    size = int(10 ** rng.uniform(*exponent))
    etag = f"{rng.getrandbits(128):032x}"
    if rng.random() < MULTIPART_SHARE:
        parts = rng.randint(2, 64)
        size = max(size, parts * 8 * MIB - rng.randrange(8 * MIB))
        etag = f"{etag}-{parts}"
    return size, etag


def _assign_restores(rng: random.Random, generation: Generation, cold: list[S3Object]) -> None:
    chosen = rng.sample(cold, round(RESTORE_IN_PROGRESS_SHARE * len(cold)) + round(RESTORED_SHARE * len(cold)))
    in_progress = round(RESTORE_IN_PROGRESS_SHARE * len(cold))
    for index, obj in enumerate(chosen):
        obj.restore = True if index < in_progress else generation.expiry(rng)
        obj.prepare()


def _assign_archive_tiers(rng: random.Random, tiering: list[S3Object]) -> None:
    for index, obj in enumerate(rng.sample(tiering, round(ARCHIVED_TIERING_SHARE * len(tiering)))):
        obj.archive_status = "ARCHIVE_ACCESS" if index % 2 == 0 else "DEEP_ARCHIVE_ACCESS"


@dataclass
class Page:
    """One page of a listing: objects and common prefixes in key order, and where the next page starts."""

    objects: list[S3Object]
    common_prefixes: list[str]
    truncated: bool
    resume_at: str  # the smallest key the next page may hold
    last_item: str  # the last key or common prefix of this page


class Bucket:
    """The bucket's keys, kept sorted in a list next to their objects so that a page is a bisect and a slice."""

    def __init__(self, name: str, objects: Iterable[S3Object], generation: Generation):
        self.name = name
        self.generation = generation
        ordered = sorted(objects, key=lambda o: o.key)
        self._keys = [o.key for o in ordered]
        self._objects = ordered
        self._by_key = {o.key: o for o in ordered}
        self._lock = threading.Lock()
        self._mutations = random.Random(generation.seed + 1)
        self._added = itertools.count(1)

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, key: str) -> Optional[S3Object]:
        return self._by_key.get(key)

    def page(self, prefix: str, delimiter: str, start: str, max_keys: int) -> Page:
        """Keys under `prefix` from `start` on, at most `max_keys` entries, rolled up at `delimiter` when one is given."""
        if max_keys == 0:
            return Page([], [], False, start, "")
        with self._lock:
            keys = self._keys
            begin = bisect.bisect_left(keys, max(start, prefix))
            end = bisect.bisect_left(keys, next_after_prefix(prefix)) if prefix else len(keys)
            if not delimiter:
                stop = min(begin + max_keys, end)
                objects = self._objects[begin:stop]
                last = objects[-1].key if objects else ""
                return Page(objects, [], stop < end, last + "\0", last)
            return self._rolled_up_page(prefix, delimiter, begin, end, max_keys)

    def _rolled_up_page(self, prefix: str, delimiter: str, index: int, end: int, max_keys: int) -> Page:
        objects: list[S3Object] = []
        prefixes: list[str] = []
        resume = last = ""
        while index < end and len(objects) + len(prefixes) < max_keys:
            key = self._keys[index]
            cut = key.find(delimiter, len(prefix))
            if cut == -1:
                objects.append(self._objects[index])
                last, resume = key, key + "\0"
                index += 1
            else:
                last = key[:cut + len(delimiter)]
                prefixes.append(last)
                resume = next_after_prefix(last)
                index = bisect.bisect_left(self._keys, resume, index, end)
        return Page(objects, prefixes, index < end, resume, last)

    def mutate(self, request: dict) -> dict[str, list[str]]:
        """Applies the changes a benchmark asks for between syncs; returns the keys each change touched."""
        handlers = {"add": self._add, "restore_complete": self._complete_restores,
                    "transition": lambda n: self._transition(n, str(request.get("storage_class", "GLACIER"))),
                    "delete": self._delete}
        unknown = set(request) - set(handlers) - {"storage_class"}
        if unknown:
            raise ValueError(f"unknown mutations: {sorted(unknown)}")
        with self._lock:
            return {name: handler(int(request[name])) for name, handler in handlers.items() if name in request}

    def _pick(self, candidates: list[S3Object], count: int) -> list[S3Object]:
        return self._mutations.sample(candidates, min(count, len(candidates)))

    def _add(self, count: int) -> list[str]:
        now = int(time.time())
        added = []
        for _ in range(count):
            key = f"incoming/{datetime.fromtimestamp(now, timezone.utc):%Y/%m/%d}/new-{next(self._added):06d}.json"
            obj = S3Object(key, self._mutations.randrange(100, 100_000), f"{self._mutations.getrandbits(128):032x}",
                           "STANDARD", now)
            index = bisect.bisect_left(self._keys, key)
            self._keys.insert(index, key)
            self._objects.insert(index, obj)
            self._by_key[key] = obj
            added.append(key)
        return added

    def _complete_restores(self, count: int) -> list[str]:
        chosen = self._pick([o for o in self._objects if o.restore is True], count)
        for obj in chosen:
            obj.restore = self.generation.expiry(self._mutations)
            obj.prepare()
        return [o.key for o in chosen]

    def _transition(self, count: int, storage_class: str) -> list[str]:
        chosen = self._pick([o for o in self._objects if o.storage_class == "STANDARD"], count)
        for obj in chosen:
            obj.storage_class = storage_class
            obj.prepare()
        return [o.key for o in chosen]

    def _delete(self, count: int) -> list[str]:
        chosen = self._pick(self._objects, count)
        for obj in chosen:
            self._remove(obj.key)
        return [o.key for o in chosen]

    def _remove(self, key: str) -> None:
        index = bisect.bisect_left(self._keys, key)
        del self._keys[index]
        del self._objects[index]
        del self._by_key[key]


class Stats:
    """Request counts by operation, which is how a benchmark sees a connector's request pattern."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(OPERATIONS, 0)
        self._errors = 0

    def count(self, operation: str, injected_error: bool) -> None:
        with self._lock:
            self._counts[operation] += 1
            self._errors += injected_error

    def snapshot(self, objects: int) -> dict:
        with self._lock:
            return {**self._counts, "errors_injected": self._errors, "objects": objects}

    def reset(self) -> None:
        with self._lock:
            self._counts = dict.fromkeys(OPERATIONS, 0)
            self._errors = 0


@dataclass(frozen=True)
class Options:
    latency_s: float = 0.0
    error_rate: float = 0.0
    restore_status: bool = True
    # Intelligent-Tiering archive tiers are opt-in per bucket configuration; 0 means the bucket has none, so
    # no object is ever in an archive tier (the usual case).
    it_archive_days: int = 0


class StandInServer(ThreadingHTTPServer):
    """One thread per connection, so that many requests can wait out their simulated latency at once."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], bucket: Bucket, options: Options, seed: int):
        super().__init__(address, RequestHandler)
        self.bucket = bucket
        self.options = options
        self.stats = Stats()
        self._errors = random.Random(seed + 2)
        self._errors_lock = threading.Lock()
        self.request_ids = itertools.count(1)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-request is normal under a benchmark; anything else is reported."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def should_fail(self) -> bool:
        if self.options.error_rate <= 0:
            return False
        with self._errors_lock:
            return self._errors.random() < self.options.error_rate


class S3Error(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def operation_name(method: str, key: str, params: dict[str, str]) -> str:
    """The S3 operation a request is, decided the way botocore shapes it: by method, key and query parameters."""
    if method == "HEAD":
        return "HeadObject" if key else "HeadBucket"
    if method != "GET" or key:
        return "other"
    for parameter, operation in (("list-type", "ListObjectsV2"), ("versions", "ListObjectVersions"),
                                 ("versioning", "GetBucketVersioning"), ("location", "GetBucketLocation"),
                                 ("intelligent-tiering", "ListBucketIntelligentTieringConfigurations")):
        if parameter in params:
            return operation
    return "other"


def tiering_configurations(archive_days: int) -> bytes:
    """ListBucketIntelligentTieringConfigurations: one configuration with archive tiers, or none."""
    configuration = ""
    if archive_days:
        tiers = ((archive_days, "ARCHIVE_ACCESS"), (max(archive_days, 180), "DEEP_ARCHIVE_ACCESS"))
        configuration = (f"<IntelligentTieringConfiguration><Id>archive</Id><Status>Enabled</Status>"
                         + "".join(f"<Tiering><Days>{days}</Days><AccessTier>{tier}</AccessTier></Tiering>"
                                   for days, tier in tiers)
                         + "</IntelligentTieringConfiguration>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketIntelligentTieringConfigurationsOutput '
            f'xmlns="{S3_NAMESPACE}"><IsTruncated>false</IsTruncated>{configuration}'
            "</ListBucketIntelligentTieringConfigurationsOutput>").encode()


def element(name: str, value: object) -> str:
    return f"<{name}>{value}</{name}>"


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandInServer
    request_id = ""

    def setup(self) -> None:
        super().setup()
        # Without this, a response written after a small earlier one can wait for a delayed ACK (40 ms on Linux).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: a log line per request would cost more than answering it."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        self.request_id = f"{next(self.server.request_ids):016X}"
        body = self._read_body()
        path, _, query = self.path.partition("?")
        if path.startswith("/__"):
            self._admin(method, path, body)
            return
        params = {name: values[0] for name, values in parse_qs(query, keep_blank_values=True).items()}
        bucket_name, _, raw_key = path.lstrip("/").partition("/")
        key = unquote(raw_key)
        operation = operation_name(method, key, params)
        failing = self.server.should_fail()
        self.server.stats.count(operation, failing)
        if self.server.options.latency_s:
            time.sleep(self.server.options.latency_s)
        try:
            if failing:
                raise S3Error(503, "SlowDown", "Please reduce your request rate.")
            if unquote(bucket_name) != self.server.bucket.name:
                raise S3Error(404, "NoSuchBucket", "The specified bucket does not exist")
            self._dispatch(operation, key, params)
        except S3Error as error:
            document = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{element("Code", error.code)}'
                        f'{element("Message", escape(error.message))}{element("RequestId", self.request_id)}'
                        f'{element("HostId", "standin")}</Error>').encode("utf-8")
            self._respond(error.status, [("Content-Type", "application/xml")], b"" if method == "HEAD" else document)

    def _read_body(self) -> bytes:
        """Reads what the client sent, so that the next request on this connection starts where it should."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            return b""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, operation: str, key: str, params: dict[str, str]) -> None:
        bucket = self.server.bucket
        if operation == "ListObjectsV2":
            self._send_xml(self._list_objects(params))
        elif operation == "ListObjectVersions":
            self._send_xml(self._list_versions(params))
        elif operation == "HeadObject":
            obj = bucket.get(key)
            if obj is None:
                raise S3Error(404, "NotFound", "Not Found")
            self._respond(200, obj.head_headers(), content_length=obj.size)
        elif operation == "HeadBucket":
            self._respond(200, [("x-amz-bucket-region", "us-east-1")])
        elif operation == "GetBucketLocation":
            self._send_xml(f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="{S3_NAMESPACE}"/>'.encode())
        elif operation == "ListBucketIntelligentTieringConfigurations":
            self._send_xml(tiering_configurations(self.server.options.it_archive_days))
        elif operation == "GetBucketVersioning":
            self._send_xml(f'<?xml version="1.0" encoding="UTF-8"?>\n<VersioningConfiguration xmlns="{S3_NAMESPACE}"/>'.encode())
        else:
            raise S3Error(501, "NotImplemented", "A header or query you provided implies functionality that is not implemented.")

    def _listing_request(self, params: dict[str, str]) -> tuple[str, str, int, bool, bool]:
        try:
            max_keys = min(int(params.get("max-keys", MAX_KEYS)), MAX_KEYS)
        except ValueError:
            raise S3Error(400, "InvalidArgument", "Provided max-keys not an integer or within integer range") from None
        if max_keys < 0:
            raise S3Error(400, "InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647")
        encoded = params.get("encoding-type") == "url"
        if params.get("encoding-type") not in (None, "url"):
            raise S3Error(400, "InvalidArgument", "Invalid Encoding Method specified in Request")
        restore = (self.server.options.restore_status
                   and "RestoreStatus" in self.headers.get("x-amz-optional-object-attributes", ""))
        return params.get("prefix", ""), params.get("delimiter", ""), max_keys, encoded, restore

    def _list_objects(self, params: dict[str, str]) -> bytes:
        prefix, delimiter, max_keys, encoded, restore = self._listing_request(params)
        token = params.get("continuation-token")
        start_after = params.get("start-after")
        if token is not None:
            try:
                start = decode_token(token)
            except ValueError:
                raise S3Error(400, "InvalidArgument", "The continuation token provided is incorrect") from None
        else:
            start = start_after + "\0" if start_after else ""
        page = self.server.bucket.page(prefix, delimiter, start, max_keys)
        head = [element("Name", self.server.bucket.name), element("Prefix", xml_text(prefix, encoded))]
        if delimiter:
            head.append(element("Delimiter", xml_text(delimiter, encoded)))
        head += [element("MaxKeys", max_keys), element("KeyCount", len(page.objects) + len(page.common_prefixes)),
                 element("IsTruncated", "true" if page.truncated else "false")]
        if encoded:
            head.append(element("EncodingType", "url"))
        if token is not None:
            head.append(element("ContinuationToken", escape(token)))
        if page.truncated:
            head.append(element("NextContinuationToken", encode_token(page.resume_at)))
        if start_after:
            head.append(element("StartAfter", xml_text(start_after, encoded)))
        return self._listing_document("ListBucketResult", head, page, "Contents", encoded, restore)

    def _list_versions(self, params: dict[str, str]) -> bytes:
        prefix, delimiter, max_keys, encoded, restore = self._listing_request(params)
        key_marker = params.get("key-marker", "")
        start = ""
        if key_marker:
            rolled_up = delimiter and key_marker.endswith(delimiter) and key_marker.startswith(prefix)
            start = next_after_prefix(key_marker) if rolled_up else key_marker + "\0"
        page = self.server.bucket.page(prefix, delimiter, start, max_keys)
        head = [element("Name", self.server.bucket.name), element("Prefix", xml_text(prefix, encoded)),
                element("KeyMarker", xml_text(key_marker, encoded)),
                element("VersionIdMarker", escape(params.get("version-id-marker", "")))]
        if page.truncated:
            head += [element("NextKeyMarker", xml_text(page.last_item, encoded)), element("NextVersionIdMarker", "null")]
        if delimiter:
            head.append(element("Delimiter", xml_text(delimiter, encoded)))
        head += [element("MaxKeys", max_keys), element("IsTruncated", "true" if page.truncated else "false")]
        if encoded:
            head.append(element("EncodingType", "url"))
        return self._listing_document("ListVersionsResult", head, page, "Version", encoded, restore)

    @staticmethod
    def _listing_document(root: str, head: list[str], page: Page, entry: str, encoded: bool, restore: bool) -> bytes:
        prefixes = "".join(f"<CommonPrefixes><Prefix>{xml_text(p, encoded)}</Prefix></CommonPrefixes>"
                           for p in page.common_prefixes)
        return b"".join((
            f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{S3_NAMESPACE}">{"".join(head)}'.encode("utf-8"),
            b"".join(o.fragment(entry, encoded, restore) for o in page.objects),
            f"{prefixes}</{root}>".encode("utf-8"),
        ))

    def _send_xml(self, document: bytes) -> None:
        self._respond(200, [("Content-Type", "application/xml")], document)

    def _admin(self, method: str, path: str, body: bytes) -> None:
        server = self.server
        if method == "GET" and path == "/__stats":
            self._send_json(200, server.stats.snapshot(len(server.bucket)))
        elif method == "POST" and path == "/__reset":
            server.stats.reset()
            self._send_json(200, server.stats.snapshot(len(server.bucket)))
        elif method == "POST" and path == "/__mutate":
            try:
                request = json.loads(body or b"{}")
                if not isinstance(request, dict):
                    raise ValueError("the body must be a JSON object")
                self._send_json(200, server.bucket.mutate(request))
            except (ValueError, TypeError) as error:
                self._send_json(400, {"error": str(error)})
        else:
            self._send_json(404, {"error": f"no admin endpoint {method} {path}"})

    def _send_json(self, status: int, payload: object) -> None:
        self._respond(status, [("Content-Type", "application/json")], json.dumps(payload).encode("utf-8"))

    def _respond(self, status: int, headers: list[tuple[str, str]], body: bytes = b"",
                 content_length: Optional[int] = None) -> None:
        """Writes the whole response in one send; `content_length` is for HEAD, which describes a body it does not send."""
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
                 f"Date: {http_date(time.time())}", "Server: AmazonS3",
                 f"x-amz-request-id: {self.request_id}", f"x-amz-id-2: standin/{self.request_id}",
                 f"Content-Length: {len(body) if content_length is None else content_length}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body)


def utc_today() -> datetime:
    now = datetime.now(timezone.utc)
    return datetime(now.year, now.month, now.day, tzinfo=timezone.utc)


def build_server(objects: int, seed: int = 1, port: int = 0, bucket: str = "bench-bucket",
                 options: Options = Options()) -> StandInServer:
    """A server bound to 127.0.0.1:`port` (0 picks a free one), not yet serving: call `serve_forever`."""
    generation = Generation(objects, seed, utc_today())
    generated = generate_objects(generation)
    if not options.it_archive_days:
        for obj in generated:
            obj.archive_status = None
    return StandInServer(("127.0.0.1", port), Bucket(bucket, generated, generation), options, seed)


def parse_arguments(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="sleep before answering each S3 request")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of S3 requests answered 503 SlowDown")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-restore-status", action="store_true",
                        help="ignore x-amz-optional-object-attributes, as S3-compatible stores without it do")
    parser.add_argument("--bucket", default="bench-bucket")
    parser.add_argument("--it-archive-days", type=int, default=0,
                        help="give the bucket an Intelligent-Tiering archive configuration (ARCHIVE_ACCESS after this "
                             "many days) and put some Intelligent-Tiering objects in archive tiers; 0: none")
    return parser.parse_args(argv)


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_arguments(argv)
    options = Options(args.latency_ms / 1000.0, args.error_rate, not args.no_restore_status, args.it_archive_days)
    server = build_server(args.objects, args.seed, args.port, args.bucket, options)
    signal.signal(signal.SIGTERM, _stop)
    print(f"READY {server.url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
