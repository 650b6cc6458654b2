"""Reading an S3 Inventory report instead of listing a bucket: where reports are, what a manifest says, and the
report's objects in key order, as the listing would give them.

S3 Inventory writes, daily or weekly, every object of a bucket to CSV files (gzip) in a destination bucket, with a
`manifest.json` naming the files and their MD5s, and a `manifest.checksum` (the manifest's MD5):

    <destination-prefix>/<source-bucket>/<config-id>/<YYYY-MM-DDTHH-MMZ>/manifest.json
    <destination-prefix>/<source-bucket>/<config-id>/<YYYY-MM-DDTHH-MMZ>/manifest.checksum
    <destination-prefix>/<source-bucket>/<config-id>/data/<uuid>.csv.gz

The folder's timestamp is when the report began scanning the bucket: everything changed after it is the catch-up's
(the next listing pass, or events). A report is read only when its manifest matches its checksum and every data file
its MD5 (computed while it streams); anything else fails the pass with what is wrong before any row is sent (every
file is read before the first object comes out of the sort).

Why objects are sorted here. AWS does not document any order of a report's rows or files, and a stream's key ranges
(their counts, digests, key sums and sketches) are built in key order by the same scanner a listing feeds, which is
what makes a listing pass right after a bootstrap send nothing. So the report's objects are sorted: runs of
`RUN_OBJECTS` sorted in memory and written to temporary files as compressed blocks, then merged, holding one block
per run. Memory stays bounded by the run size and the number of runs, whatever the report's size; the disk holds
about 40 bytes per object.

The columns: Key (URL-encoded in CSV, as a form is: '+' is a space, '%2B' a plus), Size, LastModifiedDate, ETag,
StorageClass are required; ChecksumAlgorithm, when the report has it, is taken as the listing gives it, and the
checksum type (which no report carries) as a page of the store's own listing shows it for that algorithm and kind of
upload, else as AWS sets it: FULL_OBJECT for CRC64NVME and for any object uploaded in one part, COMPOSITE for other
algorithms of multipart uploads (a multipart upload with a full-object CRC32 differs from the listing, and is sent
again by the first listing pass, once). Rows of versions that are not the
latest, and delete markers, are left out: `s3_objects` holds current objects.
"""
from __future__ import annotations

import csv
import gc
import gzip
import hashlib
import heapq
import importlib
import io
import itertools
import json
import os
import marshal
import re
import tempfile
import zlib
from dataclasses import dataclass
from operator import itemgetter
from datetime import datetime, timezone
from typing import IO, Any, BinaryIO, Callable, Iterable, Iterator, Sequence
from urllib.parse import unquote_plus

from s3_metadata.locations import Location, parse_location  # noqa: F401 (part of this module's interface)
from s3_metadata.rows import ListedObject

_KEY = itemgetter(0)
# Objects sorted in memory at a time (about 250 bytes each while sorting), and per block of a run on disk.
RUN_OBJECTS = 200_000
BLOCK_OBJECTS = 1_000
REQUIRED_FIELDS = ("Key", "Size", "LastModifiedDate", "ETag", "StorageClass")
VERSION_FIELDS = ("VersionId", "IsLatest", "IsDeleteMarker")
REPORT_FOLDER = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})Z/$")
FULL_OBJECT_ALGORITHMS = frozenset({"CRC64NVME"})
_TRUE = "true"


class InventoryError(Exception):
    """A report that cannot be used as it is; the message says what is wrong and where."""


@dataclass(frozen=True)
class DataFile:
    key: str
    size: int | None
    md5: str | None


@dataclass(frozen=True)
class Manifest:
    """What a report's manifest.json says, checked against its manifest.checksum."""

    where: str
    source_bucket: str
    destination_bucket: str
    scanned: datetime
    file_format: str
    fields: tuple[str, ...]
    files: tuple[DataFile, ...]


def report_time(folder: str) -> datetime | None:
    """The scan start a report folder's name gives (`.../2024-05-01T00-00Z/`), or None for another folder."""
    found = REPORT_FOLDER.search(folder)
    if found is None:
        return None
    year, month, day, hour, minute = (int(x) for x in found.groups())
    try:
        return datetime(year, month, day, hour, minute, tzinfo=timezone.utc)
    except ValueError:
        return None


