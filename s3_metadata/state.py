"""The connector's state: versioned, validated on load, small, and free of secrets.

Per stream (bucket x LIST prefix) it keeps the watermark of the last complete pass, the start of the pass
in progress, the key ranges with their counts and digests (see ranges.py), and the objects whose restore
is in progress, restored or failed to be read: those change without LastModified changing, so every sync
looks at them again. Its size follows the number of ranges and of tracked restores, never the number of
objects. A state this code cannot read fails the sync with a message, rather than silently starting over.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from s3_metadata.configuration import OBJECT_DETAILS
from s3_metadata.deletes import Unnamed
from s3_metadata.key_range import WHOLE, KeyRange
from s3_metadata.range_codec import decode_ranges, encode_ranges
from s3_metadata.ranges import RangeEntry
from s3_metadata.restore import (
    ARCHIVED, ERROR_PREFIX, HEAD_FAILED, IN_PROGRESS, REPLICATION_NOTE, REPLICATION_PENDING, RESTORED, TAGS_FAILED,
    RestoreInfo,
)
from s3_metadata.sketch import Sketch
from s3_metadata.timestamps import isoformat_utc, parse_isoformat_utc

# 2: ranges may carry a fifth element (versions ranges' identity sum) and a sixth (object ranges' sketch), streams
# their versions ranges, and the state a versions-table rebuild in progress. A version 1 state is read as it is: it
# has none of these, and each of its ranges gets a sketch on its next listing, sending nothing that did not change.
# 3: object ranges carry their key sum in the fifth element (deletes.py), and a tracked object a fourth element, its
# note (restore.RestoreInfo.note). A version 2 state is migrated on load: its tracked "replication-pending:<status>"
# and "error:tags:<Code>" become notes; its object ranges have no key sum, and get one on their next listing (an
# unchanged range at the cost of one hash per key, once; a changed one is treated as possibly having lost keys).
# Ranges are written as one compact text per list (range_codec.py); the JSON lists of versions 1 and 2 are read too.
STATE_VERSION = 3
# Objects whose restore state is re-checked every sync, over all streams: keeps the state small.
MAX_TRACKED_RESTORES = 10_000
DIGEST_LISTING = "listing"
DIGEST_LISTING_RESTORE = "listing+restore"
_DIGEST_MODES = (DIGEST_LISTING, DIGEST_LISTING_RESTORE)
_HEX64 = re.compile(r"^[0-9a-f]{16}$")
_TRACKABLE = (IN_PROGRESS, RESTORED, ARCHIVED)
# The versions table must be rebuilt (a removed version was detected) / is being rebuilt (it was truncated).
REBUILD_DUE = "due"
REBUILD_RUNNING = "running"


class StateError(ValueError):
    """A saved state that cannot be used; the message says what to do."""

    def __init__(self, problem: str):
        super().__init__(
            f"The saved state cannot be read: {problem}. Nothing was synced. If the state was edited by hand, "
            "restore it; otherwise re-sync the connection from the Fivetran dashboard (or delete files/state.json "
            "when running `fivetran debug`) to start again with a full sync.")


def stream_id(bucket: str, prefix: str) -> str:
    """The state key of a stream; bucket names never contain '/', so the split is unambiguous."""
    return f"{bucket}/{prefix}"


@dataclass
class StreamState:
    """What one stream remembers between syncs."""

    bucket: str
    prefix: str
    watermark: datetime | None = None
    pass_started: datetime | None = None
    ranges: list[RangeEntry] = field(default_factory=list)
    digest_mode: str = DIGEST_LISTING
    restores: dict[str, RestoreInfo] = field(default_factory=dict)
    passes: int = 0
    version_ranges: list[RangeEntry] = field(default_factory=list)
    version_passes: int = 0
    # Lost keys no listing could name, for events that name them later (deletes.claim_unnamed).
    unnamed: Unnamed = field(default_factory=Unnamed)
    # While a pass reads an S3 Inventory report instead of listing: the report's manifest (s3://...), so a pass
    # resumed after a kill reads the same report.
    inventory: str | None = None

    @property
    def in_pass(self) -> bool:
        return self.pass_started is not None

    @property
    def known_objects(self) -> int | None:
        """Objects the last pass saw, when every range is known."""
        if not self.ranges or any(e.count is None for e in self.ranges):
            return None
        return sum(e.count for e in self.ranges)  # type: ignore[misc]

    def to_json(self) -> dict[str, Any]:
        return {
            "watermark": isoformat_utc(self.watermark),
            "pass_started": isoformat_utc(self.pass_started),
            "digest_mode": self.digest_mode,
            "passes": self.passes,
            "ranges": encode_ranges(self.ranges),
            "restores": {key: _tracked_json(info) for key, info in sorted(self.restores.items())},
            "version_ranges": encode_ranges(self.version_ranges),
            "version_passes": self.version_passes,
            **({"unnamed": [self.unnamed.count, _hex(self.unnamed.ids), *([1] if self.unnamed.uncounted else [])]}
               if self.unnamed.count or self.unnamed.uncounted else {}),
            **({"inventory": self.inventory} if self.inventory is not None else {}),
        }


def _tracked_json(info: RestoreInfo) -> list[Any]:
    """[status, expiry, archive_status], and the note when there is one."""
    row = [info.status, isoformat_utc(info.expiry), info.archive_status]
    if info.note is not None:
        row.append(info.note)
    return row


def _hex(value: int | None) -> str | None:
    return None if value is None else f"{value:016x}"


@dataclass
class SyncState:
    """The whole state: one StreamState per stream id, and what is known per bucket and per reconciliation."""

    streams: dict[str, StreamState] = field(default_factory=dict)
    restore_sources: dict[str, str] = field(default_factory=dict)
    last_reconcile: datetime | None = None
    reconcile_started: datetime | None = None
    versions_rebuild: str | None = None
    # The object details the rows sent so far carry (configuration.OBJECT_DETAILS); a detail chosen later needs
    # every object sent again.
    object_details: tuple[str, ...] = ()
    # Deletes counted but not yet reported (objects, key ranges with some, ranges where too much changed to count,
    # ranges whose count is only a lower bound): committed with the ranges that counted them, so a sync killed before
    # its closing warning loses no count. Written as 3 numbers while the fourth is 0, as before it existed.
    unreported_deletes: tuple[int, int, int, int] = (0, 0, 0, 0)
    # A digest of the settings that decide which keys belong to the table (buckets, prefixes, patterns): when it
    # changes, event mode lists again before it drains (passes.sync_kind).
    scope: str | None = None
    # The key range the ranges' counts and digests were taken over (configuration key_range_start/_end); the ranges
    # a change of it touches are listed again (passes.adopt_key_range).
    key_range: KeyRange = WHOLE

    def stream(self, bucket: str, prefix: str) -> StreamState:
        sid = stream_id(bucket, prefix)
        if sid not in self.streams:
            self.streams[sid] = StreamState(bucket, prefix)
        return self.streams[sid]

    def track(self, stream: StreamState, key: str, info: RestoreInfo | None) -> bool:
        """Track `key` with `info` (None: stop tracking); False when MAX_TRACKED_RESTORES leaves no room."""
        if info is None:
            stream.restores.pop(key, None)
            return True
        if key not in stream.restores and sum(len(s.restores) for s in self.streams.values()) >= MAX_TRACKED_RESTORES:
            return False
        stream.restores[key] = info
        return True

    def to_json(self) -> dict[str, Any]:
        data = {"version": STATE_VERSION,
                "streams": {sid: s.to_json() for sid, s in sorted(self.streams.items())},
                "restore_sources": dict(sorted(self.restore_sources.items())),
                "last_reconcile": isoformat_utc(self.last_reconcile),
                "reconcile_started": isoformat_utc(self.reconcile_started),
                "versions_rebuild": self.versions_rebuild,
                "object_details": list(self.object_details),
                "unreported_deletes": list(self.unreported_deletes[:3] if not self.unreported_deletes[3]
                                           else self.unreported_deletes),
                "scope": self.scope}
        if not self.key_range.whole:  # absent: every key, as in states written before key ranges existed
            data["key_range"] = [self.key_range.start, self.key_range.end]
        return data


def _timestamp(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise StateError(f"{where} must be an ISO 8601 timestamp")
    try:
        return parse_isoformat_utc(value)
    except ValueError:
        raise StateError(f"{where} is not an ISO 8601 timestamp with a UTC offset: {value!r}") from None


def _count(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StateError(f"{where} must be a non-negative integer")
    return value


def _ranges(value: Any, where: str) -> list[RangeEntry]:
    """A stream's ranges: the compact text of range_codec (version 3), or the JSON lists of versions 1 and 2."""
    if isinstance(value, str):
        try:
            entries = decode_ranges(value)
        except ValueError as error:
            raise StateError(f"{where} cannot be read: {error}") from None
    elif isinstance(value, list):
        entries = [_range_list(item, f"{where}[{index}]") for index, item in enumerate(value)]
    else:
        raise StateError(f"{where} must be a list")
    for index, entry in enumerate(entries):
        if entry.sketch is not None:
            try:
                Sketch.from_bytes(entry.sketch)
            except ValueError:
                raise StateError(f"{where}[{index}] has a sketch that cannot be read") from None
    his = [e.hi for e in entries]
    if entries and (his[-1] is not None or None in his[:-1]):
        raise StateError(f"{where} must end with the open range (boundary null) and have no other")
    if any(a >= b for a, b in zip(his[:-2], his[1:-1])):  # type: ignore[operator]
        raise StateError(f"{where} boundaries are not in increasing key order")
    return entries


