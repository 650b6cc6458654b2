"""End-to-end tests: the real `fivetran` CLI in a subprocess against a local S3 (moto_server) over HTTP.

Nothing runs in-process here: what is checked is what a user gets from `fivetran debug` and `fivetran package`.
One moto_server serves the whole session (each test uses buckets of its own), because starting one costs about a
second and the tests only ever add to it.
"""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from scripts.local_s3 import running_local_s3, s3_client


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end test running the fivetran CLI against a local S3 server")


@pytest.fixture(scope="session")
def local_s3() -> Iterator[str]:
    """The endpoint URL of a moto_server that lives as long as the test session."""
    with running_local_s3() as endpoint:
        yield endpoint


@pytest.fixture
def s3(local_s3: str) -> Any:
    """A boto3 client of the local S3, for setting buckets up and for computing what the table must hold."""
    return s3_client(local_s3)
