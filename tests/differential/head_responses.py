"""Generated header lines of a HeadObject 200, as S3 or another server might send them.

Every header of HeadObject's output shape can appear, under any spelling of its name (S3's, lower case, upper
case, mixed), once or repeated (urllib3 then joins the values with `, `), with a value of its type or not: HTTP
dates in their three forms and wrong ones, ISO and epoch timestamps, two dates joined by a comma, `Expires: 0`,
`-1` or `never`; integers huge, negative, signed, padded or not numbers at all; booleans in any case; text of any
Latin-1 character (http.client reads header bytes as Latin-1). User metadata (`x-amz-meta-*`) comes with names in
mixed case, repeated in two spellings, empty. As for listing bodies, a temper ("s3", "odd", "hostile") keeps most
responses worth reading.
"""
from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime

import botocore.session
from hypothesis import strategies as st

SHAPE = botocore.session.get_session().get_service_model("s3").operation_model("HeadObject").output_shape
# (wire name as S3 spells it, botocore type) of every header member.
MEMBER_HEADERS = {name: (member.serialization["name"], member.type_name) for name, member in SHAPE.members.items()
                  if member.serialization.get("location") == "header"}
ROUTINE = [("x-amz-request-id", "TX1234"), ("x-amz-id-2", "ID2/abc+def="), ("Date", "Sat, 21 Nov 2026 21:52:12 GMT"),
           ("Server", "AmazonS3"), ("Accept-Ranges", "bytes")]
TEMPERS = st.sampled_from(["s3"] * 5 + ["odd"] * 3 + ["hostile"] * 2)


def pick(options: list) -> st.SearchStrategy:
    return st.sampled_from(options)


MOMENTS = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc))
HTTP_DATES = MOMENTS.map(lambda m: format_datetime(m, usegmt=True))
_OTHER_DATES = st.one_of(
    MOMENTS.map(lambda m: m.strftime("%A, %d-%b-%y %H:%M:%S GMT")),  # RFC 850
    MOMENTS.map(lambda m: m.strftime("%a %b %d %H:%M:%S %Y").replace(" 0", "  ", 1)),  # asctime
    MOMENTS.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%S.000Z")),
    MOMENTS.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%S+02:00")),
    MOMENTS.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%S.1234567Z")),
    MOMENTS.map(lambda m: m.strftime("%a, %d %b %Y %H:%M:%S +0000")),
    MOMENTS.map(lambda m: m.strftime("Mon, %d %b %Y %H:%M:%S GMT")),  # a weekday that is often wrong
    MOMENTS.map(lambda m: m.strftime("%a, %d %b %Y %H:%M:%S gmt")),
    st.integers(-2 ** 40, 2 ** 40).map(str),
)
_BAD_DATES = pick(["0", "-1", "never", "", " ", "Wed, 31 Feb 2015 07:28:00 GMT", "Wed, 21 Oct 2015 25:28:00 GMT",
                   "Wed, 21 Oct 2015 07:28:00 GMT, Thu, 22 Oct 2015 07:28:00 GMT", "1e400", "nan", "inf",
                   "Wed, 21 Oct 15 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT+1", "99999999999999999999"])
TIMESTAMPS = {"s3": HTTP_DATES, "odd": st.one_of(HTTP_DATES, _OTHER_DATES),
              "hostile": st.one_of(HTTP_DATES, _OTHER_DATES, _BAD_DATES)}
INTEGERS = {"s3": st.integers(0, 5 * 1024 ** 4).map(str),
            "odd": st.one_of(st.integers(0, 2 ** 70).map(str), pick(["0", "007"])),
            "hostile": st.one_of(st.integers(-2 ** 70, 2 ** 70).map(str), pick(
                ["", " 5", "5 ", "+5", "1_000", "\u0661\u0662", "5.0", "0x10", "abc", "1e3"]))}
