"""The stand-in S3 server as a child process of the benchmark, with its admin endpoints as methods.

A child process rather than a thread: the server's CPU must not be counted as the benchmark's, and a fresh process per
connector gives each one the same untouched bucket even when a run mutates it.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Optional

STANDIN = Path(__file__).with_name("s3_standin.py")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class StandInProcess:
    def __init__(self, objects: int, latency_ms: float, error_rate: float = 0.0, seed: int = 1,
                 restore_status: bool = True, bucket: str = "bench-bucket", startup_timeout_s: float = 120.0,
                 it_archive_days: int = 0, archived_share: Optional[float] = None):
        self.bucket = bucket
        self.command = [sys.executable, str(STANDIN), "--port", "0", "--objects", str(objects),
                        "--latency-ms", str(latency_ms), "--error-rate", str(error_rate), "--seed", str(seed),
                        "--bucket", bucket]
        if not restore_status:
            self.command.append("--no-restore-status")
        if it_archive_days:
            self.command += ["--it-archive-days", str(it_archive_days)]
        if archived_share is not None:
            self.command += ["--archived-share", str(archived_share)]
        self.startup_timeout_s = startup_timeout_s
        self.process: Optional[subprocess.Popen] = None
        self.errors: Optional[IO[bytes]] = None
        self.url = ""

    def __enter__(self) -> "StandInProcess":
        # stderr goes to a file: a pipe nobody reads would stall the server once it filled.
        self.errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=self.errors, text=True)
        ready, _, _ = select.select([self.process.stdout], [], [], self.startup_timeout_s)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            self.stop()
            self.errors.seek(0)
            raise RuntimeError(f"the stand-in did not start: {line!r} {self.errors.read()[-2000:].decode(errors='replace')}")
        self.url = line.split()[1]
        return self

    def __exit__(self, kind: Optional[type], error: Optional[BaseException], trace: Optional[TracebackType]) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.errors is not None:
            self.errors.close()
            self.errors = None

    def cpu_seconds(self) -> float:
        """User plus system CPU the server has used so far, to tell its share of a run from the connector's."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stats(self) -> dict:
        return self._call("GET", "/__stats")

    def reset(self) -> dict:
        return self._call("POST", "/__reset")

    def mutate(self, change: dict) -> dict:
        return self._call("POST", "/__mutate", change)

    def _call(self, method: str, path: str, payload: Optional[dict] = None) -> dict:
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
