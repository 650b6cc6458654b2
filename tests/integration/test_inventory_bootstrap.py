"""A stream's first pass read from an S3 Inventory report instead of listing, through the SDK runner against moto.

What must hold: the table equals S3 as the report saw it, with no ListObjectsV2 request for the bucket's objects;
a listing pass right after, over an unchanged bucket, sends nothing; changes made after the report's scan are all in
the table once that listing pass (the catch-up) completes; a report that is incomplete, changed or cut short fails
the sync with what is wrong and sends nothing; a pass killed half way resumes with the same report.
"""
from __future__ import annotations

import gzip
import random
import sys
from datetime import datetime, timedelta, timezone

import pytest

from s3_metadata import inventory_source

from tests.integration.test_full_and_incremental import COMPARED, OLD, UNUSUAL_KEYS, seed_mix
from tests.support.harness import project_rows
from tests.support.inventory_writer import write_report

BUCKET = "test-bucket"
DESTINATION = "inventory-bucket"
SCANNED = datetime.now(timezone.utc) - timedelta(days=1)


def source_lists(harness) -> int:
    """ListObjectsV2 requests to the synced bucket (not to the inventory bucket). A bucket's first sync lists one
    page to learn whether its listing reports restore status as HEAD does (buckets.py), once in a connection's
    life, and a bootstrap one to learn how the store reports checksum types: 2, whatever the bucket's size."""
    return sum(1 for op, url in harness.faults.urls if op == "ListObjectsV2" and f"//{BUCKET}." in url)


def seeded(harness, extra: int = 300, file_format: str = "CSV") -> str:
    s3 = harness.s3
    seed_mix(s3)
    s3.bulk_put(BUCKET, [f"bulk/{i:05d}/part-{i * 7919 % 1000:03d}.parquet" for i in range(extra)])
    s3.age_all(BUCKET, OLD)
    s3.create_bucket(DESTINATION)
    return write_report(s3.client, BUCKET, DESTINATION, when=SCANNED, file_format=file_format)


def test_the_first_pass_reads_the_report_without_listing_and_equals_s3(harness, base_config):
    source = seeded(harness)
    harness.faults.clear()
    result = harness.sync(base_config(inventory_source=source))
    assert result.ok, result.error
    assert source_lists(harness) == 2
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows(BUCKET)
    # The report stays the reference of the pass after it (which names from it the deletes no listing can).
    assert harness.saved_state()["streams"][f"{BUCKET}/"]["inventory"].endswith("/manifest.json")


@pytest.mark.parametrize("file_format", ["CSV", "Parquet", "ORC"])
def test_a_listing_pass_right_after_the_bootstrap_sends_nothing(harness, base_config, file_format):
    source = seeded(harness, file_format=file_format)
    assert harness.sync(base_config(inventory_source=source)).ok
    harness.faults.clear()
    result = harness.sync(base_config(inventory_source=source))
    assert result.ok, result.error
    assert source_lists(harness) > 0
    assert result.upserts == 0 and result.deletes == 0


def test_changes_after_the_scan_are_caught_up_by_the_next_listing_pass(harness, base_config):
    source = seeded(harness)
    s3 = harness.s3
    s3.versioned(BUCKET)
    rng = random.Random(3)
    keys = sorted(key for _, key in s3.expected_rows(BUCKET))
    for key in rng.sample(keys, 25):
        s3.put(BUCKET, key, b"changed after the report")
    for key in rng.sample(keys, 15):
        s3.delete(BUCKET, key)
    for i in range(10):
        s3.put(BUCKET, f"new-after-report/{i}", b"new")
    s3.set_storage_class(BUCKET, "std/001.csv", "GLACIER")
    assert harness.sync(base_config(inventory_source=source)).ok
    result = harness.sync(base_config(inventory_source=source))
    assert result.ok, result.error
    assert project_rows(harness.rows(), COMPARED) == s3.expected_rows(BUCKET)


@pytest.mark.parametrize("file_format", ["CSV", "Parquet", "ORC"])
def test_keys_as_the_report_encodes_them_come_back_as_s3_has_them(harness, base_config, file_format):
    source = seeded(harness, extra=0, file_format=file_format)
    assert harness.sync(base_config(inventory_source=source)).ok
    assert {key for _, key in harness.rows()} >= set(UNUSUAL_KEYS)
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows(BUCKET)


