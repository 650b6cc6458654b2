"""Known open bugs of the connector: the only failures the randomized test lets pass, each by a narrow classifier.

Each entry names the bug (issue 16 item or the model test's own finding), the deterministic regression test that
reproduces it (marked xfail), and a predicate over one `Failure` that recognises exactly its symptom. Delete an
entry when its fix lands: the regression test then passes (strict xfail fails, reminding you), and the randomized
test stops tolerating the symptom.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from s3_metadata.sketch import key_hash
from tests.model.judge import COLUMN, MISSING_ROW, RESEND, RESEND_DELETE, STALE_ROW, Failure


@dataclass(frozen=True)
class KnownBug:
    name: str
    description: str
    regression_test: str
    matches: Callable[[Failure], bool]


def _hard_delete(failure: Failure) -> bool:
    """A versioned bucket's row stays live after the key's every version was deleted by id (no delete marker is
    left for ListObjectVersions to show)."""
    return (failure.category == STALE_ROW and failure.facts.get("versioned") is True
            and failure.facts.get("versions_left") == 0)


def _resent_deletes(failure: Failure) -> bool:
    """A versioned bucket sends deletes again for keys whose rows are already deleted."""
    return failure.category == RESEND_DELETE and failure.facts.get("versioned") is True


def _tags_hide_restore(failure: Failure) -> bool:
    """With object_details=tags, an archived object whose GetObjectTagging fails keeps its old restore columns."""
    facts = failure.facts
    truth = facts.get("truth") or {}
    return (failure.category == COLUMN and facts.get("column") in ("restore_status", "restore_expiry")
            and "tags" in (facts.get("details") or ()) and truth.get("tags") is None
            and truth.get("storage_class") in ("GLACIER", "DEEP_ARCHIVE"))


def _key_hash_twin(failure: Failure) -> bool:
    """A delete and a new key with the same 16-bit key hash in one range count as one change: the deleted key's row
    stays live (versioned) or goes uncounted in the closing warning (unversioned: then any of that sync's new stale
    rows is the uncounted one)."""
    if failure.category != STALE_ROW:
        return False
    objects = failure.facts.get("objects") or set()
    stale = failure.facts.get("stale_keys") or ((failure.bucket, failure.key),)
    return any(key_hash(other) == key_hash(key) for bucket, key in stale for b, other in objects
               if b == bucket and other != key)


def _tags_dropped_resend(failure: Failure) -> bool:
    """Taking `tags` out of object_details sends again, unchanged, every object whose GetObjectTagging had failed."""
    return (failure.category == RESEND and str(failure.facts.get("tracked_before") or "").startswith("error:tags:")
            and "tags" not in (failure.facts.get("details") or ()))


def _event_mode_widened_scope(failure: Failure) -> bool:
    """In event mode, keys that patterns newly include (same LIST prefix) are never listed: no row, or a stale one."""
    return (failure.category in (MISSING_ROW, COLUMN) and failure.facts.get("event_sync") is True
            and failure.facts.get("was_out_of_scope") is True)


def _listing_after_events_resend(failure: Failure) -> bool:
    """A listing sync after event-mode syncs sends again every object those syncs already sent: events do not update
    the range digests."""
    return failure.category == RESEND and failure.facts.get("sent_by_events") is True


def _killed_sync_loses_delete_count(failure: Failure) -> bool:
    """Deletes of an unversioned bucket counted in ranges a killed sync finished are never reported: the resumed
    sync does not list those ranges again, and the killed one never reached its closing warning."""
    return (failure.category == STALE_ROW and failure.facts.get("versioned") is False
            and failure.facts.get("after_kill") is True)


KNOWN_BUGS: tuple[KnownBug, ...] = (
    KnownBug("hard-delete-versioned",
             "issue 16: a hard delete in a versioned bucket (DeleteObject with the VersionId of a key's only version) "
             "leaves the row live forever", "tests/model/test_regressions.py::test_hard_delete_in_versioned_bucket",
             _hard_delete),
    KnownBug("resent-deletes-versioned",
             "issue 16: versioned buckets re-send deletes for already-deleted keys of a range each time the range "
             "loses another object", "tests/model/test_regressions.py::test_deletes_are_not_sent_again",
             _resent_deletes),
    KnownBug("tags-failure-hides-restore",
             "issue 16: with object_details=tags, a GetObjectTagging failure on an archived object hides a later "
             "restore start", "tests/model/test_regressions.py::test_tagging_failure_hides_restore_start",
             _tags_hide_restore),
    KnownBug("key-hash-twins",
             "issue 16: a delete and a new key with the same 16-bit key hash in one range count as one change",
             "tests/model/test_regressions.py::test_delete_and_new_key_with_the_same_key_hash", _key_hash_twin),
    KnownBug("tags-dropped-resend",
             "model test (seed 7): taking tags out of object_details re-sends, unchanged, every object whose "
             "GetObjectTagging had failed", "tests/model/test_regressions.py::test_dropping_tags_sends_nothing",
             _tags_dropped_resend),
    KnownBug("event-mode-widened-patterns",
             "model test: in event mode, keys newly included by a pattern change under the same LIST prefix are "
             "never listed", "tests/model/test_regressions.py::test_event_mode_lists_keys_patterns_newly_include",
             _event_mode_widened_scope),
    KnownBug("listing-after-events-resends",
             "model test (seed 6): a listing sync after event-mode syncs (event mode turned off, or a stream added) "
             "sends again, unchanged, every object the events already sent",
             "tests/model/test_regressions.py::test_listing_after_event_mode_sends_only_changes",
             _listing_after_events_resend),
    KnownBug("killed-sync-loses-delete-count",
             "model test (seed 6): deletes of an unversioned bucket counted before a sync was killed are in no "
             "closing warning, so their rows stay live without a trace",
             "tests/model/test_regressions.py::test_deletes_counted_before_a_kill_are_reported",
             _killed_sync_loses_delete_count),
)


def classify(failure: Failure, known: tuple[KnownBug, ...] = KNOWN_BUGS) -> str | None:
    """The name of the known bug this failure is a symptom of, or None."""
    return next((bug.name for bug in known if bug.matches(failure)), None)
