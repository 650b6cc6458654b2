"""An assumed role renews itself through a whole sync, never waits on the sync's own request slots, and a renewal
that fails says it was STS and which role.

botocore renews assumed-role credentials inside the request that finds them about to expire. The tests make
that happen on every request by moving botocore's refresh thresholds beyond the role's lifetime, so a sync of a
few dozen requests crosses as many renewals. Each sync runs in a thread joined with a generous timeout: a
regression into a deadlock fails the test instead of hanging the suite.
"""
from __future__ import annotations

import threading

import pytest
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import EndpointConnectionError

from s3_metadata.aws import credentials
from s3_metadata.errors import RoleAssumptionError
from tests.support.harness import RunResult

ROLE = "arn:aws:iam::123456789012:role/reader"
TIMEOUT = 120.0


def seed(s3, count: int = 30) -> None:
    s3.create_bucket("test-bucket")
    for i in range(count):
        s3.put("test-bucket", f"k/{i:03d}", b"x", storage_class="GLACIER" if i % 3 == 0 else None)


@pytest.fixture
def renew_on_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials always look about to expire, so every signed request renews them first (mandatory refresh)."""
    beyond = credentials.ROLE_DURATION_SECONDS + 60
    monkeypatch.setattr(RefreshableCredentials, "_advisory_refresh_timeout", beyond)
    monkeypatch.setattr(RefreshableCredentials, "_mandatory_refresh_timeout", beyond)


def sync_within_timeout(harness, config: dict[str, str]) -> RunResult:
    outcome: list[RunResult] = []
    worker = threading.Thread(target=lambda: outcome.append(harness.sync(config)), daemon=True)
    worker.start()
    worker.join(TIMEOUT)
    assert not worker.is_alive(), f"the sync did not finish within {TIMEOUT:.0f}s: deadlocked on a renewal?"
    return outcome[0]


def test_one_slot_sync_crosses_many_renewals(harness, base_config, renew_on_every_request):
    seed(harness.s3)
    result = sync_within_timeout(harness, base_config(role_arn=ROLE, max_concurrency=1))
    assert result.ok, result.error
    assert len(harness.rows()) == 30
    s3_requests = sum(n for op, n in harness.faults.requests.items() if op != "AssumeRole")
    assert harness.faults.requests["AssumeRole"] >= s3_requests > 5


def test_failed_renewal_names_sts_and_the_role_and_blocks_no_worker(harness, base_config, renew_on_every_request,
                                                                   monkeypatch):
    monkeypatch.setattr(credentials, "ROLE_FAILURE_REUSE_SECONDS", 3600.0)
    seed(harness.s3)
    harness.faults.respond("AssumeRole", 403, code="AccessDenied", when=lambda op, request, n: n > 3)
    result = sync_within_timeout(harness, base_config(role_arn=ROLE, max_concurrency=4))
    assert isinstance(result.error, RoleAssumptionError)
    assert f"Could not assume role {ROLE}: AWS STS answered AccessDenied" in str(result.error)
    # The first refusal is given to every other worker that needed a renewal: STS was asked once more, not per worker.
    assert harness.faults.requests["AssumeRole"] == 4


def test_unreachable_sts_is_not_called_an_s3_endpoint_problem(harness, base_config, fast_retries):
    seed(harness.s3)
    harness.faults.fail("AssumeRole", lambda request: EndpointConnectionError(endpoint_url=request.url))
    result = sync_within_timeout(harness, base_config(role_arn=ROLE))
    assert isinstance(result.error, RoleAssumptionError)
    message = str(result.error)
    assert f"Could not assume role {ROLE}: AWS STS (https://sts.us-east-1.amazonaws.com) could not be reached " \
           "(EndpointConnectionError)" in message
    assert "endpoint_url" not in message and "S3 endpoint is not the problem" in message
    assert harness.faults.requests["AssumeRole"] == 3  # botocore's standard retries, not ours
    assert sum(harness.faults.requests.values()) == 3  # and no S3 request was sent
