"""What an object's restore state is, from the answers S3 gives about it.

Only GLACIER and DEEP_ARCHIVE objects, and Intelligent-Tiering objects sitting in an archive access tier,
have to be restored before they can be read; everything else (GLACIER_IR included) is readable as it is
and gets no restore status at all, and costs no HEAD request. S3 reports a restore in two places:
the `x-amz-restore` header of HEAD, and (on AWS, when asked for) the `RestoreStatus` element of a
listing. Both are turned into the same `RestoreInfo` here, so the rest of the connector never looks at
either format.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Mapping

from s3_metadata.timestamps import to_utc

ARCHIVED = "archived"
IN_PROGRESS = "in_progress"
RESTORED = "restored"
ERROR_PREFIX = "error:"
# How state version 2 remembered a tracked object whose replication was still PENDING: its restore status behind
# this prefix. Read when such a state is loaded (state.py); today that is a `note`.
REPLICATION_PENDING = "replication-pending:"
# Notes: why an object is tracked beyond its restore columns (see RestoreInfo.note).
HEAD_FAILED = "head:"
TAGS_FAILED = "tags:"
REPLICATION_NOTE = "replication:PENDING"

ARCHIVE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
INTELLIGENT_TIERING = "INTELLIGENT_TIERING"
ARCHIVE_TIERS = frozenset({"ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"})
# Classes whose restore state a listing without RestoreStatus cannot tell (and, for Intelligent-Tiering,
# whose archive tier only HEAD tells).
HEAD_CLASSES = ARCHIVE_CLASSES | {INTELLIGENT_TIERING}

_PAIR = re.compile(r'\s*([A-Za-z][A-Za-z0-9-]*)\s*=\s*"([^"]*)"\s*(?:,|$)')


class RestoreHeaderError(ValueError):
    """An `x-amz-restore` value this connector cannot read."""


@dataclass(frozen=True)
class RestoreInfo:
    """The restore columns of one row; as a tracked object's memory, also `note`.

    `note` says what else about the row can change without LastModified changing, kept apart from the restore
    columns so that each is compared on its own: a request that failed (`head:<Code>`, `tags:<Code>`: the next sync
    tries again and sends the row once it succeeds) or a replication still PENDING (`replication:PENDING`). It is
    never a column. A failed GetObjectTagging must not hide a restore that starts later, nor the other way round.
    """

    status: str | None = None
    expiry: datetime | None = None
    archive_status: str | None = None
    note: str | None = None

    @property
    def is_tracked(self) -> bool:
        """Whether this state can change without LastModified changing, so later syncs must look again."""
        return self.status in (IN_PROGRESS, RESTORED)


NOT_APPLICABLE = RestoreInfo()


def keeps_tracking(info: RestoreInfo) -> bool:
    """Whether a HEAD-derived restore state can change behind LastModified, so it is looked at every sync:
    a restore in progress or restored, an Intelligent-Tiering archive tier, or a HEAD that failed."""
    return (info.is_tracked or (info.status or "").startswith(ERROR_PREFIX) or info.archive_status in ARCHIVE_TIERS
            or info.note is not None)


def error_info(code: str) -> RestoreInfo:
    """The restore columns of an object HEAD could not describe: the row says why."""
    return RestoreInfo(status=f"{ERROR_PREFIX}{code}")


def needs_head(storage_class: str) -> bool:
    """Whether a listing entry of this class leaves the restore columns unknown until HEAD answers."""
    return storage_class in HEAD_CLASSES


def header_pairs(value: str) -> dict[str, str] | None:
    """The `name="value", ...` pairs of a header such as `x-amz-restore` or `x-amz-expiration` (names in lower
    case), or None when the value is not a list of such pairs."""
    pairs: dict[str, str] = {}
    position = 0
    text = value.strip()
    while position < len(text):
        match = _PAIR.match(text, position)
        if not match or match.end() == position:
            return None
        pairs[match.group(1).lower()] = match.group(2)
        position = match.end()
    return pairs


def http_date(text: str) -> datetime | None:
    """An HTTP date (`Fri, 23 Dec 2012 00:00:00 GMT`) as aware UTC, or None when it cannot be read."""
    try:
        return to_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


def parse_restore_header(value: str) -> tuple[bool, datetime | None]:
    """(restore still running, expiry of the restored copy) from an `x-amz-restore` header value."""
    pairs = header_pairs(value)
    if pairs is None:
        raise RestoreHeaderError(f"unreadable x-amz-restore header {value!r}")
    ongoing = pairs.get("ongoing-request")
    if ongoing not in ("true", "false"):
        raise RestoreHeaderError(f"x-amz-restore header {value!r} has no ongoing-request=\"true\"|\"false\"")
    expiry_text = pairs.get("expiry-date")
    expiry = None
    if expiry_text is not None:
        expiry = http_date(expiry_text)
        if expiry is None:
            raise RestoreHeaderError(f"x-amz-restore header {value!r} has an unreadable expiry-date")
    return ongoing == "true", expiry


def _from_restore(ongoing: bool | None, expiry: datetime | None, archive_status: str | None) -> RestoreInfo:
    if ongoing is None:
        return RestoreInfo(ARCHIVED, None, archive_status)
    if ongoing:
        return RestoreInfo(IN_PROGRESS, None, archive_status)
    return RestoreInfo(RESTORED, expiry, archive_status)


def restore_from_head(storage_class: str, restore_header: str | None, archive_status: str | None) -> RestoreInfo:
    """The restore columns of an object from its HEAD response headers."""
    if storage_class == INTELLIGENT_TIERING:
        if archive_status not in ARCHIVE_TIERS:
            return RestoreInfo(archive_status=archive_status)
    elif storage_class not in ARCHIVE_CLASSES:
        return NOT_APPLICABLE
    if restore_header is None or not restore_header.strip():
        return _from_restore(None, None, archive_status)
    try:
        ongoing, expiry = parse_restore_header(restore_header)
    except RestoreHeaderError:
        return RestoreInfo(f"{ERROR_PREFIX}UnreadableRestoreHeader", None, archive_status)
    return _from_restore(ongoing, expiry, archive_status)


def restore_from_listing(storage_class: str, restore_status: Mapping[str, Any] | None) -> RestoreInfo | None:
    """The restore columns from a listing entry that was asked for RestoreStatus; None when only HEAD can tell."""
    if storage_class not in ARCHIVE_CLASSES:
        return None if storage_class == INTELLIGENT_TIERING else NOT_APPLICABLE
    if not restore_status:
        return _from_restore(None, None, None)
    expiry = restore_status.get("RestoreExpiryDate")
    return _from_restore(bool(restore_status.get("IsRestoreInProgress")), to_utc(expiry) if expiry else None, None)
