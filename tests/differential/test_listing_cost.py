"""listing_xml's CPU grows linearly with the body, on S3's pages and on pathological ones.

A reader built on regular expressions can go quadratic (or worse) where a pattern fails late from many starting
points: whitespace runs, entries that never close, entities, percent signs, elements nested deep. Each family
below builds a body of size n and of size 16n; reading the second must cost about 16 times the first (quadratic
would be 256). CPU time of this process (not wall-clock), the best of three runs of each, taken in turns so that
both see the same load; bodies of about 25 KB and 400 KB; a ratio below 64 passes, and a run too short to measure
(under half a millisecond) counts as that long.
"""
from __future__ import annotations

import time
from typing import Callable

import pytest

from s3_metadata.listing_xml import parse_objects_page, parse_versions_page

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Name>b</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>"
        "<IsTruncated>false</IsTruncated><EncodingType>url</EncodingType>")
TAIL = "</ListBucketResult>"
GROWTH = 16
MAX_RATIO = 64
SHORTEST = 0.0005


def entry(key: str = "k", s3_order: bool = True) -> str:
    fields = [f"<Key>{key}</Key>", "<LastModified>2024-05-01T12:00:00.000Z</LastModified>",
              "<ETag>&quot;e&quot;</ETag>", "<Size>1</Size>", "<StorageClass>STANDARD</StorageClass>"]
    return "<Contents>" + "".join(fields if s3_order else fields[2:] + fields[:2]) + "</Contents>"


def body(inner: str) -> bytes:
    return (HEAD + inner + TAIL).encode()


# Each family: a body for n, and n (about 25 KB of body).
FAMILIES: dict[str, tuple[Callable[[int], bytes], int]] = {
    "entries-in-s3-order": (lambda n: body("".join(entry(f"k{i}") for i in range(n))), 150),
    "entries-in-another-order": (lambda n: body("".join(entry(f"k{i}", False) for i in range(n))), 150),
    "entries-pretty-printed": (lambda n: body("".join(entry(f"k{i}").replace("><", ">\n  <") for i in range(n))), 150),
    "entries-then-a-bad-one": (lambda n: body("".join(entry(f"k{i}") for i in range(n))
                                              + "<Contents><Key>z</Key></Contentz>"), 150),
    "entries-that-never-close": (lambda n: body("<Contents><Key>a</Key>" * n + entry()), 1000),
    "opening-tags-only": (lambda n: body("<Contents>" * n), 2500),
    "one-entry-then-unclosed": (lambda n: body(entry() + "<Contents><Key>a</Key>" * n), 1000),
    "key-of-entities": (lambda n: body(entry("&amp;&lt;" * n)), 2500),
    "key-of-character-references": (lambda n: body(entry("&#65;&#x1F600;" * n)), 2000),
    "key-of-bad-percents": (lambda n: body(entry("%4%" * n)), 7500),
    "key-of-utf8-escapes": (lambda n: body(entry("%C3%A9/%2B+" * n)), 2500),
    "key-of-brackets": (lambda n: body(entry("]" * n)), 25000),
    "huge-key": (lambda n: body(entry("k" * n)), 25000),
    "whitespace-runs": (lambda n: body("\n" * n + entry() + " \t\n" * n), 7500),
    "leaves-then-junk": (lambda n: body("".join(f"<F{i}>x</F{i}>\n" for i in range(n)) + "<Bad"), 1500),
    "whitespace-then-junk": (lambda n: body(" \n" * n + "<X>"), 12500),
    "common-prefixes": (lambda n: body("".join(f"<CommonPrefixes><Prefix>p{i}/</Prefix></CommonPrefixes>"
                                               for i in range(n))), 500),
    "unknown-children": (lambda n: body(entry().replace("</Contents>", "<U>x</U>" * n + "</Contents>")), 3000),
    "nested-elements": (lambda n: body(entry().replace("</Contents>", "<a>" * n + "</a>" * n + "</Contents>")), 3000),
    "checksum-algorithms": (lambda n: body(entry().replace(
        "<Size>", "<ChecksumAlgorithm>CRC32</ChecksumAlgorithm>" * n + "<Size>")), 625),
    "restore-children": (lambda n: body(entry().replace(
        "</Contents>", "<RestoreStatus>" + "<IsRestoreInProgress>true</IsRestoreInProgress>" * n
        + "</RestoreStatus></Contents>")), 500),
    "owner-children": (lambda n: body(entry().replace("<StorageClass>", "<Owner>" + "<ID>x</ID>" * n
                                                      + "</Owner><StorageClass>")), 2500),
    "long-timestamp": (lambda n: body(entry().replace("2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00." + "1" * n
                                                      + "Z")), 25000),
    "bare-ampersand-at-the-end": (lambda n: body(entry("&amp;" * n) + "&"), 5000),
}


def cpu_ratio(read: Callable[[bytes], object], small: bytes, large: bytes, runs: int = 3) -> float:
    """CPU seconds of reading `large` over those of `small`: the best of `runs` of each, in turns."""
    best = [float("inf"), float("inf")]
    for _ in range(runs):
        for index, data in enumerate((small, large)):
            start = time.process_time()
            read(data)
            best[index] = min(best[index], time.process_time() - start)
    return max(best[1], SHORTEST) / max(best[0], SHORTEST)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_cpu_grows_linearly_with_the_body(family: str) -> None:
    build, n = FAMILIES[family]
    small, large = build(n), build(GROWTH * n)
    for read in (lambda data: parse_objects_page(data, True),
                 lambda data: parse_versions_page(data.replace(b"ListBucketResult", b"ListVersionsResult")
                                                  .replace(b"Contents>", b"Version>"), True)):
        ratio = cpu_ratio(read, small, large)
        assert ratio < MAX_RATIO, f"{family}: {GROWTH}x the body cost {ratio:.1f}x the CPU ({len(large)} bytes)"
