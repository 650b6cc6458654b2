"""What ships: `make package` on a copy of a checkout, then the SDK's own packaging over the folder it builds.

`fivetran deploy build/package` zips that folder exactly as `fivetran package build/package` does (both call the SDK's
`create_package`, `fivetran_connector_sdk_cli/connector_helper.py`), so the zip checked here is what would be
uploaded. The SDK first validates requirements.txt: it runs `pipreqs` over the folder and compares the imports it
finds with requirements.txt. Imports missing from requirements.txt are reported at SEVERE level, requirements nothing
imports at WARNING; an import pipreqs cannot map to an installed distribution is looked up on pypi.python.org, and
when that fails the check is skipped with a warning. Any of these means production would not install exactly what
the code needs. It then zips the folder into `files/<folder name>.zip`, adding the setup form it serialises
(`configuration_form.pb`) and leaving out configuration.json.

The checkout is what git would check out with the current work committed (tracked files plus untracked files that
are not ignored), with what a developer's clone also holds added: a virtual environment, a configuration.json,
files/ from `fivetran debug`, and bytecode in s3_metadata/__pycache__.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from zipfile import ZipFile

import pytest

from scripts.connector_project import REPO, CliRun, run_fivetran

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
# The file the SDK adds to every package: the setup form, serialised for Fivetran.
SDK_ADDED = "configuration_form.pb"
# Without git, the working tree is copied without what a fresh clone would not have.
NOT_IN_A_CHECKOUT = (".git", ".venv", ".demo", ".demo-events", ".pytest_cache", "__pycache__", "files",
                     "configuration.json", "build")
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
    """A copy of the checkout, with what a developer's clone also holds."""
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
    (destination / "configuration.json").write_text(json.dumps(
        {"bucket": "my-bucket", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
         "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}))
    (destination / "files").mkdir(exist_ok=True)
    (destination / "files" / "state.json").write_text('{"version": 1, "streams": {}}')
    (destination / "files" / "warehouse.db").write_bytes(b"not a real database")
    (destination / "s3_metadata" / "__pycache__").mkdir(exist_ok=True)
    (destination / "s3_metadata" / "__pycache__" / "sync.cpython-311.pyc").write_bytes(b"bytecode")
    return destination


def make_package(checkout: Path, *arguments: str) -> Path:
    """`make package` in the checkout, with this interpreter; returns the folder it built."""
    subprocess.run(["make", "--no-print-directory", "package", f"PYTHON={sys.executable}", *arguments], cwd=checkout,
                   check=True, capture_output=True, text=True)
    return checkout / "build" / "package"


def tree(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def packaged_names(run: CliRun, folder: Path) -> set[str]:
    created = _CREATED.search(run.output)
    zip_path = Path(created.group(1)) if created else folder / "files" / f"{folder.name}.zip"
    with ZipFile(zip_path) as archive:
        return set(archive.namelist())


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


def test_package_holds_exactly_the_connector_and_requirements_match_its_imports(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "checkout")
    modules = {path.relative_to(checkout).as_posix() for path in (checkout / "s3_metadata").rglob("*.py")}
    shipped = {"connector.py", "requirements.txt", *modules}
    assert len(modules) > 10 and "s3_metadata/sync.py" in modules

    folder = make_package(checkout, "CONFIGURATION=configuration.json")
    assert tree(folder) == shipped | {"configuration.json"}
    assert (folder / "requirements.txt").read_text() == (checkout / "requirements.txt").read_text()

    run = run_fivetran(folder, ["package", str(folder), "--non-interactive"])

    assert run.succeeded, f"fivetran package failed (exit {run.returncode}):\n{run.tail()}"
    names = packaged_names(run, folder)
    problems = [f"missing from the package: {name}" for name in sorted(shipped - names)]
    problems += [f"packaged but not part of the connector: {name}" for name in sorted(names - shipped - {SDK_ADDED})]
    problems += dependency_problems(run.output)
    if (folder / "requirements.txt").read_text() != (checkout / "requirements.txt").read_text():
        problems.append("requirements.txt was changed by packaging")
    if problems:
        pytest.fail("\n".join(problems) + f"\n\n--- end of the fivetran package output ---\n{run.tail(12)}",
                    pytrace=False)


def test_make_package_empties_an_earlier_build_and_refuses_a_folder_it_did_not_build(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "checkout")
    shipped = tree(make_package(checkout))
    folder = make_package(checkout, "CONFIGURATION=configuration.json")
    (folder / "s3_metadata" / "removed_module.py").write_text("")
    (folder / "files").mkdir()
    (folder / "files" / "state.json").write_text("{}")

    assert tree(make_package(checkout)) == shipped

    mine = tmp_path / "my-folder"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    refused = subprocess.run([sys.executable, "-m", "scripts.package", "--output", str(mine)], cwd=checkout,
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "refusing to empty" in refused.stderr and "notes.txt" in refused.stderr
    assert tree(mine) == {"notes.txt"}