def _range_list(item: Any, at: str) -> RangeEntry:
    """One range as versions 1 and 2 wrote it: [hi, count, digest, done, ids?, sketch (base85)?]."""
    if not isinstance(item, list) or len(item) not in (4, 5, 6):
        raise StateError(f"{at} must be [hi, count, digest, done, ids?, sketch?]")
    hi, count, digest, done = item[:4]
    ids = item[4] if len(item) >= 5 else None
    sketch = item[5] if len(item) == 6 else None
    if sketch is not None:
        try:
            sketch = Sketch.from_text(sketch).to_bytes() if isinstance(sketch, str) else None
        except ValueError:
            sketch = None
        if sketch is None:
            raise StateError(f"{at} has a sketch that cannot be read")
    if hi is not None and not isinstance(hi, str):
        raise StateError(f"{at} has a boundary that is not a string")
    for value in (digest, ids):
        if value is not None and (not isinstance(value, str) or not _HEX64.match(value)):
            raise StateError(f"{at} has a digest that is not 16 hex digits")
    if done not in (0, 1):
        raise StateError(f"{at} has a done flag that is not 0 or 1")
    return RangeEntry(hi, _count(count, at), None if digest is None else int(digest, 16), bool(done),
                      None if ids is None else int(ids, 16), sketch)


