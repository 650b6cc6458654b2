"""The headers of a HeadObject 200 response into the few values the connector reads, as botocore reads them.

botocore parses a HEAD response by walking all ~50 members of HeadObject's output shape, looking each one up in
a case-insensitive header map, and reads `Last-Modified` (an HTTP date) with dateutil; in a profile that is about
a fifth of the CPU a HEAD costs, and reading the headers here saves about 15% of a whole HEAD request
(bench/parse_cost.py). Event mode and the restore-status HEADs read seven of those members (and the checksums; with
object details, the thirteen more `aws.head_result` reads and the x-amz-meta-* map). `head_fields` reads just
those, converted as botocore converts them, or declines (None) when a value does not convert cleanly, and the
response then goes through botocore's own `before-parse` handlers and parser as it always did.
`tests/unit/test_head_headers.py` holds both to the same values over a corpus of headers, and
`tests/differential/test_head_differential.py` over generated ones, through both HEAD paths of the gateway.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

from s3_metadata.timestamps import fast_timestamp_parser, to_utc

# RFC 7231's IMF-fixdate, the form S3 sends: `Wed, 21 Oct 2015 07:28:00 GMT`. Other date forms go to the
# connector's timestamp parser (which hands them to botocore's).
_IMF_FIXDATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) "
    r"(\d\d):(\d\d):(\d\d) GMT")
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


def head_fields(headers: Mapping[str, str], members: Mapping[str, tuple[str, str]]) -> Optional[dict[str, Any]]:
    """{member: value} for each of `members` (member name -> (lower-case header name, botocore type)) present in
    `headers`, a mapping with lower-case names (as `botocore.utils.lowercase_dict` makes of a response's headers).

    Values are converted as botocore's RestXMLParser converts a header: 'long' and 'integer' with `int`,
    'boolean' true only for "true", 'timestamp' to an aware UTC datetime, anything else kept as text. None when a value would not convert
    cleanly, so that botocore's own parse (and its error) stands.
    """
    fields: dict[str, Any] = {}
    try:
        for member, (header, kind) in members.items():
            value = headers.get(header)
            if value is not None:
                if kind in ("long", "integer"):
                    value = int(value)
                elif kind == "boolean":
                    value = value == "true"
                elif kind == "timestamp":
                    value = http_date(value)
                fields[member] = value
    except (ValueError, OverflowError, TypeError, RuntimeError):  # botocore's RuntimeError: an epoch no date holds
        return None
    return fields


USER_METADATA = "x-amz-meta-"


def user_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    """The x-amz-meta-* headers of `headers` without the prefix: botocore's `Metadata` member, read as its parser
    reads a header map. `headers` is the response's own mapping (botocore's case-insensitive HeadersDict, which
    keeps the first spelling of a name and urllib3's `, `-joined values of a repeated header), so each name keeps
    the case S3 sent it in: `X-Amz-Meta-Color: red` is {"Color": "red"}."""
    return {name[len(USER_METADATA):]: value for name, value in headers.items()
            if name.lower().startswith(USER_METADATA)}


def http_date(value: str) -> datetime:
    """An HTTP date header as an aware UTC datetime: what botocore's timestamp parsing and `to_utc` give."""
    match = _IMF_FIXDATE.fullmatch(value)
    if match is None:
        return to_utc(fast_timestamp_parser(value))
    day, month, year, hour, minute, second = match.groups()
    return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=timezone.utc)
