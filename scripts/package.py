"""`make package`: the deployment package, assembled explicitly in build/package/.

`fivetran deploy <folder>` zips the folder it is given and Fivetran installs its requirements.txt and runs its
connector.py. The repository root holds much more than that (tests, scripts, the benchmark, a local
configuration.json with credentials, files/ from `fivetran debug`), so the package is built here instead: exactly
connector.py, the Python modules of s3_metadata/ and requirements.txt, copied into a folder that is emptied first.
configuration.json is copied too only when asked (`--configuration`): `fivetran deploy` reads it from the folder
and never zips it. The end-to-end tests build their projects with the same function, so what they run is what ships.

Standard library only, so `make package` needs no virtual environment.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build" / "package"
CONNECTOR = "connector.py"
PACKAGE = "s3_metadata"
REQUIREMENTS = "requirements.txt"
CONFIGURATION = "configuration.json"
# What a folder built here can hold: the package, configuration.json, and what the `fivetran` commands run in it
# write there (files/ from debug, package and deploy; crash-reports/ from a debug run that hit a bug).
BUILD_ENTRIES = frozenset({CONNECTOR, PACKAGE, REQUIREMENTS, CONFIGURATION, "files", "crash-reports"})


def shipped_files(source: Path = REPO) -> list[str]:
    """What Fivetran needs, relative to `source`: connector.py, every module of s3_metadata/, requirements.txt."""
    modules = sorted(path.relative_to(source).as_posix() for path in (source / PACKAGE).rglob("*.py")
                     if "__pycache__" not in path.parts)
    return [CONNECTOR, *modules, REQUIREMENTS]


def build_package(destination: Path = BUILD, source: Path = REPO, configuration: Path | None = None) -> list[str]:
    """Empty `destination`, copy the shipped files (and `configuration`, as configuration.json) into it; return the
    names written.

    Only a folder that is new, empty or an earlier build is emptied: one holding anything else (the repository, the
    source package, a folder of the user's) is refused before anything is deleted.
    """
    destination, source = destination.resolve(), source.resolve()
    names = shipped_files(source)
    if any(destination == path or destination in path.parents for path in (source / name for name in names)):
        raise ValueError(f"refusing to build the package in {destination}: emptying it would delete the source")
    foreign = sorted(entry.name for entry in destination.iterdir() if entry.name not in BUILD_ENTRIES) \
        if destination.is_dir() else []
    if foreign:
        raise ValueError(f"refusing to empty {destination}: it holds {', '.join(foreign[:5])}, which no build "
                         "leaves there; choose a new or empty folder")
    if destination.exists():
        shutil.rmtree(destination)
    for name in names:
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, destination / name)
    if configuration is not None:
        shutil.copyfile(configuration, destination / CONFIGURATION)
        names.append(CONFIGURATION)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make package", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=BUILD, help="the folder to build (emptied first)")
    parser.add_argument("--configuration", type=Path, default=None,
                        help="a configuration.json to copy in, for `fivetran deploy` to read (it is never zipped)")
    parser.add_argument("--no-hint", action="store_true", help="do not say how to deploy (`make deploy` does it)")
    arguments = parser.parse_args(argv)
    if arguments.configuration is not None and not arguments.configuration.is_file():
        parser.error(f"--configuration: no file at {arguments.configuration}")
    try:
        names = build_package(arguments.output, configuration=arguments.configuration)
    except ValueError as error:
        parser.error(str(error))
    output = arguments.output.resolve()
    shown = output.relative_to(Path.cwd()) if output.is_relative_to(Path.cwd()) else output
    print(f"built {shown}/ with {len(names)} files: {', '.join(names)}")
    if arguments.no_hint:
        return 0
    if output == BUILD:
        print("deploy it with: FIVETRAN_API_KEY=<API_KEY> make deploy DESTINATION=<DESTINATION> "
              "CONNECTION=<CONNECTION_NAME>")
    else:
        print(f"deploy it with (the virtual environment's bin on PATH, for pipreqs): fivetran deploy {shown} "
              "--api-key <API_KEY> --destination <DESTINATION> --connection <CONNECTION_NAME>"
              + ("" if arguments.configuration else ' --configuration "$PWD/configuration.json"'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
