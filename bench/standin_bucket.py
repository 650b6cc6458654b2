"""The stand-in's bucket: millions of objects in a few kilobytes, generated from their position in key order.

A benchmark of 10,000,000 objects cannot keep 10,000,000 Python objects (several GB) in the server. Instead the
bucket is a layout: families of keys (`logs/`, `data/`, `images/`, ...) each holding a contiguous range of
indices, and a function from an index to its key that grows with the index (a date path that never goes back,
then a zero-padded counter), so the keys are sorted by construction and a key is found by bisecting the indices.
Everything else about an object (storage class, size, ETag, LastModified, restore, archive tier) comes from a
64-bit hash of the seed and the index: the same seed gives the same bucket, whatever its size, for every
connector and every run. Changes made through `/__mutate` live in small overlays (added keys, changed and
deleted indices), so a mutated bucket costs memory in proportion to the change.

The mix of the bucket: 35% `logs/`, 34% `data/`, 20% `images/`, 10% `backups/`, and 1% awkward keys (spaces,
`+`, `%`, markup characters, non-ASCII, emoji, trailing `/`, keys over 200 characters); storage classes 70%
STANDARD, 8% STANDARD_IA, 5% GLACIER_IR, 10% GLACIER, 4% DEEP_ARCHIVE, 3% INTELLIGENT_TIERING (or a chosen share
archived); among GLACIER and DEEP_ARCHIVE objects 2% have a restore in progress and 3% a completed one; a third
of Intelligent-Tiering objects sit in an archive tier when the bucket has an archive configuration; 5% of objects
are multipart uploads.
"""
from __future__ import annotations

import bisect
import itertools
import random
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from typing import Callable, Iterator, Optional
from urllib.parse import quote
from xml.sax.saxutils import escape

OLDEST_MODIFICATION = datetime(2023, 1, 1, tzinfo=timezone.utc)
NEWEST_MODIFICATION_AGE = timedelta(days=3)
MIB = 1 << 20
MASK = (1 << 64) - 1
STORAGE_CLASS_SHARES = {"STANDARD_IA": 0.08, "GLACIER_IR": 0.05, "GLACIER": 0.10, "DEEP_ARCHIVE": 0.04,
                        "INTELLIGENT_TIERING": 0.03}
RESTORABLE_CLASSES = ("GLACIER", "DEEP_ARCHIVE")
RESTORE_IN_PROGRESS_SHARE = 0.02
RESTORED_SHARE = 0.03
ARCHIVED_TIERING_SHARE = 1 / 3
MULTIPART_SHARE = 0.05


DAY = 86_400
_DAYS: dict[int, str] = {}


def day_text(day: int, separator: str = "-") -> str:
    """`YYYY-MM-DD` of a day number since 1970 (cached: formatting dates is most of the stand-in's CPU)."""
    text = _DAYS.get(day)
    if text is None:
        text = _DAYS[day] = datetime.fromtimestamp(day * DAY, timezone.utc).strftime("%Y-%m-%d")
    return text if separator == "-" else text.replace("-", separator)  # noqa: the few '/' dates are cheap enough


def iso_timestamp(epoch: int) -> str:
    """The form S3 uses in XML bodies, always with milliseconds, which a listing of whole seconds leaves at .000."""
    day, second = divmod(epoch, DAY)
    hour, second = divmod(second, 3600)
    return f"{day_text(day)}T{hour:02d}:{second // 60:02d}:{second % 60:02d}.000Z"


def http_date(epoch: float) -> str:
    """The RFC 1123 form S3 uses in headers."""
    return formatdate(epoch, usegmt=True)


_UNCHANGED_BY_ENCODING = re.compile(r"[A-Za-z0-9_.~/-]*")


def url_encode(value: str) -> str:
    """How S3 encodes names in a listing asked for with `encoding-type=url`: botocore decodes with `unquote_plus`, so a
    literal `+` must be escaped, and only `/` and `~` among the punctuation are left as they are."""
    return value if _UNCHANGED_BY_ENCODING.fullmatch(value) else quote(value, safe="/~")