BOOLEANS = {"s3": pick(["true", "false"]), "odd": pick(["true", "false", "TRUE", "True"]),
            "hostile": pick(["true", "false", "TRUE", "", "yes", "1", " true"])}
LATIN1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
TEXT = {"s3": st.text(pick(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/+=")),
                      max_size=20),
        "odd": st.text(LATIN1, max_size=20),
        "hostile": st.text(LATIN1, max_size=30).map(str.strip)}
_VALUES = {"timestamp": TIMESTAMPS, "long": INTEGERS, "integer": INTEGERS, "boolean": BOOLEANS, "string": TEXT}
_SPECIFIC = {
    "ETag": pick(['"9b2cf535f27731c974343645a3985328"', '"d41d8cd98f00b204e9800998ecf8427e-12"',
                  "9b2cf535f27731c974343645a3985328", '"', '""', 'W/"weak"']),
    "StorageClass": pick(["STANDARD", "GLACIER", "DEEP_ARCHIVE", "INTELLIGENT_TIERING", "STANDARD_IA", "GLACIER_IR"]),
    "Restore": pick(['ongoing-request="true"', 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"',
                     'ongoing-request="false"', "garbage"]),
    "ArchiveStatus": pick(["ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"]),
    "ChecksumType": pick(["FULL_OBJECT", "COMPOSITE"]),
    "Expiration": pick(['expiry-date="Fri, 23 Dec 2030 00:00:00 GMT", rule-id="r%201"', "x"]),
}


def _spelled(name: str, spelling: str, mixed: list[bool]) -> str:
    if spelling == "lower":
        return name.lower()
    if spelling == "upper":
        return name.upper()
    if spelling == "title":
        return "-".join(part.capitalize() for part in name.split("-"))
    if spelling == "mixed":
        return "".join(c.upper() if flip else c.lower() for c, flip in zip(name, mixed + [False] * len(name)))
    return name


SPELLINGS = {"s3": pick(["s3"]), "odd": pick(["s3", "lower", "title"]),
             "hostile": pick(["s3", "lower", "upper", "title", "mixed"])}
_META_NAME = st.text(pick(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")), max_size=10)


@st.composite
def value_of(draw: st.DrawFn, member: str, temper: str) -> str:
    kind = MEMBER_HEADERS[member][1]
    if member in _SPECIFIC and draw(st.integers(0, 3)):
        return draw(_SPECIFIC[member])
    return draw(_VALUES[kind][temper])


@st.composite
def head_headers(draw: st.DrawFn) -> list[tuple[str, str]]:
    """The header lines of one HeadObject 200, in the order sent."""
    temper = draw(TEMPERS)
    spelling = SPELLINGS[temper]
    lines = list(ROUTINE)
    usual = ["LastModified", "ETag", "ContentLength", "ContentType"]
    members = [m for m in usual if temper == "s3" or draw(st.integers(0, 9))]
    members += draw(st.lists(pick(sorted(MEMBER_HEADERS)), max_size=8, unique=True))
    for member in members:
        wire = MEMBER_HEADERS[member][0]
        name = _spelled(wire, draw(spelling), draw(st.lists(st.booleans(), max_size=len(wire))))
        lines.append((name, draw(value_of(member, temper))))
        if temper != "s3" and draw(st.integers(0, 7)) == 0:  # sent twice, in another spelling maybe
            again = _spelled(wire, draw(spelling), draw(st.lists(st.booleans(), max_size=len(wire))))
            lines.append((again, draw(value_of(member, temper))))
    for _ in range(draw(pick([0, 0, 1, 2, 4]))):
        meta = "x-amz-meta-" + draw(_META_NAME)
        name = _spelled(meta, draw(SPELLINGS["hostile"] if temper != "s3" else spelling),
                        draw(st.lists(st.booleans(), max_size=len(meta))))
        lines.append((name, draw(TEXT[temper])))
    if temper != "s3":
        lines = draw(st.permutations(lines))
    return lines