_NOTES = (HEAD_FAILED, TAGS_FAILED)


def _note(value: Any, at: str) -> str | None:
    if value is None or value == REPLICATION_NOTE:
        return value
    if not isinstance(value, str) or not value.startswith(_NOTES) or value in _NOTES:
        raise StateError(f"{at} has an unknown note {value!r}")
    return value


def _migrated_status(status: str) -> tuple[str | None, str | None]:
    """A version 2 tracked status as (status, note): the two encodings that mixed a note into the status."""
    if status.startswith(REPLICATION_PENDING):
        return status[len(REPLICATION_PENDING):] or None, REPLICATION_NOTE
    if status.startswith(ERROR_PREFIX + TAGS_FAILED):
        return None, status[len(ERROR_PREFIX):]
    return status, None


def _restores(value: Any, where: str, version: int) -> dict[str, RestoreInfo]:
    if not isinstance(value, dict):
        raise StateError(f"{where} must be an object")
    restores = {}
    for key, item in value.items():
        at = f"{where}[{key!r}]"
        if not isinstance(item, list) or len(item) not in (3, 4):
            raise StateError(f"{at} must be [status, expiry, archive_status, note?]")
        status, expiry, archive_status = item[:3]
        note = _note(item[3] if len(item) == 4 else None, at)
        if version < 3 and isinstance(status, str):
            status, note = _migrated_status(status)
        if (status is None and note is None) or (status is not None and not (
                isinstance(status, str) and (status in _TRACKABLE or status.startswith(ERROR_PREFIX)))):
            raise StateError(f"{at} has an unknown restore status {status!r}")
        if archive_status is not None and not isinstance(archive_status, str):
            raise StateError(f"{at} has an archive status that is not a string")
        restores[key] = RestoreInfo(status, _timestamp(expiry, f"{at} expiry"), archive_status, note)
    return restores


def _stream(sid: str, value: Any, version: int) -> StreamState:
    where = f"streams[{sid!r}]"
    if not isinstance(value, dict):
        raise StateError(f"{where} must be an object")
    bucket, slash, prefix = sid.partition("/")
    if not bucket or not slash:
        raise StateError(f"{where} is not a 'bucket/prefix' stream id")
    mode = value.get("digest_mode", DIGEST_LISTING)
    if mode not in _DIGEST_MODES:
        raise StateError(f"{where}.digest_mode must be one of {_DIGEST_MODES}")
    return StreamState(
        bucket=bucket,
        prefix=prefix,
        watermark=_timestamp(value.get("watermark"), f"{where}.watermark"),
        pass_started=_timestamp(value.get("pass_started"), f"{where}.pass_started"),
        ranges=_ranges(value.get("ranges", []), f"{where}.ranges"),
        digest_mode=mode,
        restores=_restores(value.get("restores", {}), f"{where}.restores", version),
        passes=_count(value.get("passes", 0), f"{where}.passes") or 0,
        version_ranges=_ranges(value.get("version_ranges", []), f"{where}.version_ranges"),
        version_passes=_count(value.get("version_passes", 0), f"{where}.version_passes") or 0,
        unnamed=_unnamed(value.get("unnamed"), f"{where}.unnamed"),
        inventory=_inventory(value.get("inventory"), f"{where}.inventory"),
    )


