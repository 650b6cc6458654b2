"""What S3-compatible servers written by other people do differently, reproduced on moto, and what the sync makes of it.

Each behaviour was seen on a real server (scripts/compare_endpoint.py runs the comparison): a truncated listing
without a continuation token or NextKeyMarker, StartAfter or the token ignored, 500 or 501 for every object of an
operation, 501 for the versioning calls, 404 for HEADs of listed objects. The sync must end with the table equal to
the bucket, or stop with a message that says what the server does; never succeed with part of the bucket, never
retry a missing feature for long.
"""
from __future__ import annotations

import pytest

from s3_metadata.listing import IncompleteListingError
from s3_metadata.retry import GIVE_UP_AFTER
from tests.conftest import S3_COMPATIBLE_ENDPOINT

BUCKET = "test-bucket"
# Keys that sort differently byte-wise and in a file system, and keys that need escaping in XML and in URLs.
ODD_KEYS = ["a b/c.txt", "a+b/c.txt", "a-b/c.txt", "a.b/c.txt", "a/b-c.txt", "a/b/c.txt", "amp&/x", "lt</x",
            "pct%41/x", "\u00fcber/x", "\u65e5\u672c/x", "\U0001f600/x"]
NO_TOKEN = ("NextContinuationToken",)
NO_KEY_MARKER = ("NextKeyMarker", "NextVersionIdMarker")
LISTING_ENDS = "new pass over"


def fill(s3, count: int) -> list[str]:
    names = [f"k/{i:05d}" for i in range(count)] + ODD_KEYS
    s3.create_bucket(BUCKET)
    s3.bulk_put(BUCKET, names)
    return names


def config(base_config, **settings):
    return base_config(endpoint_url=S3_COMPATIBLE_ENDPOINT, **settings)


def live_keys(harness) -> set[str]:
    return {key for _, key in harness.rows()}


# ------------------------------------------------------------------------------------------------ listings

def test_a_listing_truncated_without_a_token_is_followed_to_its_end(harness, base_config, small_pages):
    """pys3local 0.2.1 and tiny-object-storage 0.1.1: IsTruncated=true and no NextContinuationToken past a page."""
    names = fill(harness.s3, 130)
    harness.faults.rewrite("ListObjectsV2", leave_out=NO_TOKEN)
    result = harness.sync(config(base_config))
    assert result.ok, result.error
    assert live_keys(harness) == set(names)

    harness.s3.delete(BUCKET, "k/00007")
    harness.s3.put(BUCKET, "k/00200", b"new")
    harness.s3.put(BUCKET, "a b/c.txt", b"longer body")
    result = harness.sync(config(base_config, reconcile_every_hours="6"))
    assert result.ok, result.error
    rows = harness.rows()
    assert {key for _, key in rows} >= (set(names) - {"k/00007"}) | {"k/00200"}
    assert rows[(BUCKET, "a b/c.txt")]["size"] == len(b"longer body")


def test_full_pages_that_say_the_listing_is_complete_are_followed(harness, base_config, small_pages):
    """local-s3-server 0.2.2: IsTruncated=false on every page, each capped at MaxKeys. A full page that says the
    listing is complete is followed by one more request after its last key; the sync gets every object."""
    names = fill(harness.s3, 130)
    harness.faults.rewrite("ListObjectsV2", leave_out=NO_TOKEN,
                           substitute=((b"<IsTruncated>true</IsTruncated>", b"<IsTruncated>false</IsTruncated>"),))
    result = harness.sync(config(base_config))
    assert result.ok, result.error
    assert live_keys(harness) == set(names)


@pytest.mark.parametrize("ignore, leave_out, says", [
    pytest.param(("start-after",), NO_TOKEN, "it ignores StartAfter", id="start-after-ignored-without-tokens"),
    pytest.param(("continuation-token",), (), "it ignores NextContinuationToken", id="token-ignored-page-repeats"),
])
def test_a_listing_that_cannot_be_followed_stops_the_sync_clearly(harness, base_config, small_pages, ignore, leave_out,
                                                                  says):
    fill(harness.s3, 130)
    harness.faults.rewrite("ListObjectsV2", ignore=ignore, leave_out=leave_out)
    result = harness.sync(config(base_config))
    assert not result.ok
    assert isinstance(result.error, IncompleteListingError)
    message = str(result.error)
    assert says in message and "The endpoint http://s3-compatible.test:9000" in message
    assert harness.faults.requests["ListObjectsV2"] <= 20  # a few per part: it never loops
    assert len(harness.rows()) < 130 + len(ODD_KEYS)  # nothing claims to be the whole bucket


def test_a_start_after_that_is_ignored_where_a_part_begins_stops_the_sync(harness, base_config, small_pages):
    """With tokens working, StartAfter is still needed where a part begins (and where a killed pass resumes)."""
    fill(harness.s3, 130)
    harness.faults.rewrite("ListObjectsV2", ignore=("start-after",))
    result = harness.sync(config(base_config))
    assert not result.ok
    assert isinstance(result.error, IncompleteListingError) and "it ignores StartAfter" in str(result.error)


def versioned_fill(s3, keys: int) -> int:
    s3.create_bucket(BUCKET)
    s3.versioned(BUCKET)
    for i in range(keys):
        s3.put(BUCKET, f"v/{i:03d}", b"1")
        s3.put(BUCKET, f"v/{i:03d}", b"22")
    s3.delete(BUCKET, "v/001")
    return 2 * keys + 1


