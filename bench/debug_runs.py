"""Builds a throwaway project for one connector and runs `fivetran debug` on it, as a user would.

Running the real CLI (rather than calling `update()` in-process) keeps its whole cost in the measurement: the
requirements check, the SDK's record encoding and the DuckDB writes all belong to what a sync costs on this machine.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from measured_process import Measurement, run_measured
from production_limit import Envelope

REPO = Path(__file__).resolve().parent.parent
BASELINES = Path(__file__).resolve().parent / "baselines"
OURS = "ours"
LOG_TAIL_LINES = 40

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_UPSERTS = re.compile(r"^\s*Upserts\s*\|\s*(\d+)", re.MULTILINE)
_ELAPSED = re.compile(r"SYNC SUCCEEDED\W+total elapsed (\d+):(\d+):(\d+)\.(\d+)")
_IGNORED = shutil.ignore_patterns("__pycache__", "files", "configuration.json", "*.pyc")


class ProjectMissing(Exception):
    """The connector's sources are not there (ours may not be written yet)."""


@dataclass
class DebugRun:
    measurement: Measurement
    rows_upserted: Optional[int]
    sync_s: Optional[float]

    @property
    def ok(self) -> bool:
        return self.measurement.returncode == 0 and not self.measurement.timed_out

    def log_tail(self) -> str:
        return "\n".join(self.measurement.output.splitlines()[-LOG_TAIL_LINES:])


def prepare_project(connector: str, destination: Path, configuration: dict[str, str]) -> Path:
    """Copies the connector's sources into `destination` and writes its configuration.json."""
    if connector == OURS:
        sources = [REPO / "connector.py", REPO / "s3_metadata", REPO / "requirements.txt"]
    else:
        sources = [BASELINES / connector]
    missing = [str(s) for s in sources if not s.exists()]
    if missing:
        raise ProjectMissing(f"not found: {', '.join(missing)}")
    if connector == OURS:
        destination.mkdir(parents=True)
        for source in sources:
            if source.is_dir():
                shutil.copytree(source, destination / source.name, ignore=_IGNORED)
            else:
                shutil.copy2(source, destination / source.name)
    else:
        shutil.copytree(sources[0], destination, ignore=_IGNORED)
    (destination / "configuration.json").write_text(json.dumps(configuration, indent=2))
    return destination


def fivetran_command() -> list[str]:
    """The `fivetran` of the interpreter running the benchmark, so that a venv need not be activated."""
    beside = Path(sys.executable).with_name("fivetran")
    return [str(beside) if beside.exists() else "fivetran"]


def run_debug(project: Path, output_file: Path, timeout_s: float, envelope: Optional[Envelope] = None) -> DebugRun:
    """One `fivetran debug` (inside `envelope` when given); a second call on the same project is an incremental sync,
    because the CLI picks up the files/state.json the first one left."""
    # The CLI runs `pipreqs` from PATH: the interpreter's own bin directory comes first, as in an activated venv.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "DO_NOT_TRACK": "1", "NO_COLOR": "1", "PATH": path}
    measurement = run_measured([*fivetran_command(), "debug", "--configuration", "configuration.json"],
                               project, env, output_file, timeout_s, envelope)
    text = _ANSI.sub("", measurement.output)
    upserts = _UPSERTS.findall(text)
    elapsed = _ELAPSED.search(text)
    sync_s = None
    if elapsed:
        hours, minutes, seconds, millis = (int(g) for g in elapsed.groups())
        sync_s = hours * 3600 + minutes * 60 + seconds + millis / 1000
    return DebugRun(measurement, int(upserts[-1]) if upserts else None, sync_s)
