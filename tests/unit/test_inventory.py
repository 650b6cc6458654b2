"""Unit tests for s3_metadata.inventory: report folders, manifests, rows, checksum types and the external sort."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import re
from datetime import datetime, timezone
from urllib.parse import quote_plus, unquote_plus

import pytest

from s3_metadata import inventory
from s3_metadata.inventory import (
    decode_key, DataFile, InventoryError, RowReader, checksum_type, checksum_types_like, listed as as_listed, newest_first,
    read_data_file, read_manifest, report_time, schema_fields, sorted_records,
)
from s3_metadata.errors import InventoryReportError
from s3_metadata.inventory_source import configured_location
from s3_metadata.locations import Location, parse_location
from s3_metadata.ranges import fingerprint
from s3_metadata.rows import ListedObject

UTC = timezone.utc
FIELDS = ("Bucket", "Key", "Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded",
          "ChecksumAlgorithm")


def manifest_body(**overrides) -> bytes:
    document = {"sourceBucket": "src", "destinationBucket": "arn:aws:s3:::dest", "version": "2016-11-30",
                "creationTimestamp": "1714521600000", "fileFormat": "CSV", "fileSchema": ", ".join(FIELDS),
                "files": [{"key": "inv/src/daily/data/a.csv.gz", "size": 10, "MD5checksum": "0" * 32}]}
    document.update(overrides)
    return json.dumps(document).encode()


@pytest.mark.parametrize("text, expected", [
    ("s3://dest/inventory/src/daily/", Location("dest", "inventory/src/daily/")),
    ("s3://dest/inventory", Location("dest", "inventory/")),
    ("s3://dest", Location("dest", "")),
])
def test_parse_location(text, expected):
    assert parse_location(text) == expected


@pytest.mark.parametrize("text", ["dest/inventory/", "https://dest.s3.amazonaws.com/x", "s3:///x"])
def test_parse_location_refuses_what_is_no_s3_location(text):
    with pytest.raises(ValueError):
        parse_location(text)


def test_report_folders_newest_first_without_data_and_hive():
    folders = ["p/data/", "p/hive/", "p/2024-05-01T00-00Z/", "p/2024-05-03T01-00Z/", "p/2024-05-03T00-59Z/",
               "p/2024-13-01T00-00Z/"]
    assert newest_first(folders) == ["p/2024-05-03T01-00Z/", "p/2024-05-03T00-59Z/", "p/2024-05-01T00-00Z/"]
    assert report_time("p/2024-05-03T01-00Z/") == datetime(2024, 5, 3, 1, 0, tzinfo=UTC)


def test_a_manifest_matching_its_checksum_is_read():
    body = manifest_body()
    manifest = read_manifest(body, hashlib.md5(body).hexdigest().encode() + b"\n", "s3://dest/x/2024-05-01T00-00Z/m")
    assert (manifest.source_bucket, manifest.destination_bucket, manifest.fields) == ("src", "dest", FIELDS)
    assert manifest.files == (DataFile("inv/src/daily/data/a.csv.gz", 10, "0" * 32),)
    assert manifest.scanned == datetime(2024, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize("body, checksum, message", [
    (manifest_body(), "0" * 32, "does not match its manifest.checksum"),
    (b"not json", None, "is not JSON"),
    (b"[1]", None, "is not a JSON object"),
    (manifest_body(fileFormat="JSON"), None, "this connector reads CSV, Parquet and ORC reports"),
    (manifest_body(fileSchema="Bucket, Key, Size"), None, "has no LastModifiedDate, ETag, StorageClass"),
    (manifest_body(files=[{"size": 1}]), None, "lists no readable files"),
])
def test_a_manifest_that_cannot_be_used_is_refused_with_why(body, checksum, message):
    checksum = checksum if checksum is not None else hashlib.md5(body).hexdigest()
    with pytest.raises(InventoryError, match=message):
        read_manifest(body, checksum.encode(), "s3://dest/m")


PARQUET_SCHEMA = ("message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); optional binary "
                  "version_id (UTF8); optional boolean is_latest; optional boolean is_delete_marker; optional int64 size;"
                  " optional int64 last_modified_date (TIMESTAMP_MILLIS); optional binary e_tag (UTF8); optional binary "
                  "storage_class (UTF8); optional boolean is_multipart_uploaded; optional binary checksum_algorithm "
                  "(UTF8); optional binary object_owner (UTF8);}")
ORC_SCHEMA = ("struct<bucket:string,key:string,version_id:string,is_latest:boolean,is_delete_marker:boolean,size:bigint,"
              "last_modified_date:timestamp,e_tag:string,storage_class:string,is_multipart_uploaded:boolean,"
              "checksum_algorithm:string,object_owner:string>")
NAMES = ("Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", "Size", "LastModifiedDate", "ETag", "StorageClass",
         "IsMultipartUploaded", "ChecksumAlgorithm", "object_owner")


@pytest.mark.parametrize("schema, file_format", [(PARQUET_SCHEMA, "Parquet"), (ORC_SCHEMA, "ORC"),
                                                 (", ".join(NAMES), "CSV")])
def test_schema_fields_of_every_format_in_the_manifest_s_words(schema, file_format):
    assert schema_fields(schema, file_format) == NAMES


@pytest.mark.parametrize("algorithm, multipart, expected", [
    ("", False, None), ("CRC64NVME", True, "FULL_OBJECT"), ("CRC32", False, "FULL_OBJECT"),
    ("SHA256", True, "COMPOSITE"), ("CRC32C", None, None),
])
def test_checksum_type_as_aws_sets_it(algorithm, multipart, expected):
    assert checksum_type(algorithm, multipart) == expected


def listed(key: str = "k", algorithm: str | None = None, kind: str | None = None, e_tag: str = "abc") -> ListedObject:
    return ListedObject(key, datetime(2024, 1, 1, tzinfo=UTC), e_tag, 1, "STANDARD", algorithm, kind)


def test_checksum_types_learnt_from_a_page_of_the_listing():
    aws_like = checksum_types_like([listed(algorithm="CRC32", kind="COMPOSITE", e_tag="abc-2")])
    assert aws_like("CRC32", True) == "COMPOSITE" and aws_like("SHA1", False) == "FULL_OBJECT"
    full_object = checksum_types_like([listed(algorithm="CRC32", kind="FULL_OBJECT", e_tag="abc-2")])
    assert full_object("CRC32", True) == "FULL_OBJECT"
    untyped = checksum_types_like([listed(algorithm="CRC32")])
    assert untyped("CRC32", False) is None and untyped("CRC64NVME", False) is None
    assert checksum_types_like([])("CRC64NVME", None) == "FULL_OBJECT"


def row(key: str, **values: str) -> list[str]:
    base = {"Bucket": "src", "Key": key, "Size": "5", "LastModifiedDate": "2024-05-01T12:34:56.000Z",
            "ETag": "5d41402abc4b2a76b9719d911017c592", "StorageClass": "STANDARD", "IsMultipartUploaded": "false",
            "ChecksumAlgorithm": ""}
    base.update(values)
    return [base[f] for f in FIELDS]


@pytest.mark.parametrize("encoded, key", [
    ("with+space%2Fand%2Bplus.txt", "with space/and+plus.txt"),
    ("unicode/%E6%97%A5%E6%9C%AC", "unicode/日本"),
    ("percent%2520encoded", "percent%20encoded"),
    ("plain/key.txt", "plain/key.txt"),
    ("folder%2Fsub%2Fa+b", "folder/sub/a b"),
    ("dt%3D2024-05-01%2Fpart%2B1", "dt=2024-05-01/part+1"),
])
def test_keys_are_decoded_as_a_form_encodes_them(encoded, key):
    assert RowReader(FIELDS, "")(row(encoded))[0] == key


@pytest.mark.parametrize("seed", range(4))
def test_decode_key_equals_unquote_plus_over_generated_keys(seed):
    """Differential: our decoder against urllib's over keys encoded as a form encodes them, and over raw text with
    stray '%' and '+' that no encoder wrote."""
    rng = random.Random(seed)
    alphabet = ["a", "/", " ", "+", "%", "=", "é", "日", "\U0001f600", "%2", "%zz", "%41", "%e9", "%C3%A9", "\ud800"]
    for _ in range(2000):
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        encoded = quote_plus(raw, safe=rng.choice(["", "/"]), errors="surrogatepass")
        for text in (encoded, raw):
            assert decode_key(text) == unquote_plus(text, errors="surrogateescape"), text


@pytest.mark.parametrize("text, expected", [
    ("2024-05-01T12:34:56.000Z", datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)),
    ("2024-05-01T12:34:56.250Z", datetime(2024, 5, 1, 12, 34, 56, 250000, tzinfo=UTC)),
    ("2024-05-01T14:34:56.000+02:00", datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)),
])
def test_last_modified_and_the_text_the_fingerprint_hashes_agree(text, expected):
    obj = as_listed(RowReader(FIELDS, "")(row("a", LastModifiedDate=text)))
    assert obj.last_modified == expected and obj.last_modified_iso == expected.isoformat()


def test_a_row_is_the_object_the_listing_gives_and_fingerprints_the_same():
    obj = as_listed(RowReader(FIELDS, "")(row("a", ChecksumAlgorithm="CRC64NVME", StorageClass="GLACIER")))
    listing = ListedObject("a", datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC), "5d41402abc4b2a76b9719d911017c592", 5,
                           "GLACIER", "CRC64NVME", "FULL_OBJECT", last_modified_iso="2024-05-01T12:34:56+00:00")
    assert obj == listing
    assert fingerprint(obj, False) == fingerprint(listing, False)


def test_rows_that_are_no_current_object_or_outside_the_prefix_are_none():
    fields = FIELDS + ("IsLatest", "IsDeleteMarker")
    read = RowReader(fields, "logs/")
    assert read(row("logs/a") + ["true", "false"])[0] == "logs/a"
    assert read(row("logs/a") + ["false", "false"]) is None
    assert read(row("logs/a") + ["true", "true"]) is None
    assert read(row("data/a") + ["true", "false"]) is None


def data_file(rows: list[list[str]], compress: bool = True) -> tuple[io.BytesIO, DataFile]:
    text = io.StringIO()
    import csv
    csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    body = text.getvalue().encode()
    if compress:
        body = gzip.compress(body, mtime=0)
    return io.BytesIO(body), DataFile("data/f.csv.gz", len(body), hashlib.md5(body).hexdigest())


@pytest.mark.parametrize("compress", [True, False])
def test_a_data_file_is_read_and_its_md5_checked(compress):
    stream, meta = data_file([row(f"k{i}") for i in range(5)], compress)
    keys = [record[0] for record in read_data_file(stream, meta, RowReader(FIELDS, ""))]
    assert keys == [f"k{i}" for i in range(5)]


def test_a_data_file_that_does_not_match_its_md5_is_refused():
    stream, meta = data_file([row("k")])
    with pytest.raises(InventoryError, match="does not match the MD5"):
        list(read_data_file(stream, DataFile(meta.key, meta.size, "f" * 32), RowReader(FIELDS, "")))


def test_a_row_that_cannot_be_read_names_its_file_and_row():
    stream, meta = data_file([row("a"), row("b", Size="five")])
    with pytest.raises(InventoryError, match="row 2 of data/f.csv.gz"):
        list(read_data_file(stream, meta, RowReader(FIELDS, "")))


def test_a_data_file_cut_short_is_refused():
    stream, meta = data_file([row(f"k{i}") for i in range(200)])
    cut = io.BytesIO(stream.getvalue()[:len(stream.getvalue()) // 2])
    with pytest.raises(InventoryError, match="cannot be read past row"):
        list(read_data_file(cut, meta, RowReader(FIELDS, "")))


@pytest.mark.parametrize("seed", range(6))
def test_sorted_records_equal_sorted_over_generated_keys(tmp_path, seed):
    """Against Python's own sort, runs of 7 so that merging is exercised; duplicates come out once, the first."""
    rng = random.Random(seed)
    alphabet = ["a", "b", "/", "é", "日", "\U0001f600", "\x7f", " ", "\ud800"]
    keys = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(rng.randint(0, 120))]
    records = [(k, f"e{i}") for i, k in enumerate(keys)]
    out = list(sorted_records(records, str(tmp_path), run_objects=7))
    first: dict[str, tuple] = {}
    for record in records:
        first.setdefault(record[0], record)
    assert out == [first[k] for k in sorted(first)]
    assert sorted(k.encode("utf-8", "surrogatepass") for k in first) == [r[0].encode("utf-8", "surrogatepass")
                                                                        for r in out]