def test_a_versions_listing_truncated_without_next_key_marker_is_followed_to_its_end(harness, base_config,
                                                                                     small_pages):
    versions = versioned_fill(harness.s3, 40)
    harness.faults.rewrite("ListObjectVersions", leave_out=NO_KEY_MARKER)
    result = harness.sync(config(base_config, sync_versions="true"))
    assert result.ok, result.error
    assert len(harness.versions()) == versions
    assert len({(v["key"], v["version_id"]) for v in harness.versions()}) == versions


def test_a_versions_listing_that_ignores_key_marker_stops_the_sync_clearly(harness, base_config, small_pages):
    versioned_fill(harness.s3, 40)
    harness.faults.rewrite("ListObjectVersions", ignore=("key-marker", "version-id-marker"), leave_out=NO_KEY_MARKER)
    result = harness.sync(config(base_config, sync_versions="true"))
    assert not result.ok
    assert isinstance(result.error, IncompleteListingError)
    assert "ListObjectVersions" in str(result.error) and "it ignores KeyMarker" in str(result.error)
    assert harness.faults.requests["ListObjectVersions"] <= 4


# ------------------------------------------------------------------------------------------------ object operations

@pytest.mark.parametrize("status, code", [
    pytest.param(500, "InternalError", id="500-every-object"),
    pytest.param(501, "NotImplemented", id="501-not-implemented"),
])
def test_an_operation_failing_for_every_object_is_given_up_after_a_few(harness, base_config, fast_retries, capfd,
                                                                       status, code):
    """An S3-compatible server answered GetObjectTagging with 500 for every object: each object waited for 10
    attempts and up to 300 s. Now the sync asks a few objects, then writes every row with tags NULL and says why."""
    names = fill(harness.s3, 60)
    harness.faults.respond("GetObjectTagging", status, code=code)
    result = harness.sync(config(base_config, object_details="tags", max_concurrency="4"))
    assert result.ok, result.error
    rows = harness.rows()
    assert set(key for _, key in rows) == set(names)
    assert all(row["tags"] is None for row in rows.values())
    # The failures that give it up, the first attempts of the objects in flight, and their last attempts.
    assert harness.faults.requests["GetObjectTagging"] <= GIVE_UP_AFTER + 2 * 4
    output = capfd.readouterr().out
    gave_up = f"GetObjectTagging failed with {code} (HTTP {status}) {GIVE_UP_AFTER} times in a row"
    assert output.count(gave_up) == 1
    assert "take 'tags' out of object_details" in output


def test_throttling_is_never_given_up(harness, base_config, fast_retries):
    """SlowDown on every first attempt: each object waits and gets its tags."""
    names = fill(harness.s3, 30)
    harness.s3.client.put_object_tagging(Bucket=BUCKET, Key="k/00003", Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
    harness.faults.respond("GetObjectTagging", 503, code="SlowDown", when=lambda op, request, n: n % 2 == 1)
    result = harness.sync(config(base_config, object_details="tags", max_concurrency="1"))
    assert result.ok, result.error
    rows = harness.rows()
    assert set(key for _, key in rows) == set(names)
    assert rows[(BUCKET, "k/00003")]["tags"] is not None
    assert all(row["tags"] is not None for row in rows.values())


def test_a_store_without_versioning_calls_is_synced_as_unversioned(harness, base_config, capfd):
    names = fill(harness.s3, 20)
    harness.faults.respond("GetBucketVersioning", 501, code="NotImplemented")
    result = harness.sync(config(base_config))
    assert result.ok, result.error
    assert live_keys(harness) == set(names)
    assert harness.faults.requests["GetBucketVersioning"] == 1
    output = capfd.readouterr().out
    assert any("the store does not implement versioning; deleted objects are counted" in line and '"INFO"' in line
               for line in output.splitlines())


@pytest.mark.parametrize("sync_versions", ["false", "true"])
def test_a_versioned_bucket_without_versions_listing_is_synced_as_unversioned(harness, base_config, capfd,
                                                                              sync_versions):
    """A store that says a bucket is versioned but answers ListObjectVersions with 501: the sync does not fail; deletes
    are counted as in an unversioned bucket, and the versions table is not filled."""
    versioned_fill(harness.s3, 5)
    harness.faults.respond("ListObjectVersions", 501, code="NotImplemented")
    result = harness.sync(config(base_config, sync_versions=sync_versions))
    assert result.ok, result.error
    assert harness.faults.requests["ListObjectVersions"] == 1
    assert "does not implement ListObjectVersions" in capfd.readouterr().out
    assert harness.versions() == []


@pytest.mark.parametrize("status, code", [pytest.param(403, "AccessDenied", id="bare-403"),
                                          pytest.param(404, "404", id="bare-404")])
def test_bare_head_errors_never_drop_a_listed_object(harness, base_config, fast_retries, status, code):
    """A store that answers HEAD with a bare 403 or 404 for archived objects it lists: their rows say so, none
    disappears, and nothing is retried for long."""
    names = [f"g/{i:02d}" for i in range(12)]
    harness.s3.seed(BUCKET, names, storage_class="GLACIER")
    harness.faults.respond("HeadObject", status)
    result = harness.sync(config(base_config))
    assert result.ok, result.error
    rows = harness.rows()
    assert set(key for _, key in rows) == set(names)
    assert {row["restore_status"] for row in rows.values()} == {f"error:{code}"}
    assert harness.faults.requests["HeadObject"] <= 2 * len(names)