def test_a_columnar_report_without_its_reader_installed_says_what_to_add(harness, base_config, capsys, monkeypatch):
    source = seeded(harness, extra=0, file_format="Parquet")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    capsys.readouterr()
    result = harness.sync(base_config(inventory_source=source))
    assert not result.ok
    assert "needs pyarrow==18.1.0: add it to requirements.txt" in capsys.readouterr().out + str(result.error)
    assert harness.rows() == {}


def test_a_prefix_and_patterns_apply_to_the_report_as_to_a_listing(harness, base_config):
    source = seeded(harness)
    config = base_config(inventory_source=source, prefix="bulk/", exclude_patterns="**/part-00*.parquet")
    assert harness.sync(config).ok
    expected = {k: v for k, v in harness.s3.expected_rows(BUCKET).items()
                if k[1].startswith("bulk/") and "/part-00" not in k[1]}
    assert project_rows(harness.rows(), COMPARED) == expected
    assert harness.sync(config).upserts == 0


def test_a_connection_that_owns_a_slice_reads_only_its_slice_of_the_report(harness, base_config):
    source = seeded(harness)
    config = base_config(inventory_source=source, key_range_start="bulk/00100", key_range_end="std/010.csv")
    assert harness.sync(config).ok
    expected = {k: v for k, v in harness.s3.expected_rows(BUCKET).items() if "bulk/00100" <= k[1] < "std/010.csv"}
    assert project_rows(harness.rows(), COMPARED) == expected
    assert harness.sync(config).upserts == 0


def test_a_report_without_its_checksum_yet_is_passed_over_for_the_one_before(harness, base_config):
    source = seeded(harness)
    s3 = harness.s3
    s3.put(BUCKET, "only-in-the-newer-report", b"x")
    write_report(s3.client, BUCKET, DESTINATION, when=SCANNED + timedelta(hours=12))
    newer = f"inventory/{BUCKET}/daily/{(SCANNED + timedelta(hours=12)).strftime('%Y-%m-%dT%H-%MZ')}/"
    s3.client.delete_object(Bucket=DESTINATION, Key=newer + "manifest.checksum")
    harness.faults.clear()
    result = harness.sync(base_config(inventory_source=source))
    assert result.ok, result.error
    assert (BUCKET, "only-in-the-newer-report") not in harness.rows()
    assert source_lists(harness) == 2