def test_sorted_records_keep_a_bounded_number_in_memory(tmp_path, monkeypatch):
    """Runs go to disk: 1,000 records in runs of 100 make 10 files, each read a block at a time."""
    monkeypatch.setattr(inventory, "BLOCK_OBJECTS", 10)
    records = [(f"{i * 7919 % 1000:04d}", i) for i in range(1000)]
    runs: list[int] = []
    out = [r[0] for r in sorted_records(records, str(tmp_path), run_objects=100, on_run=runs.append)]
    assert out == sorted(r[0] for r in records) and runs == list(range(1, 11))


def configuration(name: str, **changes) -> dict:
    base = {"Id": name, "IsEnabled": True, "IncludedObjectVersions": "Current", "Schedule": {"Frequency": "Daily"},
            "Destination": {"S3BucketDestination": {"Bucket": "arn:aws:s3:::dest", "Format": "CSV",
                                                    "Prefix": "inv/"}},
            "OptionalFields": ["Size", "LastModifiedDate", "ETag", "StorageClass"]}
    base.update(changes)
    return base


@pytest.mark.parametrize("configurations, prefix, expected", [
    ([configuration("a")], "", "s3://dest/inv/src/a/"),
    ([configuration("a", Destination={"S3BucketDestination": {"Bucket": "arn:aws:s3:::d2", "Format": "CSV"}})], "",
     "s3://d2/src/a/"),
    ([configuration("weekly", Schedule={"Frequency": "Weekly"}), configuration("daily")], "", "s3://dest/inv/src/daily/"),
    ([configuration("all", IncludedObjectVersions="All"), configuration("current")], "", "s3://dest/inv/src/current/"),
    ([configuration("whole"), configuration("logs", Filter={"Prefix": "logs/"})], "logs/x/", "s3://dest/inv/src/logs/"),
    ([configuration("logs", Filter={"Prefix": "logs/"}), configuration("whole")], "data/", "s3://dest/inv/src/whole/"),
    ([configuration("a-parquet", Destination={"S3BucketDestination": {"Bucket": "arn:aws:s3:::dest", "Format": "Parquet"}}),
      configuration("b-csv")], "", "s3://dest/inv/src/b-csv/"),
])
def test_auto_picks_the_configuration_that_covers_the_prefix(configurations, prefix, expected):
    assert configured_location(configurations, "src", prefix) == expected


