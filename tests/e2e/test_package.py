"""`fivetran package` on a copy of a real checkout: what would be uploaded to Fivetran, and what production installs.

What the SDK (3.0.0, `fivetran_connector_sdk_cli/connector_helper.py`) does, and so what is checked here:
- `package` first validates requirements.txt: it runs `pipreqs` over the whole project directory (skipping only
  directories that hold a `pyvenv.cfg` and a fixed list: bin, etc, include, lib, Lib, lib64, Scripts, share, and
  pipreqs' own env, venv, .venv, .git, __pycache__ ...) and compares the imports it finds with requirements.txt.
  Imports missing from requirements.txt are reported at SEVERE level, requirements nothing imports at WARNING.
  An import pipreqs cannot map to an installed distribution is looked up on pypi.python.org; when that fails, the
  check is skipped with a warning. Any of these means production would not install exactly what the code needs.
- It then zips the project directory into `files/<project name>.zip`, leaving out what the project's .gitignore
  files exclude, hidden files, configuration.json, directories holding `pyvenv.cfg`, `files/`, `__pycache__/`,
  `lib/` and `include/`. Nothing is uploaded and no deploy key is needed (that is `package create` / `deploy`).

The checkout is what git would check out with the current work committed: tracked files plus untracked files that
are not ignored; a configuration.json, a virtual environment and a files/ directory are added as a developer's
clone has them.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from zipfile import ZipFile

import pytest

from scripts.connector_project import CONNECTOR_ROOT, REPO, CliRun, run_fivetran

pytestmark = pytest.mark.e2e

REQUIREMENTS_PROBLEMS = {
    "Include the following dependency libraries": "imports missing from requirements.txt",
    "The following dependencies are not needed": "requirements that nothing imports",
    "We recommend using the current stable version": "versions that differ from the installed ones",
    "not found locally": "an import of no installed distribution, so pipreqs asked pypi.python.org",
    "pipreqs failed": "pipreqs failed",
    "skipping requirements.txt validation": "the check was skipped",
    "has been updated successfully": "requirements.txt was rewritten",
}
# Path components that must not be in the package, and why.
UNWANTED = {"tests": "test code", "configuration.json": "a local configuration with secrets",
            ".venv": "the virtual environment", "pyvenv.cfg": "the virtual environment", "files": "local sync output"}
# Without git, the working tree is copied without what a fresh clone would not have.
NOT_IN_A_CHECKOUT = (".git", ".venv", ".demo", ".pytest_cache", "__pycache__", "files", "configuration.json")
_CREATED = re.compile(r"package created at: (\S+\.zip)")


def tracked_and_unignored() -> list[str] | None:
    """The repository's files as a clone would have them once the current work is committed; None without git."""
    try:
        listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                                 check=True, capture_output=True).stdout.decode("utf-8")
    except (OSError, subprocess.CalledProcessError):
        return None
    return [name for name in listing.split("\0") if name and (REPO / name).is_file()]


def make_checkout(destination: Path) -> Path:
    """A copy of the checkout, with a virtual environment at its root as a developer's clone has; returns the
    project directory in it, with the configuration.json and files/ that `fivetran debug` runs leave there."""
    names = tracked_and_unignored()
    if names is None:
        shutil.copytree(REPO, destination, ignore=shutil.ignore_patterns(*NOT_IN_A_CHECKOUT))
    for name in names or ():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    package = destination / ".venv" / "lib" / "python3.11" / "site-packages" / "somepackage"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("import numpy\n")
    (destination / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    project = destination / CONNECTOR_ROOT.relative_to(REPO)
    (project / "configuration.json").write_text(json.dumps(
        {"bucket": "my-bucket", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
         "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}))
    (project / "files").mkdir(exist_ok=True)
    (project / "files" / "state.json").write_text('{"version": 1, "streams": {}}')
    (project / "files" / "warehouse.db").write_bytes(b"not a real database")
    return project


def packaged_names(run: CliRun, project: Path) -> list[str]:
    created = _CREATED.search(run.output)
    zip_path = Path(created.group(1)) if created else project / "files" / f"{project.name}.zip"
    with ZipFile(zip_path) as archive:
        return archive.namelist()


def content_problems(names: list[str], project: Path) -> list[str]:
    """What the zip lacks of the connector, and what it holds that production must not get."""
    modules = sorted(str(path.relative_to(project)) for path in (project / "s3_metadata").glob("*.py"))
    problems = [f"missing from the package: {name}" for name in ["connector.py", *modules] if name not in names]
    for part, what in UNWANTED.items():
        found = [name for name in names if f"/{name}".endswith(f"/{part}") or f"/{part}/" in f"/{name}"]
        if found:
            problems.append(f"packaged {what} ({len(found)} files): {', '.join(found[:3])}"
                            + (", ..." if len(found) > 3 else ""))
    return problems


def dependency_problems(output: str) -> list[str]:
    """What the SDK's requirements check said was wrong, each with the line after it (where the names are)."""
    lines = [*output.splitlines(), ""]
    problems = []
    for phrase, what in REQUIREMENTS_PROBLEMS.items():
        at = next((i for i, line in enumerate(lines) if phrase in line), None)
        if at is not None:
            problems.append(f"dependency check: {what}: {lines[at].strip()} | {lines[at + 1].strip()[:300]}")
    if "Validation of requirements.txt completed." not in output:
        problems.append("dependency check: it did not complete")
    return problems


def test_package_holds_only_the_connector_and_requirements_match_its_imports(tmp_path: Path) -> None:
    project = make_checkout(tmp_path / "checkout")
    requirements_before = (project / "requirements.txt").read_text()

    run = run_fivetran(project, ["package", str(project), "--non-interactive"])

    assert run.succeeded, f"fivetran package failed (exit {run.returncode}):\n{run.tail()}"
    problems = content_problems(packaged_names(run, project), project) + dependency_problems(run.output)
    if (project / "requirements.txt").read_text() != requirements_before:
        problems.append("requirements.txt was changed by packaging")
    if problems:
        pytest.fail("\n".join(problems) + f"\n\n--- end of the fivetran package output ---\n{run.tail(12)}",
                    pytrace=False)
