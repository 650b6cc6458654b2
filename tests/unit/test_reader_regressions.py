"""Bugs the differential tests (tests/differential/) found in our readers, each pinned by its minimal input.

Every case says what botocore makes of the same bytes; ours must give the same values or decline (None), never
raise: a reader that raises inside botocore's `before-parse` event fails the request with an error botocore
would not have raised, or one raised from the wrong place.
"""
from __future__ import annotations

import pytest
from botocore.awsrequest import HeadersDict
from botocore.utils import lowercase_dict

from s3_metadata.head_headers import head_fields
from s3_metadata.listing_xml import parse_objects_page, parse_versions_page
from tests.unit.test_head_headers import EVERY_MEMBER, MEMBERS, botocore_head, headers
from tests.unit.test_listing_xml import (
    Refused, contents, delete_marker, expected_objects, expected_versions, listing, versions_listing,
)


@pytest.mark.parametrize("modified", ["99999999999999999999", "1e400", "inf", "-62135596801"])
def test_a_timestamp_botocore_cannot_place_in_time_is_declined(modified):
    """Found by the CPU test's long LastModified: botocore's parse_timestamp reads an all-digit text as epoch
    seconds and raises RuntimeError ("Unable to calculate correct timezone offset") when no datetime holds it;
    our readers let that RuntimeError out of the `before-parse` handler instead of declining."""
    body = listing(contents(modified=modified))
    assert parse_objects_page(body, True) is None
    with pytest.raises(Refused, match="RuntimeError"):
        expected_objects(body, True)
    versions = versions_listing(delete_marker("k", modified=modified))
    assert parse_versions_page(versions, True) is None
    with pytest.raises(Refused, match="RuntimeError"):
        expected_versions(versions, True)


@pytest.mark.parametrize("members", [MEMBERS, EVERY_MEMBER], ids=["restore-view", "details"])
def test_a_head_date_botocore_cannot_place_in_time_is_declined(members):
    raw = headers(Last_Modified="1e400", x_amz_object_lock_retain_until_date="99999999999999999999")
    assert head_fields(lowercase_dict(HeadersDict(raw)), members) is None
    with pytest.raises(RuntimeError):
        botocore_head(raw, "dateutil")


@pytest.mark.parametrize("modified", ["2024-W18-3T12:00:00.000Z", "2024-05-01T12:00:00+00:00:00",
                                      "2024-05-01T12:00:00,5+00:00:00"])
def test_iso_forms_only_the_connectors_parser_reads_are_read_as_its_botocore_path_reads_them(modified):
    """Found by the long differential run (not a bug of the readers; reported): datetime.fromisoformat, which the
    connector's timestamp parser (timestamps.py) and our readers try first, reads ISO week dates and offsets with
    seconds that botocore's dateutil refuses. Our reader gives what the connector's botocore path gives; botocore
    alone would fail the page. Should timestamps.py be made as strict as botocore, this test says where to look."""
    body = listing(contents(modified=modified))
    (ours,) = parse_objects_page(body, True).objects
    assert ours == expected_objects(body, True, "fast").objects[0]
    with pytest.raises(Refused, match="Invalid timestamp"):
        expected_objects(body, True, "dateutil")