@pytest.mark.parametrize("configurations, says", [
    ([], "it has none"),
    ([configuration("off", IsEnabled=False)], "off is disabled"),
    ([configuration("j", Destination={"S3BucketDestination": {"Bucket": "arn:aws:s3:::d", "Format": "JSON"}})],
     "j writes JSON, not CSV, Parquet or ORC"),
    ([configuration("thin", OptionalFields=["Size"])], "thin lacks the fields LastModifiedDate, ETag, StorageClass"),
    ([configuration("logs", Filter={"Prefix": "logs/"})], "logs covers only 'logs/'"),
])
def test_auto_without_a_usable_configuration_says_why(configurations, says):
    with pytest.raises(InventoryReportError, match=re.escape(says)):
        configured_location(configurations, "src", "")


@pytest.mark.parametrize("seed", range(40))
def test_rows_equal_the_csv_module_over_generated_reports(seed):
    """Differential: the fast row splitter against `csv.reader`, over quote-all CSV whose keys are URL-encoded as S3
    writes them and whose other values hold what no encoder protects (commas, quotes, line breaks of every kind)."""
    import csv
    rng = random.Random(seed)
    pieces = ["a", ",", '"', " ", "é", "\n", "\r", "\r\n", "x y", "", "%2F", '""']
    rows = [[quote_plus("".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))), safe=""),
             str(rng.randint(0, 99)), "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))]
            for _ in range(60)]
    text = io.StringIO()
    csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator=rng.choice(["\n", "\r\n"])).writerows(rows)
    expected = list(csv.reader(io.StringIO(text.getvalue(), newline="")))
    assert list(inventory._rows(io.StringIO(text.getvalue(), newline=""), 3)) == expected == rows


