"""Throwaway connector projects, and the real `fivetran` CLI run in them as a subprocess.

The demo and the end-to-end tests both need what a user does by hand: a project directory holding the connector, a
configuration.json, `fivetran debug` (or `fivetran package`) run in it, and the DuckDB file it leaves behind. The
CLI runs as a child process, never in-process, so that its own argument handling, requirements check, state file
and exit code are exercised exactly as a user meets them. Its output is captured: callers decide what to show.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import duckdb

from scripts.local_s3 import DUMMY_ACCESS_KEY_ID, DUMMY_CREDENTIALS, DUMMY_SECRET, REGION
from scripts.package import REPO, build_package

SCHEMA = "tester"
TABLE = "s3_objects"
QUALIFIED_TABLE = f"{SCHEMA}.{TABLE}"
VERSIONS_TABLE = "s3_object_versions"
# The naming `make debug` uses (the Makefile's NAMING): tables and columns keep the names the connector declares.
NAMING = ("--naming", "SOURCE")
DEBUG_TIMEOUT_S = 300.0
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_COUNT_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?)\s*\|\s*(\d+)\s*$", re.MULTILINE)
_SUCCEEDED = "SYNC SUCCEEDED"


@dataclass(frozen=True)
class CliRun:
    """One finished `fivetran` command: its exit code and everything it printed (stdout and stderr, interleaved)."""

    command: tuple[str, ...]
    returncode: int
    output: str

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0

    @property
    def synced(self) -> bool:
        """Exit code and the SDK's closing banner both, so a run that never reached a sync cannot pass for one."""
        return self.succeeded and _SUCCEEDED in self.output

    @property
    def counts(self) -> dict[str, int]:
        """The SDK's closing `Operation | Counts` table, e.g. {"Upserts": 3, "Deletes": 0, ...}."""
        return {name: int(value) for name, value in _COUNT_LINE.findall(self.output)}

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def make_project(destination: Path) -> Path:
    """A project directory holding the deployment package (connector.py, s3_metadata/, requirements.txt), built by
    the code `make package` runs, so what is tested is what ships.

    A folder of its own, not the repository, so that a user's own configuration.json and files/ are never touched.
    """
    build_package(destination)
    return destination


def local_configuration(bucket: str, endpoint_url: str | None, **settings: str) -> dict[str, str]:
    """A configuration for a bucket of the local S3; without `endpoint_url` the run needs AWS_ENDPOINT_URL set."""
    configuration = {"bucket": bucket, "aws_access_key_id": DUMMY_ACCESS_KEY_ID,
                     "aws_secret_access_key": DUMMY_SECRET, "aws_region": REGION}
    if endpoint_url:
        configuration["endpoint_url"] = endpoint_url
    configuration.update(settings)
    return configuration


def write_configuration(project: Path, configuration: Mapping[str, str]) -> Path:
    """configuration.json as the CLI reads it: a flat object of strings."""
    path = project / "configuration.json"
    path.write_text(json.dumps(dict(configuration), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def cli_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any AWS setting of the user's, plus dummy credentials and no telemetry.

    A real profile, region or endpoint in the user's shell must not redirect a local run to AWS, nor a proxy setting
    send requests for the local S3 away from this machine.
    """
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment.update(DUMMY_CREDENTIALS)
    environment.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                        "AWS_EC2_METADATA_DISABLED": "true", "DO_NOT_TRACK": "1", "NO_COLOR": "1",
                        "PYTHONIOENCODING": "utf-8"})
    bypassed = environment.get("NO_PROXY") or environment.get("no_proxy")
    loopback = ",".join(filter(None, [bypassed, "127.0.0.1,localhost"]))
    environment.update({"NO_PROXY": loopback, "no_proxy": loopback})
    # The CLI runs pipreqs by name, so the interpreter's own bin directory must come first on PATH.
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment.get("PATH", "")])
    environment.update(extra or {})
    return environment


def fivetran_command() -> list[str]:
    """The `fivetran` beside the running interpreter, so no virtualenv needs to be activated."""
    beside = Path(sys.executable).with_name("fivetran")
    return [str(beside) if beside.exists() else "fivetran"]


def run_fivetran(project: Path, arguments: Iterable[str], environment: Mapping[str, str] | None = None,
                 timeout: float = DEBUG_TIMEOUT_S) -> CliRun:
    """Run `fivetran <arguments>` in `project` and capture its output."""
    command = (*fivetran_command(), *arguments)
    result = subprocess.run(command, cwd=project, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=cli_environment(environment), timeout=timeout,
                            text=True, encoding="utf-8", errors="replace")
    return CliRun(command, result.returncode, _ANSI.sub("", result.stdout))


def run_debug(project: Path, environment: Mapping[str, str] | None = None) -> CliRun:
    """`fivetran debug --configuration configuration.json --naming SOURCE`, as `make debug` runs it, so the tables are
    `s3_objects` and `s3_object_versions` as the README's SQL names them; run again, it continues from
    files/state.json."""
    return run_fivetran(project, ["debug", "--configuration", "configuration.json", *NAMING], environment)


def warehouse_path(project: Path) -> Path:
    return project / "files" / "warehouse.db"


def saved_state(project: Path) -> dict[str, Any]:
    """The state `fivetran debug` left in files/state.json ({} before the first sync)."""
    path = project / "files" / "state.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def query(project: Path, sql: str, parameters: list[Any] | None = None) -> tuple[list[str], list[tuple]]:
    """Column names and rows of one query against the project's warehouse, opened read-only."""
    with duckdb.connect(str(warehouse_path(project)), read_only=True) as connection:
        cursor = connection.execute(sql, parameters or [])
        return [column[0] for column in cursor.description], cursor.fetchall()
