"""When to retry an AWS call, how long to wait, and when to stop asking at all.

botocore's own retries are switched off so that every retry is ours: counted, bounded by attempts and by
total time slept, and reported in the sync summary. Waits use exponential backoff with full jitter (a
uniform draw between zero and the exponential cap), which spreads a throttled swarm of workers out
instead of having them retry in lockstep.

Some S3-compatible servers answer an operation they do not really serve with 500 (or 501 NotImplemented) for
every object. Retrying each object for minutes would hold a sync of thousands of objects for hours, so an
operation about single objects is given up for the rest of the sync once it failed GIVE_UP_AFTER times in a row with
the same lasting code, on more than one object (`after_failure`, `gives_up`): its later requests fail at once with
that code, and each object's row says so as any per-object failure does. Throttling never counts: it keeps its
backoff. Failures are counted, not only objects, because at a low max_concurrency only a few objects are in flight:
they would have to run out of retries before the next ones could fail.

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
from dataclasses import dataclass, field, replace
from typing import Callable

from s3_metadata.errors import NOT_IMPLEMENTED_CODES, is_throttling

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
SERVER_ERROR_CODES = frozenset({"InternalError", "InternalFailure", "500", "502", "504"})
# Failures in a row, with one lasting code and on two objects at least, after which their operation is given up.
GIVE_UP_AFTER = 6
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


def lasting_failure(code: str, status: int | None) -> bool:
    """Whether a failure may be a server's standing answer to an operation, the same for every object: a server
    error other than throttling, or NotImplemented. Not AccessDenied, NoSuchKey and the like, which can differ from
    one object to the next."""
    if is_throttling(code, status):
        return False
    return code in NOT_IMPLEMENTED_CODES or code in SERVER_ERROR_CODES or (status is not None and status >= 500)


@dataclass(frozen=True)
class Streak:
    """An operation's failures with one code, on different objects, since the operation last succeeded."""

    code: str
    status: int | None
    subjects: frozenset[str] = frozenset()
    failures: int = 0


def after_failure(streak: Streak | None, code: str, status: int | None, subject: str, attempt: int,
                  retryable: bool) -> Streak | None:
    """The operation's streak after a request about `subject` failed with `code` on its `attempt`-th try.

    Another code starts a new streak, and one that is not lasting ends it. A failure counts once it is not a passing
    one: a retryable error from its object's second attempt on (a single 500 is usually gone on the retry), a
    non-retryable one (NotImplemented) at once. A success of the operation ends the streak (`None`).
    """
    if not lasting_failure(code, status):
        return None
    if streak is None or streak.code != code:
        streak = Streak(code, status)
    if retryable and attempt < 2:
        return streak
    return replace(streak, subjects=streak.subjects | {subject}, failures=streak.failures + 1)


def gives_up(streak: Streak | None) -> bool:
    """Whether the operation is given up for the rest of the sync: never for a single object, which may be the only
    one that fails."""
    return streak is not None and len(streak.subjects) >= 2 and streak.failures >= GIVE_UP_AFTER


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
