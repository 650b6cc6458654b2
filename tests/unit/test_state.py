"""Unit tests for s3_metadata.state: the saved format, loading with validation, and no secrets in it."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from s3_metadata.configuration import parse_configuration
from s3_metadata.ranges import MASK, RangeEntry
from s3_metadata.restore import ARCHIVED, IN_PROGRESS, RESTORED, RestoreInfo
from s3_metadata.sketch import Sketch
from s3_metadata.deletes import Unnamed
from s3_metadata.state import (
    DIGEST_LISTING_RESTORE, STATE_VERSION, StateError, StreamState, SyncState,
    is_fivetran_example_state, load_state, stream_id,
)

UTC = timezone.utc
WATERMARK = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
LONG_KEY = "logs/" + "\U0001f600" * 200 + "k" * 219  # 1024 UTF-8 bytes, S3's maximum key length


def rich_state() -> SyncState:
    state = SyncState()
    logs = state.stream("data-bucket", "logs/")
    logs.watermark = WATERMARK
    logs.pass_started = datetime(2024, 5, 2, 14, 0, tzinfo=timezone(timedelta(hours=2)))  # stored as UTC
    logs.digest_mode = DIGEST_LISTING_RESTORE
    logs.passes = 7
    logs.ranges = [
        RangeEntry("logs/a", 10, 0, True),
        RangeEntry("logs/d\u00e9j\u00e0/\u65e5\u672c", 5, MASK, False),
        RangeEntry("logs/z\n\t", 0, 0, False),
        RangeEntry(LONG_KEY, None, None, True),  # U+1F600 sorts after every ASCII character
        RangeEntry(None, 3, 0x0123456789ABCDEF, False),
    ]
    logs.restores = {
        "logs/glacier/in-progress": RestoreInfo(IN_PROGRESS),
        "logs/glacier/restored": RestoreInfo(RESTORED, datetime(2024, 6, 1, tzinfo=UTC), None),
        "logs/it/restored": RestoreInfo(RESTORED, datetime(2024, 6, 2, 3, 4, 5, tzinfo=UTC), "ARCHIVE_ACCESS"),
        "logs/\u00e9t\u00e9/\U0001f600": RestoreInfo("error:AccessDenied"),
        "logs/it/deep": RestoreInfo(ARCHIVED, None, "DEEP_ARCHIVE_ACCESS"),
        LONG_KEY: RestoreInfo("error:UnreadableRestoreHeader"),
    }
    archive = state.stream("archive-bucket", "")
    archive.ranges = [RangeEntry(None)]
    raw = state.stream("data-bucket", "raw/")
    raw.watermark = WATERMARK
    raw.unnamed = Unnamed(2, 0xFFFF_0000_1234_5678)
    state.object_details = ("head", "tags")
    return state


def test_round_trip_of_rich_state_through_json():
    state = rich_state()
    text = json.dumps(state.to_json())
    loaded = load_state(json.loads(text))
    assert loaded == state
    assert loaded.to_json() == state.to_json()
    assert loaded.streams["data-bucket/logs/"].pass_started == datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
    assert loaded.streams["data-bucket/logs/"].pass_started.tzinfo == UTC


@pytest.mark.parametrize("value", [[1], [-1, None], [1, "xyz"], ["1", None], [True, None], {"count": 1}])
def test_an_unreadable_ledger_of_unnamed_deletes_is_refused(value):
    with pytest.raises(StateError, match=r"unnamed must be \[count"):
        load_state({"version": 3, "streams": {"b/": {"unnamed": value}}})


def test_a_ledger_is_stored_only_while_it_holds_keys():
    stream = StreamState("b", "")
    assert "unnamed" not in stream.to_json()
    stream.unnamed = Unnamed(1, None)
    assert stream.to_json()["unnamed"] == [1, None]
    assert load_state({"version": 3, "streams": {"b/": {"unnamed": [1, None]}}}).streams["b/"].unnamed == Unnamed(1, None)


def test_the_report_a_pass_reads_is_stored_only_while_it_reads_it():
    stream = StreamState("b", "")
    assert "inventory" not in stream.to_json()
    stream.inventory = "s3://inv/i/b/daily/2024-05-01T00-00Z/manifest.json"
    assert stream.to_json()["inventory"] == stream.inventory
    loaded = load_state({"version": 3, "streams": {"b/": {"inventory": stream.inventory}}})
    assert loaded.streams["b/"].inventory == stream.inventory
    assert load_state({"version": 3, "streams": {"b/": {}}}).streams["b/"].inventory is None


@pytest.mark.parametrize("value", [1, "inv/manifest.json", ["s3://x"]])
def test_an_unreadable_report_location_is_refused(value):
    with pytest.raises(StateError, match="inventory must be the s3:// location"):
        load_state({"version": 3, "streams": {"b/": {"inventory": value}}})


def test_saved_format_is_stable():
    """The state is stored by Fivetran between syncs and read by later versions: its layout is a contract."""
    state = SyncState()
    stream = state.stream("b", "p/")
    stream.watermark = datetime(2024, 1, 1, tzinfo=UTC)
    stream.passes = 1
    stream.ranges = [RangeEntry("p/k", 2, 255, True), RangeEntry(None)]
    stream.restores = {"p/k": RestoreInfo(RESTORED, datetime(2024, 2, 1, tzinfo=UTC))}
    stream.version_ranges = [RangeEntry("p/k", 1, 16, False, 17), RangeEntry(None)]
    stream.version_passes = 1
    stream.restores["p/t"] = RestoreInfo(note="tags:AccessDenied")
    assert state.to_json() == {"version": 3, "streams": {"b/p/": {
        "watermark": "2024-01-01T00:00:00+00:00",
        "pass_started": None,
        "digest_mode": "listing",
        "passes": 1,
        # range_codec: format 1; ("p/k", count 2, digest 255, done), (open range)
        "ranges": "0R{jAa4%~D00000000300R",
        "restores": {"p/k": ["restored", "2024-02-01T00:00:00+00:00", None],
                     "p/t": [None, None, None, "tags:AccessDenied"]},
        # ("p/k", count 1, digest 16, ids 17), (open range)
        "version_ranges": "0SW*Ea4%~C000000000G000000000H0R",
        "version_passes": 1,
    }}, "restore_sources": {}, "last_reconcile": None, "reconcile_started": None, "versions_rebuild": None,
        "object_details": [], "unreported_deletes": [0, 0, 0], "scope": None}


def test_sketch_round_trips_and_an_unreadable_one_is_refused():
    from s3_metadata.ranges import RangeScanner
    from s3_metadata.rows import ListedObject
    scanner = RangeScanner(None, RangeEntry(None), 250, False)
    scanner.add(ListedObject("p/a", datetime(2024, 1, 1, tzinfo=UTC), "e", 1, "STANDARD"))
    (entry,) = scanner.finish().replacement
    state = SyncState()
    state.stream("b", "p/").ranges = [entry]
    saved = json.loads(json.dumps(state.to_json()))
    assert entry.sketch is not None and entry.ids is not None
    assert load_state(saved).streams["b/p/"].ranges == [entry]
    version_2 = {**saved, "version": 2}
    version_2["streams"] = {"b/p/": {**saved["streams"]["b/p/"], "ranges": [
        [entry.hi, entry.count, f"{entry.digest:016x}", int(entry.done), None, Sketch.from_bytes(entry.sketch).to_text()]]}}
    assert load_state(version_2).streams["b/p/"].ranges == [replace(entry, ids=None)]
    version_2["streams"]["b/p/"]["ranges"][0][5] = "not base85 \\"
    with pytest.raises(StateError, match="sketch"):
        load_state(version_2)
    saved["streams"]["b/p/"]["ranges"] = saved["streams"]["b/p/"]["ranges"][:-3]
    with pytest.raises(StateError, match="cannot be read: it ends in the middle of a range"):
        load_state(saved)


def test_version_1_state_is_migrated_not_discarded():
    """A state the previous version wrote loads with its ranges and digests intact; the new fields start empty."""
    v1 = {"version": 1, "streams": {"b/p/": {
        "watermark": "2024-01-01T00:00:00+00:00", "pass_started": None, "digest_mode": "listing+restore",
        "passes": 3, "ranges": [["p/k", 2, "00000000000000ff", 0], [None, 5, "0000000000000001", 0]],
        "restores": {}}}, "restore_sources": {"b": "listing"}, "last_reconcile": None, "reconcile_started": None}
    loaded = load_state(v1)
    stream = loaded.streams["b/p/"]
    assert stream.ranges == [RangeEntry("p/k", 2, 255), RangeEntry(None, 5, 1)]
    assert (stream.passes, stream.digest_mode, stream.version_ranges, stream.version_passes) == (
        3, "listing+restore", [], 0)
    assert loaded.restore_sources == {"b": "listing"} and loaded.versions_rebuild is None
    assert loaded.object_details == ()
    assert loaded.to_json()["version"] == 3


def test_version_2_tracked_values_become_notes():
    """Version 2 mixed a failed tagging and a pending replication into the restore status; version 3 keeps them apart
    (issue 16 item 3), so a restore that starts while tagging fails is still seen."""
    v2 = {"version": 2, "streams": {"b/": {"passes": 1, "ranges": [[None, 0, "0000000000000000", 0]], "restores": {
        "t": ["error:tags:AccessDenied", None, None],
        "r": ["replication-pending:restored", "2024-02-01T00:00:00+00:00", None],
        "e": ["error:SlowDown", None, None],
        "p": ["in_progress", None, None]}}}}
    restores = load_state(v2).streams["b/"].restores
    assert restores == {"t": RestoreInfo(note="tags:AccessDenied"),
                        "r": RestoreInfo(RESTORED, datetime(2024, 2, 1, tzinfo=UTC), note="replication:PENDING"),
                        "e": RestoreInfo("error:SlowDown"), "p": RestoreInfo(IN_PROGRESS)}
    assert load_state(load_state(v2).to_json()).streams["b/"].restores == restores


def test_streams_and_restores_are_written_sorted():
    """Sorted output keeps checkpoints byte-identical when nothing changed."""
    state = SyncState()
    state.stream("zeta", "")
    state.stream("alpha", "")
    state.stream("alpha", "").restores = {"b": RestoreInfo(IN_PROGRESS), "a": RestoreInfo(IN_PROGRESS)}
    saved = state.to_json()
    assert list(saved["streams"]) == ["alpha/", "zeta/"]
    assert list(saved["streams"]["alpha/"]["restores"]) == ["a", "b"]


@pytest.mark.parametrize("saved", [
    pytest.param(None, id="none"),
    pytest.param({}, id="empty-object"),
    pytest.param({"s3_objects": {"last_modified": "2024-01-01T00:00:00Z"}}, id="fivetran-example-state"),
    pytest.param({"s3_objects": {}}, id="fivetran-example-state-empty"),
    pytest.param({"version": 1}, id="version-only"),
    pytest.param({"version": 1, "streams": {}}, id="no-streams"),
])
def test_load_empty_states(saved):
    assert load_state(saved) == SyncState()


@pytest.mark.parametrize("saved, expected", [
    pytest.param({"s3_objects": {"last_modified": "x"}}, True, id="example"),
    pytest.param({"s3_objects": {}}, True, id="example-empty"),
    pytest.param({"s3_objects": "x"}, False, id="not-an-object"),
    pytest.param({"s3_objects": {}, "version": 1}, False, id="extra-key"),
    pytest.param({"version": 1, "streams": {}}, False, id="ours"),
])
def test_is_fivetran_example_state(saved, expected):
    assert is_fivetran_example_state(saved) is expected


def test_load_stream_with_defaults():
    loaded = load_state({"version": 1, "streams": {"my-bucket/": {}}})
    assert loaded.streams == {"my-bucket/": StreamState("my-bucket", "")}


def test_stream_id_splits_on_first_slash_only():
    """Bucket names never contain '/', so a prefix with slashes round-trips."""
    loaded = load_state({"version": 1, "streams": {stream_id("b", "a/b/c/"): {}}})
    stream = loaded.streams["b/a/b/c/"]
    assert (stream.bucket, stream.prefix) == ("b", "a/b/c/")


def good_stream(**overrides):
    value = {"watermark": "2024-01-01T00:00:00+00:00", "pass_started": None, "digest_mode": "listing",
             "passes": 1, "ranges": [["k", 1, "0000000000000001", 0], [None, 2, "0000000000000002", 1]],
             "restores": {"k": ["restored", "2024-02-01T00:00:00+00:00", None]}}
    value.update(overrides)
    return {"version": 1, "streams": {"b/p": value}}


def test_good_stream_helper_is_valid():
    """The error cases below each break one thing in this state; on its own it must load."""
    loaded = load_state(good_stream())
    assert loaded.streams["b/p"].ranges == [RangeEntry("k", 1, 1, False), RangeEntry(None, 2, 2, True)]


@pytest.mark.parametrize("saved, problem", [
    pytest.param(["version", 1], "it is not a JSON object", id="list"),
    pytest.param("state", "it is not a JSON object", id="string"),
    pytest.param({"streams": {}}, "it has no version number", id="missing-version"),
    pytest.param({"version": None, "streams": {}}, "it has no version number", id="null-version"),
    pytest.param({"version": "1"}, "its version '1' is not a whole number", id="version-string"),
    pytest.param({"version": 1.0}, "is not a whole number", id="version-float"),
    pytest.param({"version": True}, "is not a whole number", id="version-bool"),
    pytest.param({"version": STATE_VERSION + 1}, "written by a newer version of this connector", id="newer-version"),
    pytest.param({"version": 0}, "state version 0 is unknown", id="version-zero"),
    pytest.param({"version": -1}, "state version -1 is unknown", id="version-negative"),
    pytest.param({"version": 1, "streams": []}, "'streams' must be an object", id="streams-list"),
    pytest.param({"version": 2, "object_details": "head"}, "'object_details' must be a list of head, tags",
                 id="details-not-a-list"),
    pytest.param({"version": 2, "object_details": ["head", "acl"]}, "'object_details' must be a list of head, tags",
                 id="details-unknown"),
    pytest.param({"version": 1, "streams": {"b/p": []}}, "streams['b/p'] must be an object", id="stream-list"),
    pytest.param({"version": 1, "streams": {"bucket": {}}}, "is not a 'bucket/prefix' stream id", id="sid-no-slash"),
    pytest.param({"version": 1, "streams": {"/prefix": {}}}, "is not a 'bucket/prefix' stream id",
                 id="sid-empty-bucket"),
    pytest.param(good_stream(digest_mode="sha1"), "digest_mode must be one of", id="digest-mode"),
    pytest.param(good_stream(watermark=1714560000), "watermark must be an ISO 8601 timestamp",
                 id="watermark-number"),
    pytest.param(good_stream(watermark="2024-01-01T00:00:00"), "watermark is not an ISO 8601 timestamp with a UTC",
                 id="watermark-naive"),
    pytest.param(good_stream(watermark="yesterday"), "watermark is not an ISO 8601 timestamp", id="watermark-text"),
    pytest.param(good_stream(pass_started="2024-13-01T00:00:00+00:00"), "pass_started is not an ISO 8601",
                 id="pass-started-bad-month"),
    pytest.param(good_stream(passes=-1), "passes must be a non-negative integer", id="passes-negative"),
    pytest.param(good_stream(passes="3"), "passes must be a non-negative integer", id="passes-string"),
    pytest.param(good_stream(ranges={}), "ranges must be a list", id="ranges-object"),
    pytest.param(good_stream(ranges=[["k", 1, "0000000000000001"], [None, 0, None, 0]]),
                 "ranges[0] must be [hi, count, digest, done, ids?, sketch?]", id="range-three-items"),
    pytest.param(good_stream(ranges=["k", [None, 0, None, 0]]), "ranges[0] must be [hi, count, digest, done, ids?, sketch?]",
                 id="range-not-a-list"),
    pytest.param(good_stream(ranges=[[5, 1, None, 0], [None, 0, None, 0]]), "ranges[0] has a boundary that is not",
                 id="boundary-number"),
    pytest.param(good_stream(ranges=[[None, 1, "000000000000000G", 0]]), "digest that is not 16 hex digits",
                 id="digest-not-hex"),
    pytest.param(good_stream(ranges=[[None, 1, "00000000000000FF", 0]]), "digest that is not 16 hex digits",
                 id="digest-uppercase"),
    pytest.param(good_stream(ranges=[[None, 1, "ff", 0]]), "digest that is not 16 hex digits", id="digest-short"),
    pytest.param(good_stream(ranges=[[None, 1, "00000000000000001", 0]]), "digest that is not 16 hex digits",
                 id="digest-long"),
    pytest.param(good_stream(ranges=[[None, 1, 255, 0]]), "digest that is not 16 hex digits", id="digest-number"),
    pytest.param(good_stream(ranges=[[None, 1, None, 2]]), "done flag that is not 0 or 1", id="done-two"),
    pytest.param(good_stream(ranges=[[None, 1, None, "1"]]), "done flag that is not 0 or 1", id="done-string"),
    pytest.param(good_stream(ranges=[[None, -1, None, 0]]), "ranges[0] must be a non-negative integer",
                 id="count-negative"),
    pytest.param(good_stream(ranges=[[None, "3", None, 0]]), "must be a non-negative integer", id="count-string"),
    pytest.param(good_stream(ranges=[[None, True, None, 0]]), "must be a non-negative integer", id="count-bool"),
    pytest.param(good_stream(ranges=[[None, 1.5, None, 0]]), "must be a non-negative integer", id="count-float"),
    pytest.param(good_stream(ranges=[["a", 1, None, 0], ["b", 1, None, 0]]), "must end with the open range",
                 id="no-open-range"),
    pytest.param(good_stream(ranges=[["a", 1, None, 0], [None, 1, None, 0], ["b", 1, None, 0]]),
                 "must end with the open range", id="open-range-not-last"),
    pytest.param(good_stream(ranges=[[None, 1, None, 0], [None, 1, None, 0]]), "and have no other",
                 id="two-open-ranges"),
    pytest.param(good_stream(ranges=[["b", 1, None, 0], ["a", 1, None, 0], [None, 1, None, 0]]),
                 "boundaries are not in increasing key order", id="unsorted-boundaries"),
    pytest.param(good_stream(ranges=[["a", 1, None, 0], ["a", 1, None, 0], [None, 1, None, 0]]),
                 "boundaries are not in increasing key order", id="duplicate-boundaries"),
    pytest.param(good_stream(ranges=[["a", 1, None, 0], ["c", 1, None, 0], ["b", 1, None, 0], [None, 1, None, 0]]),
                 "boundaries are not in increasing key order", id="unsorted-late"),
    pytest.param(good_stream(restores=[]), "restores must be an object", id="restores-list"),
    pytest.param(good_stream(restores={"k": ["restored", None]}), "must be [status, expiry, archive_status, note?]",
                 id="restore-two-items"),
    pytest.param(good_stream(restores={"k": "restored"}), "must be [status, expiry, archive_status, note?]",
                 id="restore-not-a-list"),
    pytest.param(good_stream(restores={"k": [None, None, None, "gossip"]}), "has an unknown note 'gossip'",
                 id="restore-unknown-note"),
    pytest.param(good_stream(ranges="not base85 \\"), "cannot be read: it is not base85 text", id="ranges-not-base85"),
    pytest.param(good_stream(ranges="0000"), "cannot be read: its format is not 1", id="ranges-unknown-format"),
    pytest.param(good_stream(restores={"k": ["thawed", None, None]}), "has an unknown restore status 'thawed'",
                 id="restore-unknown-status"),
    pytest.param(good_stream(restores={"k": [None, None, None]}), "has an unknown restore status None",
                 id="restore-null-status"),
    pytest.param(good_stream(restores={"k": ["error", None, None]}), "has an unknown restore status 'error'",
                 id="restore-error-without-code"),
    pytest.param(good_stream(restores={"k": ["restored", "2024-02-01", None]}), "expiry is not an ISO 8601",
                 id="restore-expiry-naive"),
    pytest.param(good_stream(restores={"k": ["restored", 1, None]}), "expiry must be an ISO 8601",
                 id="restore-expiry-number"),
    pytest.param(good_stream(restores={"k": ["restored", None, 1]}), "archive status that is not a string",
                 id="restore-archive-status-number"),
])
def test_load_state_errors(saved, problem):
    with pytest.raises(StateError) as caught:
        load_state(saved)
    message = str(caught.value)
    assert problem in message
    assert message.startswith("The saved state cannot be read: ")
    assert "Nothing was synced" in message
    # How to recover: restore a hand-edited state, or re-sync / delete the local state file.
    assert "re-sync the connection from the Fivetran dashboard" in message
    assert "files/state.json" in message


def test_newer_version_error_says_to_deploy_again():
    with pytest.raises(StateError, match="deploy the newer version again"):
        load_state({"version": STATE_VERSION + 1, "streams": {"b/": {"something": "new"}}})


@pytest.mark.parametrize("saved, where", [
    pytest.param(good_stream(ranges=[["k", 1, None, 0], [None, 1, None, 7]]), "streams['b/p'].ranges[1]",
                 id="range-index"),
    pytest.param(good_stream(restores={"some/key": ["x", None, None]}), "streams['b/p'].restores['some/key']",
                 id="restore-key"),
    pytest.param(good_stream(watermark="x"), "streams['b/p'].watermark", id="watermark"),
])
def test_load_state_error_says_where(saved, where):
    with pytest.raises(StateError) as caught:
        load_state(saved)
    assert where in str(caught.value)


@pytest.mark.parametrize("status", [
    pytest.param(IN_PROGRESS, id="in-progress"),
    pytest.param(RESTORED, id="restored"),
    pytest.param(ARCHIVED, id="archived"),
    pytest.param("error:AccessDenied", id="error"),
    pytest.param("error:", id="error-empty-code"),
])
def test_load_state_accepts_every_trackable_status(status):
    loaded = load_state(good_stream(restores={"k": [status, None, None]}))
    assert loaded.streams["b/p"].restores == {"k": RestoreInfo(status)}


@pytest.mark.parametrize("ranges, expected", [
    pytest.param([], None, id="no-ranges"),
    pytest.param([RangeEntry("a", 2, 0), RangeEntry(None, 3, 0)], 5, id="all-known"),
    pytest.param([RangeEntry("a", 2, 0), RangeEntry(None)], None, id="one-unknown"),
    pytest.param([RangeEntry(None, 0, 0)], 0, id="empty-bucket"),
])
def test_known_objects(ranges, expected):
    assert StreamState("b", "", ranges=ranges).known_objects == expected


@pytest.mark.parametrize("pass_started, in_pass", [
    pytest.param(None, False, id="between-passes"),
    pytest.param(WATERMARK, True, id="pass-running"),
])
def test_in_pass(pass_started, in_pass):
    assert StreamState("b", "", pass_started=pass_started).in_pass is in_pass


def test_sync_state_stream_creates_once():
    state = SyncState()
    first = state.stream("b", "p/")
    first.passes = 3
    assert state.stream("b", "p/") is first
    assert list(state.streams) == ["b/p/"]


def test_state_json_never_contains_secrets(harness, small_pages, monkeypatch, capfd):
    """A real sync with every secret the configuration can hold (static keys with a session token, a role assumed
    with an external id, through moto's STS): no secret, nor the role's own credentials, may appear in the saved
    state, in any checkpoint on the way, or in any line the sync logs."""
    import connector
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sts.models import sts_backends

    secrets = {"aws_secret_access_key": "sEcReT/value+that-must-not-leak",
               "aws_session_token": "SeSsIoN-ToKeN-that-must-not-leak", "external_id": "ExTeRnAl-Id-that-must-not-leak"}
    configuration = {"bucket": "data-bucket,other-bucket", "prefix": "logs/,raw/", "aws_access_key_id":
                     "AKIAIOSFODNN7EXAMPLE", "role_arn": "arn:aws:iam::123456789012:role/r", **secrets}
    assert set(parse_configuration(configuration).secret_values()) == set(secrets.values())
    for bucket in ("data-bucket", "other-bucket"):
        harness.s3.create_bucket(bucket)
        for i in range(130):  # more than a checkpoint's worth per bucket (small_pages)
            harness.s3.put(bucket, f"{'logs' if i % 2 else 'raw'}/{i:03d}", b"x",
                           storage_class="GLACIER" if i % 10 == 0 else None)
        harness.s3.start_restore(bucket, "raw/000")
    checkpoints: list[str] = []
    original = connector.op.checkpoint
    monkeypatch.setattr(connector.op, "checkpoint", lambda state: (checkpoints.append(json.dumps(state)),
                                                                    original(state))[1])
    capfd.readouterr()
    result = harness.sync(configuration)
    assert result.ok, result.error
    logged = capfd.readouterr()
    roles = [role for backend in sts_backends[DEFAULT_ACCOUNT_ID].values() for role in backend.assumed_roles]
    assert roles  # the sync did assume the role: its credentials are searched for too
    searched = [*secrets.values(), *(r.secret_access_key for r in roles), *(r.session_token for r in roles)]
    saved = harness.state_path.read_text()
    assert len(checkpoints) >= 2 and "data-bucket/logs/" in saved and "restores" in saved
    assert "sync summary" in logged.out  # the log lines were captured
    for text in (saved, *checkpoints, logged.out, logged.err):
        for secret in searched:
            assert secret not in text


@pytest.mark.parametrize("saved, loaded, written", [
    pytest.param([3, 1, 0], (3, 1, 0, 0), [3, 1, 0], id="three-numbers-as-before"),
    pytest.param([3, 1, 0, 1], (3, 1, 0, 1), [3, 1, 0, 1], id="a-count-that-is-a-lower-bound"),
    pytest.param([3, 1, 0, 0], (3, 1, 0, 0), [3, 1, 0], id="written-back-as-three-while-exact"),
])
def test_unreported_deletes_keep_whether_their_count_is_a_lower_bound(saved, loaded, written):
    state = load_state({"version": STATE_VERSION, "streams": {}, "unreported_deletes": saved})
    assert state.unreported_deletes == loaded
    assert state.to_json()["unreported_deletes"] == written


@pytest.mark.parametrize("saved", [[1, 2], [1, 2, 3, 4, 5], "1,2,3"])
def test_unreported_deletes_of_another_shape_are_refused(saved):
    with pytest.raises(StateError, match="'unreported_deletes' must be"):
        load_state({"version": STATE_VERSION, "streams": {}, "unreported_deletes": saved})
