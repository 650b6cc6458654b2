"""Generated header lines of a HeadObject 200, as S3 or another server might send them.

Every header of HeadObject's output shape can appear, under any spelling of its name (S3's, lower case, upper
case, mixed), once or repeated (urllib3 then joins the values with `, `), with a value of its type or not: HTTP
dates in their three forms and wrong ones, ISO and epoch timestamps, two dates joined by a comma, `Expires: 0`,
`-1` or `never`; integers huge, negative, signed, padded or not numbers at all; booleans in any case; text of any
Latin-1 character (http.client reads header bytes as Latin-1). User metadata (`x-amz-meta-*`) comes with names in
mixed case, repeated in two spellings, empty. As for listing bodies, a temper ("s3", "odd", "hostile") keeps most
responses worth reading; the choices come from tests/differential/choices.py.
"""
from __future__ import annotations

import random
from datetime import datetime, timezone
from email.utils import format_datetime

import botocore.session

from tests.differential.choices import Choices

SHAPE = botocore.session.get_session().get_service_model("s3").operation_model("HeadObject").output_shape
# (wire name as S3 spells it, botocore type) of every header member.
MEMBER_HEADERS = {name: (member.serialization["name"], member.type_name) for name, member in SHAPE.members.items()
                  if member.serialization.get("location") == "header"}
MEMBERS = tuple(sorted(MEMBER_HEADERS))
ROUTINE = [("x-amz-request-id", "TX1234"), ("x-amz-id-2", "ID2/abc+def="), ("Date", "Sat, 21 Nov 2026 21:52:12 GMT"),
           ("Server", "AmazonS3"), ("Accept-Ranges", "bytes")]
TEMPERS = ("s3",) * 5 + ("odd",) * 3 + ("hostile",) * 2
_EPOCH, _END = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc)
_OTHER_FORMS = ("%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y", "%Y-%m-%dT%H:%M:%S.000Z", "%Y-%m-%dT%H:%M:%S+02:00",
                "%Y-%m-%dT%H:%M:%S.1234567Z", "%a, %d %b %Y %H:%M:%S +0000", "Mon, %d %b %Y %H:%M:%S GMT",
                "%a, %d %b %Y %H:%M:%S gmt", "epoch")
_BAD_DATES = ("0", "-1", "never", "", " ", "Wed, 31 Feb 2015 07:28:00 GMT", "Wed, 21 Oct 2015 25:28:00 GMT",
              "Wed, 21 Oct 2015 07:28:00 GMT, Thu, 22 Oct 2015 07:28:00 GMT", "1e400", "nan", "inf",
              "Wed, 21 Oct 15 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 GMT+1", "99999999999999999999",
              "2024-W18-3T12:00:00Z", "2024-05-01T12:00:00+00:00:00", "2024-05-01T12:00:00,5Z")
_SPECIFIC = {
    "ETag": ('"9b2cf535f27731c974343645a3985328"', '"d41d8cd98f00b204e9800998ecf8427e-12"',
             "9b2cf535f27731c974343645a3985328", '"', '""', 'W/"weak"'),
    "StorageClass": ("STANDARD", "GLACIER", "DEEP_ARCHIVE", "INTELLIGENT_TIERING", "STANDARD_IA", "GLACIER_IR"),
    "Restore": ('ongoing-request="true"', 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"',
                'ongoing-request="false"', "garbage"),
    "ArchiveStatus": ("ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"),
    "ChecksumType": ("FULL_OBJECT", "COMPOSITE"),
    "Expiration": ('expiry-date="Fri, 23 Dec 2030 00:00:00 GMT", rule-id="r%201"', "x"),
}
_TOKEN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def moment(c: Choices) -> datetime:
    seconds = int((_END - _EPOCH).total_seconds())
    return datetime.fromtimestamp(c.integer(0, seconds), timezone.utc)


def http_date(c: Choices, temper: str) -> str:
    shape = c.pick(("imf",) if temper == "s3" else ("imf", "other") if temper == "odd" else ("imf", "other", "bad"))
    if shape == "imf":
        return format_datetime(moment(c), usegmt=True)
    if shape == "bad":
        return c.pick(_BAD_DATES)
    form = c.pick(_OTHER_FORMS)
    return str(c.integer(-2 ** 40, 2 ** 40)) if form == "epoch" else moment(c).strftime(form)


def integer(c: Choices, temper: str) -> str:
    if temper == "s3":
        return str(c.integer(0, 5 * 1024 ** 4))
    if temper == "odd":
        return c.pick((str(c.integer(0, 2 ** 70)), "0", "007"))
    return c.pick((str(c.integer(-2 ** 70, 2 ** 70)), "", " 5", "5 ", "+5", "1_000", "\u0661\u0662", "5.0", "0x10",
                   "abc", "1e3"))


def text(c: Choices, temper: str) -> str:
    rng = random.Random(c.seed())
    length = c.integer(0, 20)
    if temper == "s3":
        return "".join(rng.choice(_TOKEN + "-_.:/+=") for _ in range(length))
    value = "".join(chr(rng.choice((rng.randint(0x20, 0x7E), rng.randint(0xA0, 0xFF)))) for _ in range(length))
    return value.strip() if temper == "hostile" else value


def value_of(c: Choices, member: str, temper: str) -> str:
    if member in _SPECIFIC and c.integer(0, 3):
        return c.pick(_SPECIFIC[member])
    kind = MEMBER_HEADERS[member][1]
    if kind == "timestamp":
        return http_date(c, temper)
    if kind in ("long", "integer"):
        return integer(c, temper)
    if kind == "boolean":
        return c.pick({"s3": ("true", "false"), "odd": ("true", "false", "TRUE", "True"),
                       "hostile": ("true", "false", "TRUE", "", "yes", "1", " true")}[temper])
    return text(c, temper)


def spelled(c: Choices, name: str, temper: str) -> str:
    """`name` as S3 spells it, or (not in an "s3" response) otherwise."""
    spelling = c.pick({"s3": ("s3",), "odd": ("s3", "lower", "title"),
                       "hostile": ("s3", "lower", "upper", "title", "mixed")}[temper])
    if spelling == "lower":
        return name.lower()
    if spelling == "upper":
        return name.upper()
    if spelling == "title":
        return "-".join(part.capitalize() for part in name.split("-"))
    if spelling == "mixed":
        rng = random.Random(c.seed())
        return "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in name)
    return name


def head_headers(c: Choices) -> list[tuple[str, str]]:
    """The header lines of one HeadObject 200, in the order sent."""
    temper = c.pick(TEMPERS)
    lines = list(ROUTINE)
    members = [m for m in ("LastModified", "ETag", "ContentLength", "ContentType") if temper == "s3" or c.integer(0, 9)]
    members += [m for m in dict.fromkeys(c.pick(MEMBERS) for _ in range(c.integer(0, 8))) if m not in members]
    for member in members:
        wire = MEMBER_HEADERS[member][0]
        lines.append((spelled(c, wire, temper), value_of(c, member, temper)))
        if temper != "s3" and c.integer(0, 7) == 0:  # sent twice, in another spelling maybe
            lines.append((spelled(c, wire, temper), value_of(c, member, temper)))
    for _ in range(c.pick((0, 0, 1, 2, 4))):
        rng = random.Random(c.seed())
        name = "x-amz-meta-" + "".join(rng.choice(_TOKEN + "-_") for _ in range(c.integer(0, 10)))
        lines.append((spelled(c, name, "hostile" if temper != "s3" else temper), text(c, temper)))
    return lines if temper == "s3" else c.permutation(lines)
