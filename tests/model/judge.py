"""After every successful sync: what landed compared with the truth, and rows sent compared with rows that changed.

Every difference is a `Failure` with a category; documented limits are classified here and are not failures:
- a deleted object's row in an unversioned bucket, or in a versioned one when the key has no version left (every
  version deleted by id, or its delete marker removed), may stay live, but only as many new ones per sync as that
  sync's closing warning counted ("N objects deleted since the last sync"), unless the warning also says some ranges
  changed too much to count, and one more per deleted key sharing its 16-bit key hash with a key new in that sync;
  once counted, the row may stay until a reconciliation or a clean pass;
- rows of keys that were out of the configured scope (prefixes, patterns, buckets) at some sync since their row was
  last written are not removed (README, "Guarantees and limits"): such a row may be stale.
Rows sent are judged per key range of the state before the sync: a range whose keys differ from the table in at
most one key must send nothing that was already there (its sketch names a single change exactly); ranges with
more differences may send every object their sketch cannot prove unchanged (README, "Granularity"). Deletes are
judged per key: a delete for a row that is already deleted (or was never live) is a re-send.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

from s3_metadata.range_codec import decode_ranges
from s3_metadata.sketch import key_hash
from tests.model.oracle import VERSION_COLUMNS, Scope, column_of, columns_for, normalized

MISSING_ROW = "missing_row"
STALE_ROW = "stale_row"
COLUMN = "column"
VERSION_MISSING = "version_missing"
VERSION_EXTRA = "version_extra"
VERSION_COLUMN = "version_column"
RESEND = "resend"
RESEND_DELETE = "resend_delete"
VERSION_RESEND = "version_resend"
SYNC_FAILED = "sync_failed"

_DELETES_WARNING = re.compile(r"(\d+) objects deleted since the last sync in \d+ key ranges")
_UNCOUNTED_WARNING = re.compile(r"in (\d+) more ranges too much changed to count deletes")


@dataclass
class Failure:
    category: str
    round: int
    bucket: str = ""
    key: str = ""
    detail: str = ""
    facts: dict[str, Any] = field(default_factory=dict, compare=False)

    def describe(self) -> str:
        where = f" s3://{self.bucket}/{self.key}" if self.bucket else ""
        return f"round {self.round}: {self.category}{where}: {self.detail}"


@dataclass
class SyncRecord:
    """What one sync did, as the recording sink saw it."""

    upserts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    deletes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    truncates: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checkpoints: int = 0

    @property
    def event_sync(self) -> bool:
        return any(line.startswith("event mode: draining") for line in self.infos)

    @property
    def sends_everything(self) -> bool:
        """A pass that sends every object by design: a clean pass (empty state, reconciliation), or details newly
        chosen."""
        return bool(self.truncates) or any(line.startswith(("object_details now includes", "resuming the pass that "
                                                            "truncated")) for line in self.infos)

    def counted_deletes(self) -> tuple[int, int]:
        """(deletes counted, ranges whose deletes could not be counted) of the closing warning ("at least N" counts N)."""
        counted = uncounted = 0
        for line in self.warnings:
            if (match := _DELETES_WARNING.search(line)) is not None:
                counted += int(match.group(1))
            if (match := _UNCOUNTED_WARNING.search(line)) is not None:
                uncounted += int(match.group(1))
        return counted, uncounted


@dataclass
class Observation:
    """Everything one check needs: the truth after the sync, the tables before and after, and the states."""

    round: int
    scope: Scope
    details: tuple[str, ...]
    versioned: dict[str, bool]
    versions_synced: bool
    truth: dict[str, dict[str, dict[str, Any]]]  # bucket -> key -> row
    version_truth: dict[str, dict[tuple[str, str], dict[str, Any]]]  # bucket -> (key, version) -> row
    table_before: dict[tuple[str, str], dict[str, Any]]
    table_after: dict[tuple[str, str], dict[str, Any]]
    versions_before: dict[tuple[str, str, str], dict[str, Any]]
    versions_after: dict[tuple[str, str, str], dict[str, Any]]
    state_before: dict[str, Any]
    state_after: dict[str, Any]
    stream_prefixes: dict[str, list[str]]  # bucket -> LIST prefixes of the configuration
    record: SyncRecord
    objects: set[tuple[str, str]] = field(default_factory=set)  # every object S3 holds, in scope or not
    after_kill: bool = False  # a sync was killed since the last one checked
    # keys that still have a version or a delete marker (versioned buckets); None: not known
    with_versions: set[tuple[str, str]] | None = None
    facts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # extra facts per key, for classifiers


def _twins(seen: Observation, stale: list[tuple[str, str]]) -> int:
    """Deleted keys sharing their 16-bit key hash with a key new in this sync in their bucket: the count may leave out
    one lost key per such pair, which the sketch took for one changed object (documented in docs/change-capture.md,
    "Deletes": 1 in 65,536 per pair; the model makes such twins on purpose)."""
    new_hashes = {(bucket, key_hash(key)) for bucket, keys in seen.truth.items() for key in keys
                  if not live(seen.table_before.get((bucket, key)))}
    return sum((bucket, key_hash(key)) in new_hashes for bucket, key in stale)


def live(row: dict[str, Any] | None) -> bool:
    return row is not None and not row.get("_fivetran_deleted")


def tracked(state: dict[str, Any], bucket: str, key: str) -> str | None:
    """The status under which a state tracks `key` (a restore, a failed description), if it does."""
    for sid, stream in (state.get("streams") or {}).items():
        if sid.split("/", 1)[0] == bucket and key in (stream.get("restores") or {}):
            return stream["restores"][key][0]
    return None


def _same(row: dict[str, Any], truth: dict[str, Any], columns: tuple[str, ...]) -> list[str]:
    return [c for c in columns if normalized(c, column_of(row, c)) != normalized(c, truth.get(c))]


class Judge:
    """Compares after every successful sync, remembering what documented limits allow from one sync to the next."""

    def __init__(self) -> None:
        self.counted_stale: set[tuple[str, str]] = set()  # unversioned deletes a closing warning counted
        # Keys out of scope at a sync since their row was last written (or that were never synced).
        self.scope_gap: set[tuple[str, str]] = set()
        # Keys event-mode syncs changed since the last listing sync (range digests know nothing of those writes).
        self.sent_by_events: set[tuple[str, str]] = set()
        # The scope of the last listing sync, whose keys the range digests hold (event-mode syncs leave them alone).
        self.digest_scope: Scope | None = None

    def check(self, seen: Observation) -> list[Failure]:
        self._note_scope_gaps(seen)
        failures = self._objects(seen)
        if seen.versions_synced:
            failures += self._versions(seen)
        failures += self._resends(seen)
        written = {(row["bucket"], row["key"]) for table, row in seen.record.upserts + seen.record.deletes
                   if table == "s3_objects"}
        changed = {pk for pk in written if self._row_changed(seen.table_before.get(pk), seen.table_after.get(pk))}
        self.sent_by_events = self.sent_by_events | changed if seen.record.event_sync else set()
        if not seen.record.event_sync:
            self.digest_scope = seen.scope
        return failures

    @staticmethod
    def _row_changed(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
        if live(before) != live(after):
            return True
        return live(after) and any(normalized(c, before.get(c)) != normalized(c, after.get(c))  # type: ignore[union-attr]
                                   for c in after if not c.startswith("_fivetran"))  # type: ignore[union-attr]

    # -- memory
    def _note_scope_gaps(self, seen: Observation) -> None:
        written = {(row["bucket"], row["key"]) for table, row in seen.record.upserts if table == "s3_objects"}
        written |= {(row["bucket"], row["key"]) for table, row in seen.record.deletes if table == "s3_objects"}
        if seen.record.truncates:
            self.scope_gap = {pk for pk in self.scope_gap if not live(seen.table_after.get(pk))}
        self.scope_gap -= written
        self.scope_gap |= {pk for pk in seen.table_after.keys() | seen.objects if not seen.scope.covers(*pk)}

    # -- s3_objects
    def _objects(self, seen: Observation) -> list[Failure]:
        failures: list[Failure] = []
        columns = columns_for(seen.details)
        stale_unversioned: set[tuple[str, str]] = set()
        for bucket in seen.scope.buckets:
            truth = seen.truth[bucket]
            for key, expected in truth.items():
                row = seen.table_after.get((bucket, key))
                facts = {"versioned": seen.versioned[bucket], **seen.facts.get((bucket, key), {}),
                         "details": seen.details, "truth": expected, "row": row,
                         "event_sync": seen.record.event_sync, "was_out_of_scope": (bucket, key) in self.scope_gap}
                if not live(row):
                    failures.append(Failure(MISSING_ROW, seen.round, bucket, key,
                                            "no live row" if row is None else "row marked deleted", facts))
                    continue
                for column in _same(row, expected, columns):
                    failures.append(Failure(COLUMN, seen.round, bucket, key,
                                            f"{column}: table {column_of(row, column)!r}, S3 {expected.get(column)!r}",
                                            {**facts, "column": column}))
        self.counted_stale = {pk for pk in self.counted_stale
                              if live(seen.table_after.get(pk)) and pk[1] not in seen.truth.get(pk[0], {})}
        for (bucket, key), row in seen.table_after.items():
            if not live(row) or not seen.scope.covers(bucket, key) or key in seen.truth[bucket]:
                continue
            if (bucket, key) in self.scope_gap or (bucket, key) in self.counted_stale:
                continue  # documented: rows of keys once out of scope are not removed; a counted delete's stays
            deleted_for_good = seen.with_versions is not None and (bucket, key) not in seen.with_versions
            if (not seen.versioned[bucket] or deleted_for_good) and not seen.record.event_sync:
                stale_unversioned.add((bucket, key))  # S3 keeps no trace to name it by: counted, not marked
                continue
            facts = {"versioned": seen.versioned[bucket], **seen.facts.get((bucket, key), {}), "row": row}
            failures.append(Failure(STALE_ROW, seen.round, bucket, key, "live row, no object in S3", facts))
        failures += self._unversioned_deletes(seen, stale_unversioned)
        return failures

    def _unversioned_deletes(self, seen: Observation, stale: set[tuple[str, str]]) -> list[Failure]:
        """Deleted objects of unversioned buckets may keep their rows only as far as a closing warning counted them."""
        new = sorted(stale)
        if not new:
            return []
        counted, uncounted = seen.record.counted_deletes()
        if uncounted or len(new) <= counted + _twins(seen, new):
            self.counted_stale |= set(new)
            return []
        self.counted_stale |= set(new)
        return [Failure(STALE_ROW, seen.round, bucket, key,
                        f"live row of a deleted object in an unversioned bucket: {len(new)} such rows new in this "
                        f"sync, the closing warning counted {counted}",
                        {"versioned": False, **seen.facts.get((bucket, key), {}), "warned": counted,
                         "after_kill": seen.after_kill, "stale_keys": tuple(new)})
                for bucket, key in new]

    # -- s3_object_versions
    def _versions(self, seen: Observation) -> list[Failure]:
        failures: list[Failure] = []
        for bucket in seen.scope.buckets:
            if not seen.versioned[bucket]:
                continue
            truth = seen.version_truth[bucket]
            for (key, version), expected in truth.items():
                row = seen.versions_after.get((bucket, key, version))
                facts = {**seen.facts.get((bucket, key), {}), "truth": expected, "row": row}
                if not live(row):
                    if (bucket, key) not in self.scope_gap:
                        failures.append(Failure(VERSION_MISSING, seen.round, bucket, key, f"version {version}", facts))
                    continue
                for column in _same(row, expected, VERSION_COLUMNS):
                    failures.append(Failure(VERSION_COLUMN, seen.round, bucket, key,
                                            f"version {version} {column}: table {column_of(row, column)!r}, S3 "
                                            f"{expected.get(column)!r}", {**facts, "column": column}))
            for (row_bucket, key, version), row in seen.versions_after.items():
                if row_bucket != bucket or not live(row) or not seen.scope.covers(bucket, key):
                    continue
                if (key, version) not in truth and (bucket, key) not in self.scope_gap:
                    failures.append(Failure(VERSION_EXTRA, seen.round, bucket, key,
                                            f"live row of version {version}, which S3 no longer has",
                                            {**seen.facts.get((bucket, key), {}), "row": row}))
        return failures

    # -- rows sent against rows changed
    def _resends(self, seen: Observation) -> list[Failure]:
        record = seen.record
        if record.sends_everything or record.event_sync:
            return []
        failures: list[Failure] = []
        differing = self._differing_by_range(seen)
        for table, row in record.upserts:
            if table != "s3_objects":
                continue
            pk = (row["bucket"], row["key"])
            before = seen.table_before.get(pk)
            if not live(before) or any(normalized(c, column_of(before, c)) != normalized(c, v) for c, v in row.items()):
                continue
            if self._entered_scope(seen, pk):
                continue  # new to the range's digest: the connector cannot know the table kept its row
            where, count = differing(pk)
            if where is None or count >= 2:
                continue  # a range without a digest, or with changes its sketch may not have been able to name
            failures.append(Failure(RESEND, seen.round, *pk,
                                    f"row sent again unchanged; its key range ({where}) has {count} changed keys",
                                    {"versioned": seen.versioned.get(pk[0]), **seen.facts.get(pk, {}),
                                     "details": seen.details, "tracked_before": tracked(seen.state_before, *pk),
                                     "sent_by_events": pk in self.sent_by_events}))
        for table, keys in record.deletes:
            if table != "s3_objects":
                continue
            pk = (keys["bucket"], keys["key"])
            if not live(seen.table_before.get(pk)):
                state = "already deleted" if pk in seen.table_before else "never synced"
                failures.append(Failure(RESEND_DELETE, seen.round, *pk, f"delete sent for a row {state}",
                                        {"versioned": seen.versioned.get(pk[0]),
                                         "uncounted_ranges": seen.record.counted_deletes()[1], **seen.facts.get(pk, {})}))
        failures += self._version_resends(seen)
        return failures

    def _entered_scope(self, seen: Observation, pk: tuple[str, str]) -> bool:
        """A key the scope covers now and did not at the last listing sync, whose range digests hold no such key."""
        return self.digest_scope is not None and seen.scope.covers(*pk) and not self.digest_scope.covers(*pk)

    def _differing_by_range(self, seen: Observation) -> Any:
        """A function from a key to (its range in the state before the sync, the keys of that range whose row
        differs from the truth after it); (None, 0) when the range had no digest (everything in it is sent)."""
        columns = columns_for(seen.details)
        cache: dict[tuple[str, str, str | None], int] = {}

        def stream_of(bucket: str, key: str) -> tuple[str, list[list[Any]]] | None:
            """The stream's ranges before the sync; None when the sync could not use their digests (a new stream,
            or digests that no longer cover the same columns: the restore-status mode changed)."""
            for prefix in seen.stream_prefixes.get(bucket, []):
                if key.startswith(prefix):
                    sid = f"{bucket}/{prefix}"
                    stream = seen.state_before.get("streams", {}).get(sid)
                    after = seen.state_after.get("streams", {}).get(sid) or {}
                    if not stream or stream.get("digest_mode") != after.get("digest_mode"):
                        return None
                    ranges = stream["ranges"]
                    if isinstance(ranges, str):  # state version 3: the compact text of range_codec
                        ranges = [[e.hi, e.count, e.digest] for e in decode_ranges(ranges)]
                    return prefix, ranges
            return None

        def differs(bucket: str, key: str) -> bool:
            row, truth = seen.table_before.get((bucket, key)), seen.truth[bucket].get(key)
            if truth is None:
                return live(row)
            return not live(row) or bool(_same(row, truth, columns))

        def find(pk: tuple[str, str]) -> tuple[str | None, int]:
            bucket, key = pk
            found = stream_of(bucket, key)
            if found is None:
                return None, 0
            prefix, ranges = found
            his = [entry[0] for entry in ranges]
            closed = [hi for hi in his if hi is not None]
            index = bisect.bisect_left(closed, key)
            entry = ranges[index] if index < len(closed) else ranges[-1]
            if entry[1] is None or entry[2] is None:
                return None, 0
            lo = closed[index - 1] if index > 0 else None
            hi = entry[0]
            label = f"({lo!r}, {hi!r}]"
            if (bucket, prefix, hi) not in cache:
                keys = {k for (b, k) in seen.table_before.keys() | seen.objects if b == bucket}
                inside = [k for k in keys if k.startswith(prefix) and (lo is None or k > lo) and (hi is None or k <= hi)]
                # A key the patterns no longer cover left the range's digest: to the sketch it is a delete.
                left = [k for k in inside if not seen.scope.covers(bucket, k) and self.digest_scope is not None
                        and self.digest_scope.covers(bucket, k)]
                # So is a key event-mode syncs wrote: the table has it, the digest does not; and a key the patterns
                # cover again is new to it, whatever its row.
                changed = [k for k in inside if seen.scope.covers(bucket, k)
                           and (differs(bucket, k) or (bucket, k) in self.sent_by_events
                                or self._entered_scope(seen, (bucket, k)))]
                cache[(bucket, prefix, hi)] = len(left) + len(changed)
            return label, cache[(bucket, prefix, hi)]
        return find

    def _version_resends(self, seen: Observation) -> list[Failure]:
        """Versions are sent per key with all their versions, and a removal rebuilds the table: only a bucket whose
        versions did not change at all must send no version row."""
        sent = [row for table, row in seen.record.upserts if table == "s3_object_versions"]
        if not sent or any(line.startswith("rebuilding s3_object_versions") for line in seen.record.infos):
            return []
        failures = []
        for bucket in {row["bucket"] for row in sent}:
            truth = seen.version_truth.get(bucket, {})
            before = {(k, v): row for (b, k, v), row in seen.versions_before.items() if b == bucket and live(row)}
            changed = set(truth) ^ set(before) or any(_same(before[pk], truth[pk], VERSION_COLUMNS)
                                                      for pk in truth if pk in before)
            if not changed:
                count = sum(1 for row in sent if row["bucket"] == bucket)
                failures.append(Failure(VERSION_RESEND, seen.round, bucket, "",
                                        f"{count} version rows sent though no version changed"))
        return failures
