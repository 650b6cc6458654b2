"""`make deploy`, as the README writes it, from a fresh clone, against a stand-in for Fivetran's API.

Nothing reaches Fivetran: the SDK in a HOME of its own sends its requests to tests/support/fake_fivetran_api.py. What
is checked is what a first deploy sends: the zip (exactly the connector, `s3_metadata/` and requirements.txt, with
the setup form; never configuration.json), the configuration read from where it is, and the naming of the new
connection: `SOURCE_NAMING` by default (the Makefile's NAMING, so the tables are named as the README's SQL names them),
`FIVETRAN_NAMING` with `NAMING=FIVETRAN`, and the SDK's own default (`FIVETRAN_NAMING`) with `NAMING=` empty. It
also proves that `make deploy` finds `pipreqs` (the SDK checks requirements.txt with it before uploading) without an
activated environment.
"""
from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from scripts.package import shipped_files
from tests.support.fake_fivetran_api import GROUP, PACKAGE_ID, fake_fivetran_api
from tests.support.fresh_clone import fresh_clone, link_virtual_environment, user_shell_environment

pytestmark = pytest.mark.e2e

CONFIGURATION = {"bucket": "deploy-bucket", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
                 "aws_secret_access_key": "deploy/Secret+Value0123456789abcdefghij"}
TIMEOUT_S = 600.0


@pytest.mark.parametrize("arguments, naming", [
    pytest.param([], "SOURCE_NAMING", id="default-is-source"),
    pytest.param(["NAMING=FIVETRAN"], "FIVETRAN_NAMING", id="fivetran-naming"),
    pytest.param(["NAMING="], "FIVETRAN_NAMING", id="empty-is-the-sdk-default"),
])
def test_make_deploy_sends_the_package_the_configuration_and_the_naming(tmp_path: Path, local_s3: str, arguments,
                                                                        naming) -> None:
    clone = fresh_clone(tmp_path / "clone")
    link_virtual_environment(clone)
    (clone / "configuration.json").write_text(json.dumps(CONFIGURATION), encoding="utf-8")
    home = tmp_path / "home"
    with fake_fivetran_api(home) as api:
        environment = user_shell_environment(local_s3, {"HOME": str(home), "FIVETRAN_API_KEY": "ZmFrZTprZXk="})
        result = subprocess.run(["make", "deploy", f"DESTINATION={GROUP['name']}", "CONNECTION=s3_metadata",
                                 *arguments], cwd=clone, env=environment, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT_S)
        shown = "\n".join(result.stdout.splitlines()[-40:])
        assert result.returncode == 0 and "Traceback" not in result.stdout, shown
        assert "connection created" in result.stdout, shown
        uploads = api.sent("POST", "/v1/connector-sdk/packages")
        created = api.sent("POST", "/v1/connectors")

    assert len(uploads) == 1 and len(created) == 1, [(r.method, r.path) for r in api.requests]
    with zipfile.ZipFile(io.BytesIO(uploads[0].body)) as package:
        assert sorted(package.namelist()) == sorted([*shipped_files(clone), "configuration_form.pb"])
    sent = created[0].body
    assert sent["group_id"] == GROUP["id"] and sent["service"] == "connector_sdk"
    assert sent["destination_schema_names"] == naming
    assert sent["config"]["schema"] == "s3_metadata" and sent["config"]["package_id"] == PACKAGE_ID
    assert {item["key"]: item["value"] for item in sent["config"]["secrets_list"]} == CONFIGURATION
    assert not (clone / "build" / "package" / "configuration.json").exists()
    assert CONFIGURATION["aws_secret_access_key"] not in result.stdout
