"""When to retry an AWS call, and how long to wait.

botocore's own retries are switched off so that every retry is ours: counted, bounded by attempts and by
total time slept, and reported in the sync summary. Waits use exponential backoff with full jitter (a
uniform draw between zero and the exponential cap), which spreads a throttled swarm of workers out
instead of having them retry in lockstep.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

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


def is_retryable(code: str | None, status: int | None) -> bool:
    """Whether an AWS error response is worth another attempt."""
    return (code in RETRYABLE_CODES) or (status in RETRYABLE_STATUS)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    base_delay: float = 0.1
    max_delay: float = 20.0
    max_total_wait: float = 300.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempt counts from 1)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** min(attempt, 62)))
        return rng.uniform(0.0, ceiling)


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
