"""listing_xml against botocore over generated bodies (tests/differential/listing_bodies.py).

For every body, botocore's own reading (its 200-error check, RestXMLParser, the url-decoding it applies to
listings, then `rows.listed_object`, as tests/unit/test_listing_xml.py builds it) is the reference, once with the
connector's fast timestamp parser (what the connector's botocore path uses) and once with botocore's default
(dateutil), which must agree or refuse a timestamp the connector's parser reads (a leniency of timestamps.py:
ISO week dates, offsets with seconds; counted as "plain botocore refuses"). Each example is classified:

- equal: ours answers, field by field what botocore answers;
- declined: ours gives None and botocore answers, so botocore's answer stands (it costs CPU, never truth); but a
  body in S3's own shape (temper "s3") must be read, or every sync pays botocore's price (DECLINED fails);
- both refuse: ours gives None and botocore fails or turns the body into an error (retried), which stands;
- WRONG VALUE (the worst): ours answers something else than botocore, or answers where botocore fails;
- CRASH (a bug): ours raises where botocore answers or fails.

The last two fail the test with the body, which hypothesis then shrinks to a minimal one.
"""
from __future__ import annotations

from datetime import timezone
from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from s3_metadata.listing_xml import ParsedObjects, ParsedVersions, parse_objects_page, parse_versions_page
from s3_metadata.ranges import fingerprint
from s3_metadata.rows import ListedObject
from tests.differential.budget import budget, record
from tests.differential.choices import generated
from tests.differential.listing_bodies import listing_body
from tests.unit.test_listing_xml import Refused, expected_objects, expected_versions

TIMESTAMP_PARSERS = ("fast", "dateutil")


def _ours(parse: Any, body: bytes, requested: bool) -> Any:
    try:
        return parse(body, requested)
    except Exception as error:  # any exception of ours is a bug, whatever botocore makes of the body
        pytest.fail(f"CRASH: {parse.__name__} raised {error!r} on {body!r}")


def object_differences(ours: ParsedObjects, theirs: ParsedObjects) -> list[str]:
    """Every field in which two ListObjectsV2 readings differ (the fingerprint text included)."""
    found = []
    if len(ours.objects) != len(theirs.objects):
        found.append(f"{len(ours.objects)} objects, botocore {len(theirs.objects)}")
    for index, (mine, reference) in enumerate(zip(ours.objects, theirs.objects)):
        for name in ListedObject.__dataclass_fields__:
            if name != "last_modified_iso" and getattr(mine, name) != getattr(reference, name):
                found.append(f"object {index} {name}: {getattr(mine, name)!r}, botocore {getattr(reference, name)!r}")
        if mine.last_modified.tzinfo is not timezone.utc:
            found.append(f"object {index} last_modified not in UTC: {mine.last_modified!r}")
        if mine.last_modified_iso not in (None, mine.last_modified.isoformat()):
            found.append(f"object {index} last_modified_iso {mine.last_modified_iso!r}")
        if fingerprint(mine, True) != fingerprint(reference, True):
            found.append(f"object {index} fingerprint differs")
    for name in ("common_prefixes", "is_truncated", "next_token"):
        if getattr(ours, name) != getattr(theirs, name):
            found.append(f"{name}: {getattr(ours, name)!r}, botocore {getattr(theirs, name)!r}")
    return found


def version_differences(ours: ParsedVersions, theirs: tuple[list, list, ParsedVersions]) -> list[str]:
    """Every field in which two ListObjectVersions readings differ (botocore keeps the two kinds apart)."""
    versions, markers, rest = theirs
    found = []
    mine = ([v for v in ours.versions if not v.is_delete_marker], [v for v in ours.versions if v.is_delete_marker])
    for label, own, reference in (("versions", mine[0], versions), ("delete markers", mine[1], markers)):
        if len(own) != len(reference):
            found.append(f"{len(own)} {label}, botocore {len(reference)}")
        for index, (a, b) in enumerate(zip(own, reference)):
            for name in a.__dataclass_fields__:
                if getattr(a, name) != getattr(b, name):
                    found.append(f"{label} {index} {name}: {getattr(a, name)!r}, botocore {getattr(b, name)!r}")
            if a.last_modified.tzinfo is not timezone.utc:
                found.append(f"{label} {index} last_modified not in UTC")
    for name in ("common_prefixes", "is_truncated", "next_key_marker", "next_version_marker"):
        if getattr(ours, name) != getattr(rest, name):
            found.append(f"{name}: {getattr(ours, name)!r}, botocore {getattr(rest, name)!r}")
    return found


def compare(test: str, temper: str, body: bytes, ours: Any, references: dict[str, Any], differences: Any) -> None:
    """Classify one example (see the module docstring); fail on a wrong value."""
    note(f"body: {body!r}")
    connector = references["fast"]
    if ours is None:
        if temper == "s3" and not isinstance(connector, Refused):
            pytest.fail(f"DECLINED a body in S3's own shape, which botocore reads: {body!r}")
        record(test, "both refuse" if isinstance(connector, Refused) else "declined")
        return
    if isinstance(connector, Refused):
        pytest.fail(f"WRONG VALUE: ours answered where botocore fails ({connector}): {body!r}")
    found = differences(ours, connector)
    if found:
        pytest.fail(f"WRONG VALUE: {'; '.join(found)}\nbody: {body!r}")
    plain = references["dateutil"]
    if isinstance(plain, Refused):
        # Only the timestamp parser differs: the connector's (timestamps.py, fromisoformat first) reads ISO 8601
        # forms botocore's dateutil refuses (week dates, offsets with seconds). Counted, not a wrong value.
        record(test, "equal; plain botocore refuses a timestamp")
        return
    if differences(ours, plain):
        pytest.fail(f"TIMESTAMPS: botocore with dateutil reads otherwise: {differences(ours, plain)}\nbody: {body!r}")
    record(test, "equal")


def _reference(expected: Any, body: bytes, requested: bool, timestamps: str) -> Any:
    try:
        return expected(body, requested, timestamps)
    except Refused as refusal:
        return refusal


# Per operation: whether its bodies list versions, our reader, botocore's reading, how two readings differ.
OPERATIONS = {
    "ListObjectsV2": (False, parse_objects_page, expected_objects, object_differences),
    "ListObjectVersions": (True, parse_versions_page, expected_versions, version_differences),
}
BODIES = {name: generated(lambda c, versions=versions: listing_body(c, versions))
          for name, (versions, *_) in OPERATIONS.items()}


@pytest.mark.parametrize("operation", list(OPERATIONS))
@budget(ci_examples=250)
@given(data=st.data(), requested=st.booleans())
def test_listing_pages_equal_botocore(operation: str, data: st.DataObject, requested: bool) -> None:
    _, parse, expected, differences = OPERATIONS[operation]
    temper, body = data.draw(BODIES[operation])
    ours = _ours(parse, body, requested)
    references = {t: _reference(expected, body, requested, t) for t in TIMESTAMP_PARSERS}
    compare(f"{operation} pages", temper, body, ours, references, differences)
