"""s3_metadata.listing_xml must read a listing body exactly as botocore does, or decline it.

Every body of the corpus goes through both paths: botocore's own (its RestXMLParser for the operation, its
200-error check, and the url-decoding `after-call` handler it runs on listings, then `rows.listed_object`) and
ours. Where ours answers, every field must be equal; where botocore fails or sees an error, ours must decline
(None), so that botocore's answer stands. The reference is built with botocore's default timestamp parser
(dateutil) and again with the connector's fast one.
"""
from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Any, Callable, Optional
from urllib.parse import quote, unquote_plus

import botocore.handlers
import botocore.session
import pytest
from botocore.parsers import RestXMLParser, create_parser

from s3_metadata import listing_xml
from s3_metadata.listing_xml import (
    ListedVersion, ParsedObjects, ParsedVersions, parse_objects_page, parse_versions_page,
)
from s3_metadata.ranges import fingerprint
from s3_metadata.rows import ListedObject, listed_object
from s3_metadata.timestamps import fast_timestamp_parser, to_utc

S3 = botocore.session.get_session().get_service_model("s3")
NAMESPACE = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
PARSERS = {"dateutil": create_parser("rest-xml"), "fast": RestXMLParser(timestamp_parser=fast_timestamp_parser)}
ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "SHA512", "MD5", "XXHASH64", "XXHASH3", "XXHASH128")
AWKWARD_KEYS = [
    "plain/key.txt", "a b+c&d", "100% done", "%41%2F literal", "tom & jerry <1> 'single' \"double\"",
    "tab\there", "new\nline", "cr\rreturn", "folder/", "d\u00e9j\u00e0 vu/\u65e5\u672c\u8a9e/\U0001f600.txt",
    "semi;colon,comma=equals!bang*star(paren)~tilde@at$dollar", "plus+plus", " leading and trailing ", "k" * 1024,
    "\u00e9" * 512, "]]", "a]]>b", "&amp;literal", "=?utf-8?q?x?=",
]


class Refused(Exception):
    """botocore failed on the body, or its 200-error check turned it into an error."""


def botocore_parsed(operation: str, body: bytes, timestamps: str = "dateutil") -> dict[str, Any]:
    """What a botocore client returns for a 200 `body` of `operation`, EncodingType having been set by botocore."""
    model = S3.operation_model(operation)
    response = {"body": body, "headers": {}, "status_code": 200}
    botocore.handlers._handle_200_error(model, response)
    if response["status_code"] != 200:
        raise Refused("botocore's 200-error check")
    decode = {"ListObjectsV2": botocore.handlers.decode_list_object_v2,
              "ListObjectVersions": botocore.handlers.decode_list_object_versions}[operation]
    try:
        parsed = PARSERS[timestamps].parse(response, model.output_shape)
        decode(parsed=parsed, context={"encoding_type_auto_set": True})
    except Exception as error:  # whatever botocore raises is a refusal
        raise Refused(repr(error)) from error
    return parsed


def expected_objects(body: bytes, requested: bool, timestamps: str = "dateutil") -> ParsedObjects:
    parsed = botocore_parsed("ListObjectsV2", body, timestamps)
    try:
        objects = [listed_object(entry, requested) for entry in parsed.get("Contents", [])]
        prefixes = [p["Prefix"] for p in parsed.get("CommonPrefixes", [])]
    except Exception as error:  # the connector's own mapping fails on this body too
        raise Refused(repr(error)) from error
    truncated = bool(parsed.get("IsTruncated"))
    return ParsedObjects(objects, prefixes, truncated, parsed.get("NextContinuationToken") if truncated else None)


