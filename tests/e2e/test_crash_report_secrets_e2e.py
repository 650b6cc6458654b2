"""No credentials in the SDK's crash report (issue 16, item 8).

When an exception leaves `update()`, `fivetran debug` writes a crash report (crash-reports/ in the project, see
fivetran_connector_sdk_cli/crash_report.py) that prints the locals of every frame of the connector in the
traceback and in the exceptions it chains to, redacting only values of the configuration. Credentials from the
default chain or from an assumed role are not in the configuration, so no frame of ours may hold them where an
unexpected exception can pass. Here an unexpected exception is forced inside a HEAD (of archived objects, whose
restore status takes one), at three points (while it is
signed, while it is sent, while its answer is parsed), with default-chain credentials (a key, a secret and a
session token in the environment) and with a role assumed from them through moto's STS; the whole output, the
crash report and everything left in files/ are then searched for the secret and the tokens, the role's included
(read back from moto).

The exception is injected by a sitecustomize module put on the CLI's PYTHONPATH, so the connector runs unchanged.
"""
from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from scripts.connector_project import local_configuration, make_project, run_debug, write_configuration

pytestmark = pytest.mark.e2e

SECRET = "Zq9DefaultChainSecret/marker+key"
TOKEN = "Zq9DefaultChainSessionTokenMarker"
SESSION_NAME = "crash-report-test"
INJECTION = '''
"""Test-only: make a HeadObject fail where S3M_FAIL_HEAD says (tests/e2e/test_crash_report_secrets_e2e.py)."""
import os
import sys

where = os.environ.get("S3M_FAIL_HEAD")
if where in ("send", "parse"):
    from botocore.awsrequest import AWSResponse
    from botocore.handlers import BUILTIN_HANDLERS

    class _Empty:
        def stream(self, **_):
            yield b""

    def _fail(request, **_):
        if where == "send":
            raise RuntimeError("injected: the HEAD could not be sent")
        return AWSResponse(request.url, 200, {"Last-Modified": "not a date", "Content-Length": "1"}, _Empty())

    BUILTIN_HANDLERS.insert(0, ("before-send.s3.HeadObject", _fail))
elif where == "sign":
    import hashlib
    _real = hashlib.sha256

    def sha256(*args, **kwargs):
        if sys._getframe(1).f_code.co_name == "_signature_headers":
            raise RuntimeError("injected: the HEAD could not be signed")
        return _real(*args, **kwargs)

    hashlib.sha256 = sha256
'''
# Where each injection fails, and what the crash report must then show of it.
FAILURES = {"send": ("RuntimeError: injected: the HEAD could not be sent", "_send_direct_head"),
            "sign": ("SigningError: the HEAD request could not be signed (RuntimeError)", "_sign"),
            "parse": ("ValueError: Invalid timestamp", "_parsed_head")}


def assumed_role_secrets(endpoint: str) -> list[str]:
    """The secret keys and session tokens moto's STS handed out for this test's role sessions."""
    data = json.loads(urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=10).read())
    roles = [role for role in data.get("sts", {}).get("AssumedRole", []) if role.get("session_name") == SESSION_NAME]
    return [value for role in roles for value in (role["secret_access_key"], role["session_token"])]


def everything_left(project: Path) -> str:
    texts = []
    for folder in ("files", "crash-reports"):
        for path in (project / folder).rglob("*") if (project / folder).exists() else []:
            if path.is_file() and path.suffix != ".db":
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


@pytest.mark.parametrize("failure", list(FAILURES))
@pytest.mark.parametrize("role", [False, True], ids=["default-chain", "assumed-role"])
def test_a_crash_inside_a_head_shows_no_credentials(tmp_path: Path, s3: Any, local_s3: str, failure: str,
                                                      role: bool) -> None:
    bucket = f"e2e-crash-{failure}-{'role' if role else 'chain'}"
    s3.create_bucket(Bucket=bucket)
    for key in ("a.txt", "b/c.txt"):  # archived: their restore status takes a HEAD
        s3.put_object(Bucket=bucket, Key=key, Body=b"x", StorageClass="GLACIER")
    project = make_project(tmp_path / "project")
    # Not object_details="head": the report redacts every configuration value wherever it appears, frame names too.
    configuration = local_configuration(bucket, local_s3)
    del configuration["aws_access_key_id"], configuration["aws_secret_access_key"]  # the default chain's
    if role:
        configuration.update(role_arn="arn:aws:iam::123456789012:role/crash-report",
                             external_id="crash-report-external", role_session_name=SESSION_NAME)
    write_configuration(project, configuration)
    injection = tmp_path / "inject"
    injection.mkdir()
    (injection / "sitecustomize.py").write_text(INJECTION)
    run = run_debug(project, {"PYTHONPATH": str(injection), "S3M_FAIL_HEAD": failure,
                              "AWS_ACCESS_KEY_ID": "ASIADEFAULTCHAIN0001", "AWS_SECRET_ACCESS_KEY": SECRET,
                              "AWS_SESSION_TOKEN": TOKEN, "AWS_ENDPOINT_URL_STS": local_s3})

    assert not run.succeeded, run.tail()
    reports = sorted((project / "crash-reports").glob("*"))
    assert len(reports) == 1, run.tail()
    report = reports[0].read_text(encoding="utf-8")
    message, frame = FAILURES[failure]
    assert message in report and f"in {frame}" in report and "Locals:" in report, report
    # The report cuts a long value to its first and last 250 characters, so a signed request's repr (its token
    # among the headers) can pass a search for the token by luck: no frame may show such a local at all.
    shown = re.findall(r"^    (\w+) = ", report, re.MULTILINE)  # the locals (source lines start otherwise)
    assert "key" in shown and not {"prepared", "frozen", "secret_key", "token"} & set(shown), shown
    secrets = [SECRET, TOKEN] + (assumed_role_secrets(local_s3) if role else [])
    assert len(secrets) >= (4 if role else 2)  # the role was assumed: its credentials are searched for too
    left = everything_left(project)
    for secret in secrets:
        assert secret not in run.output
        assert secret not in left
