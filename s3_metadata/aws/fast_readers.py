"""Our own reading of the 200 answers made once per object, at botocore's `before-parse` event.

botocore's generic work per request is most of the CPU of a large sync, so 200 listings and HEADs are read by our own
parsers (`listing_xml.py`, `head_headers.py`) before botocore's parser sees them; every other answer, and any body
ours declines, is botocore's to parse as without us. tests/differential proves the two readings equal.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping

import botocore.handlers
from botocore.utils import lowercase_dict

from s3_metadata.head_headers import head_fields, user_metadata
from s3_metadata.listing_xml import parse_objects_page, parse_versions_page

# Where our `before-parse` handlers leave what they read, in botocore's parsed response (see `FastReaders.install`).
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


class FastReaders:
    """The `before-parse` handlers of one gateway's S3 clients, and what they need to know: whether the ListObjectsV2
    in flight on this thread asked for RestoreStatus, and which HeadObject headers to read."""

    def __init__(self, session: Any, object_details: bool):
        self._session = session
        self._details = object_details
        # Whether the ListObjectsV2 call in flight on this thread asked for RestoreStatus (see `install`).
        self._listing = threading.local()
        self._head_members: dict[str, tuple[str, str]] = {}

    def install(self, client: Any) -> None:
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
        details = self._details
        members = {name: (member.serialization["name"].lower(), member.type_name)
                   for name, member in shape.members.items() if member.serialization.get("location") == "header"
                   and (name in HEAD_MEMBERS or name.startswith("Checksum")
                        or (details and name in HEAD_DETAIL_MEMBERS))}
        self._head_members = members
        events.register("before-parse.s3.HeadObject",
                        lambda response_dict, customized_response_dict, **_: _before_parse_head(
                            members, details, response_dict, customized_response_dict))

    def _before_parse_listing(self, operation_model: Any, response_dict: dict[str, Any],
                              customized_response_dict: dict[str, Any], **_: Any) -> None:
        restore_status = getattr(self._listing, "restore_status", None)
        parse = None if restore_status is None else lambda body: parse_objects_page(body, restore_status)
        _read_listing(parse, operation_model, response_dict, customized_response_dict)

    @contextmanager
    def reading_listing(self, restore_status: bool) -> Iterator[None]:
        """While a ListObjectsV2 call of this thread is in flight: whether it asked for RestoreStatus."""
        self._listing.restore_status = restore_status
        try:
            yield
        finally:
            self._listing.restore_status = None

    def head_values(self, headers: Mapping[str, str], lowered: dict[str, str]) -> dict[str, Any] | None:
        """`_head_values` of a HeadObject 200 with the headers this gateway reads (see `install`)."""
        return _head_values(headers, lowered, self._head_members, self._details)

    def parse_with_botocore(self, client: Any, operation: str, body: bytes) -> dict[str, Any]:
        """botocore's own parse of a 200 listing body our handler read: its parser, then the url-decoding it
        applies to listings after the call."""
        model = client.meta.service_model.operation_model(operation)
        parser = self._session.get_component("response_parser_factory").create_parser("rest-xml")
        parsed = parser.parse({"body": body, "headers": {}, "status_code": 200}, model.output_shape)
        decode = (botocore.handlers.decode_list_object_v2 if operation == "ListObjectsV2"
                  else botocore.handlers.decode_list_object_versions)
        decode(parsed=parsed, context={"encoding_type_auto_set": True})
        return parsed
