"""Shared fixtures: moto in process, the SDK's own runner in process, DuckDB to read what landed.

Integration tests run the real `connector` object through the SDK's local runner (the same code
`fivetran debug` runs), so checkpoints, buffered rows and failed syncs behave as they do for users.
AWS faults that moto cannot produce (throttling, odd headers, access denied) are injected at botocore's
`before-send` event, so the rest of botocore (parsing, error handling) still runs for real.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("DO_NOT_TRACK", "1")
# An S3-compatible endpoint that moto in process answers (it must be set before moto is imported).
S3_COMPATIBLE_ENDPOINT = "http://s3-compatible.test:9000"
os.environ["MOTO_S3_CUSTOM_ENDPOINTS"] = S3_COMPATIBLE_ENDPOINT

from tests.support.faults import FaultInjector  # noqa: E402
from tests.support.harness import Harness  # noqa: E402
from tests.support.moto_s3 import MotoS3, key_marker_as_s3  # noqa: E402

TEST_ACCESS_KEY_ID = "AKIATESTEXAMPLE00001"
TEST_SECRET = "tEsT-SeCrEt/ValueThatMustNeverLeak+123"


@pytest.fixture(autouse=True, scope="session")
def no_memory_report_at_exit() -> None:
    """The SDK's runner, run in process by the harness, registers an exit hook per sync that prints the memory it
    used: hundreds of lines after pytest's summary. The tests never read them, so the hook is never registered."""
    from fivetran_connector_sdk_cli.memory_tracker import DebugMemoryTracker
    original = DebugMemoryTracker.start

    def start(self) -> None:
        self.atexit_registered = True
        original(self)
    DebugMemoryTracker.start = start
    yield
    DebugMemoryTracker.start = original


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real AWS credentials, profile or endpoint may leak into a test."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@pytest.fixture
def moto_s3(monkeypatch: pytest.MonkeyPatch) -> MotoS3:
    """moto's S3, with its ListObjectVersions answering a KeyMarker alone as S3 does (moto_s3.key_marker_as_s3)."""
    from moto import mock_aws
    key_marker_as_s3(monkeypatch)
    with mock_aws():
        yield MotoS3()


@pytest.fixture
def faults() -> FaultInjector:
    injector = FaultInjector()
    injector.install()
    try:
        yield injector
    finally:
        injector.uninstall()


@pytest.fixture
def harness(tmp_path: Path, moto_s3: MotoS3, faults: FaultInjector) -> Harness:
    return Harness(tmp_path / "project", moto_s3, faults)


@pytest.fixture
def base_config() -> Callable[..., dict[str, str]]:
    def make(**overrides: Any) -> dict[str, str]:
        config = {"bucket": "test-bucket", "aws_access_key_id": TEST_ACCESS_KEY_ID,
                  "aws_secret_access_key": TEST_SECRET, "aws_region": "us-east-1"}
        config.update({k: str(v) for k, v in overrides.items()})
        return config
    return make


def dump(value: Any) -> str:
    return json.dumps(value, default=str)


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff in milliseconds, so throttling tests take as long as their requests."""
    from s3_metadata.aws import envelope
    from s3_metadata.retry import RetryPolicy
    monkeypatch.setattr(envelope, "DEFAULT_POLICY", RetryPolicy(max_attempts=12, base_delay=0.0005, max_delay=0.005,
                                                           max_total_wait=5.0))


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    """Pages of 50 keys and checkpoints every 100 objects, so small buckets exercise paging and resumption."""
    from s3_metadata import checkpointing
    from s3_metadata.aws import gateway
    monkeypatch.setattr(gateway, "LIST_PAGE_SIZE", 50)
    monkeypatch.setattr(checkpointing, "CHECKPOINT_EVERY", 100)
    return 100
