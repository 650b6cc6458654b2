"""What a failed `fivetran debug` prints, run as a user runs it against a local S3 over HTTP.

An explained failure (connector.py reports it with `op.error`) must show its message and neither a traceback nor a
frame of this connector's modules, exit non-zero and leave files/state.json at the last checkpoint. An unexpected
exception must still show its traceback, so that a bug can be found.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from scripts.connector_project import CliRun, local_configuration, make_project, run_debug, saved_state, \
    write_configuration

pytestmark = pytest.mark.e2e

FRAME = re.compile(r'File "[^"]+\.py", line \d+')
# Appended to the project copy's s3_metadata/state.py: run_sync then calls a load_state that fails as a bug would.
PLANTED_BUG = '''

def load_state(state):
    raise LookupError("an unexpected failure planted by the test")
'''


def assert_failed(run: CliRun) -> None:
    assert run.returncode != 0, run.tail()
    assert "SYNC FAILED" in run.output and "SYNC SUCCEEDED" not in run.output, run.tail()


def assert_clean(run: CliRun) -> None:
    """No traceback, no frame, and no crash report (the SDK writes one only for an exception it did not expect)."""
    assert "Traceback" not in run.output and not FRAME.search(run.output), run.tail()
    assert "s3_metadata/" not in run.output and "crash report" not in run.output, run.tail()


def seeded_project(tmp_path: Path, s3: Any, bucket: str) -> Path:
    s3.create_bucket(Bucket=bucket)
    for index in range(5):
        s3.put_object(Bucket=bucket, Key=f"data/{index}.csv", Body=b"x" * (index + 1))
    return make_project(tmp_path / "project")


def test_missing_bucket_fails_with_its_message_and_keeps_the_state(tmp_path: Path, local_s3: str, s3: Any) -> None:
    bucket = "e2e-failure-output"
    project = seeded_project(tmp_path, s3, bucket)
    write_configuration(project, local_configuration(bucket, local_s3))
    first = run_debug(project)
    assert first.synced, first.tail()
    state = saved_state(project)
    assert state["streams"]

    write_configuration(project, local_configuration(f"{bucket},e2e-no-such-bucket", local_s3))
    failed = run_debug(project)

    assert_failed(failed)
    assert "Bucket 'e2e-no-such-bucket' does not exist" in failed.output, failed.tail()
    assert_clean(failed)
    assert saved_state(project) == state


def test_configuration_error_is_shown_as_written(tmp_path: Path, local_s3: str, s3: Any) -> None:
    project = seeded_project(tmp_path, s3, "e2e-failure-configuration")
    write_configuration(project, local_configuration("e2e-failure-configuration", local_s3,
                                                     aws_region="<YOUR_AWS_REGION>"))
    failed = run_debug(project)

    assert_failed(failed)
    assert "Configuration key 'aws_region'" in failed.output and "<YOUR_AWS_REGION>" in failed.output, failed.tail()
    assert_clean(failed)
    assert saved_state(project) == {}


def test_unexpected_exception_keeps_its_traceback(tmp_path: Path, local_s3: str, s3: Any) -> None:
    bucket = "e2e-failure-unexpected"
    project = seeded_project(tmp_path, s3, bucket)
    with (project / "s3_metadata" / "state.py").open("a", encoding="utf-8") as module:
        module.write(PLANTED_BUG)
    write_configuration(project, local_configuration(bucket, local_s3))
    failed = run_debug(project)

    assert_failed(failed)
    assert "an unexpected failure planted by the test" in failed.output, failed.tail()
    assert "Traceback" in failed.output and FRAME.search(failed.output), failed.tail()
    assert re.search(r's3_metadata/sync\.py", line \d+, in run_sync', failed.output), failed.tail()
    assert saved_state(project) == {}
