"""How a failed sync reads: an explained failure shows its message and no traceback, an unexpected one its traceback.

Both go through the SDK's runner in this process, as `fivetran debug` runs them, and what is checked is what the
runner printed. An explained failure (a SyncError, ConfigurationError or StateError) is reported with `op.error`,
which the runner raises as its `ConnectorTask`; anything else reaches the runner as an exception and is printed
with every frame. Either way the sync fails and the state stays at the last checkpoint.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

import pytest
from fivetran_connector_sdk_core import ConnectorTask

import connector
from s3_metadata import sync
from s3_metadata.configuration import ConfigurationError
from s3_metadata.errors import AccessDeniedError, RetriesExhaustedError
from s3_metadata.state import StateError

# A frame of a Python traceback, as printed ('File "x.py", line 3') or inside the SDK's JSON log lines.
FRAME = re.compile(r'\.py\\?", line \d+')
UNREADABLE_STATE = {"version": 99, "streams": {}}


def shown(message: str, output: str) -> bool:
    """Whether `message` is in the output, printed as it is or inside one of the SDK's JSON log lines."""
    return message in output or json.dumps(message)[1:-1] in output


def seed(harness: Any, count: int = 5) -> None:
    harness.s3.create_bucket("test-bucket")
    harness.s3.bulk_put("test-bucket", [f"k/{i:04d}" for i in range(count)])


@pytest.fixture
def checkpoints(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every state the connector checkpoints, in order; the checkpoints still reach the SDK."""
    states: list[dict[str, Any]] = []
    forward = connector.SdkSink.checkpoint

    def checkpoint(sink: connector.SdkSink, state: dict[str, Any]) -> None:
        states.append(json.loads(json.dumps(state)))
        forward(sink, state)
    monkeypatch.setattr(connector.SdkSink, "checkpoint", checkpoint)
    return states


def bad_region(harness: Any, config: Callable[..., dict[str, str]], _: Any) -> tuple[dict[str, str], Any]:
    seed(harness)
    return config(aws_region="<YOUR_AWS_REGION>"), None


def unreadable_state(harness: Any, config: Callable[..., dict[str, str]], _: Any) -> tuple[dict[str, str], Any]:
    seed(harness)
    return config(), UNREADABLE_STATE


def list_denied(harness: Any, config: Callable[..., dict[str, str]], _: Any) -> tuple[dict[str, str], Any]:
    seed(harness)
    harness.faults.respond("ListObjectsV2", 403, code="AccessDenied")
    return config(), None


def throttled_after_a_checkpoint(harness: Any, config: Callable[..., dict[str, str]],
                                 checkpoints: list[dict[str, Any]]) -> tuple[dict[str, str], Any]:
    """Once a checkpoint after rows is committed, every listing answers SlowDown until the retries run out."""
    seed(harness, 300)
    # The first checkpoint of a first sync records its clean pass (the truncate); the second, rows.
    harness.faults.respond("ListObjectsV2", 503, code="SlowDown", when=lambda op, request, n: len(checkpoints) >= 2)
    return config(range_size=20, max_concurrency=1), None


@pytest.mark.parametrize("arrange,expected", [
    pytest.param(bad_region, ConfigurationError, id="configuration"),
    pytest.param(unreadable_state, StateError, id="state"),
    pytest.param(list_denied, AccessDeniedError, id="access-denied"),
    pytest.param(throttled_after_a_checkpoint, RetriesExhaustedError, id="retries-after-a-checkpoint"),
])
def test_explained_failure_shows_its_message_and_no_traceback(harness, base_config, small_pages, fast_retries,
                                                              checkpoints, capfd, arrange, expected):
    configuration, state = arrange(harness, base_config, checkpoints)

    result = harness.sync(configuration, **({} if state is None else {"state": state}))
    output = capfd.readouterr().out

    assert not result.ok
    assert isinstance(result.raised, ConnectorTask)
    assert isinstance(result.error, expected)
    assert "SYNC FAILED" in output and "SYNC SUCCEEDED" not in output
    assert shown(str(result.error), output), output[-3000:]
    assert "Traceback" not in output and not FRAME.search(output), output[-3000:]
    assert harness.saved_state() == (checkpoints[-1] if checkpoints else {})


def test_failure_after_checkpoints_keeps_the_last_one(harness, base_config, small_pages, fast_retries, checkpoints):
    configuration, _ = throttled_after_a_checkpoint(harness, base_config, checkpoints)

    result = harness.sync(configuration)

    assert isinstance(result.raised, ConnectorTask) and isinstance(result.error, RetriesExhaustedError)
    assert len(checkpoints) >= 1
    assert harness.saved_state() == checkpoints[-1]
    assert 100 <= len(harness.rows()) < 300


def test_configuration_message_is_shown_as_written_not_as_html(harness, base_config, capfd):
    seed(harness)
    result = harness.sync(base_config(aws_region="<YOUR_AWS_REGION>"))
    output = capfd.readouterr().out
    assert isinstance(result.error, ConfigurationError)
    assert "<YOUR_AWS_REGION>" in str(result.error) and "<YOUR_AWS_REGION>" in output
    assert "&lt;" not in output


def test_unexpected_exception_keeps_its_traceback(harness, base_config, monkeypatch, capfd):
    seed(harness)

    def broken(state: Any) -> Any:
        raise LookupError("an unexpected failure planted by the test")
    monkeypatch.setattr(sync, "load_state", broken)

    result = harness.sync(base_config())
    output = capfd.readouterr().out

    assert not result.ok
    assert not isinstance(result.raised, ConnectorTask)
    assert isinstance(result.error, LookupError)
    assert "SYNC FAILED" in output and shown("an unexpected failure planted by the test", output)
    assert "Traceback" in output and FRAME.search(output)
    assert "s3_metadata/sync.py" in output and "in run_sync" in output
    assert harness.saved_state() == {}
