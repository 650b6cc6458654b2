"""Unit tests for s3_metadata.timestamps: the fast parser agrees with botocore's, and the text form we store."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from botocore.utils import parse_timestamp

from s3_metadata.timestamps import fast_timestamp_parser, isoformat_utc, parse_isoformat_utc, to_utc

UTC = timezone.utc
T = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
EPOCH = 1704164645  # 2024-01-02T03:04:05Z


def botocore_as_utc(value):
    """botocore's answer as an aware UTC datetime (it returns tzutc, tzlocal for epochs, or naive)."""
    parsed = parse_timestamp(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@pytest.mark.parametrize("value, expected", [
    pytest.param("2024-01-02T03:04:05.000Z", T, id="listing-millis-zero"),
    pytest.param("2024-01-02T03:04:05.123Z", T.replace(microsecond=123000), id="millis"),
    pytest.param("2024-01-02T03:04:05.123456Z", T.replace(microsecond=123456), id="micros"),
    pytest.param("2024-01-02T03:04:05.5Z", T.replace(microsecond=500000), id="one-digit-fraction"),
    pytest.param("2024-01-02T03:04:05.1234567Z", T.replace(microsecond=123456), id="seven-digits-truncated"),
    pytest.param("2024-01-02T03:04:05Z", T, id="no-fraction"),
    pytest.param("2024-01-02T03:04:05z", T, id="lowercase-z"),
    pytest.param("2024-01-02T03:04:05+00:00", T, id="plus-zero-offset"),
    pytest.param("2024-01-02T05:04:05+02:00", T, id="plus-two-hours"),
    pytest.param("2024-01-01T21:34:05-05:30", T, id="negative-offset-crossing-midnight"),
    pytest.param("2024-01-02T05:04:05+0200", T, id="offset-without-colon"),
    pytest.param("2024-01-02T03:04:05.000+00:00", T, id="fraction-and-offset"),
    pytest.param("Tue, 02 Jan 2024 03:04:05 GMT", T, id="rfc1123"),
    pytest.param("Tue, 02 Jan 2024 05:04:05 +0200", T, id="rfc2822-offset"),
    pytest.param(EPOCH, T, id="epoch-int"),
    pytest.param(str(EPOCH), T, id="epoch-string"),
    pytest.param(EPOCH + 0.5, T.replace(microsecond=500000), id="epoch-float"),
    pytest.param("2024-01-02 03:04:05Z", T, id="space-instead-of-t"),
    pytest.param("20240102T030405Z", T, id="basic-iso"),
])
def test_fast_parser_agrees_with_botocore(value, expected):
    fast = fast_timestamp_parser(value)
    assert fast == expected
    assert botocore_as_utc(value) == expected
    assert fast.tzinfo == UTC
    assert fast.utcoffset() == timedelta(0)
    # Same wall-clock fields in UTC, not just the same instant.
    assert fast.replace(tzinfo=None) == botocore_as_utc(value).replace(tzinfo=None)


@pytest.mark.parametrize("value", [
    pytest.param("2024-01-02T03:04:05", id="no-zone"),
    pytest.param("2024-01-02T03:04:05.000", id="no-zone-with-fraction"),
])
def test_text_without_zone_is_utc(value):
    """S3 writes UTC; a timestamp without a zone is read as UTC, never as this machine's local time."""
    assert fast_timestamp_parser(value) == T
    assert fast_timestamp_parser(value).tzinfo == UTC


@pytest.mark.parametrize("value", [
    pytest.param("not a timestamp", id="words"),
    pytest.param("2024-13-02T03:04:05Z", id="month-13"),
])
def test_unreadable_timestamps_raise_like_botocore(value):
    with pytest.raises(ValueError):
        parse_timestamp(value)
    with pytest.raises(ValueError):
        fast_timestamp_parser(value)


@pytest.mark.parametrize("value, expected", [
    pytest.param(datetime(2024, 1, 2, 3, 4, 5), T, id="naive-taken-as-utc"),
    pytest.param(T, T, id="utc"),
    pytest.param(datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))), T, id="offset-converted"),
])
def test_to_utc(value, expected):
    result = to_utc(value)
    assert result == expected
    assert result.tzinfo == UTC
    assert result.replace(tzinfo=None) == expected.replace(tzinfo=None)


@pytest.mark.parametrize("value, text", [
    pytest.param(None, None, id="none"),
    pytest.param(T, "2024-01-02T03:04:05+00:00", id="utc"),
    pytest.param(T.replace(microsecond=123456), "2024-01-02T03:04:05.123456+00:00", id="micros"),
    pytest.param(datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))), "2024-01-02T03:04:05+00:00",
                 id="offset-converted"),
    pytest.param(datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05+00:00", id="naive-taken-as-utc"),
])
def test_isoformat_utc(value, text):
    assert isoformat_utc(value) == text


@pytest.mark.parametrize("value", [
    pytest.param(T, id="utc"),
    pytest.param(T.replace(microsecond=1), id="one-microsecond"),
    pytest.param(datetime(1970, 1, 1, tzinfo=UTC), id="epoch"),
    pytest.param(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), id="max"),
    pytest.param(datetime(2024, 2, 29, 23, 30, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
                 id="negative-odd-offset"),
])
def test_isoformat_round_trip(value):
    parsed = parse_isoformat_utc(isoformat_utc(value))
    assert parsed == value
    assert parsed.tzinfo == UTC


@pytest.mark.parametrize("text, expected", [
    pytest.param("2024-01-02T03:04:05+00:00", T, id="utc"),
    pytest.param("2024-01-02T05:04:05+02:00", T, id="offset"),
    pytest.param("2024-01-02T03:04:05Z", T, id="z"),
])
def test_parse_isoformat_utc(text, expected):
    parsed = parse_isoformat_utc(text)
    assert parsed == expected
    assert parsed.tzinfo == UTC


@pytest.mark.parametrize("text, message", [
    pytest.param("2024-01-02T03:04:05", "has no UTC offset", id="naive"),
    pytest.param("2024-01-02", "has no UTC offset", id="date-only"),
    pytest.param("yesterday", "Invalid isoformat", id="words"),
    pytest.param("", "Invalid isoformat", id="empty"),
    pytest.param("Tue, 02 Jan 2024 03:04:05 GMT", "Invalid isoformat", id="http-date"),
])
def test_parse_isoformat_utc_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        parse_isoformat_utc(text)