def xml_text(value: str, encoded: bool) -> str:
    return url_encode(value) if encoded else escape(value)


def mix(seed: int, index: int, salt: int) -> int:
    """splitmix64 of (seed, index, salt): an independent, uniform 64-bit value per object and purpose."""
    z = (seed * 0x9E3779B97F4A7C15 + index * 0xBF58476D1CE4E5B9 + salt * 0x94D049BB133111EB) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class S3Object:
    """One object's metadata, and how S3 shows it in a listing and in HEAD."""

    __slots__ = ("key", "size", "etag", "storage_class", "last_modified", "restore", "archive_status")

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

    def fragment(self, element: str, encoded: bool, with_restore: bool) -> bytes:
        version = "<VersionId>null</VersionId><IsLatest>true</IsLatest>" if element == "Version" else ""
        restore = ""
        if with_restore and self.restore is not None:
            if self.restore is True:
                restore = "<RestoreStatus><IsRestoreInProgress>true</IsRestoreInProgress></RestoreStatus>"
            else:
                restore = (f"<RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress>"
                           f"<RestoreExpiryDate>{iso_timestamp(self.restore)}</RestoreExpiryDate></RestoreStatus>")
        return (f"<{element}><Key>{xml_text(self.key, encoded)}</Key>{version}"
                f"<LastModified>{iso_timestamp(self.last_modified)}</LastModified>"
                f"<ETag>&quot;{self.etag}&quot;</ETag><Size>{self.size}</Size>"
                f"<StorageClass>{self.storage_class}</StorageClass>{restore}</{element}>").encode("utf-8")

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


@dataclass(frozen=True)
class Family:
    """Keys that share a prefix. `key(j, n, h)` is the j-th of n keys (h: the object's hash); it must grow with j."""

    prefix: str
    share: float
    key: Callable[[int, int, int], str]
    sizes: tuple[float, float]  # log10 of the smallest and largest size


SERVICES = ("api", "auth", "billing", "search", "web", "worker")
IMAGE_SETS = ("avatars", "banners", "products", "thumbnails", "uploads")
DATABASES = ("analytics", "customers", "inventory", "orders")
TABLES = ("clicks", "events", "payments", "sessions", "shipments", "users")
UNICODE_WORDS = ("résumé", "日本語", "данные", "naïve café", "Ωmega", "emoji-😀", "ñandú", "Zürich")
_SPAN_START = int(OLDEST_MODIFICATION.timestamp())


def _moment(j: int, n: int, span_days: int) -> int:
    """A time (epoch seconds) that never goes back as j grows: j's place in n spread over `span_days` from 2023."""
    return _SPAN_START + (j * span_days * DAY) // max(n, 1)


