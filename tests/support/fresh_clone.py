"""A fresh clone of this checkout, and the shell a new user types in, for the tests that run commands as written.

The clone is `git clone` of this checkout with the working tree's files (tracked, and untracked but not ignored)
laid over it, so uncommitted edits are what is tested. Its `.venv` is a link to the virtual environment running the
tests, with requirements files older than that environment's install marker, so `make venv` finds it up to date
(creating one costs about a minute, and CI has just created this one with the same `make venv` from a fresh clone).
The shell has no virtual environment on PATH or active, and AWS settings for the local S3 only.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.local_s3 import DUMMY_CREDENTIALS, REGION
from scripts.package import REPO


def fresh_clone(destination: Path) -> Path:
    """`git clone` of this checkout, with the working tree's files laid over it (uncommitted edits included)."""
    if not (REPO / ".git").exists():
        pytest.skip("the README test clones the repository, and this checkout is not a git repository")
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(destination)], check=True)
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            check=True, capture_output=True).stdout.decode("utf-8").split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def link_virtual_environment(clone: Path) -> None:
    """`.venv` in the clone is the environment running this test, which `make venv` then finds up to date."""
    marker = Path(sys.prefix) / "bin" / ".installed"
    if sys.prefix == sys.base_prefix or not marker.exists():
        pytest.skip("no `make venv` environment to reuse (run under `make test`, or set README_TEST_FRESH_VENV=1)")
    (clone / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    older = marker.stat().st_mtime - 60
    for name in ("requirements.txt", "requirements-dev.txt"):
        os.utime(clone / name, (older, older))


def user_shell_environment(endpoint: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A new terminal's environment: no virtual environment on PATH or active, no AWS setting but the local S3."""
    def in_a_venv(directory: str) -> bool:
        return (Path(directory).parent / "pyvenv.cfg").exists()
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("AWS_", "PYTHON", "FIVETRAN_", "MAKE"))
                   and name not in ("VIRTUAL_ENV", "CONFIGURATION", "VENV", "NAMING", "MFLAGS")}
    environment["PATH"] = os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                                          if d and not in_a_venv(d))
    environment.update(DUMMY_CREDENTIALS)
    environment.update({"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull,
                        "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
                        "NO_COLOR": "1", "DO_NOT_TRACK": "1", **(extra or {})})
    loopback = ",".join(filter(None, [environment.get("NO_PROXY"), "127.0.0.1,localhost"]))
    environment.update({"NO_PROXY": loopback, "no_proxy": loopback})
    return environment