def newest_first(folders: Iterable[str]) -> list[str]:
    """The report folders among `folders`, newest first (other folders, such as `data/` and `hive/`, left out)."""
    dated = [(t, f) for f in folders if (t := report_time(f)) is not None]
    return [f for _, f in sorted(dated, reverse=True)]


FORMATS = {"CSV": "CSV", "PARQUET": "Parquet", "ORC": "ORC"}
# Parquet and ORC reports name their columns in snake case; CSV's schema (and this module) in the manifest's words.
COLUMN_NAMES = {"bucket": "Bucket", "key": "Key", "version_id": "VersionId", "is_latest": "IsLatest",
                "is_delete_marker": "IsDeleteMarker", "size": "Size", "last_modified_date": "LastModifiedDate",
                "e_tag": "ETag", "storage_class": "StorageClass", "is_multipart_uploaded": "IsMultipartUploaded",
                "checksum_algorithm": "ChecksumAlgorithm"}
_PARQUET_FIELD = re.compile(r"(?:required|optional|repeated)\s+\w+\s+(\w+)")
_ORC_FIELD = re.compile(r"(\w+):")


def schema_fields(schema: str, file_format: str) -> tuple[str, ...]:
    """The field names of a manifest's fileSchema, in the manifest's CSV words: a comma-separated list (CSV),
    `message s3.inventory { required binary key (UTF8); ... }` (Parquet) or `struct<key:string,...>` (ORC)."""
    if file_format == "CSV":
        return tuple(f.strip() for f in schema.split(","))
    names = (_PARQUET_FIELD if file_format == "Parquet" else _ORC_FIELD).findall(schema)
    return tuple(COLUMN_NAMES.get(name, name) for name in names)