def _date_path(epoch: int, separator: str) -> str:
    return day_text(epoch // DAY, separator)


def _log_hour(epoch: int) -> str:
    return f"{_date_path(epoch, '/')}/{epoch % DAY // 3600:02d}"


def _block(names: tuple[str, ...], j: int, n: int, span_days: int) -> str:
    """`name/date` for the j-th of n keys: the (sorted) names each over a contiguous block of j, and within a block a
    date that never goes back, so the key still grows with j."""
    blocks = len(names)
    block = j * blocks // max(n, 1)
    first = (block * n + blocks - 1) // blocks
    following = ((block + 1) * n + blocks - 1) // blocks
    return f"{names[block]}/{_date_path(_moment(j - first, following - first, span_days), '-')}"


def _weird(j: int, n: int, h: int) -> str:
    return f"weird/{j:07d} " + ("100% done.txt", "%41%2F%20literal", "tom & jerry <1> 'single' \"double\".txt",
                                "a+b=c +1.txt")[h % 4]


# In key order: the index space is these families one after the other.
FAMILIES = (
    Family("backups/db/", 0.10, lambda j, n, h: f"backups/db/{_block(DATABASES, j, n, 1000)}/dump-{j:07d}.sql.gz",
           (6, 9.7)),
    Family("data/", 0.34, lambda j, n, h: f"data/{_block(TABLES, j, n, 1000).replace('/', '/dt=')}/part-{j:08d}-"
           f"{h & 0xFFFFFFFFFFFF:012x}.snappy.parquet", (5, 9.3)),
    Family("deep/", 0.0015, lambda j, n, h: f"deep/{j:07d}/" + "/".join(
        f"level-{i:02d}-{(h >> i) & 0xFFFFFF:06x}" for i in range(14 + h % 20)) + "/file.bin", (0, 4)),
    Family("folders/", 0.0014, lambda j, n, h: f"folders/{j:07d}/", (0, 0)),
    Family("images/", 0.20, lambda j, n, h: f"images/{IMAGE_SETS[j * 5 // max(n, 1)]}/{j:08d}{h & 0xFFFFFFFF:08x}."
           + ("jpg", "jpg", "png", "webp", "gif")[h % 5], (3.5, 7.3)),
    Family("logs/", 0.35, lambda j, n, h: f"logs/{_log_hour(_moment(j, n, 1000))}/{j:09d}-{SERVICES[h % 6]}-"
           f"{h & 0xFFFFFFFF:08x}.log" + (".gz", ".gz", ".gz", "")[(h >> 8) % 4], (2, 7.7)),
    Family("reports/", 0.0014, lambda j, n, h: f"reports/{j:07d} Q{h % 4 + 1} {2023 + h % 2} summary (v{h % 9}).pdf",
           (0, 4)),
    Family("symbols/", 0.0014, lambda j, n, h: f"symbols/{j:07d} semi;colon,comma=equals!bang*star(paren)~tilde"
           "@at$dollar", (0, 4)),
    Family("tmp/", 0.0014, lambda j, n, h: f"tmp/{j:07d} a+b=c {h % 1000}+1.txt", (0, 4)),
    Family("unicode/", 0.0015, lambda j, n, h: f"unicode/{j:07d}/{UNICODE_WORDS[h % 8]}/{UNICODE_WORDS[h % 8]}.txt",
           (0, 4)),
    Family("weird/", 0.0014, _weird, (0, 4)),
)


def family_sizes(count: int) -> list[int]:
    """How many of `count` objects each family holds (the big four absorb the rounding)."""
    sizes = [round(f.share * count) for f in FAMILIES]
    sizes[FAMILIES.index(next(f for f in FAMILIES if f.prefix == "logs/"))] += count - sum(sizes)
    return sizes


class Layout:
    """The generated part of the bucket: index -> key and index -> object, with keys in order."""

    def __init__(self, count: int, seed: int, today: datetime, archived_share: Optional[float] = None,
                 archive_tiers: bool = False):
        self.count = count
        self.seed = seed
        self.newest = int((today - NEWEST_MODIFICATION_AGE).timestamp())
        self.today = today
        self.archive_tiers = archive_tiers
        self.starts: list[int] = []
        self.sizes = family_sizes(count)
        start = 0
        for size in self.sizes:
            self.starts.append(start)
            start += size
        shares = dict(STORAGE_CLASS_SHARES)
        if archived_share is not None:
            shares["GLACIER"], shares["DEEP_ARCHIVE"] = archived_share * 0.7, archived_share * 0.3
        self.class_bounds: list[tuple[int, str]] = []
        bound = 0.0
        for storage_class, share in shares.items():
            bound += share
            self.class_bounds.append((int(bound * 10_000), storage_class))

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> str:
        """The key at `index`: a sequence of sorted keys, for `bisect`."""
        if not 0 <= index < self.count:
            raise IndexError(index)
        family = bisect.bisect_right(self.starts, index) - 1
        return FAMILIES[family].key(index - self.starts[family], self.sizes[family], mix(self.seed, index, 0))

    def index_of(self, key: str) -> Optional[int]:
        index = bisect.bisect_left(self, key)
        return index if index < self.count and self[index] == key else None

    def object(self, index: int) -> S3Object:
        return next(self.objects_from(index))[1]

    def objects_from(self, index: int) -> Iterator[tuple[int, S3Object]]:
        """(index, object) from `index` to the end, in key order."""
        seed = self.seed
        family_number = bisect.bisect_right(self.starts, index) - 1 if index < self.count else len(FAMILIES)
        while index < self.count:
            family, first = FAMILIES[family_number], self.starts[family_number]
            stop, size = first + self.sizes[family_number], self.sizes[family_number]
            make_key, (low, high) = family.key, family.sizes
            while index < stop:
                key = make_key(index - first, size, mix(seed, index, 0))
                yield index, self._object(key, index, low, high)
                index += 1
            family_number += 1

    def _object(self, key: str, index: int, low: float, high: float) -> S3Object:
        h = mix(self.seed, index, 1)
        roll = h % 10_000
        storage_class = "STANDARD"
        for bound, name in self.class_bounds:
            if roll < bound:
                storage_class = name
                break
        modified = _SPAN_START + (h >> 16) % (self.newest - _SPAN_START)
        if key[-1] == "/":
            size, etag = 0, "d41d8cd98f00b204e9800998ecf8427e"
        else:
            size = int(10 ** (low + (high - low) * ((h >> 20) & 0xFFFF) / 0xFFFF))
            e = mix(self.seed, index, 2)
            etag = f"{e:016x}{(e * 0x9E3779B97F4A7C15) & MASK:016x}"
            if (h >> 40) % 10_000 < MULTIPART_SHARE * 10_000:
                parts = 2 + (h >> 48) % 63
                size = max(size, parts * 8 * MIB - (h >> 8) % (8 * MIB))
                etag = f"{etag}-{parts}"
        restore: Optional[int | bool] = None
        archive_status = None
        if storage_class in RESTORABLE_CLASSES:
            fate = (h >> 32) % 10_000
            if fate < RESTORE_IN_PROGRESS_SHARE * 10_000:
                restore = True
            elif fate < (RESTORE_IN_PROGRESS_SHARE + RESTORED_SHARE) * 10_000:
                restore = int((self.today + timedelta(days=2 + fate % 5)).timestamp())
        elif storage_class == "INTELLIGENT_TIERING" and self.archive_tiers and (h >> 32) % 3 == 0:
            archive_status = "ARCHIVE_ACCESS" if (h >> 34) % 2 == 0 else "DEEP_ARCHIVE_ACCESS"
        return S3Object(key, size, etag, storage_class, modified, restore, archive_status)


@dataclass
class Page:
    """One page of a listing: objects and common prefixes in key order, and where the next page starts."""

    objects: list[S3Object]
    common_prefixes: list[str]
    truncated: bool
    resume_at: str  # the smallest key the next page may hold
    last_item: str  # the last key or common prefix of this page


def next_after_prefix(prefix: str) -> str:
    """The smallest string that sorts after every string starting with `prefix` (S3 orders keys by code point)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class Bucket:
    """The generated layout plus what `/__mutate` changed: added objects, changed and deleted indices."""

    def __init__(self, name: str, layout: Layout):
        self.name = name
        self.layout = layout
        self._added_keys: list[str] = []
        self._added: dict[str, S3Object] = {}
        self._changed: dict[int, S3Object] = {}
        self._deleted: set[int] = set()
        self._lock = threading.Lock()
        self._mutations = random.Random(layout.seed + 1)
        self._added_numbers = itertools.count(1)

    def __len__(self) -> int:
        return len(self.layout) - len(self._deleted) + len(self._added)

    def get(self, key: str) -> Optional[S3Object]:
        with self._lock:
            if key in self._added:
                return self._added[key]
            index = self.layout.index_of(key)
            return None if index is None or index in self._deleted else self._object(index)

    def _object(self, index: int) -> S3Object:
        changed = self._changed.get(index)
        return changed if changed is not None else self.layout.object(index)

    def objects(self, start: str = "") -> Iterator[S3Object]:
        """Every object from `start` on, in key order (generated and added ones merged)."""
        added_keys = self._added_keys
        added = bisect.bisect_left(added_keys, start)
        for index, obj in self.layout.objects_from(bisect.bisect_left(self.layout, start)):
            while added < len(added_keys) and added_keys[added] < obj.key:
                yield self._added[added_keys[added]]
                added += 1
            if index not in self._deleted:
                yield self._changed.get(index, obj)
        for key in added_keys[added:]:
            yield self._added[key]

    def page(self, prefix: str, delimiter: str, start: str, max_keys: int) -> Page:
        """Keys under `prefix` from `start` on, at most `max_keys` entries, rolled up at `delimiter` if one is given."""
        if max_keys == 0:
            return Page([], [], False, start, "")
        with self._lock:
            objects: list[S3Object] = []
            prefixes: list[str] = []
            resume = last = ""
            position = max(start, prefix)
            stream = self.objects(position)
            for obj in stream:
                if not obj.key.startswith(prefix):
                    return Page(objects, prefixes, False, resume, last)
                if len(objects) + len(prefixes) == max_keys:
                    return Page(objects, prefixes, True, resume, last)
                cut = obj.key.find(delimiter, len(prefix)) if delimiter else -1
                if cut == -1:
                    objects.append(obj)
                    last, resume = obj.key, obj.key + "\0"
                else:
                    last = obj.key[:cut + len(delimiter)]
                    prefixes.append(last)
                    resume = next_after_prefix(last)
                    return self._continue_rolled_up(prefix, delimiter, max_keys, objects, prefixes, resume, last)
            return Page(objects, prefixes, False, resume, last)

    def _continue_rolled_up(self, prefix: str, delimiter: str, max_keys: int, objects: list[S3Object],
                            prefixes: list[str], resume: str, last: str) -> Page:
        """The rest of a page once a common prefix was found: skip past each prefix with a fresh bisect."""
        while True:
            following = next(self.objects(resume), None)
            if following is None or not following.key.startswith(prefix):
                return Page(objects, prefixes, False, resume, last)
            if len(objects) + len(prefixes) == max_keys:
                return Page(objects, prefixes, True, resume, last)
            cut = following.key.find(delimiter, len(prefix))
            if cut == -1:
                objects.append(following)
                last, resume = following.key, following.key + "\0"
            else:
                last = following.key[:cut + len(delimiter)]
                prefixes.append(last)
                resume = next_after_prefix(last)

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

    def _pick(self, count: int, wanted: Callable[[S3Object], bool]) -> list[int]:
        """Up to `count` distinct live generated indices whose object is `wanted`, drawn at random from the seed."""
        chosen: list[int] = []
        for _ in range(2_000_000):
            if len(chosen) == count or not self.layout.count:
                break
            index = self._mutations.randrange(self.layout.count)
            if index not in self._deleted and index not in chosen and wanted(self._object(index)):
                chosen.append(index)
        return chosen

    def _add(self, count: int) -> list[str]:
        now = int(datetime.now(timezone.utc).timestamp())
        added = []
        for _ in range(count):
            day = datetime.fromtimestamp(now, timezone.utc)
            key = f"incoming/{day:%Y/%m/%d}/new-{next(self._added_numbers):06d}.json"
            self._added[key] = S3Object(key, self._mutations.randrange(100, 100_000),
                                        f"{self._mutations.getrandbits(128):032x}", "STANDARD", now)
            bisect.insort(self._added_keys, key)
            added.append(key)
        return added

    def _complete_restores(self, count: int) -> list[str]:
        chosen = self._pick(count, lambda o: o.restore is True)
        for index in chosen:
            obj = self._object(index)
            obj.restore = int((self.layout.today + timedelta(days=2 + self._mutations.randrange(5))).timestamp())
            self._changed[index] = obj
        return [self._changed[i].key for i in chosen]

    def _transition(self, count: int, storage_class: str) -> list[str]:
        chosen = self._pick(count, lambda o: o.storage_class == "STANDARD")
        for index in chosen:
            obj = self._object(index)
            obj.storage_class = storage_class
            self._changed[index] = obj
        return [self._changed[i].key for i in chosen]

    def _delete(self, count: int) -> list[str]:
        chosen = self._pick(count, lambda o: True)
        keys = [self._object(i).key for i in chosen]
        self._deleted.update(chosen)
        return keys
