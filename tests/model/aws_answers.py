"""Answers moto gets wrong, given as AWS gives them, from moto's own objects (workarounds in the test's S3).

ListObjectVersions:

moto 5's ListObjectVersions differs from AWS in ways that would make a correct connector look wrong:
- after a `KeyMarker` without a `VersionIdMarker` it skips the first *version* at or after the marker, so a marker
  that is not itself a key loses the next key's newest version, and a marker that is a key returns that key's
  older versions again (AWS returns only keys after the marker);
- it orders a key's versions (and decides `IsLatest`) by LastModified, so a late multipart upload, whose
  LastModified is when it was initiated, or two versions written in the same second, come out in the wrong order
  with the wrong latest version (AWS lists them newest first in the order they were written, and the latest is the
  one GET and ListObjectsV2 return);
- it deep-copies every version of the bucket on each call, which costs seconds per sync on a few thousand versions;
- it leaves out `ChecksumAlgorithm`, which AWS lists for each version written with a checksum, and ignores
  `encoding-type=url`.
This module builds the body AWS would send from moto's version lists (the last of each list is the latest, as
GET sees it).

GetObjectTagging: moto refuses it (InvalidObjectState) for a GLACIER or DEEP_ARCHIVE object that is not restored;
AWS answers it. With `archived_tags`, the tag set is given as AWS gives it; without, moto's refusal stands, as a
store that refuses tagging requests on some objects (the connector must then say tags NULL and try again).

Both are answered at botocore's `before-send`, for the connector and the test's oracle alike.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.sax.saxutils import escape

from botocore.awsrequest import AWSResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import FakeDeleteMarker, s3_backends

OWNER = ("<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>"
         "<DisplayName>webfile</DisplayName></Owner>")


class _Body:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: Any):
        yield self._body


def _iso(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _bucket_and_key(url: str) -> tuple[str, str]:
    """(bucket, key) of a request URL, virtual-host or path style (an S3-compatible endpoint's)."""
    parts = urlsplit(url)
    labels = (parts.hostname or "").split(".")
    path = unquote(parts.path.lstrip("/"))
    if len(labels) > 3 and labels[1].startswith("s3"):
        return labels[0], path
    bucket, _, key = path.partition("/")
    return bucket, key


def versions_body(bucket_name: str, prefix: str, key_marker: str | None, version_marker: str | None,
                  max_keys: int, encoded: bool) -> bytes:
    """The ListObjectVersions body AWS sends for these parameters (no delimiter: the connector sends none)."""
    bucket = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[bucket_name]
    text = (lambda value: escape(quote(value, safe="/"))) if encoded else escape
    names = sorted(name for name in bucket.keys.keys() if name.startswith(prefix))
    entries: list[str] = []
    truncated = False
    next_key = next_version = None
    for name in names:
        if key_marker is not None and name < key_marker:
            continue
        versions = list(reversed(bucket.keys.getlist(name)))  # newest first
        if key_marker is not None and name == key_marker:
            if version_marker is None:
                continue
            ids = [str(v.version_id) for v in versions]
            if version_marker not in ids:
                continue
            versions = versions[ids.index(version_marker) + 1:]
        for position, version in enumerate(versions):
            if len(entries) == max_keys:
                truncated = True
                break
            latest = "true" if position == 0 and (key_marker != name or version_marker is None) else "false"
            if key_marker == name and version_marker is not None:
                latest = "false"  # the latest version came before the marker
            entries.append(_entry(version, name, latest, text))
            next_key, next_version = name, str(version.version_id)
        if truncated:
            break
    header = (f"<Name>{escape(bucket_name)}</Name><Prefix>{text(prefix)}</Prefix>"
              f"<KeyMarker>{text(key_marker or '')}</KeyMarker><VersionIdMarker>{escape(version_marker or '')}"
              f"</VersionIdMarker>")
    if truncated:
        header += (f"<NextKeyMarker>{text(next_key or '')}</NextKeyMarker>"
                   f"<NextVersionIdMarker>{escape(next_version or '')}</NextVersionIdMarker>")
    header += f"<MaxKeys>{max_keys}</MaxKeys>"
    if encoded:
        header += "<EncodingType>url</EncodingType>"
    header += f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
    body = ('<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            + header + "".join(entries) + "</ListVersionsResult>")
    return body.encode("utf-8")


def _entry(version: Any, name: str, latest: str, text: Any) -> str:
    head = (f"<Key>{text(name)}</Key><VersionId>{escape(str(version.version_id))}</VersionId>"
            f"<IsLatest>{latest}</IsLatest><LastModified>{_iso(version.last_modified)}</LastModified>")
    if isinstance(version, FakeDeleteMarker):
        return f"<DeleteMarker>{head}{OWNER}</DeleteMarker>"
    checksum = f"<ChecksumAlgorithm>{version.checksum_algorithm}</ChecksumAlgorithm>" \
        if version.checksum_algorithm else ""
    return (f"<Version>{head}<ETag>{escape(version.etag)}</ETag>{checksum}<Size>{version.size}</Size>"
            f"<StorageClass>{version.storage_class}</StorageClass>{OWNER}</Version>")


def tagging_body(bucket_name: str, key_name: str) -> bytes | None:
    """GetObjectTagging's body for a GLACIER or DEEP_ARCHIVE object moto would refuse; None for anything else."""
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    bucket = backend.buckets.get(bucket_name)
    versions = bucket.keys.getlist(key_name, []) if bucket is not None else []
    if not versions or isinstance(versions[-1], FakeDeleteMarker):
        return None
    key = versions[-1]
    if key.storage_class not in ("GLACIER", "DEEP_ARCHIVE"):
        return None
    tags = backend.get_object_tagging(key)["Tags"]
    body = "".join(f"<Tag><Key>{escape(t['Key'])}</Key><Value>{escape(t['Value'])}</Value></Tag>" for t in tags)
    return ('<?xml version="1.0" encoding="UTF-8"?><Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<TagSet>{body}</TagSet></Tagging>").encode("utf-8")


class AwsAnswers:
    """A `before-send` handler answering ListObjectVersions (and, with `archived_tags`, GetObjectTagging of archived
    objects) as AWS does."""

    def __init__(self, archived_tags: bool = True) -> None:
        self.archived_tags = archived_tags
        self._entry = ("before-send", self._handle)

    def install(self) -> None:
        from botocore.handlers import BUILTIN_HANDLERS
        BUILTIN_HANDLERS.insert(0, self._entry)

    def uninstall(self) -> None:
        from botocore.handlers import BUILTIN_HANDLERS
        if self._entry in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS.remove(self._entry)

    def _handle(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        if self.archived_tags and event_name.endswith(".GetObjectTagging"):
            bucket, key = _bucket_and_key(request.url)
            body = tagging_body(bucket, key)
            return None if body is None else AWSResponse(
                request.url, 200, {"x-amz-request-id": "MODEL", "Content-Type": "application/xml"}, _Body(body))
        if not event_name.endswith(".ListObjectVersions"):
            return None
        query = parse_qs(urlsplit(request.url).query, keep_blank_values=True)

        def one(name: str) -> str | None:
            return query[name][0] if name in query else None
        bucket, _ = _bucket_and_key(request.url)
        body = versions_body(bucket, one("prefix") or "", one("key-marker"), one("version-id-marker") or None,
                             int(one("max-keys") or 1000), one("encoding-type") == "url")
        return AWSResponse(request.url, 200, {"x-amz-request-id": "MODEL", "Content-Type": "application/xml"},
                           _Body(body))
