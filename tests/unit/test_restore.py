"""Unit tests for s3_metadata.restore: the x-amz-restore header, HEAD and listing answers, and tracking."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from s3_metadata.restore import (
    ARCHIVED, IN_PROGRESS, NOT_APPLICABLE, RESTORED, RestoreHeaderError, RestoreInfo, error_info, needs_head,
    parse_restore_header, restore_from_head, restore_from_listing,
)

EXPIRY = datetime(2012, 12, 21, tzinfo=timezone.utc)
RESTORED_HEADER = 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'
ONGOING_HEADER = 'ongoing-request="true"'
BAD_HEADER = 'ongoing-request=true'


@pytest.mark.parametrize("header, expected", [
    pytest.param('ongoing-request="true"', (True, None), id="ongoing"),
    pytest.param(RESTORED_HEADER, (False, EXPIRY), id="restored-with-expiry"),
    pytest.param('ongoing-request="false"', (False, None), id="restored-without-expiry"),
    pytest.param('  ongoing-request = "false" ,   expiry-date = "Fri, 21 Dec 2012 00:00:00 GMT"  ',
                 (False, EXPIRY), id="extra-spaces"),
    pytest.param('expiry-date="Fri, 21 Dec 2012 00:00:00 GMT", ongoing-request="false"', (False, EXPIRY),
                 id="attributes-in-other-order"),
    pytest.param('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT", restore-tier="Bulk"',
                 (False, EXPIRY), id="unknown-extra-attribute-after"),
    pytest.param('x-future-attribute="1", ongoing-request="true"', (True, None), id="unknown-extra-attribute-before"),
    pytest.param('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 gmt"', (False, EXPIRY),
                 id="lowercase-gmt"),
    pytest.param('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"', (False, EXPIRY),
                 id="uppercase-gmt"),
    pytest.param('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 02:00:00 +0200"', (False, EXPIRY),
                 id="numeric-offset-converted-to-utc"),
    # An RFC 2822 date without zone is taken as UTC rather than refused.
    pytest.param('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00"', (False, EXPIRY),
                 id="no-zone-is-utc"),
    pytest.param('Ongoing-Request="true"', (True, None), id="attribute-names-case-insensitive"),
    pytest.param('ongoing-request="true",', (True, None), id="trailing-comma"),
])
def test_parse_restore_header(header, expected):
    ongoing, expiry = parse_restore_header(header)
    assert (ongoing, expiry) == expected
    if expiry is not None:
        assert expiry.utcoffset() == timedelta(0)


@pytest.mark.parametrize("header, message", [
    pytest.param("", "has no ongoing-request", id="empty"),
    pytest.param("   ", "has no ongoing-request", id="blank"),
    pytest.param('expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"', "has no ongoing-request", id="missing-ongoing"),
    pytest.param('ongoing-request="maybe"', "has no ongoing-request", id="ongoing-not-boolean"),
    pytest.param('ongoing-request="TRUE"', "has no ongoing-request", id="ongoing-uppercase-value"),
    pytest.param('ongoing-request="false", expiry-date="soon"', "unreadable expiry-date", id="expiry-words"),
    pytest.param('ongoing-request="false", expiry-date=""', "unreadable expiry-date", id="expiry-empty"),
    pytest.param('ongoing-request="false", expiry-date="Fri, 32 Dec 2012 00:00:00 GMT"', "unreadable expiry-date",
                 id="expiry-impossible-day"),
    pytest.param('ongoing-request="false", expiry-date="2012-12-21T00:00:00Z"', "unreadable expiry-date",
                 id="expiry-iso-not-http-date"),
    pytest.param("ongoing-request=true", "unreadable x-amz-restore header", id="unquoted-value"),
    pytest.param("ongoing-request='true'", "unreadable x-amz-restore header", id="single-quotes"),
    pytest.param('ongoing-request="true" expiry-date="x"', "unreadable x-amz-restore header", id="missing-comma"),
    pytest.param('ongoing-request="true",,', "unreadable x-amz-restore header", id="double-comma"),
    pytest.param('ongoing-request="true', "unreadable x-amz-restore header", id="unterminated-quote"),
    pytest.param("garbage", "unreadable x-amz-restore header", id="garbage"),
    pytest.param("{json: true}", "unreadable x-amz-restore header", id="json-like"),
])
def test_parse_restore_header_rejects(header, message):
    with pytest.raises(RestoreHeaderError, match=message):
        parse_restore_header(header)


READABLE_CLASSES = ["STANDARD", "STANDARD_IA", "ONEZONE_IA", "GLACIER_IR", "REDUCED_REDUNDANCY", "EXPRESS_ONEZONE",
                    "OUTPOSTS", "SNOW"]


@pytest.mark.parametrize("storage_class", [pytest.param(c, id=c) for c in READABLE_CLASSES])
@pytest.mark.parametrize("header", [
    pytest.param(None, id="no-header"),
    pytest.param(RESTORED_HEADER, id="restored-header"),
    pytest.param(BAD_HEADER, id="malformed-header"),
])
def test_restore_from_head_readable_classes_have_no_restore_columns(storage_class, header):
    """Objects readable as they are never get a restore status, whatever the header says."""
    assert restore_from_head(storage_class, header, None) == NOT_APPLICABLE == RestoreInfo(None, None, None)


@pytest.mark.parametrize("storage_class, header, archive_status, expected", [
    pytest.param("GLACIER", None, None, RestoreInfo(ARCHIVED), id="glacier-no-header"),
    pytest.param("GLACIER", "", None, RestoreInfo(ARCHIVED), id="glacier-empty-header"),
    pytest.param("GLACIER", "  ", None, RestoreInfo(ARCHIVED), id="glacier-blank-header"),
    pytest.param("GLACIER", ONGOING_HEADER, None, RestoreInfo(IN_PROGRESS), id="glacier-ongoing"),
    pytest.param("GLACIER", RESTORED_HEADER, None, RestoreInfo(RESTORED, EXPIRY), id="glacier-restored"),
    pytest.param("GLACIER", BAD_HEADER, None, RestoreInfo("error:UnreadableRestoreHeader"), id="glacier-malformed"),
    pytest.param("DEEP_ARCHIVE", None, None, RestoreInfo(ARCHIVED), id="deep-archive-no-header"),
    pytest.param("DEEP_ARCHIVE", ONGOING_HEADER, None, RestoreInfo(IN_PROGRESS), id="deep-archive-ongoing"),
    pytest.param("DEEP_ARCHIVE", RESTORED_HEADER, None, RestoreInfo(RESTORED, EXPIRY), id="deep-archive-restored"),
    pytest.param("DEEP_ARCHIVE", "garbage", None, RestoreInfo("error:UnreadableRestoreHeader"),
                 id="deep-archive-malformed"),
    # Intelligent-Tiering: only the archive tiers need a restore.
    pytest.param("INTELLIGENT_TIERING", None, None, RestoreInfo(), id="it-frequent-or-infrequent-tier"),
    pytest.param("INTELLIGENT_TIERING", RESTORED_HEADER, None, RestoreInfo(), id="it-no-archive-tier-header-ignored"),
    pytest.param("INTELLIGENT_TIERING", BAD_HEADER, None, RestoreInfo(), id="it-no-archive-tier-bad-header-ignored"),
    pytest.param("INTELLIGENT_TIERING", None, "SOMETHING_NEW", RestoreInfo(archive_status="SOMETHING_NEW"),
                 id="it-unknown-archive-status-kept-but-not-archived"),
    pytest.param("INTELLIGENT_TIERING", None, "ARCHIVE_ACCESS", RestoreInfo(ARCHIVED, None, "ARCHIVE_ACCESS"),
                 id="it-archive-access"),
    pytest.param("INTELLIGENT_TIERING", ONGOING_HEADER, "ARCHIVE_ACCESS",
                 RestoreInfo(IN_PROGRESS, None, "ARCHIVE_ACCESS"), id="it-archive-access-ongoing"),
    pytest.param("INTELLIGENT_TIERING", RESTORED_HEADER, "ARCHIVE_ACCESS",
                 RestoreInfo(RESTORED, EXPIRY, "ARCHIVE_ACCESS"), id="it-archive-access-restored"),
    pytest.param("INTELLIGENT_TIERING", None, "DEEP_ARCHIVE_ACCESS",
                 RestoreInfo(ARCHIVED, None, "DEEP_ARCHIVE_ACCESS"), id="it-deep-archive-access"),
    pytest.param("INTELLIGENT_TIERING", ONGOING_HEADER, "DEEP_ARCHIVE_ACCESS",
                 RestoreInfo(IN_PROGRESS, None, "DEEP_ARCHIVE_ACCESS"), id="it-deep-archive-access-ongoing"),
    pytest.param("INTELLIGENT_TIERING", BAD_HEADER, "DEEP_ARCHIVE_ACCESS",
                 RestoreInfo("error:UnreadableRestoreHeader", None, "DEEP_ARCHIVE_ACCESS"),
                 id="it-deep-archive-access-malformed"),
    # An ongoing restore reports no expiry even if the header carries one.
    pytest.param("GLACIER", 'ongoing-request="true", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"', None,
                 RestoreInfo(IN_PROGRESS), id="ongoing-ignores-expiry"),
])
def test_restore_from_head(storage_class, header, archive_status, expected):
    assert restore_from_head(storage_class, header, archive_status) == expected


@pytest.mark.parametrize("storage_class, restore_status, expected", [
    pytest.param("GLACIER", None, RestoreInfo(ARCHIVED), id="glacier-no-restore-status"),
    pytest.param("GLACIER", {}, RestoreInfo(ARCHIVED), id="glacier-empty-restore-status"),
    pytest.param("GLACIER", {"IsRestoreInProgress": True}, RestoreInfo(IN_PROGRESS), id="glacier-in-progress"),
    pytest.param("DEEP_ARCHIVE", {"IsRestoreInProgress": False, "RestoreExpiryDate": EXPIRY},
                 RestoreInfo(RESTORED, EXPIRY), id="deep-archive-restored"),
    pytest.param("GLACIER", {"IsRestoreInProgress": False,
                             "RestoreExpiryDate": datetime(2012, 12, 21, 1, 0, tzinfo=timezone(timedelta(hours=1)))},
                 RestoreInfo(RESTORED, EXPIRY), id="expiry-converted-to-utc"),
    pytest.param("GLACIER", {"IsRestoreInProgress": False, "RestoreExpiryDate": datetime(2012, 12, 21)},
                 RestoreInfo(RESTORED, EXPIRY), id="naive-expiry-taken-as-utc"),
    pytest.param("GLACIER", {"IsRestoreInProgress": False}, RestoreInfo(RESTORED), id="restored-without-expiry"),
    pytest.param("INTELLIGENT_TIERING", None, None, id="intelligent-tiering-needs-head"),
    pytest.param("INTELLIGENT_TIERING", {"IsRestoreInProgress": True}, None,
                 id="intelligent-tiering-needs-head-even-with-status"),
    pytest.param("STANDARD", None, NOT_APPLICABLE, id="standard"),
    pytest.param("GLACIER_IR", {"IsRestoreInProgress": True}, NOT_APPLICABLE, id="glacier-ir-never-restored"),
    pytest.param("STANDARD_IA", None, NOT_APPLICABLE, id="standard-ia"),
])
def test_restore_from_listing(storage_class, restore_status, expected):
    result = restore_from_listing(storage_class, restore_status)
    assert result == expected
    if result is not None and result.expiry is not None:
        assert result.expiry.tzinfo == timezone.utc


@pytest.mark.parametrize("storage_class, expected", [
    pytest.param("GLACIER", True, id="GLACIER"),
    pytest.param("DEEP_ARCHIVE", True, id="DEEP_ARCHIVE"),
    pytest.param("INTELLIGENT_TIERING", True, id="INTELLIGENT_TIERING"),
    pytest.param("GLACIER_IR", False, id="GLACIER_IR"),
    pytest.param("STANDARD", False, id="STANDARD"),
    pytest.param("STANDARD_IA", False, id="STANDARD_IA"),
    pytest.param("ONEZONE_IA", False, id="ONEZONE_IA"),
    pytest.param("REDUCED_REDUNDANCY", False, id="REDUCED_REDUNDANCY"),
    pytest.param("EXPRESS_ONEZONE", False, id="EXPRESS_ONEZONE"),
    pytest.param("glacier", False, id="lowercase-is-not-a-class"),
])
def test_needs_head(storage_class, expected):
    assert needs_head(storage_class) is expected


@pytest.mark.parametrize("info, tracked", [
    pytest.param(RestoreInfo(IN_PROGRESS), True, id="in-progress"),
    pytest.param(RestoreInfo(RESTORED, EXPIRY), True, id="restored"),
    pytest.param(RestoreInfo(ARCHIVED), False, id="archived"),
    pytest.param(NOT_APPLICABLE, False, id="not-applicable"),
    pytest.param(RestoreInfo(archive_status="ARCHIVE_ACCESS"), False, id="archive-status-only"),
    pytest.param(error_info("AccessDenied"), False, id="error"),
])
def test_is_tracked(info, tracked):
    assert info.is_tracked is tracked


@pytest.mark.parametrize("code, expected", [
    pytest.param("AccessDenied", "error:AccessDenied", id="access-denied"),
    pytest.param("InternalError", "error:InternalError", id="internal-error"),
])
def test_error_info(code, expected):
    assert error_info(code) == RestoreInfo(expected, None, None)