@pytest.mark.parametrize("damage, message", [
    ("manifest", "does not match its manifest.checksum"),
    ("data", "does not match the MD5 its manifest gives"),
    ("truncated", "cannot be read past row"),
    ("missing", "does not exist"),
])
def test_a_damaged_report_fails_the_sync_with_what_is_wrong_and_sends_nothing(harness, base_config, capsys, damage,
                                                                                 message):
    source = seeded(harness)
    s3 = harness.s3
    folder = f"inventory/{BUCKET}/daily/{SCANNED.strftime('%Y-%m-%dT%H-%MZ')}/"
    data = sorted(o["Key"] for o in s3.client.list_objects_v2(Bucket=DESTINATION, Prefix=f"inventory/{BUCKET}/daily/data/")
                  ["Contents"])
    if damage == "manifest":
        body = s3.client.get_object(Bucket=DESTINATION, Key=folder + "manifest.json")["Body"].read()
        s3.client.put_object(Bucket=DESTINATION, Key=folder + "manifest.json", Body=body.replace(b"CSV", b"CSV "))
    elif damage == "data":
        rows = gzip.decompress(s3.client.get_object(Bucket=DESTINATION, Key=data[1])["Body"].read())
        s3.client.put_object(Bucket=DESTINATION, Key=data[1], Body=gzip.compress(rows.replace(b'"1"', b'"2"', 1)))
    elif damage == "truncated":
        body = s3.client.get_object(Bucket=DESTINATION, Key=data[1])["Body"].read()
        s3.client.put_object(Bucket=DESTINATION, Key=data[1], Body=body[:len(body) // 2])
    else:
        s3.client.delete_object(Bucket=DESTINATION, Key=data[2])
    capsys.readouterr()
    result = harness.sync(base_config(inventory_source=source))
    assert not result.ok
    assert message in capsys.readouterr().out + str(result.error)
    assert harness.rows() == {}


def test_a_pass_killed_while_sending_resumes_with_the_same_report(harness, base_config, small_pages, monkeypatch):
    monkeypatch.setattr(inventory_source, "PAGE_OBJECTS", 50)
    s3 = harness.s3
    seed_mix(s3)
    bulk = [f"bulk/{i:05d}" for i in range(2000)]
    s3.bulk_put(BUCKET, bulk)
    for key in bulk[::40]:  # objects HEAD describes, all along the key space
        s3.set_storage_class(BUCKET, key, "GLACIER")
    s3.age_all(BUCKET, OLD)
    s3.create_bucket(DESTINATION)
    source = write_report(s3.client, BUCKET, DESTINATION, when=SCANNED)
    config = base_config(inventory_source=source, range_size=100, max_concurrency=1)
    harness.faults.crash_at("HeadObject", 52)
    first = harness.sync(config)
    assert not first.ok
    state = harness.saved_state()["streams"][f"{BUCKET}/"]
    assert state.get("inventory", "").endswith("/manifest.json")
    harness.faults.clear()
    harness.s3.put(BUCKET, "written-after-the-kill", b"x")
    sorting = []
    original = inventory_source.sorted_records

    def counted(records, *args, **kwargs):
        records = list(records)
        sorting.append(len(records))
        return original(records, *args, **kwargs)

    monkeypatch.setattr(inventory_source, "sorted_records", counted)
    second = harness.sync(config)
    assert second.ok, second.error
    assert source_lists(harness) == 2  # the same two single pages, no listing of the bucket
    total = len(harness.s3.expected_rows(BUCKET)) - 1
    assert 0 < sorting[0] < total  # the keys of the ranges done before the kill are not sorted again
    assert (BUCKET, "written-after-the-kill") not in harness.rows()
    third = harness.sync(config)
    assert third.ok and third.upserts == 1
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows(BUCKET)


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_changes_after_the_scan_leave_the_table_equal_to_s3_once_caught_up(harness, base_config, seed,
                                                                                  versioned):
    """Randomized, seeded: a bucket, its report, random overwrites, deletes (some keys written again), new keys and
    transitions after the report's scan; the bootstrap, then the catch-up listing pass: the table equals S3, in an
    unversioned bucket too (the report names the deletes no listing can). Then more changes and a sync, as usual."""
    rng = random.Random(seed)
    s3 = harness.s3
    s3.create_bucket(BUCKET)
    if versioned:
        s3.versioned(BUCKET)
    alphabet = "abc/é+ %=_-0"
    keys = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9))) for _ in range(400)})
    s3.bulk_put(BUCKET, keys)
    for key in UNUSUAL_KEYS:
        s3.put(BUCKET, key, b"u")
    s3.age_all(BUCKET, OLD)
    s3.create_bucket(DESTINATION)
    source = write_report(s3.client, BUCKET, DESTINATION, when=SCANNED, seed=seed)

    def change() -> None:
        live = sorted(key for _, key in s3.expected_rows(BUCKET))
        for key in rng.sample(live, len(live) // 10):
            s3.put(BUCKET, key, b"overwritten")
        gone = rng.sample(live, len(live) // 8)
        for key in gone:
            s3.delete(BUCKET, key)
        for key in rng.sample(gone, len(gone) // 4):
            s3.put(BUCKET, key, b"written again")
        for i in range(rng.randint(0, 20)):
            s3.put(BUCKET, f"new/{seed}/{rng.random():.6f}", b"new")
        for key in rng.sample(sorted(set(live) - set(gone)), 5):
            s3.set_storage_class(BUCKET, key, rng.choice(["STANDARD_IA", "GLACIER_IR"]))

    change()
    config = base_config(inventory_source=source)
    assert harness.sync(config).ok
    caught_up = harness.sync(config)
    assert caught_up.ok, caught_up.error
    assert project_rows(harness.rows(), COMPARED) == s3.expected_rows(BUCKET)
    assert "inventory" not in harness.saved_state()["streams"][f"{BUCKET}/"]
    change()
    later = harness.sync(config)
    assert later.ok, later.error
    live = project_rows(harness.rows(), COMPARED)
    expected = s3.expected_rows(BUCKET)
    if versioned:
        assert live == expected
    else:  # no report lists the keys deleted since: an unversioned bucket's deletes are counted, not named
        assert {k: v for k, v in live.items() if k in expected} == expected
    # A newer report, written before the next changes, names every delete they make (its keys, in ranges that lost
    # them); only the rows counted before it was written stay.
    stale_before = set(live) - set(expected)
    write_report(s3.client, BUCKET, DESTINATION, when=SCANNED + timedelta(hours=12), seed=seed)
    change()
    named = harness.sync(config)
    assert named.ok, str(named.error)
    live = project_rows(harness.rows(), COMPARED)
    expected = s3.expected_rows(BUCKET)
    assert {k: v for k, v in live.items() if k in expected} == expected
    assert set(live) - set(expected) <= stale_before


@pytest.mark.parametrize("operation, permission", [("GetObject", "s3:GetObject"), ("ListObjectsV2", "s3:ListBucket")])
def test_a_report_the_credentials_cannot_read_fails_naming_the_permission(harness, base_config, capsys, operation,
                                                                           permission):
    source = seeded(harness, extra=0)
    harness.faults.respond(operation, 403, code="AccessDenied",
                           when=lambda op, request, n: f"//{DESTINATION}." in request.url)
    capsys.readouterr()
    result = harness.sync(base_config(inventory_source=source))
    assert not result.ok
    output = capsys.readouterr().out + str(result.error)
    assert permission in output and DESTINATION in output
    assert harness.rows() == {}


def inventory_configuration(name: str, *, enabled: bool = True, file_format: str = "CSV", prefix: str | None = None,
                            fields: tuple[str, ...] = ("Size", "LastModifiedDate", "ETag", "StorageClass")) -> str:
    """One configuration as ListBucketInventoryConfigurations' XML holds it (S3 API Reference)."""
    scope = f"<Filter><Prefix>{prefix}</Prefix></Filter>" if prefix is not None else ""
    return (f"<InventoryConfiguration><Id>{name}</Id><IsEnabled>{str(enabled).lower()}</IsEnabled>"
            f"<Destination><S3BucketDestination><Format>{file_format}</Format>"
            f"<Bucket>arn:aws:s3:::{DESTINATION}</Bucket><Prefix>inventory</Prefix></S3BucketDestination></Destination>"
            f"<Schedule><Frequency>Daily</Frequency></Schedule><IncludedObjectVersions>Current</IncludedObjectVersions>"
            f"<OptionalFields>{''.join(f'<Field>{f}</Field>' for f in fields)}</OptionalFields>{scope}"
            "</InventoryConfiguration>")


def answer_inventory_configurations(harness, *configurations: str) -> None:
    """moto 5 answers ListBucketInventoryConfigurations with IncludedObjectVersions always All and its optional
    fields unreadable: the test's S3 answers as AWS does instead."""
    body = ('<?xml version="1.0" encoding="UTF-8"?><ListInventoryConfigurationsResult '
            'xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' + "".join(configurations)
            + "<IsTruncated>false</IsTruncated></ListInventoryConfigurationsResult>").encode()
    harness.faults.respond("ListBucketInventoryConfigurations", 200, body=body)


def test_auto_reads_the_report_of_the_bucket_s_own_inventory_configuration(harness, base_config):
    seeded(harness)
    harness.faults.clear()
    answer_inventory_configurations(harness, inventory_configuration("disabled", enabled=False),
                                    inventory_configuration("only-logs", prefix="logs/"),
                                    inventory_configuration("daily"))
    result = harness.sync(base_config(inventory_source="auto"))
    assert result.ok, result.error
    assert source_lists(harness) == 2
    assert harness.saved_state()["streams"][f"{BUCKET}/"]["inventory"].startswith(
        f"s3://{DESTINATION}/inventory/{BUCKET}/daily/")
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows(BUCKET)


def test_auto_without_a_usable_configuration_says_what_it_found(harness, base_config, capsys):
    seeded(harness, extra=0)
    answer_inventory_configurations(harness, inventory_configuration("paused", enabled=False),
                                    inventory_configuration("thin", fields=("Size",)))
    capsys.readouterr()
    result = harness.sync(base_config(inventory_source="auto"))
    assert not result.ok
    output = capsys.readouterr().out + str(result.error)
    assert "paused is disabled; thin lacks the fields LastModifiedDate, ETag, StorageClass" in output
    assert "leave inventory_source empty" in output


def test_auto_without_the_permission_to_read_configurations_names_it(harness, base_config, capsys):
    seeded(harness, extra=0)
    harness.faults.respond("ListBucketInventoryConfigurations", 403, code="AccessDenied")
    capsys.readouterr()
    result = harness.sync(base_config(inventory_source="auto"))
    assert not result.ok
    assert "s3:GetInventoryConfiguration" in capsys.readouterr().out + str(result.error)


def test_the_catch_up_says_what_the_report_named_and_warns_of_nothing_it_named(harness, base_config, capsys):
    """Seen running the README's commands: a bootstrap said "the tables match S3" (they match the report), and the
    catch-up that named a delete from the report still warned of a counted one ("no deleted object counted ...")."""
    source = seeded(harness, extra=20)
    capsys.readouterr()
    assert harness.sync(base_config(inventory_source=source)).ok
    first = capsys.readouterr().out
    assert "the tables match those reports" in first and "the tables match S3" not in first
    harness.s3.delete(BUCKET, "bulk/00007/part-433.parquet")
    result = harness.sync(base_config(inventory_source=source))
    assert result.ok and result.deletes == 1
    output = capsys.readouterr().out
    assert "1 objects deleted since the S3 Inventory report" in output
    assert "0 deletes counted but not markable" in output and "deleted object counted" not in output
    assert "deleted since the last sync" not in output
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows(BUCKET)


def test_later_passes_name_the_deletes_of_an_unversioned_bucket_from_the_newest_report(harness, base_config, capsys):
    """Issue 19 item 3: after the catch-up, a pass whose ranges lost keys no listing can name (an unversioned bucket)
    names them from the newest report that lists them; only the keys each range lost since its last listing are
    taken (by their key sums), so a delete sent before is not sent again; a key the report does not list stays
    counted."""
    source = seeded(harness, extra=40)
    config = base_config(inventory_source=source)
    assert harness.sync(config).ok and harness.sync(config).ok  # the bootstrap, then its catch-up
    s3 = harness.s3
    s3.put(BUCKET, "bulk/00003/after-the-first-report", b"new")
    assert harness.sync(config).ok
    write_report(s3.client, BUCKET, DESTINATION, when=SCANNED + timedelta(hours=12))
    s3.delete(BUCKET, "bulk/00003/part-757.parquet")
    s3.delete(BUCKET, "bulk/00003/after-the-first-report")
    capsys.readouterr()
    result = harness.sync(config)
    assert result.ok, result.error
    output = capsys.readouterr().out
    assert result.deletes == 2 and "2 objects deleted since the S3 Inventory report" in output
    assert "deleted since the last sync" not in output
    assert project_rows(harness.rows(), COMPARED) == s3.expected_rows(BUCKET)

    s3.delete(BUCKET, "bulk/00004/part-676.parquet")  # beside the two named above, which the report still lists
    s3.put(BUCKET, "bulk/00004/after-the-second-report", b"new")
    result = harness.sync(config)
    assert result.ok and result.deletes == 1
    s3.delete(BUCKET, "bulk/00004/after-the-second-report")
    capsys.readouterr()
    result = harness.sync(config)
    assert result.ok and result.deletes == 0  # a key no report lists: counted, and no delete sent again
    output = capsys.readouterr().out
    assert "1 objects deleted since the last sync" in output
    live = {key for _, key in harness.rows()}
    assert "bulk/00004/part-676.parquet" not in live and "bulk/00004/after-the-second-report" in live


@pytest.mark.parametrize("lost", ["data-files", "permission"])
def test_a_report_that_cannot_be_read_at_the_end_of_a_pass_leaves_its_deletes_counted(harness, base_config, capsys,
                                                                                        lost):
    """Naming deletes from a report is a bonus of the pass: a newest report that cannot be used (its data files gone,
    or the destination no longer readable with the connection's credentials) warns and leaves the deletes counted,
    and the pass completes."""
    source = seeded(harness, extra=20)
    config = base_config(inventory_source=source)
    assert harness.sync(config).ok and harness.sync(config).ok
    s3 = harness.s3
    write_report(s3.client, BUCKET, DESTINATION, when=SCANNED + timedelta(hours=12))
    if lost == "data-files":
        for entry in s3.client.list_objects_v2(Bucket=DESTINATION, Prefix=f"inventory/{BUCKET}/daily/data/")[
                "Contents"]:
            s3.client.delete_object(Bucket=DESTINATION, Key=entry["Key"])
    else:
        harness.faults.respond("ListObjectsV2", 403, code="AccessDenied",
                               when=lambda op, request, n: f"//{DESTINATION}." in request.url)
    s3.delete(BUCKET, "bulk/00007/part-433.parquet")
    capsys.readouterr()
    result = harness.sync(config)
    assert result.ok, result.error
    output = capsys.readouterr().out
    assert result.deletes == 0 and "stay counted, not named from an S3 Inventory report" in output
    assert "1 objects deleted since the last sync" in output
    assert harness.saved_state()["streams"][f"{BUCKET}/"]["passes"] == 3


def s3_versions(harness) -> dict[tuple[str, str], tuple]:
    """Every version and delete marker of the bucket as ListObjectVersions gives them, as the versions table holds
    them: (key, version id) -> (latest, delete marker, size, ETag, storage class, LastModified)."""
    found = {}
    for page in harness.s3.client.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        for entry in page.get("Versions", []):
            found[(entry["Key"], entry["VersionId"])] = (entry["IsLatest"], False, entry["Size"],
                                                         entry["ETag"].strip('"'), entry["StorageClass"],
                                                         entry["LastModified"].astimezone(timezone.utc))
        for entry in page.get("DeleteMarkers", []):
            found[(entry["Key"], entry["VersionId"])] = (entry["IsLatest"], True, None, None, None,
                                                         entry["LastModified"].astimezone(timezone.utc))
    return found


def table_versions(harness) -> dict[tuple[str, str], tuple]:
    return {(v["key"], v["version_id"]): (v["is_latest"], v["is_delete_marker"], v["size"], v["e_tag"],
                                          v["storage_class"], v["last_modified"]) for v in harness.versions()}


def versioned_history(harness, rng: random.Random) -> None:
    """A versioned bucket with overwritten keys, delete markers, keys deleted and written again, and a transition.

    Written without checksums: moto's ListObjectVersions lists no ChecksumAlgorithm where its ListObjectsV2 does
    (AWS lists it in both), so a report written from one would disagree with the other on every object."""
    import boto3
    from botocore.config import Config

    s3 = harness.s3
    s3.create_bucket(BUCKET)
    s3.versioned(BUCKET)
    plain = boto3.client("s3", region_name="us-east-1", config=Config(request_checksum_calculation="when_required"))
    keys = [f"v/{i:03d}/{'é' if i % 7 == 0 else 'x'}+{i}.csv" for i in range(60)] + list(UNUSUAL_KEYS)
    for key in keys:
        plain.put_object(Bucket=BUCKET, Key=key, Body=b"first")
    for key in rng.sample(keys, 20):
        plain.put_object(Bucket=BUCKET, Key=key, Body=b"second version")
    for key in rng.sample(keys, 12):
        s3.delete(BUCKET, key)
    for key in rng.sample(keys, 4):
        plain.put_object(Bucket=BUCKET, Key=key, Body=b"written again")
    s3.set_storage_class(BUCKET, next(key for _, key in sorted(s3.expected_rows(BUCKET))), "STANDARD_IA")
    s3.create_bucket(DESTINATION)


@pytest.mark.parametrize("file_format", ["CSV", "Parquet", "ORC"])
def test_a_report_of_all_versions_fills_the_versions_table_without_listing_versions(harness, base_config,
                                                                                    file_format):
    """Issue 19: with sync_versions, a report with IncludedObjectVersions=All fills s3_object_versions too, with no
    ListObjectVersions request; the next pass (listing objects and versions) over the unchanged bucket sends
    nothing."""
    versioned_history(harness, random.Random(5))
    source = write_report(harness.s3.client, BUCKET, DESTINATION, when=SCANNED, versions=True,
                          file_format=file_format)
    config = base_config(inventory_source=source, sync_versions="true")
    harness.faults.clear()
    result = harness.sync(config)
    assert result.ok, result.error
    assert harness.faults.requests["ListObjectVersions"] == 1  # the bucket's one-key check that it lists versions
    assert table_versions(harness) == s3_versions(harness)
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows(BUCKET)
    assert harness.saved_state()["streams"][f"{BUCKET}/"]["version_passes"] == 1
    after = harness.sync(config)
    assert after.ok, after.error
    assert after.upserts == 0 and after.deletes == 0


def test_a_report_of_current_versions_leaves_the_versions_to_listing(harness, base_config):
    versioned_history(harness, random.Random(6))
    source = write_report(harness.s3.client, BUCKET, DESTINATION, when=SCANNED)
    harness.faults.clear()
    result = harness.sync(base_config(inventory_source=source, sync_versions="true"))
    assert result.ok, result.error
    assert harness.faults.requests["ListObjectVersions"] > 1
    assert table_versions(harness) == s3_versions(harness)


@pytest.mark.parametrize("seed", [1, 2])
def test_versions_changed_after_a_report_of_all_versions_are_caught_up(harness, base_config, seed):
    """Randomized, seeded: overwrites, deletes, versions deleted for good and new keys after the scan of a report of
    all versions; after the bootstrap and the catch-up, both tables equal S3."""
    rng = random.Random(seed)
    versioned_history(harness, rng)
    s3 = harness.s3
    source = write_report(s3.client, BUCKET, DESTINATION, when=SCANNED, versions=True, seed=seed)
    keys = sorted(key for _, key in s3.expected_rows(BUCKET))
    for key in rng.sample(keys, 8):
        s3.put(BUCKET, key, b"after the scan")  # with a checksum: the catch-up sends these anyway
    for key in rng.sample(keys, 5):
        s3.delete(BUCKET, key)
    for entry in rng.sample(s3.client.list_object_versions(Bucket=BUCKET)["Versions"], 3):
        s3.client.delete_object(Bucket=BUCKET, Key=entry["Key"], VersionId=entry["VersionId"])
    for i in range(5):
        s3.put(BUCKET, f"new/{seed}/{i}", b"new")
    config = base_config(inventory_source=source, sync_versions="true")
    assert harness.sync(config).ok
    caught_up = harness.sync(config)
    assert caught_up.ok, caught_up.error
    assert table_versions(harness) == s3_versions(harness)
    live = project_rows(harness.rows(), COMPARED)
    expected = s3.expected_rows(BUCKET)
    assert {k: v for k, v in live.items() if k in expected} == expected


@pytest.mark.parametrize("crash", [4, 6, 8])
def test_a_versions_bootstrap_killed_while_reading_resumes_to_tables_equal_to_s3(harness, base_config, crash):
    """A crash at the `crash`-th GetObject (the manifest, its checksum and three data files are read for the objects,
    the files again for the versions, the two reads side by side): the next sync resumes with the same report, and
    both tables equal S3; the sync after sends nothing."""
    versioned_history(harness, random.Random(crash))
    source = write_report(harness.s3.client, BUCKET, DESTINATION, when=SCANNED, versions=True)
    config = base_config(inventory_source=source, sync_versions="true", range_size=20)
    harness.faults.crash_at("GetObject", crash)
    assert not harness.sync(config).ok
    harness.faults.clear()
    resumed = harness.sync(config)
    assert resumed.ok, resumed.error
    assert table_versions(harness) == s3_versions(harness)
    assert project_rows(harness.rows(), COMPARED) == harness.s3.expected_rows(BUCKET)
    after = harness.sync(config)
    assert after.ok and after.upserts == 0 and after.deletes == 0
