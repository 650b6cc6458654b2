"""The model's own parts: the test's ListObjectVersions must answer as AWS does, and the oracle's scope must read the
README's glob syntax as the connector documents it, or the model would judge the connector against a wrong truth."""
from __future__ import annotations

import contextlib
import io
import random

import pytest

from s3_metadata.patterns import KeyFilter
from tests.model.generator import EXCLUDES, FAMILIES, INCLUDES, NUMBERS
from tests.model.oracle import Scope, split_list
from tests.model.ops import Backdate, Delete, Put, Round, Scenario
from tests.model.runner import model_environment
from tests.model.world import BUCKETS, WorldSpec

BUCKET = BUCKETS[0]


@pytest.fixture
def world():
    with contextlib.redirect_stdout(io.StringIO()), model_environment(WorldSpec(versioned=(True, False)), 1) as (
            world, _, _, _):
        yield world


def listed(client, **request):
    """Every (key, is latest, kind) of a paged ListObjectVersions walk, in the order pages give them."""
    out, marker = [], {}
    while True:
        page = client.list_object_versions(Bucket=BUCKET, **request, **marker)
        entries = [(e["Key"], e["VersionId"], e["IsLatest"], "version") for e in page.get("Versions", [])]
        entries += [(e["Key"], e["VersionId"], e["IsLatest"], "marker") for e in page.get("DeleteMarkers", [])]
        out += sorted(entries, key=lambda e: e[0])
        if not page.get("IsTruncated"):
            return out
        marker = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}


def test_versions_are_listed_as_aws_lists_them(world):
    for op in (Put(0, "a", 1, "1"), Put(0, "a", 2, "2"), Put(0, "b c+d%", 1, "3"), Delete(0, "b c+d%"),
               Put(0, "b c+d%", 3, "4"), Put(0, "c", 1, "5"), Backdate(0, "c", 86400), Put(0, "d", 1, "6", tick=0),
               Put(0, "d", 2, "7", tick=0)):
        op.apply(world)
    client = world.client(BUCKET)
    ids = {key: [str(v.version_id) for v in reversed(world.versions(BUCKET, key))] for key in ("a", "b c+d%", "c", "d")}
    everything = listed(client)
    # Key order, each key's versions newest first as written (whatever their LastModified), the latest first (boto3
    # splits versions from delete markers, so the markers' place among them is not visible here).
    markers = {v for k, v, _, kind in everything if kind == "marker"}
    assert [(k, v) for k, v, _, kind in everything if kind == "version"] == [
        (k, v) for k in ("a", "b c+d%", "c", "d") for v in ids[k] if v not in markers]
    assert markers == {str(world.versions(BUCKET, "b c+d%")[1].version_id)}
    assert [(k, latest) for k, _, latest, _ in everything if latest] == [("a", True), ("b c+d%", True), ("c", True),
                                                                         ("d", True)]
    # Pages of one entry walk the same entries in S3's order, delete markers in their place among the versions.
    one_by_one = listed(client, MaxKeys=1)
    assert [(k, v) for k, v, _, _ in one_by_one] == [(k, v) for k in ("a", "b c+d%", "c", "d") for v in ids[k]]
    assert sorted(one_by_one) == sorted(everything)
    # A KeyMarker lists only later keys, whether or not it is a key.
    assert [k for k, *_ in listed(client, KeyMarker="a")] == ["b c+d%"] * 3 + ["c", "d", "d"]
    assert [k for k, *_ in listed(client, KeyMarker="b")] == ["b c+d%"] * 3 + ["c", "d", "d"]
    assert [k for k, *_ in listed(client, Prefix="c")] == ["c"]


def test_the_latest_version_is_what_get_and_list_objects_see(world):
    for op in (Put(0, "k", 1, "old"), Put(0, "k", 5, "new"), Backdate(0, "k", 3600)):
        op.apply(world)
    client = world.client(BUCKET)
    latest = next(e for e in client.list_object_versions(Bucket=BUCKET)["Versions"] if e["IsLatest"])
    assert latest["Size"] == client.head_object(Bucket=BUCKET, Key="k")["ContentLength"] == 5
    assert latest["LastModified"] == client.list_objects_v2(Bucket=BUCKET)["Contents"][0]["LastModified"]


def test_scenarios_print_as_the_python_that_builds_them():
    from tests.model.ops import DeleteVersion, Kill, Setting  # noqa: F401  (names the printed code uses)
    from tests.model.shrink import python
    scenario = Scenario(3, WorldSpec(page_size=2), (Round((Setting("bucket", "0"), Put(0, "ü/x\ty", 2, "s"))),
                                                    Round((DeleteVersion(0, "ü/x\ty"),), (Kill("HeadObject", 2),))))
    assert eval(python(scenario)) == scenario


def generated_keys() -> list[str]:
    return sorted({family(n) for family in FAMILIES for n in range(NUMBERS)} | {"", "a", "a/", "x/a/0001", "/a/1"})


@pytest.mark.parametrize("include", INCLUDES)
@pytest.mark.parametrize("exclude", EXCLUDES)
def test_the_oracle_reads_patterns_as_the_connector_documents_them(include, exclude):
    scope = Scope((BUCKET,), (), tuple(split_list(include)), tuple(split_list(exclude)))
    connector = KeyFilter(tuple(split_list(include)), tuple(split_list(exclude)))
    keys = generated_keys()
    random.Random(5).shuffle(keys)
    assert [k for k in keys if scope.covers(BUCKET, k)] == [k for k in keys if connector.matches(k)]


@pytest.mark.parametrize("archived_tags", [True, False])
def test_tags_of_archived_objects_are_answered_as_on_aws_or_refused_as_moto_does(archived_tags):
    from botocore.exceptions import ClientError
    with contextlib.redirect_stdout(io.StringIO()), model_environment(
            WorldSpec(archived_tags=archived_tags), 1) as (world, _, _, _):
        Put(0, "cold", 1, storage_class="GLACIER", tags=(("team", "a b"),)).apply(world)
        client = world.client(BUCKET)
        if archived_tags:
            assert client.get_object_tagging(Bucket=BUCKET, Key="cold")["TagSet"] == [{"Key": "team", "Value": "a b"}]
        else:
            with pytest.raises(ClientError, match="InvalidObjectState"):
                client.get_object_tagging(Bucket=BUCKET, Key="cold")
