"""`fivetran configuration --test` as a user runs it: a check that did not apply says it was skipped, and why.

The SDK prints PASSED for every setup test that returns `Test.success()`, and a success carries no message, so the
reason a check was skipped is the warning the connector logs just before that line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scripts.connector_project import local_configuration, make_project, run_fivetran, write_configuration

pytestmark = pytest.mark.e2e


def test_skipped_checks_say_why_before_their_result(tmp_path: Path, local_s3: str, s3: Any) -> None:
    bucket = "e2e-setup-tests"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    project = make_project(tmp_path / "project")
    write_configuration(project, local_configuration(bucket, local_s3))

    run = run_fivetran(project, ["configuration", "--test"])

    assert run.succeeded and "All tests passed!" in run.output, run.tail()
    lines = run.output.splitlines()
    results = {line.split("[", 1)[1].split(" - ", 1)[0]: at for at, line in enumerate(lines) if "]: PASSED" in line}
    assert list(results) == ["check_configuration", "check_credentials", "check_buckets_listable",
                             "check_objects_readable", "check_event_queue", "check_event_wiring"], run.tail()
    skipped = {name: lines[at - 1].split("setup test ", 1)[-1] for name, at in results.items()
               if "skipped:" in lines[at - 1]}
    assert list(skipped) == ["check_credentials", "check_event_queue", "check_event_wiring"], run.tail()
    assert skipped["check_credentials"].startswith("check_credentials: skipped: endpoint_url is set")
    assert skipped["check_event_queue"].startswith("check_event_queue: skipped: sqs_queue_url is empty")
    assert skipped["check_event_wiring"].startswith("check_event_wiring: skipped: sqs_queue_url is empty")
