"""Secrets are never echoed (issue 9, item 7), checked on everything `fivetran debug` prints and leaves behind: an
unfilled placeholder in a secret key, credentials written into endpoint_url, and credentials in AWS_ENDPOINT_URL
pointing at a server that does not answer."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scripts.connector_project import local_configuration, make_project, run_debug, write_configuration
from scripts.local_s3 import free_port

pytestmark = pytest.mark.e2e

MARKER = "Zq9SECRETmarker"


def everything_left(project: Path) -> str:
    """Every text file the run left in the project (state, logs), for the marker to be searched in."""
    texts = []
    for path in (project / "files").rglob("*") if (project / "files").exists() else []:
        if path.is_file() and path.suffix in ("", ".json", ".log", ".txt"):
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


@pytest.mark.parametrize("settings, expected", [
    pytest.param({"aws_secret_access_key": f"<{MARKER}/with+slash>"}, "aws_secret_access_key",
                 id="placeholder-left-in-the-secret"),
    pytest.param({"aws_session_token": f"<{MARKER}>"}, "aws_session_token", id="placeholder-left-in-the-token"),
    pytest.param({"endpoint_url": f"http://AKIAEXAMPLE:{MARKER}/x@127.0.0.1:9000"}, "endpoint_url",
                 id="credentials-in-the-endpoint-url"),
])
def test_configuration_errors_never_echo_a_secret(tmp_path: Path, settings: dict[str, str], expected: str) -> None:
    project = make_project(tmp_path / "project")
    write_configuration(project, {**local_configuration("e2e-secrets", "http://127.0.0.1:9000"), **settings})
    run = run_debug(project)
    assert not run.succeeded
    assert expected in run.output
    assert MARKER not in run.output
    assert MARKER not in everything_left(project)


def test_unreachable_endpoint_from_the_environment_is_named_without_its_credentials(tmp_path: Path,
                                                                                      local_s3: Any) -> None:
    project = make_project(tmp_path / "project")
    configuration = local_configuration("e2e-secrets-env", None)
    configuration["aws_secret_access_key"] = MARKER
    write_configuration(project, configuration)
    run = run_debug(project, {"AWS_ENDPOINT_URL": f"http://user:{MARKER}@127.0.0.1:{free_port()}"})
    assert not run.succeeded
    assert "127.0.0.1" in run.output
    assert MARKER not in run.output
    assert MARKER not in everything_left(project)