def expected_versions(body: bytes, requested: bool, timestamps: str = "dateutil") -> tuple[list, list, ParsedVersions]:
    """(versions, delete markers, the rest): botocore keeps the two kinds in separate lists."""
    parsed = botocore_parsed("ListObjectVersions", body, timestamps)
    try:
        versions = []
        for entry in parsed.get("Versions", []):
            obj = listed_object(entry, requested)
            versions.append(ListedVersion(obj.key, entry.get("VersionId") or "null", bool(entry.get("IsLatest")), False,
                                          obj.last_modified, obj.e_tag, obj.size, obj.storage_class,
                                          obj.checksum_algorithm, obj.checksum_type, obj.restore))
        markers = [ListedVersion(entry["Key"], entry.get("VersionId") or "null", bool(entry.get("IsLatest")), True,
                                 to_utc(entry["LastModified"])) for entry in parsed.get("DeleteMarkers", [])]
        prefixes = [p["Prefix"] for p in parsed.get("CommonPrefixes", [])]
    except Exception as error:
        raise Refused(repr(error)) from error
    truncated = bool(parsed.get("IsTruncated"))
    rest = ParsedVersions([], prefixes, truncated, parsed.get("NextKeyMarker") if truncated else None,
                          parsed.get("NextVersionIdMarker") if truncated else None)
    return versions, markers, rest


# -- building bodies

def xml_text(value: str) -> str:
    """Text as S3 escapes it (it writes `&quot;` in ETags, and some stores escape more)."""
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\r", "&#13;"))


def element(name: str, value: Optional[str]) -> str:
    return "" if value is None else f"<{name}>{value}</{name}>"


def contents(key: str = "logs/a.gz", modified: str = "2024-05-01T12:00:00.000Z", etag: Optional[str] = '"9b2c"',
             size: Optional[str] = "1234", storage_class: Optional[str] = "STANDARD", algorithms: tuple = (),
             checksum_type: Optional[str] = None, owner: Optional[str] = None, owner_after_class: bool = False,
             restore: Optional[str] = None, encoded: bool = True, tag: str = "Contents", version: str = "") -> str:
    """One entry in S3's element order; `key` and `etag` are escaped (and the key url-encoded) here."""
    shown_key = quote(key, safe="/~") if encoded else xml_text(key)
    owner_xml = "" if owner is None else f"<Owner>{owner}</Owner>"
    return "".join([
        f"<{tag}>", element("Key", shown_key), version, element("LastModified", modified),
        element("ETag", None if etag is None else xml_text(etag)),
        *(element("ChecksumAlgorithm", a) for a in algorithms), element("ChecksumType", checksum_type),
        element("Size", size), "" if owner_after_class else owner_xml, element("StorageClass", storage_class),
        owner_xml if owner_after_class else "", restore or "", f"</{tag}>"])