VERSION_FIELDS = FIELDS + ("VersionId", "IsLatest", "IsDeleteMarker")


def version_row(key: str, version: str, latest: str, marker: str, **values: str) -> list[str]:
    return row(key, **values) + [version, latest, marker]


@pytest.mark.parametrize("values, expected", [
    pytest.param(version_row("a+b", "v1", "true", "false"),
                 ("a b", "v1", True, False, "2024-05-01T12:34:56+00:00", "5d41402abc4b2a76b9719d911017c592", 5,
                  "STANDARD", None, None), id="latest-version"),
    pytest.param(version_row("a", "v0", "false", "false", StorageClass="GLACIER", ChecksumAlgorithm="CRC32"),
                 ("a", "v0", False, False, "2024-05-01T12:34:56+00:00", "5d41402abc4b2a76b9719d911017c592", 5,
                  "GLACIER", "CRC32", "FULL_OBJECT"), id="noncurrent-version-kept"),
    pytest.param(version_row("a", "v2", "true", "true", Size="", ETag="", StorageClass="", ChecksumAlgorithm=""),
                 ("a", "v2", True, True, "2024-05-01T12:34:56+00:00", "", 0, "", None, None),
                 id="delete-marker-as-listed-without-etag-size-or-class"),
    pytest.param(version_row("a", "", "true", "false")[:8] + ["", "true", "false"],
                 ("a", "null", True, False, "2024-05-01T12:34:56+00:00", "5d41402abc4b2a76b9719d911017c592", 5,
                  "STANDARD", None, None), id="an-object-from-before-versioning-is-version-null"),
])
def test_a_report_of_all_versions_keeps_every_version_and_marker(values, expected):
    assert inventory.VersionRowReader(VERSION_FIELDS, "")(values) == expected


