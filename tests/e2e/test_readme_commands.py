"""The README's own commands, run as written in a fresh clone, against a local S3; then its SQL on what they wrote.

The blocks to run are the ones the README marks (tests/support/readme_blocks.py): shell blocks `readme-test=<order>`
run in that order, each in its own `bash -e` in the clone, and every statement of the SQL blocks marked
`readme-test=query` runs on the warehouse they wrote. What a user's machine provides is provided here:

- a shell whose PATH holds no virtual environment (so a command that needs `.venv/bin` on PATH fails here as it
  fails for a user), AWS settings for the local S3 only (`AWS_ENDPOINT_URL`, dummy credentials, no profile);
- `$EDITOR`: a script that fills configuration.json in for the local bucket (the bucket, and `object_details`
  head,tags so that the object-details queries have their columns); every other value stays as the example has it;
- the virtual environment: `.venv` in the clone is a link to the one running this test, which `make venv` finds up
  to date (tests/support/fresh_clone.py); `README_TEST_FRESH_VENV=1` lets `make venv` create a real one instead.

`make test` is the one README command never run here: this test is part of it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from scripts.connector_project import SCHEMA, TABLE, warehouse_path
from scripts.local_s3 import wait_for_next_second
from tests.e2e.test_fivetran_debug import fill_bucket
from tests.support.fresh_clone import fresh_clone, link_virtual_environment, user_shell_environment
from tests.support.readme_blocks import for_local_warehouse, queries, shell_steps

pytestmark = pytest.mark.e2e

BUCKET = "e2e-readme"
FIRST_KEY = "README.txt"
STEP_TIMEOUT_S = 900.0
NEVER_RUN = {"make test"}
EDITOR = """#!{python}
import json, sys
path = sys.argv[-1]
with open(path, encoding="utf-8") as handle:
    configuration = json.load(handle)
configuration.update(bucket={bucket!r}, object_details="head,tags")
with open(path, "w", encoding="utf-8") as handle:
    json.dump(configuration, handle, indent=2)
"""


def run_step(clone: Path, body: str, environment: dict[str, str]) -> subprocess.CompletedProcess:
    script = "\n".join(line for line in body.splitlines() if line.split("#", 1)[0].strip() not in NEVER_RUN)
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=clone, env=environment,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          encoding="utf-8", errors="replace", timeout=STEP_TIMEOUT_S)


def test_the_readme_commands_work_as_written_on_a_fresh_clone(tmp_path: Path, local_s3: str, s3: Any) -> None:
    fill_bucket(s3, local_s3, BUCKET)
    # moto refuses GetObjectTagging on GLACIER and DEEP_ARCHIVE objects (InvalidObjectState), which AWS answers; the
    # setup test tags the bucket's first key, so the first key here is a STANDARD one.
    s3.put_object(Bucket=BUCKET, Key=FIRST_KEY, Body=b"read me first")
    wait_for_next_second()
    clone = fresh_clone(tmp_path / "clone")
    if os.environ.get("README_TEST_FRESH_VENV") != "1":
        link_virtual_environment(clone)
    editor = tmp_path / "editor"
    editor.write_text(EDITOR.format(python=sys.executable, bucket=BUCKET), encoding="utf-8")
    editor.chmod(0o755)
    environment = user_shell_environment(local_s3, {"EDITOR": str(editor)})
    readme = (clone / "README.md").read_text(encoding="utf-8")

    outputs = {}
    for step in shell_steps(readme):
        result = run_step(clone, step.body, environment)
        shown = "\n".join(result.stdout.splitlines()[-60:])
        assert result.returncode == 0, f"README block at line {step.line} failed ({result.returncode}):\n" \
                                       f"{step.body}\n--- last lines of its output ---\n{shown}"
        assert "Traceback" not in result.stdout, f"README block at line {step.line}:\n{shown}"
        outputs[step.body] = result.stdout
    everything = "\n".join(outputs.values())
    assert "SYNC SUCCEEDED" in everything and "All tests passed!" in everything

    configuration = json.loads((clone / "configuration.json").read_text(encoding="utf-8"))
    assert configuration["bucket"] == BUCKET
    listed = {entry["Key"] for entry in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    with duckdb.connect(str(warehouse_path(clone)), read_only=True) as connection:
        synced = {key for (key,) in connection.execute(f"SELECT key FROM {SCHEMA}.{TABLE} WHERE bucket = ?",
                                                       [BUCKET]).fetchall()}
        assert synced == listed
        failed, answered = {}, 0
        for title, sql in queries(readme):
            try:
                answered += bool(connection.execute(for_local_warehouse(sql, SCHEMA)).fetchall())
            except duckdb.Error as error:
                failed[title] = str(error).splitlines()[0]
    assert not failed, f"README queries that do not run on the warehouse `make debug` wrote: {failed}"
    assert answered >= len(queries(readme)) // 2, "most README queries should find rows in the README test's bucket"