def read_manifest(body: bytes, checksum: bytes, where: str) -> Manifest:
    """The manifest in `body`, once its MD5 matches `checksum` (manifest.checksum's text)."""
    expected = checksum.decode("ascii", "replace").strip().lower()
    actual = hashlib.md5(body).hexdigest()
    if expected != actual:
        raise InventoryError(f"the manifest {where} does not match its manifest.checksum (MD5 {actual}, checksum "
                             f"says {expected[:40]!r}): the report is incomplete or was changed")
    try:
        document = json.loads(body)
    except ValueError:
        raise InventoryError(f"the manifest {where} is not JSON") from None
    if not isinstance(document, dict):
        raise InventoryError(f"the manifest {where} is not a JSON object")
    file_format = FORMATS.get(str(document.get("fileFormat", "")).upper())
    if file_format is None:
        raise InventoryError(f"the report {where} is {document.get('fileFormat') or 'of no stated format'}; this "
                             "connector reads CSV, Parquet and ORC reports")
    fields = schema_fields(str(document.get("fileSchema", "")), file_format)
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if missing:
        raise InventoryError(f"the report {where} has no {', '.join(missing)}: add "
                             f"{'them' if len(missing) > 1 else 'it'} to the inventory configuration's fields")
    files = document.get("files")
    if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("key"), str) for f in files):
        raise InventoryError(f"the manifest {where} lists no readable files")
    destination = str(document.get("destinationBucket", ""))
    try:
        created = int(document.get("creationTimestamp"))
        scanned = datetime.fromtimestamp(created / 1000, timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        scanned = report_time(where + "/") or datetime.now(timezone.utc)
    return Manifest(
        where=where,
        source_bucket=str(document.get("sourceBucket", "")),
        destination_bucket=destination.rpartition(":")[2] if destination.startswith("arn:") else destination,
        scanned=report_time(where + "/") or scanned,
        file_format=file_format,
        fields=fields,
        files=tuple(DataFile(f["key"], _int_or_none(f.get("size")), _md5(f.get("MD5checksum"))) for f in files),
    )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _md5(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]{32}", value) else None


def checksum_type(algorithm: str | None, multipart: bool | None) -> str | None:
    """The checksum type AWS lists for an object with `algorithm` (no report carries it): see the module's notes."""
    if not algorithm:
        return None
    if algorithm in FULL_OBJECT_ALGORITHMS or multipart is False:
        return "FULL_OBJECT"
    return "COMPOSITE" if multipart else None


ChecksumTypes = Callable[[str, "bool | None"], "str | None"]


def checksum_types_like(sample: Iterable[ListedObject]) -> ChecksumTypes:
    """The checksum type of a report's object as this store's listing gives it, learnt from a page of its listing:
    what the page shows for an algorithm and a kind of upload (one part or several), else AWS's rule, unless the
    store reports checksum algorithms and never a type (moto, some S3-compatible stores): then none."""
    seen: dict[tuple[str, bool], str | None] = {}
    algorithms = typed = 0
    for obj in sample:
        if obj.checksum_algorithm:
            algorithms += 1
            typed += obj.checksum_type is not None
            seen.setdefault((obj.checksum_algorithm, "-" in obj.e_tag), obj.checksum_type)
    if algorithms and not typed:
        return lambda algorithm, multipart: None

    def learnt(algorithm: str, multipart: bool | None) -> str | None:
        if multipart is not None and (algorithm, multipart) in seen:
            return seen[(algorithm, multipart)]
        return checksum_type(algorithm, multipart)
    return learnt


class RowReader:
    """Maps a CSV row of a report with `fields` to the Record of a ListedObject as the listing would give it (None:
    not a current object, outside `prefix`, or not kept by `keep`: the connection's key range and patterns, applied
    before the sort so that a connection that owns a slice of a bucket sorts only its slice)."""

    def __init__(self, fields: Sequence[str], prefix: str, checksum_types: ChecksumTypes = checksum_type,
                 keep: Callable[[str], bool] | None = None):
        position = {name: index for index, name in enumerate(fields)}
        self.checksum_types = checksum_types
        self.keep = keep
        self.width = len(fields)
        self.prefix = prefix
        self.key, self.size, self.modified = position["Key"], position["Size"], position["LastModifiedDate"]
        self.e_tag, self.storage_class = position["ETag"], position["StorageClass"]
        self.latest = position.get("IsLatest")
        self.marker = position.get("IsDeleteMarker")
        self.multipart = position.get("IsMultipartUploaded")
        self.algorithm = position.get("ChecksumAlgorithm")

        self._columns = (self.key, self.size, self.modified, self.e_tag, self.storage_class, self.algorithm)

    def __call__(self, row: Sequence[str]) -> Record | None:
        """The row as a Record (see `listed`), or None. Runs once per row of a report: locals, no attribute walks."""
        if len(row) < self.width:
            raise ValueError(f"it has {len(row)} columns where the manifest names {self.width}")
        if self.latest is not None and row[self.latest].lower() == "false":
            return None
        if self.marker is not None and row[self.marker].lower() == _TRUE:
            return None
        key_at, size_at, modified_at, e_tag_at, class_at, algorithm_at = self._columns
        key = row[key_at]
        if "%" in key or "+" in key:
            key = decode_key(key)
        if not key.startswith(self.prefix) or (self.keep is not None and not self.keep(key)):
            return None
        text = row[modified_at]
        # `_iso`'s fast path inlined: this runs once per row of a report
        iso = text[:19] + "+00:00" if len(text) == 24 and text[19:] == ".000Z" else _iso(text)
        algorithm = row[algorithm_at] if algorithm_at is not None else ""
        if not algorithm:
            return (key, iso, row[e_tag_at].strip('"'), int(row[size_at] or 0), row[class_at] or "STANDARD", None,
                    None)
        kind = self.checksum_types(algorithm, None if self.multipart is None else row[self.multipart].lower() == _TRUE)
        return (key, iso, row[e_tag_at].strip('"'), int(row[size_at] or 0), row[class_at] or "STANDARD", algorithm,
                kind)

    def typed(self, values: dict[str, Any]) -> Record | None:
        """The Record of a Parquet or ORC row (`values` by the manifest's field names, typed: the key as it is, the
        size a number, LastModifiedDate a datetime, naive meaning UTC), or None, as for a CSV row."""
        if values.get("IsLatest") is False or values.get("IsDeleteMarker") is True:
            return None
        key = values["Key"]
        if key is None:
            raise ValueError("it has no key")
        if not key.startswith(self.prefix) or (self.keep is not None and not self.keep(key)):
            return None
        modified = values["LastModifiedDate"]
        if not isinstance(modified, datetime):
            raise ValueError(f"its LastModifiedDate is {modified!r}")
        iso = (modified.replace(tzinfo=timezone.utc) if modified.tzinfo is None
               else modified.astimezone(timezone.utc)).isoformat()
        algorithm = values.get("ChecksumAlgorithm") or None
        kind = self.checksum_types(algorithm, values.get("IsMultipartUploaded")) if algorithm else None
        return (key, iso, (values["ETag"] or "").strip('"'), int(values["Size"] or 0), values["StorageClass"] or "STANDARD",
                algorithm, kind)


class VersionRowReader(RowReader):
    """Maps a row of a report with all versions (IncludedObjectVersions=All) to a version Record, versions that are
    not the latest and delete markers included: (key, version id, is latest, is a delete marker, LastModified as
    `isoformat()` gives it, e_tag, size, storage_class, checksum_algorithm, checksum_type); a delete marker has no
    ETag, size, class or checksum, as ListObjectVersions lists none. None: outside `prefix`, or not kept by `keep`."""

    def __init__(self, fields: Sequence[str], prefix: str, checksum_types: ChecksumTypes = checksum_type,
                 keep: Callable[[str], bool] | None = None):
        super().__init__(fields, prefix, checksum_types, keep)
        missing = [name for name in VERSION_FIELDS if name not in fields]
        if missing:
            raise InventoryError(f"a report of versions needs the fields {', '.join(missing)}")
        self.version = fields.index("VersionId")

    def __call__(self, row: Sequence[str]) -> Record | None:
        if len(row) < self.width:
            raise ValueError(f"it has {len(row)} columns where the manifest names {self.width}")
        key = row[self.key]
        if "%" in key or "+" in key:
            key = decode_key(key)
        algorithm = row[self.algorithm] if self.algorithm is not None else ""
        multipart = None if self.multipart is None else row[self.multipart].lower() == _TRUE
        return self._record(key, row[self.version], row[self.latest].lower() == _TRUE,  # type: ignore[index]
                            row[self.marker].lower() == _TRUE, _iso(row[self.modified]),  # type: ignore[index]
                            row[self.e_tag], int(row[self.size] or 0), row[self.storage_class], algorithm, multipart)

    def typed(self, values: dict[str, Any]) -> Record | None:
        key, modified = values["Key"], values["LastModifiedDate"]
        if key is None:
            raise ValueError("it has no key")
        if not isinstance(modified, datetime):
            raise ValueError(f"its LastModifiedDate is {modified!r}")
        iso = (modified.replace(tzinfo=timezone.utc) if modified.tzinfo is None
               else modified.astimezone(timezone.utc)).isoformat()
        return self._record(key, values["VersionId"] or "", bool(values["IsLatest"]), bool(values["IsDeleteMarker"]),
                            iso, values["ETag"] or "", int(values["Size"] or 0), values["StorageClass"] or "",
                            values.get("ChecksumAlgorithm") or "", values.get("IsMultipartUploaded"))

    def _record(self, key: str, version: str, latest: bool, marker: bool, iso: str, e_tag: str, size: int,
                storage_class: str, algorithm: str, multipart: bool | None) -> Record | None:
        if not key.startswith(self.prefix) or (self.keep is not None and not self.keep(key)):
            return None
        version = version or "null"
        if marker:
            return (key, version, latest, True, iso, "", 0, "", None, None)
        kind = self.checksum_types(algorithm, multipart) if algorithm else None
        return (key, version, latest, False, iso, e_tag.strip('"'), size, storage_class or "STANDARD",
                algorithm or None, kind)


def _iso(text: str) -> str:
    """A report's LastModifiedDate as `datetime.isoformat()` gives it in UTC."""
    if len(text) == 24 and text[19:] == ".000Z":  # S3's own form, whole seconds: the text is the isoformat
        return text[:19] + "+00:00"
    return datetime.fromisoformat(text).astimezone(timezone.utc).isoformat()


def lists_versions(manifest: Manifest) -> bool:
    """Whether a report lists every version (IncludedObjectVersions=All): it has the fields of versions."""
    return all(name in manifest.fields for name in VERSION_FIELDS)


_HEX = frozenset("0123456789abcdefABCDEF")


def decode_key(encoded: str) -> str:
    """A key as a report's CSV encodes it (as a form does: '+' a space, '%XX' a byte), decoded. Escapes of ASCII
    characters ('%2F', '%3D', ...), nearly all of them in practice, are decoded here at a fraction of
    `urllib.parse.unquote_plus`'s cost; a key with any other escape goes to it. Held to it by a differential test."""
    text = encoded.replace("+", " ")
    if "%2F" in text:  # a '%' always begins an escape, so every "%2F" is one: the folder separator, in most keys
        text = text.replace("%2F", "/")
    parts = text.split("%")
    if len(parts) == 1:
        return text
    out = [parts[0]]
    for part in parts[1:]:
        if len(part) < 2 or part[0] not in "01234567" or part[1] not in _HEX:
            return unquote_plus(encoded, errors="surrogateescape")
        out.append(chr(int(part[:2], 16)))
        out.append(part[2:])
    return "".join(out)


def _rows(text: IO[str], width: int) -> Iterator[list[str]]:
    """The CSV rows of a report: S3 quotes every value and URL-encodes keys, so a line with exactly its fields' quotes
    splits on '","' (a third of the csv module's cost). Any other line starts a record the csv module reads, taking
    as many more lines as the record spans (a value holding a line break). A line that ends inside a quoted value has
    an odd number of quotes, so it never takes the fast path. Held to `csv.reader` by a differential test."""
    quotes = 2 * width
    lines = iter(text)
    for line in lines:
        body = line.rstrip("\r\n")
        if body[:1] == '"' and body[-1:] == '"' and body.count('"') == quotes:
            yield body[1:-1].split('","')
        elif body:
            row = next(csv.reader(itertools.chain((line,), lines)), None)
            if row:
                yield row


# A report's object before it is a ListedObject: (key, LastModified as `isoformat()` gives it, e_tag, size,
# storage_class, checksum_algorithm, checksum_type): a tuple of text and numbers sorts, pickles and merges at a
# fraction of a dataclass's (or a datetime's) cost.
Record = tuple


def listed(record: Record, restore: Any = None) -> ListedObject:
    key, iso, e_tag, size, storage_class, algorithm, kind = record
    return ListedObject(key, datetime.fromisoformat(iso), e_tag, size, storage_class, algorithm, kind, restore, iso)


class _Md5Reading(io.RawIOBase):
    """A binary stream that hashes and counts what is read through it."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.md5 = hashlib.md5()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        if not data:
            return 0
        self.md5.update(data)
        self.size += len(data)
        buffer[:len(data)] = data
        return len(data)


def read_data_file(stream: BinaryIO, data_file: DataFile, read_row: RowReader, file_format: str = "CSV",
                   directory: str | None = None) -> Iterator[Record]:
    """The records of one data file, rows that are no current object under the prefix left out; raises
    InventoryError for anything unreadable. A CSV file (gzip or not) streams, its MD5 and size checked at its end; a
    Parquet or ORC file is copied to `directory` first (their readers need to seek), and checked before it is read."""
    if file_format != "CSV":
        yield from _read_columnar(stream, data_file, read_row, file_format, directory or tempfile.gettempdir())
        return
    hashed = _Md5Reading(stream)
    buffered = io.BufferedReader(hashed, 1 << 20)
    magic = buffered.peek(2)[:2]
    raw: IO[bytes] = gzip.GzipFile(fileobj=buffered) if magic == b"\x1f\x8b" else buffered
    text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
    number = 0
    try:
        for number, row in enumerate(_rows(text, read_row.width), 1):
            try:
                record = read_row(row)
            except (ValueError, KeyError, OverflowError) as error:
                raise InventoryError(f"row {number} of {data_file.key} cannot be read: {error}") from None
            if record is not None:
                yield record
        while buffered.read(1 << 20):  # what the CSV reader left (a gzip trailer) still counts toward the MD5
            pass
    except (OSError, EOFError, csv.Error, zlib.error) as error:
        raise InventoryError(f"{data_file.key} cannot be read past row {number}: {error}") from None
    _check_file(data_file, hashed.md5.hexdigest(), hashed.size)


def _check_file(data_file: DataFile, md5: str, size: int) -> None:
    if data_file.md5 is not None and md5 != data_file.md5:
        raise InventoryError(f"{data_file.key} does not match the MD5 its manifest gives ({md5} against "
                             f"{data_file.md5}): it was changed or cut short")
    if data_file.size is not None and size != data_file.size:
        raise InventoryError(f"{data_file.key} holds {size} bytes where its manifest gives {data_file.size}")


# Rows converted at a time from a Parquet file (an ORC file: a stripe at a time, a few MB of it).
COLUMNAR_BATCH = 10_000
PYARROW = "pyarrow==18.1.0"


def _read_columnar(stream: BinaryIO, data_file: DataFile, read_row: RowReader, file_format: str,
                   directory: str) -> Iterator[Record]:
    """A Parquet or ORC data file: copied to disk while hashed, checked, then read a batch of rows at a time (memory
    stays that of one batch), only the columns a row needs. The reader, pyarrow, is imported only here: it is not a
    dependency of the connector (about 130 MB installed); a report in these formats needs it in requirements.txt."""
    try:  # by name, so that the SDK's dependency scan (pipreqs) does not make pyarrow every deployment's dependency
        orc = importlib.import_module("pyarrow.orc")
        parquet = importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise InventoryError(f"{data_file.key} is {file_format}, which needs {PYARROW}: add it to requirements.txt, "
                             "or set the inventory configuration's output format to CSV") from None
    handle, path = tempfile.mkstemp(prefix="data-", dir=directory)
    try:
        md5, size = hashlib.md5(), 0
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(1 << 20):
                md5.update(chunk)
                size += len(chunk)
                out.write(chunk)
        _check_file(data_file, md5.hexdigest(), size)
        wanted = [c for c, name in COLUMN_NAMES.items() if name != "Bucket"]
        number = 0
        try:
            if file_format == "Parquet":
                table = parquet.ParquetFile(path)
                columns = [c for c in wanted if c in table.schema_arrow.names]
                batches = table.iter_batches(batch_size=COLUMNAR_BATCH, columns=columns)
            else:
                table = orc.ORCFile(path)
                columns = [c for c in wanted if c in table.schema.names]
                batches = (table.read_stripe(stripe, columns=columns) for stripe in range(table.nstripes))
            for batch in batches:
                values = {COLUMN_NAMES[name]: batch.column(index).to_pylist()
                          for index, name in enumerate(batch.schema.names)}
                names = list(values)
                for row in zip(*values.values()):
                    number += 1
                    try:
                        record = read_row.typed(dict(zip(names, row)))
                    except (ValueError, KeyError, TypeError, OverflowError) as error:
                        raise InventoryError(f"row {number} of {data_file.key} cannot be read: {error}") from None
                    if record is not None:
                        yield record
        except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
            raise InventoryError(f"{data_file.key} cannot be read as {file_format} past row {number}: {error}") \
                from None
    finally:
        os.remove(path)


def _write_run(records: list[Record], directory: str, identity: Callable[[Record], Any] = _KEY) -> str:
    records.sort(key=identity)
    handle, path = tempfile.mkstemp(prefix="run-", dir=directory)
    with os.fdopen(handle, "wb") as out:
        for start in range(0, len(records), BLOCK_OBJECTS):
            block = marshal.dumps(records[start:start + BLOCK_OBJECTS])
            out.write(len(block).to_bytes(4, "big"))
            out.write(block)
    return path


def _read_run(path: str) -> Iterator[Record]:
    with open(path, "rb") as run:
        while header := run.read(4):
            yield from marshal.loads(run.read(int.from_bytes(header, "big")))


def sorted_records(records: Iterable[Record], directory: str, run_objects: int = RUN_OBJECTS,
                   on_run: Callable[[int], None] | None = None,
                   on_count: Callable[[int], None] | None = None,
                   identity: Callable[[Record], Any] = _KEY) -> Iterator[Record]:
    """`records` in the order of their `identity` (the key: S3's order, code points, which is UTF-8 byte order), an
    identity seen twice given once (the first: a report lists each current object, or each version with
    `identity` (key, version id), once; a later row of it is a duplicate). Uses `directory` for runs past the first
    `run_objects`. `on_count` is told how many records there are (duplicates included) before the first comes
    out."""
    runs: list[str] = []
    batch: list[Record] = []
    # While the records pile up, the cyclic garbage collector would walk the growing batch again and again (0.8 µs
    # per object measured at 1,000,000): it is off until the first record comes out. Reading a report makes no
    # cycles worth collecting before then; whatever it made is collected once it is on again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for record in records:
            batch.append(record)
            if len(batch) >= run_objects:
                runs.append(_write_run(batch, directory, identity))
                batch = []
                if on_run is not None:
                    on_run(len(runs))
        batch.sort(key=identity)
    finally:
        if collecting:
            gc.enable()
    if on_count is not None:
        on_count(len(runs) * run_objects + len(batch))
    merged: Iterable[Record] = batch if not runs else heapq.merge(*(_read_run(p) for p in runs), batch,
                                                                  key=identity)
    previous = None
    for record in merged:
        current = identity(record)
        if current != previous:
            previous = current
            yield record