def _inventory(value: Any, where: str) -> str | None:
    """The manifest of the report a pass in progress reads; absent: the pass lists (or no pass is in progress)."""
    if value is not None and not (isinstance(value, str) and value.startswith("s3://")):
        raise StateError(f"{where} must be the s3:// location of an S3 Inventory manifest")
    return value


def _unnamed(value: Any, where: str) -> Unnamed:
    """[count, identity sum as 16 hex digits or null] and a 1 when some losses were not counted; absent (states
    written before it existed) is an empty ledger."""
    if value is None:
        return Unnamed()
    if (not isinstance(value, list) or len(value) not in (2, 3) or not isinstance(value[0], int)
            or isinstance(value[0], bool) or value[0] < 0
            or not (value[1] is None or (isinstance(value[1], str) and _HEX64.match(value[1])))
            or (len(value) == 3 and value[2] != 1)):
        raise StateError(f"{where} must be [count, 16 hex digits or null] or [count, sum, 1]")
    return Unnamed(value[0], None if value[1] is None else int(value[1], 16), len(value) == 3)


def _key_range(value: Any) -> KeyRange:
    if value is None:
        return WHOLE
    if not isinstance(value, list) or len(value) != 2 or not all(v is None or isinstance(v, str) for v in value):
        raise StateError("'key_range' must be [start, end], each a string or null")
    return KeyRange(value[0], value[1])


def is_fivetran_example_state(state: Mapping[str, Any]) -> bool:
    """The state Fivetran's example S3 connector leaves: `{"s3_objects": {"last_modified": ...}}`."""
    return set(state) == {"s3_objects"} and isinstance(state["s3_objects"], dict)


def load_state(state: Mapping[str, Any] | None) -> SyncState:
    """Validate and load a saved state; {} or None is a first sync."""
    if not state:
        return SyncState()
    if not isinstance(state, Mapping):
        raise StateError("it is not a JSON object")
    if is_fivetran_example_state(state):
        return SyncState()
    version = state.get("version")
    if version is None:
        raise StateError("it has no version number, so it was not written by this connector")
    if isinstance(version, bool) or not isinstance(version, int):
        raise StateError(f"its version {version!r} is not a whole number")
    if version > STATE_VERSION:
        raise StateError(f"it was written by a newer version of this connector (state version {version}, "
                         f"this code reads up to {STATE_VERSION}); deploy the newer version again")
    if version < 1:
        raise StateError(f"state version {version} is unknown")
    streams = state.get("streams", {})
    if not isinstance(streams, dict):
        raise StateError("'streams' must be an object")
    sources = state.get("restore_sources", {})
    if not isinstance(sources, dict) or not all(v in ("listing", "head") for v in sources.values()):
        raise StateError("'restore_sources' must map bucket names to \"listing\" or \"head\"")
    rebuild = state.get("versions_rebuild")
    if rebuild not in (None, REBUILD_DUE, REBUILD_RUNNING):
        raise StateError(f"'versions_rebuild' must be null, {REBUILD_DUE!r} or {REBUILD_RUNNING!r}")
    details = state.get("object_details", [])
    if not isinstance(details, list) or not all(d in OBJECT_DETAILS for d in details):
        raise StateError(f"'object_details' must be a list of {', '.join(OBJECT_DETAILS)}")
    unreported = state.get("unreported_deletes", [0, 0, 0])
    if not isinstance(unreported, list) or len(unreported) not in (3, 4):
        raise StateError("'unreported_deletes' must be [objects, ranges, uncounted ranges] or those and the ranges "
                         "counted at least")
    scope = state.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise StateError("'scope' must be a string or null")
    return SyncState({sid: _stream(sid, value, version) for sid, value in streams.items()}, dict(sources),
                     _timestamp(state.get("last_reconcile"), "last_reconcile"),
                     _timestamp(state.get("reconcile_started"), "reconcile_started"), rebuild, tuple(details),
                     tuple(_count(n, "unreported_deletes") or 0 for n in [*unreported, 0][:4]),  # type: ignore[arg-type]
                     scope,
                     _key_range(state.get("key_range")))