def listing(*entries: str, truncated: bool = False, token: Optional[str] = None, encoded: bool = True,
            prefixes: tuple = (), extra: str = "", declaration: str = DECLARATION,
            root: str = "ListBucketResult") -> bytes:
    header = ["<Name>bucket</Name><Prefix></Prefix>", f"<KeyCount>{len(entries)}</KeyCount><MaxKeys>1000</MaxKeys>",
              f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"]
    if encoded:
        header.append("<EncodingType>url</EncodingType>")
    if token is not None:
        header.append(element("NextContinuationToken", token))
    common = "".join(f"<CommonPrefixes><Prefix>{quote(p, safe='/~') if encoded else xml_text(p)}</Prefix>"
                     "</CommonPrefixes>" for p in prefixes)
    return f"{declaration}<{root}{NAMESPACE}>{''.join(header)}{extra}{''.join(entries)}{common}</{root}>".encode()


def restore_status(in_progress: Optional[str], expiry: Optional[str] = None) -> str:
    children = element("IsRestoreInProgress", in_progress) + element("RestoreExpiryDate", expiry)
    return f"<RestoreStatus>{children}</RestoreStatus>"


OWNER = ("<ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>"
         "<DisplayName>me &amp; you</DisplayName>")
IN_PROGRESS = restore_status("true")
RESTORED = restore_status("false", "2024-06-01T00:00:00.000Z")


def pretty(body: bytes) -> bytes:
    """Newlines and indentation between elements (never inside text), as some stores and documents write."""
    out, depth = [], 0
    for part in body.decode().replace("><", ">\x00<").split("\x00"):
        closing = part.startswith("</")
        leaf = not closing and "</" in part
        depth -= closing
        out.append("  " * max(depth, 0) + part)
        depth += not closing and not leaf and not part.startswith("<?") and not part.endswith("/>")
    return "\n".join(out).encode()


OBJECT_BODIES = {
    "one-object-last-page": listing(contents()),
    "empty-bucket": listing(),
    "truncated-with-token": listing(contents(), truncated=True, token="1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="),
    "truncated-empty-token": listing(contents(), truncated=True, token=""),
    "token-on-last-page-is-ignored": listing(contents(), truncated=False, token="abc"),
    "awkward-keys-url-encoded": listing(*(contents(k) for k in sorted(AWKWARD_KEYS))),
    "awkward-keys-raw": listing(*(contents(k, encoded=False) for k in sorted(AWKWARD_KEYS)), encoded=False),
    "plus-raw-is-not-a-space": listing(contents("a+b c", encoded=False), encoded=False),
    "percent-encoded-keys-decoded-once": listing(contents("%2541")),
    "every-checksum-algorithm": listing(contents(algorithms=ALGORITHMS, checksum_type="COMPOSITE")),
    "one-checksum-full-object": listing(contents(algorithms=("CRC64NVME",), checksum_type="FULL_OBJECT")),
    "owner-before-class": listing(contents(owner=OWNER)),
    "owner-after-class": listing(contents(owner=OWNER, owner_after_class=True)),
    "owner-id-only": listing(contents(owner="<ID>abc</ID>")),
    "storage-class-missing": listing(contents(storage_class=None)),
    "storage-class-empty": listing(contents(storage_class="")),
    "etag-missing": listing(contents(etag=None)),
    "etag-unquoted": listing(contents(etag="abc")),
    "etag-other-entities": listing(contents(etag='"a&quot;b<&>\'"'), contents("b", etag="&#34;x&#34;")),
    "etag-raw-quotes": listing(contents(etag=None).replace(
        "<Size>", '<ETag>"d41d8cd98f00b204e9800998ecf8427e-12"</ETag><Size>')),
    "size-missing": listing(contents(size=None)),
    "size-zero-and-huge": listing(contents("a", size="0"), contents("b", size=str(5 * 1024 ** 4))),
    "every-class": listing(*(contents(f"k{i}", storage_class=c) for i, c in enumerate(
        ("STANDARD", "STANDARD_IA", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE", "INTELLIGENT_TIERING",
         "REDUCED_REDUNDANCY", "EXPRESS_ONEZONE", "OUTPOSTS", "SNOW")))),
    "restore-in-progress": listing(contents(storage_class="GLACIER", restore=IN_PROGRESS)),
    "restore-restored": listing(contents(storage_class="DEEP_ARCHIVE", restore=RESTORED)),
    "restore-expiry-only": listing(contents(storage_class="GLACIER",
                                            restore=restore_status(None, "2024-06-01T00:00:00Z"))),
    "restore-empty-element": listing(contents(storage_class="GLACIER", restore="<RestoreStatus></RestoreStatus>")),
    "restore-on-intelligent-tiering": listing(contents(storage_class="INTELLIGENT_TIERING", restore=RESTORED)),
    "restore-on-standard": listing(contents(restore=IN_PROGRESS)),
    "archived-without-status": listing(contents(storage_class="GLACIER"), contents("z", storage_class="DEEP_ARCHIVE")),
    "timestamp-without-millis": listing(contents(modified="2024-05-01T12:00:00Z")),
    "timestamp-offset": listing(contents(modified="2024-05-01T14:00:00.000+02:00")),
    "timestamp-micro": listing(contents(modified="2024-05-01T12:00:00.123456Z")),
    "timestamp-nanos": listing(contents(modified="2024-05-01T12:00:00.123456789Z")),
    "common-prefixes-encoded": listing(prefixes=("a b/", "c+d/", "\u00e9/", "100%/")),
    "common-prefixes-raw": listing(prefixes=("a b/", "x&y/"), encoded=False),
    "objects-and-prefixes": listing(contents("top.txt"), prefixes=("dir/",)),
    "no-declaration": listing(contents(), declaration=""),
    "no-namespace": listing(contents()).replace(NAMESPACE.encode(), b""),
    "self-closing-top-level": listing(contents()).replace(b"<Prefix></Prefix>", b"<Prefix/>"),
    "start-after-and-delimiter": listing(contents(), extra="<StartAfter>a%20b</StartAfter><Delimiter>/</Delimiter>"),
    "unknown-top-level-leaf": listing(contents(), extra="<Future>x</Future>"),
    "character-references": listing(contents("x", encoded=False).replace("<Key>x</Key>",
                                                                         "<Key>&#65;&#x42;&#10;&#13;</Key>"),
                                    encoded=False),
    # Read order-free (the in-order expression does not cover these).
    "pretty-printed": pretty(listing(contents(owner=OWNER), contents("b", storage_class="GLACIER", restore=RESTORED))),
    "other-element-order": listing("<Contents><ETag>&quot;e&quot;</ETag><Size>1</Size>"
                                   "<StorageClass>GLACIER</StorageClass>"
                                   "<Key>k%20x</Key><LastModified>2024-05-01T12:00:00.000Z</LastModified>"
                                   "<RestoreStatus><RestoreExpiryDate>2024-06-01T00:00:00.000Z</RestoreExpiryDate>"
                                   "<IsRestoreInProgress>false</IsRestoreInProgress></RestoreStatus></Contents>"),
    "ceph-type-element": listing(contents().replace("</Contents>", "<Type>Normal</Type></Contents>")),
    "restore-before-size": listing(contents(storage_class="GLACIER", size=None).replace(
        "<StorageClass>", IN_PROGRESS + "<Size>7</Size><StorageClass>")),
    "checksums-apart": listing("<Contents><Key>k</Key><ChecksumAlgorithm>CRC32</ChecksumAlgorithm>"
                               "<LastModified>2024-05-01T12:00:00.000Z</LastModified>"
                               "<ChecksumAlgorithm>SHA1</ChecksumAlgorithm></Contents>"),
}


@pytest.mark.parametrize("requested", [False, True], ids=["without-restore-status", "with-restore-status"])
@pytest.mark.parametrize("timestamps", ["dateutil", "fast"])
@pytest.mark.parametrize("body", list(OBJECT_BODIES.values()), ids=list(OBJECT_BODIES))
def test_objects_page_equals_botocore(body, requested, timestamps):
    ours = parse_objects_page(body, requested)
    assert ours is not None, "a body in S3's shape must take the fast path"
    assert_same_objects(ours, expected_objects(body, requested, timestamps))


def assert_same_objects(ours: ParsedObjects, theirs: ParsedObjects) -> None:
    assert len(ours.objects) == len(theirs.objects)
    for mine, reference in zip(ours.objects, theirs.objects):
        assert type(mine) is ListedObject
        for field in ListedObject.__dataclass_fields__:
            if field != "last_modified_iso":
                assert getattr(mine, field) == getattr(reference, field), field
        assert mine.last_modified.tzinfo == timezone.utc
        assert mine.last_modified_iso in (None, mine.last_modified.isoformat())
        assert fingerprint(mine, True) == fingerprint(reference, True)
        assert mine == reference
    assert ours == theirs


VERSION_OWNER = "<Owner><ID>id</ID></Owner>"


def version(key: str, version_id: Optional[str], latest: str = "true", **fields: Any) -> str:
    ids = element("VersionId", version_id) + element("IsLatest", latest)
    return contents(key, tag="Version", version=ids, **fields)


def delete_marker(key: str, version_id: Optional[str] = "v-del", latest: str = "true", owner: bool = True,
                  modified: str = "2024-05-02T00:00:00.000Z") -> str:
    return (f"<DeleteMarker>{element('Key', quote(key, safe='/~'))}{element('VersionId', version_id)}"
            f"{element('IsLatest', latest)}{element('LastModified', modified)}{VERSION_OWNER if owner else ''}"
            "</DeleteMarker>")


def versions_listing(*entries: str, truncated: bool = False, next_key: Optional[str] = None,
                     next_version: Optional[str] = None, prefixes: tuple = ()) -> bytes:
    header = "<Name>bucket</Name><Prefix></Prefix><KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>"
    if next_key is not None:
        header += element("NextKeyMarker", quote(next_key, safe="/~")) + element("NextVersionIdMarker", next_version)
    header += f"<MaxKeys>1000</MaxKeys><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
    header += "<EncodingType>url</EncodingType>"
    common = "".join(f"<CommonPrefixes><Prefix>{quote(p, safe='/~')}</Prefix></CommonPrefixes>" for p in prefixes)
    body = f"{header}{''.join(entries)}{common}"
    return f"{DECLARATION}<ListVersionsResult{NAMESPACE}>{body}</ListVersionsResult>".encode()


VERSION_BODIES = {
    "interleaved": versions_listing(
        version("a", "v2", owner=VERSION_OWNER), version("a", "v1", "false"), delete_marker("b"),
        version("b", "v0", "false", storage_class="GLACIER", restore=RESTORED), delete_marker("c", "null", "false"),
        version("c", "null", "false", algorithms=("CRC32", "SHA256"), checksum_type="COMPOSITE")),
    "version-id-absent": versions_listing(version("a", None), delete_marker("b", None)),
    "null-version-only": versions_listing(version("a", "null")),
    "awkward-keys": versions_listing(*(version(k, "v") for k in sorted(AWKWARD_KEYS))),
    "truncated-awkward-marker": versions_listing(version("a b", "v"), truncated=True, next_key="a b+c%",
                                                 next_version="3/L4kqtJl40Nr8X8gdRQBpUMLUo"),
    "markers-only": versions_listing(delete_marker("x"), delete_marker("y", owner=False)),
    "empty": versions_listing(),
    "with-prefixes": versions_listing(version("top", "v"), prefixes=("dir/",)),
    "latest-empty": versions_listing(version("a", "v", latest="")),
    "moto-element-order": versions_listing(
        "<Version><ETag>\"e\"</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass><Key>a%20b</Key>"
        "<VersionId>2a19</VersionId><IsLatest>true</IsLatest><LastModified>2026-11-21T21:52:12.000Z</LastModified>"
        "<Owner><DisplayName>webfile</DisplayName><ID>75aa</ID></Owner></Version>"
        "<DeleteMarker><Owner><DisplayName>webfile</DisplayName><ID>75aa</ID></Owner><Key>z</Key>"
        "<VersionId>998b</VersionId><IsLatest>true</IsLatest><LastModified>2026-11-21T21:52:12.000Z</LastModified>"
        "</DeleteMarker>").replace(b"<KeyMarker></KeyMarker>", b"<KeyMarker/>"),
    "pretty-printed": pretty(versions_listing(version("a", "v1"), delete_marker("a"))),
}


@pytest.mark.parametrize("requested", [False, True], ids=["without-restore-status", "with-restore-status"])
@pytest.mark.parametrize("timestamps", ["dateutil", "fast"])
@pytest.mark.parametrize("body", list(VERSION_BODIES.values()), ids=list(VERSION_BODIES))
def test_versions_page_equals_botocore(body, requested, timestamps):
    ours = parse_versions_page(body, requested)
    assert ours is not None, "a body in S3's shape must take the fast path"
    versions, markers, rest = expected_versions(body, requested, timestamps)
    assert [v for v in ours.versions if not v.is_delete_marker] == versions
    assert [v for v in ours.versions if v.is_delete_marker] == markers
    assert (ours.common_prefixes, ours.is_truncated, ours.next_key_marker, ours.next_version_marker) == (
        rest.common_prefixes, rest.is_truncated, rest.next_key_marker, rest.next_version_marker)


def test_versions_keep_the_order_of_the_body():
    ours = parse_versions_page(VERSION_BODIES["interleaved"])
    assert [(v.key, v.version_id, v.is_delete_marker, v.is_latest) for v in ours.versions] == [
        ("a", "v2", False, True), ("a", "v1", False, False), ("b", "v-del", True, True), ("b", "v0", False, False),
        ("c", "null", True, False), ("c", "null", False, False)]
    marker = ours.versions[2]
    assert (marker.e_tag, marker.size, marker.storage_class, marker.restore) == (None, None, None, None)


def test_hand_checked_values():
    """The corpus compares with botocore; these pin a few values by hand, so that both cannot be wrong together."""
    ours = parse_objects_page(listing(contents("a b+c%/\u00e9", storage_class="GLACIER", restore=RESTORED,
                                               algorithms=("CRC32", "SHA256"))), True)
    (obj,) = ours.objects
    assert obj.key == "a b+c%/\u00e9"
    assert obj.e_tag == "9b2c"
    assert obj.last_modified == datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    assert (obj.checksum_algorithm, obj.size, obj.restore.status) == ("CRC32,SHA256", 1234, "restored")
    assert obj.restore.expiry == datetime(2024, 6, 1, tzinfo=timezone.utc)


# -- bodies ours must leave to botocore

VALID = listing(contents(), contents("b"))
REFUSED_BODIES = {
    "truncated-mid-entry": VALID[:len(VALID) // 2],
    "truncated-before-root-end": VALID[:-len(b"</ListBucketResult>")],
    "error-document": b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
                      b"<Message>We encountered an internal error.</Message></Error>",
    "other-root": VALID.replace(b"ListBucketResult", b"ListVersionsResult"),
    "comment": VALID.replace(b"<Key>b</Key>", b"<Key>b</Key><!-- x -->"),
    "cdata-key": VALID.replace(b"<Key>b</Key>", b"<Key><![CDATA[b]]></Key>"),
    "doctype-entity": VALID.replace(b"<ListBucketResult", b'<!DOCTYPE x [<!ENTITY e "v">]><ListBucketResult')
                           .replace(b"<Key>b</Key>", b"<Key>&e;</Key>"),
    "crlf": VALID.replace(b"<Key>b</Key>", b"<Key>b\r\nc</Key>"),
    "control-character": VALID.replace(b"<Key>b</Key>", b"<Key>b\x01</Key>"),
    "bare-ampersand": VALID.replace(b"<Key>b</Key>", b"<Key>a&b</Key>"),
    "html-entity": VALID.replace(b"<Key>b</Key>", b"<Key>&nbsp;</Key>"),
    "reference-to-nul": VALID.replace(b"<Key>b</Key>", b"<Key>&#0;</Key>"),
    "reference-out-of-range": VALID.replace(b"<Key>b</Key>", b"<Key>&#x110000;</Key>"),
    "cdata-end-in-text": VALID.replace(b"<Key>b</Key>", b"<Key>a]]>b</Key>"),
    "cdata-end-after-brackets": VALID.replace(b"<Key>b</Key>", b"<Key>]]]]>b</Key>"),
    "noncharacter-fffe": VALID.replace(b"<Key>b</Key>", "<Key>\u65e5\ufffe</Key>".encode()),
    "noncharacter-ffff": VALID.replace(b"<Key>b</Key>", "<Key>\uffff</Key>".encode()),
    "noncharacter-in-a-wide-page": VALID.replace(b"<Key>b</Key>", "<Key>\U0001f600\ufffe</Key>".encode()),
    "invalid-utf8": VALID.replace(b"<Key>b</Key>", b"<Key>\xff</Key>"),
    "repeated-key": VALID.replace(b"<Key>b</Key>", b"<Key>b</Key><Key>c</Key>"),
    "empty-size": VALID.replace(b"<Size>1234</Size>", b"<Size></Size>", 1),
    "size-not-a-number": VALID.replace(b"<Size>1234</Size>", b"<Size>lots</Size>", 1),
    "last-modified-garbage": VALID.replace(b"2024-05-01T12:00:00.000Z", b"yesterday", 1),
    "last-modified-missing": VALID.replace(b"<LastModified>2024-05-01T12:00:00.000Z</LastModified>", b"", 1),
    "attribute": VALID.replace(b"<Key>b</Key>", b'<Key a="1">b</Key>'),
    "namespace-prefix": VALID.replace(b"<Key>b</Key>", b"<s3:Key>b</s3:Key>"),
    "nested-unknown": VALID.replace(b"</Contents>", b"<UserMetadata><a>b</a></UserMetadata></Contents>", 1),
    "self-closing-in-entry": VALID.replace(b"<StorageClass>STANDARD</StorageClass>", b"<StorageClass/>", 1),
    "junk-after-root": VALID + b"<Extra/>",
    "whitespace-before-declaration": b" " + VALID,
    "max-keys-not-a-number": VALID.replace(b"<MaxKeys>1000</MaxKeys>", b"<MaxKeys>many</MaxKeys>"),
    "repeated-is-truncated": VALID.replace(b"<IsTruncated>false</IsTruncated>",
                                           b"<IsTruncated>false</IsTruncated><IsTruncated>true</IsTruncated>"),
    "mismatched-tag": VALID.replace(b"<Name>bucket</Name>", b"<Name>bucket</Nam>"),
    "entries-split-by-prefixes": listing(contents(), contents("z").replace(
        "<Contents>", "<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes><Contents>")),
    "empty-restore-flag": listing(contents(storage_class="GLACIER", restore=restore_status(""))),
    "repeated-restore-status": listing(contents(storage_class="GLACIER", restore=IN_PROGRESS + RESTORED)),
    "empty-checksum-type": listing(contents().replace("<Size>", "<ChecksumType></ChecksumType><Size>")),
}


@pytest.mark.parametrize("body", list(REFUSED_BODIES.values()), ids=list(REFUSED_BODIES))
def test_bodies_outside_the_subset_are_left_to_botocore(body):
    assert parse_objects_page(body, True) is None
    try:
        theirs = expected_objects(body, True)
    except Refused:
        return  # botocore fails too; its error is what the caller sees
    assert theirs is not None  # botocore reads it (its answer stands, through the slow path)


def test_a_truncated_or_error_body_is_an_error_for_botocore():
    """The cases where falling back matters most: botocore turns them into a 500 that is retried."""
    for name in ("truncated-mid-entry", "truncated-before-root-end", "error-document"):
        with pytest.raises(Refused, match="200-error check"):
            botocore_parsed("ListObjectsV2", REFUSED_BODIES[name])


# -- a seeded random corpus, in S3's element order and shuffled

def random_entry(rng: random.Random, index: int, versions: bool) -> str:
    alphabet = "ab/ +%&<>\"'\t\n\u00e9\u65e5\U0001f600=;~"
    key = f"{index:05d}" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
    fields = dict(
        modified=rng.choice(["2024-05-01T12:00:00.000Z", "2023-01-31T23:59:59Z", "2025-12-31T00:00:00.5Z"]),
        etag=rng.choice(['"d41d8cd98f00b204e9800998ecf8427e"', '"abc-12"', None, "x"]),
        size=rng.choice(["0", "1", str(rng.getrandbits(40)), None]),
        storage_class=rng.choice(["STANDARD", "GLACIER", "DEEP_ARCHIVE", "INTELLIGENT_TIERING", None, ""]),
        algorithms=tuple(rng.sample(ALGORITHMS, rng.choice([0, 0, 1, 2]))),
        checksum_type=rng.choice([None, "FULL_OBJECT", "COMPOSITE"]),
        owner=rng.choice([None, OWNER]), owner_after_class=rng.random() < 0.5,
        restore=rng.choice([None, None, IN_PROGRESS, RESTORED]),
    )
    if versions:
        if rng.random() < 0.3:
            return delete_marker(key, rng.choice(["null", "v1", None]), rng.choice(["true", "false"]))
        return version(key, rng.choice(["null", "v1", None]), rng.choice(["true", "false"]), **fields)
    return contents(key, **fields)


def shuffled_children(entry: str, rng: random.Random) -> str:
    """The same entry with its children in another order."""
    tag = entry[1:entry.index(">")]
    inner = entry[len(tag) + 2:-len(tag) - 3]
    children, depth, start = [], 0, 0
    for position in range(len(inner)):
        if inner.startswith("</", position):
            depth -= 1
            if depth == 0:
                end = inner.index(">", position) + 1
                children.append(inner[start:end])
                start = end
        elif inner[position] == "<":
            depth += 1
    rng.shuffle(children)
    return f"<{tag}>{''.join(children)}</{tag}>"


@pytest.mark.parametrize("seed", range(12))
def test_random_bodies_equal_botocore(seed):
    rng = random.Random(seed)
    shuffle = seed % 2 == 1
    entries = [random_entry(rng, i, versions=False) for i in range(60)]
    if shuffle:
        entries = [shuffled_children(e, rng) for e in entries]
    body = listing(*entries, truncated=seed % 3 == 0, token="t" if seed % 3 == 0 else None)
    for requested in (False, True):
        ours = parse_objects_page(body, requested)
        assert ours is not None
        assert_same_objects(ours, expected_objects(body, requested))
    entries = [random_entry(rng, i, versions=True) for i in range(60)]
    if shuffle:
        entries = [shuffled_children(e, rng) for e in entries]
    body = versions_listing(*entries)
    ours = parse_versions_page(body, True)
    assert ours is not None
    versions, markers, _ = expected_versions(body, True)
    assert [v for v in ours.versions if not v.is_delete_marker] == versions
    assert [v for v in ours.versions if v.is_delete_marker] == markers


def test_in_order_and_order_free_readings_agree(monkeypatch):
    """Every body of the corpus read the second way (as if the first did not cover it) gives the same values."""
    first_way = {name: parse_objects_page(body, True) for name, body in OBJECT_BODIES.items()}
    monkeypatch.setattr(listing_xml, "_CONTENTS", listing_xml.re.compile("(<NeverMatches>)"))
    for name, body in OBJECT_BODIES.items():
        assert parse_objects_page(body, True) == first_way[name], name


@pytest.mark.parametrize("value", [
    "plain/key", "a+b", "a%2Bb", "100%25", "%", "%4", "%zz", "%e9", "%C3%A9", "%c3%a9%F0%9F%98%80", "%C3", "%FF%FE",
    "\u00e9%20", "caf\u00e9+%C3%A9", "%2", "+%+", "%%41", "%41%", "%aF%Af", "\U0001f600%2F", "\x7f%7F",
])
def test_url_decode_is_unquote_plus(value):
    assert listing_xml.url_decode(value) == unquote_plus(value)


def test_url_decode_is_unquote_plus_on_random_text():
    rng = random.Random(5)
    alphabet = ["%", "+", "2", "F", "f", "C3", "A9", "e9", "zz", "a", "/", " ", "\u00e9", "\U0001f600", "%2", "%C3%A"]
    for _ in range(20000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert listing_xml.url_decode(value) == unquote_plus(value), value


def test_url_decode_in_folders_is_unquote_plus_on_random_keys():
    """Folders decoded once per page give the same keys, whatever sits next to a `/`: a truncated or invalid UTF-8
    sequence, a split escape, `+`, non-ASCII text."""
    rng = random.Random(6)
    alphabet = ["%", "+", "2", "F", "C3", "A9", "E6", "97", "a", "/", "/", " ", "\u00e9", "\U0001f600", "%2", "%C3%A",
                "%E6%97", "%A5", "%2F", "%3D"]
    folders: dict[str, str] = {}
    for _ in range(20000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert listing_xml.url_decode_in_folders(value, folders) == unquote_plus(value), value
        if len(folders) > 50:
            folders.clear()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_isoformat_text_is_what_isoformat_writes(seed):
    """For every text `datetime.fromisoformat` reads as UTC, `isoformat_text` is `isoformat()` or None, and it is
    never None for S3's shape (0 to 6 fraction digits, `Z`): the fingerprint's text must not change."""
    rng = random.Random(seed)
    for _ in range(3000):
        moment = datetime(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                          rng.randint(0, 59), rng.randint(0, 59), rng.choice([0, rng.randint(0, 999) * 1000,
                                                                                rng.randint(0, 999_999)]))
        digits = rng.randint(0, 7)
        fraction = "" if digits == 0 else rng.choice(".,") + f"{moment.microsecond:06d}1"[:digits]
        zone = rng.choice(["Z", "Z", "Z", "+00:00", "-00:00", "+01:30", "z"])
        text = moment.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0") + fraction + zone
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            continue
        if parsed.tzinfo is not timezone.utc:
            continue
        derived = listing_xml.isoformat_text(text)
        assert derived in (None, parsed.isoformat()), text
        if zone == "Z" and digits <= 6 and fraction[:1] != ",":
            assert derived == parsed.isoformat(), text


@pytest.mark.parametrize("text", ["2024-05-01T24:00:00.000Z", "2024-05-01T12:00:00.1234567Z", "2024-05-01T12:00:00,5Z",
                                  "2024-05-01T12:00:00.000+00:00", "2024-05-01T12:00:00.\u0661\u0662\u0663Z"])
def test_isoformat_text_declines_other_shapes(text):
    assert listing_xml.isoformat_text(text) is None


def test_fast_constructor_builds_the_same_instance():
    values = ("k", datetime(2024, 1, 1, tzinfo=timezone.utc), "e", 1, "GLACIER", "CRC32", "FULL_OBJECT", None,
              "2024-01-01T00:00:00+00:00")
    built: Callable[..., ListedObject] = listing_xml._new_listed_object
    assert built(*values) == ListedObject(*values)
    assert type(built(*values)) is ListedObject
    assert built(*values).last_modified_iso == values[-1]
    with pytest.raises(TypeError):
        listing_xml._new_listed_version("too", "few")
