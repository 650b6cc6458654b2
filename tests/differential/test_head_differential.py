"""Both HEAD paths of the gateway against botocore's own client, over generated headers (head_responses.py).

Each generated 200 is answered at `before-send` (tests/support/wire.py) to botocore's untouched client, whose
`head_result` is the reference, and to the gateway with and without object details, on its direct path (our
signer, `head_fields`, botocore's handlers and parser when ours declines) and on botocore's path with our
`before-parse` reader. The reference reads timestamps with the connector's parser, as the gateway's botocore
does; botocore with its own (dateutil) must then agree, or refuse a timestamp the connector's parser reads
("plain botocore refuses", a leniency of timestamps.py, counted). Each example is classified:

- equal: what the gateway reads is what botocore reads (all of `head_result` with details; the listing columns
  and checksums without, where the other fields stay empty);
- both fail: botocore raises, and the gateway raises the same exception type;
- lenient: botocore raises on a header no column reads (an empty `Expires`, a `x-amz-tagging-count` that is not a
  number), which the gateway does not read; the gateway answers what botocore answers for the response without
  the headers it does not read;
- WRONG VALUE (the worst): the gateway answers otherwise than botocore, or where botocore fails on a header a
  column reads;
- CRASH (a bug): the gateway raises where botocore answers, or raises another exception than botocore.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest
from botocore.utils import lowercase_dict
from hypothesis import given, note
from hypothesis import strategies as st

from s3_metadata.aws import HEAD_DETAIL_MEMBERS, HEAD_MEMBERS, HeadResult, head_result
from s3_metadata.head_headers import head_fields
from tests.differential.budget import budget, record
from tests.differential.choices import generated
from tests.differential.head_responses import MEMBER_HEADERS, head_headers
from tests.support.wire import BUCKET, Stub, gateway, http_response, plain_client

# The HeadResult fields filled without object details (the others stay None or empty).
WITHOUT_DETAILS = ("storage_class", "restore", "archive_status", "size", "e_tag", "last_modified",
                   "checksum_algorithm", "checksum_type", "checksums")
# The headers the gateway reads, without and with object details (and then the x-amz-meta-* ones).
READ_HEADERS = {details: {wire.lower() for name, (wire, _) in MEMBER_HEADERS.items()
                          if name in HEAD_MEMBERS or name.startswith("Checksum")
                          or (details and name in HEAD_DETAIL_MEMBERS)} for details in ("", "head")}
STUB = Stub()
GATEWAYS = {details: gateway(STUB, details) for details in ("", "head")}
BOTOCORE = {fast: plain_client(STUB, fast_timestamps=fast) for fast in (True, False)}


def _outcome(call: Any) -> Any:
    try:
        return call()
    except Exception as error:  # compared by type below
        return error


def botocore_answer(lines: list[tuple[str, str]], checksums: bool, fast_timestamps: bool = True) -> Any:
    STUB.head = lines
    request = {"ChecksumMode": "ENABLED"} if checksums else {}
    client = BOTOCORE[fast_timestamps]
    return _outcome(lambda: head_result(client.head_object(Bucket=BUCKET, Key="k", **request)))


def gateway_answer(details: str, direct: bool, checksums: bool) -> Any:
    ours = GATEWAYS[details]
    ours._direct_heads._object_urls.pop(BUCKET, None)
    if not direct:
        ours._direct_heads._object_urls[BUCKET] = None
    answer = _outcome(lambda: ours.head_object(BUCKET, "k", checksums=checksums))
    assert (ours._direct_heads._object_urls[BUCKET] is not None) is direct  # the path asked for is the path taken
    return answer


def differences(ours: HeadResult, theirs: HeadResult, details: str) -> list[str]:
    names = [f.name for f in fields(HeadResult)] if details else WITHOUT_DETAILS
    found = [f"{name}: {getattr(ours, name)!r}, botocore {getattr(theirs, name)!r}" for name in names
             if getattr(ours, name) != getattr(theirs, name)]
    if not details:
        found += [f"{f.name} filled without details: {getattr(ours, f.name)!r}" for f in fields(HeadResult)
                  if f.name not in WITHOUT_DETAILS and getattr(ours, f.name) not in (None, {})]
    return found


def _plain_botocore(lines: list[tuple[str, str]], checksums: bool, theirs: Any) -> list[str]:
    """How botocore with its own timestamp parser compares with `theirs`, botocore with the connector's."""
    plain = botocore_answer(lines, checksums, fast_timestamps=False)
    if isinstance(plain, Exception) and not isinstance(theirs, Exception):
        return ["plain botocore refuses a timestamp"]
    if isinstance(theirs, Exception) != isinstance(plain, Exception) or (
            not isinstance(plain, Exception) and differences(theirs, plain, "head")):
        pytest.fail(f"TIMESTAMPS: botocore with dateutil gives {plain!r}, with the connector's parser {theirs!r}"
                    f"\nheaders: {lines!r}")
    return []


def classify(lines: list[tuple[str, str]], checksums: bool, details: str, where: str, ours: Any, theirs: Any,
             read: bool) -> str:
    """One gateway path's answer against botocore's (see the module docstring); fails on a wrong value or crash."""
    if isinstance(ours, Exception) and not isinstance(theirs, Exception):
        pytest.fail(f"CRASH ({where}): {ours!r} where botocore answers\nheaders: {lines!r}")
    if isinstance(theirs, Exception):
        if isinstance(ours, Exception):
            if type(ours) is not type(theirs):
                pytest.fail(f"CRASH ({where}): {ours!r}, botocore {theirs!r}\nheaders: {lines!r}")
            return "both fail"
        # botocore fails: on a header no column reads, or the gateway answers what it must not
        kept = [(name, value) for name, value in lines if name.lower() in READ_HEADERS[details]
                or (details and name.lower().startswith("x-amz-meta-"))]
        restricted = botocore_answer(kept, checksums)
        if isinstance(restricted, Exception):
            pytest.fail(f"WRONG VALUE ({where}): answered where botocore fails ({theirs!r}) on a header a column "
                        f"reads\nheaders: {lines!r}")
        _same(ours, restricted, details, where, lines)
        return "lenient" if details else "lenient without details"
    _same(ours, theirs, details, where, lines)
    return "equal" if read else "equal (declined to botocore)"


def _same(ours: HeadResult, theirs: HeadResult, details: str, where: str, lines: list[tuple[str, str]]) -> None:
    found = differences(ours, theirs, details)
    if found:
        pytest.fail(f"WRONG VALUE ({where}): {'; '.join(found)}\nheaders: {lines!r}")


@budget(ci_examples=200)
@given(lines=generated(head_headers), checksums=st.booleans())
def test_head_paths_equal_botocore(lines: list[tuple[str, str]], checksums: bool) -> None:
    note(f"headers: {lines!r}")
    theirs = botocore_answer(lines, checksums)
    outcomes = set(_plain_botocore(lines, checksums, theirs))
    for details in ("", "head"):
        headers = http_response("", 200, lines).headers
        read = head_fields(lowercase_dict(headers), GATEWAYS[details]._readers._head_members) is not None
        for direct in (True, False):
            STUB.head = lines
            ours = gateway_answer(details, direct, checksums)
            where = f"details={details!r} {'direct' if direct else 'botocore'} path"
            outcomes.add(classify(lines, checksums, details, where, ours, theirs, read))
    record("HeadObject 200s (4 HEAD paths each)", " + ".join(sorted(outcomes)))
