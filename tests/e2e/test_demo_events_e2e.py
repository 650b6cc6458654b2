"""`make demo-events` end to end: the demo's own steps (scripts/demo_events.py) on moto_server with its SQS, four
real `fivetran debug` runs, and what each connection's warehouse holds after the second sync.

The outcome the demo shows is asserted here: event mode marks every delete (the unversioned delete, the version
deleted for good, the delete marker) and its table equals S3; listing mode marks only the delete marker and counts
the two deletes no listing can name in its closing warning.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from scripts.demo_events import EVENTS, LISTING, MARKER_EVENT, UNVERSIONED, VERSIONED, report, run_demo

pytestmark = pytest.mark.e2e

GONE_UNVERSIONED = (UNVERSIONED, "reports/2024-02.csv")
GONE_FOR_GOOD = (VERSIONED, "contracts/acme.pdf")
DELETE_MARKER = (VERSIONED, "contracts/globex.pdf")


def test_event_mode_marks_every_delete_that_listing_mode_can_only_count(
        tmp_path: Path, local_s3: str, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = run_demo(local_s3, tmp_path)
    report(outcome)
    printed = capsys.readouterr().out

    gone = {GONE_UNVERSIONED, GONE_FOR_GOOD, DELETE_MARKER}
    assert gone.isdisjoint(outcome.in_s3) and len(outcome.in_s3) == 6
    truth = {ref: ref not in outcome.in_s3 for ref in outcome.in_s3 | gone}
    assert outcome.deleted[EVENTS] == truth
    assert outcome.deleted[LISTING] == {**truth, GONE_UNVERSIONED: False, GONE_FOR_GOOD: False}

    [counted] = outcome.warnings[LISTING]
    assert counted.startswith("2 objects deleted since the last sync in 2 key ranges, whose rows could not be "
                              "marked deleted")
    assert outcome.warnings[EVENTS] == ()
    assert outcome.second_runs[LISTING].counts["Deletes"] == 1
    assert outcome.second_runs[EVENTS].counts["Deletes"] == 3
    assert "5 events applied" in next(line for line in outcome.second_runs[EVENTS].output.splitlines()
                                      if "event sync summary" in line)

    # The demo stands in for S3 only where moto_server sends nothing (a delete marker, in moto 5.2.5), and says so.
    stand_ins = [change for change in outcome.changes if change.stand_in]
    assert {(change.bucket, change.key, change.event) for change in stand_ins} <= {(*DELETE_MARKER, MARKER_EVENT)}
    assert printed.count("standing in for S3") == len(stand_ins)
    assert "2 objects deleted since the last sync" in printed and "event sync summary" in printed