def test_version_rows_outside_the_prefix_are_none_and_the_version_fields_are_required():
    assert inventory.VersionRowReader(VERSION_FIELDS, "logs/")(version_row("data/a", "v", "true", "false")) is None
    with pytest.raises(InventoryError, match="VersionId, IsLatest, IsDeleteMarker"):
        inventory.VersionRowReader(FIELDS, "")


def test_a_typed_row_of_versions_is_the_record_of_its_csv_row():
    """Parquet and ORC rows (typed values, keys as they are) give the records CSV rows give."""
    typed = {"Key": "a b", "VersionId": "v1", "IsLatest": False, "IsDeleteMarker": False, "Size": 5,
             "LastModifiedDate": datetime(2024, 5, 1, 12, 34, 56), "ETag": "5d41402abc4b2a76b9719d911017c592",
             "StorageClass": "STANDARD", "IsMultipartUploaded": False, "ChecksumAlgorithm": None}
    read = inventory.VersionRowReader(VERSION_FIELDS, "")
    assert read.typed(typed) == read(version_row("a+b", "v1", "false", "false"))


def test_sorted_records_of_versions_keep_every_version_once(tmp_path):
    """By (key, version id): every version of a key comes out, next to each other, and a repeated row once."""
    records = [("b", "v1", 1), ("a", "v2", 2), ("b", "v0", 3), ("a", "v2", 4), ("a", "v1", 5)]
    out = list(sorted_records(records, str(tmp_path), run_objects=2, identity=lambda r: (r[0], r[1])))
    assert out == [("a", "v1", 5), ("a", "v2", 2), ("b", "v0", 3), ("b", "v1", 1)]


def test_auto_prefers_a_configuration_of_all_versions_when_versions_are_synced():
    configurations = [configuration("current"), configuration("all", IncludedObjectVersions="All")]
    assert configured_location(configurations, "src", "") == "s3://dest/inv/src/current/"
    assert configured_location(configurations, "src", "", all_versions=True) == "s3://dest/inv/src/all/"


@pytest.mark.parametrize("seed", range(20))
def test_the_versions_reader_agrees_with_the_objects_reader_over_generated_rows(seed):
    """Differential: over generated rows of a report of all versions (encoded keys, timestamps with and without
    milliseconds and offsets, checksums, markers), the versions reader gives every row, and for the rows the objects
    reader keeps (the latest, not a marker) the same key, LastModified, ETag, size, class and checksum."""
    rng = random.Random(seed)
    alphabet = ["a", "/", " ", "+", "%", "é", "日", "\U0001f600", "=", "&"]
    objects, versions = RowReader(VERSION_FIELDS, ""), inventory.VersionRowReader(VERSION_FIELDS, "")
    for _ in range(300):
        key = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        stamp = rng.choice(["2024-05-01T12:34:56.000Z", "2024-05-01T12:34:56.789Z", "2024-05-01T14:34:56+02:00"])
        latest, marker = rng.choice(["true", "false"]), rng.choice(["true", "false", "false"])
        values = version_row(quote_plus(key, safe=""), f"v{rng.randint(0, 9)}", latest, marker,
                             LastModifiedDate=stamp, StorageClass=rng.choice(["STANDARD", "GLACIER", ""]),
                             ChecksumAlgorithm=rng.choice(["", "CRC32", "SHA256"]),
                             IsMultipartUploaded=rng.choice(["true", "false"]), Size=str(rng.randint(0, 10**12)))
        got = versions(values)
        assert got is not None and got[:4] == (key, values[-3], latest == "true", marker == "true")
        kept = objects(values)
        assert (kept is not None) == (latest == "true" and marker == "false")
        if kept is not None:
            assert (got[0],) + got[4:] == kept
