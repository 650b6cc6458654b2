"""Object details: the columns `object_details` adds to `s3_objects`, and how S3's answers become them.

A listing says nothing about encryption, object lock, replication, content headers, lifecycle expiration,
checksum values, user metadata or tags. `head` takes them from one HEAD per object (asked with
ChecksumMode=ENABLED, so the checksum values come in the same response), `tags` from one GetObjectTagging.
Both are made only for the objects a sync sends, so they cost one request each per new or changed object,
never one per object per sync; restore_mode.head_purpose decides which objects get a HEAD.

Columns are declared only when chosen, so a destination never holds columns that nothing fills. A NULL
detail means S3 did not send that value (or the request for it failed, which the sync counts and retries);
tags and user metadata are `{}` when the object has none, so NULL there always means "not known".

Everything here is pure: HEAD's answer (an `aws.HeadResult`) and the tag set in, column values out.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Sequence
from urllib.parse import unquote

from s3_metadata.configuration import DETAILS_HEAD, DETAILS_TAGS
from s3_metadata.restore import header_pairs, http_date
from s3_metadata.timestamps import to_utc

CHECKSUM_ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
HEAD_COLUMNS: dict[str, str] = {
    "version_id": "STRING",
    "content_type": "STRING",
    "content_encoding": "STRING",
    "cache_control": "STRING",
    "server_side_encryption": "STRING",
    "sse_kms_key_id": "STRING",
    "bucket_key_enabled": "BOOLEAN",
    "object_lock_mode": "STRING",
    "object_lock_retain_until": "UTC_DATETIME",
    "object_lock_legal_hold": "BOOLEAN",
    "replication_status": "STRING",
    "expiration_date": "UTC_DATETIME",
    "expiration_rule_id": "STRING",
    "parts_count": "INT",
    **{f"checksum_{algorithm.lower()}": "STRING" for algorithm in CHECKSUM_ALGORITHMS},
    "user_metadata": "JSON",
}
TAG_COLUMNS: dict[str, str] = {"tags": "JSON"}
_COLUMNS_OF = {DETAILS_HEAD: HEAD_COLUMNS, DETAILS_TAGS: TAG_COLUMNS}

EXPIRATION_HEADER = "x-amz-expiration"
LEGAL_HOLD_HEADER = "x-amz-object-lock-legal-hold"
_LEGAL_HOLD = {"ON": True, "OFF": False}


class ExpirationHeaderError(ValueError):
    """An `x-amz-expiration` value this connector cannot read."""


def detail_columns(chosen: Sequence[str]) -> dict[str, str]:
    """The columns (name -> Fivetran type) the chosen details add to s3_objects."""
    return {name: kind for choice in chosen for name, kind in _COLUMNS_OF[choice].items()}


def parse_expiration(value: str) -> tuple[datetime, str | None]:
    """(expiry date, lifecycle rule id) from an `x-amz-expiration` header value such as
    `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"`. S3 URL-encodes the rule id."""
    pairs = header_pairs(value)
    if pairs is None:
        raise ExpirationHeaderError(f"unreadable {EXPIRATION_HEADER} header {value[:200]!r}")
    text = pairs.get("expiry-date")
    if text is None:
        raise ExpirationHeaderError(f"{EXPIRATION_HEADER} header {value[:200]!r} has no expiry-date")
    expiry = http_date(text)
    if expiry is None:
        raise ExpirationHeaderError(f"{EXPIRATION_HEADER} header {value[:200]!r} has an unreadable expiry-date")
    rule_id = pairs.get("rule-id")
    return expiry, unquote(rule_id) if rule_id is not None else None


def head_details(head: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The HEAD columns of an object from its `aws.HeadResult`, and the headers whose values could not be read
    (their columns are NULL)."""
    unreadable: list[str] = []
    expiry = rule_id = None
    if head.expiration is not None:
        try:
            expiry, rule_id = parse_expiration(head.expiration)
        except ExpirationHeaderError:
            unreadable.append(EXPIRATION_HEADER)
    legal_hold = None
    if head.object_lock_legal_hold is not None:
        legal_hold = _LEGAL_HOLD.get(head.object_lock_legal_hold.upper())
        if legal_hold is None:
            unreadable.append(LEGAL_HOLD_HEADER)
    values = {
        "version_id": head.version_id,
        "content_type": head.content_type,
        "content_encoding": head.content_encoding,
        "cache_control": head.cache_control,
        "server_side_encryption": head.server_side_encryption,
        "sse_kms_key_id": head.sse_kms_key_id,
        "bucket_key_enabled": head.bucket_key_enabled,
        "object_lock_mode": head.object_lock_mode,
        "object_lock_retain_until": to_utc(head.object_lock_retain_until) if head.object_lock_retain_until else None,
        "object_lock_legal_hold": legal_hold,
        "replication_status": head.replication_status,
        "expiration_date": expiry,
        "expiration_rule_id": rule_id,
        "parts_count": head.parts_count,
        **{f"checksum_{algorithm.lower()}": head.checksums.get(algorithm) for algorithm in CHECKSUM_ALGORITHMS},
        "user_metadata": dict(head.user_metadata),
    }
    return values, tuple(unreadable)


def detail_values(chosen: Sequence[str], head: Mapping[str, Any] | None,
                  tags: Mapping[str, str] | None) -> dict[str, Any]:
    """Every chosen detail column of one row: `head` from `head_details`, `tags` from GetObjectTagging; None for
    what is not known, so an upsert never leaves a stale detail behind."""
    values: dict[str, Any] = {}
    if DETAILS_HEAD in chosen:
        values.update({name: (head or {}).get(name) for name in HEAD_COLUMNS})
    if DETAILS_TAGS in chosen:
        values["tags"] = dict(tags) if tags is not None else None
    return values


def newly_chosen(recorded: Sequence[str], chosen: Sequence[str]) -> tuple[str, ...]:
    """The details chosen now that rows sent before do not carry: every object must be sent again to fill them."""
    return tuple(choice for choice in chosen if choice not in recorded)
