"""When to retry an AWS call, and how long to wait.

botocore's own retries are switched off so that every retry is ours: counted, bounded by attempts and by
total time slept, and reported in the sync summary. Waits use exponential backoff with full jitter (a
uniform draw between zero and the exponential cap), which spreads a throttled swarm of workers out
instead of having them retry in lockstep.

Until an endpoint has answered once, a network failure (a refused connection, a name that does not resolve, a
connect timeout) is almost always a wrong endpoint_url, a stopped server or a missing network path rather than a
passing fault, so it gets a few quick attempts (`first_contact_attempts`) and then the sync says so, instead of
minutes of backoff. Once the endpoint has answered, network failures keep the full policy.

Retries are logged once per wave (`RetryWaves`): the first retry for a reason says what failed and that the sync
is retrying; further retries for the same reason stay quiet until none has come for RETRY_WAVE_QUIET_SECONDS.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Callable

# Error codes S3, STS and SQS use for "try again later". RequestTimeTooSkewed is not one: a clock that is 15
# minutes off stays off, so it fails at once (errors.clock_skewed) instead of being retried as throttling.
RETRYABLE_CODES = frozenset({
    "SlowDown", "ServiceUnavailable", "InternalError", "InternalFailure", "RequestTimeout",
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled", "RequestThrottledException",
    "TooManyRequests", "TooManyRequestsException", "RequestLimitExceeded", "ProvisionedThroughputExceededException",
    "BandwidthLimitExceeded", "EC2ThrottledException", "PriorRequestNotComplete", "OperationAborted",
    "500", "502", "503", "504",
})
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# A wave of retries for one reason ends after this long without one; the next retry for it is logged again.
RETRY_WAVE_QUIET_SECONDS = 60.0


def is_retryable(code: str | None, status: int | None) -> bool:
    """Whether an AWS error response is worth another attempt."""
    return (code in RETRYABLE_CODES) or (status in RETRYABLE_STATUS)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    base_delay: float = 0.1
    max_delay: float = 20.0
    max_total_wait: float = 300.0
    # Network failures before the endpoint ever answered: a refused port fails in about a second.
    first_contact_attempts: int = 3
    first_contact_max_wait: float = 2.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempt counts from 1)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** min(attempt, 62)))
        return rng.uniform(0.0, ceiling)

    def exhausted(self, attempt: int, wait: float, first_contact: bool = False) -> bool:
        """Whether to stop after attempt `attempt` failed, `wait` being the seconds slept in all by the next attempt;
        `first_contact`: a network failure before the endpoint ever answered."""
        if first_contact:
            return attempt >= self.first_contact_attempts or wait > self.first_contact_max_wait
        return attempt >= self.max_attempts or wait > self.max_total_wait


@dataclass
class RetryStats:
    """Retries and time slept across every thread of a sync."""

    retries: int = 0
    waited: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, seconds: float) -> None:
        with self._lock:
            self.retries += 1
            self.waited += seconds


class RetryWaves:
    """Logs a retry once per wave: a burst of retries for the same reason (a code, or a network failure) across every
    thread. A wave ends when no retry for its reason came for `quiet` seconds."""

    def __init__(self, report: Callable[[str], None], clock: Callable[[], float],
                 quiet: float = RETRY_WAVE_QUIET_SECONDS):
        self._report = report
        self._clock = clock
        self._quiet = quiet
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def retrying(self, reason: str, message: str) -> None:
        """A retry for `reason` is about to wait; `message` is logged if it starts a wave."""
        now = self._clock()
        with self._lock:
            last = self._last.get(reason)
            self._last[reason] = now
        if last is None or now - last >= self._quiet:
            self._report(message)
