"""The envelope every AWS request of a sync goes through (`Envelope.call`).

It bounds the requests in flight (`max_concurrency`), retries with backoff itself (botocore's retries are switched
off so every retry is counted, and logged once per wave), counts requests by operation, gives up an operation about
single objects that keeps failing (retry.py), and classifies what fails into a `SyncError` that says what to do.

One answer needs a second look before it can be classified: a server that is not S3 at all (a web page, a JSON API,
a console port) answers ListObjectsV2 with HTML or JSON, which botocore either parses into an empty listing or turns
into a retryable 500: both are recognised and explained at once.
"""
from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import (
    BotoCoreError, ClientError, ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError,
    IncompleteReadError, NoCredentialsError, ReadTimeoutError, ResponseStreamingError, SSLError,
)

from s3_metadata.aws.fast_readers import PARSED_HERE
from s3_metadata.aws.responses import AwsCallError
from s3_metadata.errors import (
    CLOCK_SKEW_CODES, SyncError, answered_by_non_s3, classify_client_error, clock_skewed, endpoint_unreachable,
    gave_up, no_credentials, not_s3_api, retries_exhausted, tls_failure,
)
from s3_metadata.retry import RetryPolicy, RetryStats, RetryWaves, Streak, after_failure, gives_up, is_retryable

NETWORK_ERRORS = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError,
                  ResponseStreamingError, IncompleteReadError)
_NETWORK_ERROR_NAMES = frozenset({e.__name__ for e in NETWORK_ERRORS} | {SSLError.__name__})
DEFAULT_POLICY = RetryPolicy()


@dataclass
class GivenUp:
    """An operation given up for the rest of the sync: the streak that gave it up, and the requests not sent since."""

    streak: Streak
    unsent: int = 0


class Envelope:
    """Retries, counting, the concurrency bound and classification, around every request of one gateway."""

    def __init__(self, endpoint: str | None, role_arn: str | None, max_concurrency: int,
                 policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic):
        self.policy = policy or DEFAULT_POLICY
        self.retry_stats = RetryStats()
        self.requests: Counter[str] = Counter()
        self._endpoint = endpoint
        self._role_arn = role_arn
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        self._lock = threading.Lock()
        self._in_flight = threading.BoundedSemaphore(max_concurrency)
        # Per operation about single objects: its failures in a row, and whether it was given up (retry.py).
        self._streaks: dict[str, Streak | None] = {}
        self._given_up: dict[str, GivenUp] = {}
        # Whether any endpoint has answered a request yet (see retry.py: network failures before that are cut short).
        self._answered = False
        self._retry_waves: RetryWaves | None = None

    def log_retries_to(self, report: Callable[[str], None]) -> None:
        """Log each wave of retries (the first retry for a reason) through `report`, e.g. the sync's logger."""
        self._retry_waves = RetryWaves(report, self._clock)

    def _retrying(self, operation: str, bucket: str | None, failure: str, attempt: int) -> None:
        if self._retry_waves is not None:
            where = f" for bucket '{bucket}'" if bucket else ""
            self._retry_waves.retrying(failure, (
                f"{operation}{where} failed with {failure} (attempt {attempt}); retrying with backoff. Further "
                f"retries after {failure} are not logged until none has come for a minute; the closing summary "
                "counts them all"))

    def count(self, operation: str) -> None:
        with self._lock:
            self.requests[operation] += 1

    def _raise_if_given_up(self, operation: str) -> None:
        given_up = self._given_up.get(operation)
        if given_up is None:
            return
        with self._lock:
            given_up.unsent += 1
        raise AwsCallError(operation, given_up.streak.code, given_up.streak.status)

    def _note_success(self, operation: str) -> None:
        with self._lock:
            if operation not in self._given_up:
                self._streaks[operation] = None

    def _note_failure(self, operation: str, subject: str, code: str, status: int | None, attempt: int,
                      retryable: bool) -> bool:
        """Record a failed request about one object; whether its operation is now given up (see retry.py)."""
        with self._lock:
            if operation in self._given_up:
                return True
            streak = after_failure(self._streaks.get(operation), code, status, subject, attempt, retryable)
            self._streaks[operation] = streak
            if gives_up(streak):
                self._given_up[operation] = GivenUp(streak)  # type: ignore[arg-type]
                return True
            return False

    def given_up_warnings(self) -> list[str]:
        """One warning per operation given up in this sync, for the closing report."""
        with self._lock:
            return [gave_up(operation, g.streak.code, g.streak.status, g.streak.failures, len(g.streak.subjects),
                            g.unsent)
                    for operation, g in sorted(self._given_up.items())]

    def call_classified(self, operation: str, bucket: str | None, method: Callable[..., dict[str, Any]],
                        **request: Any) -> dict[str, Any]:
        try:
            return self.call(operation, bucket, method, **request)
        except AwsCallError as error:
            raise classify_client_error(error.operation, error.code, error.status, bucket,
                                        self._role_arn) from None

    def call(self, operation: str, bucket: str | None, method: Callable[..., dict[str, Any]],
             subject: str | None = None, **request: Any) -> dict[str, Any]:
        """Call with retries; raises SyncError when retries run out (RetriesExhaustedError when the service kept
        failing) or retrying cannot help (a skewed clock, a TLS or scheme mistake, a server that is not S3),
        AwsCallError for other error responses.

        `subject` names the object of a request about one object: such an operation is given up for the rest of
        the sync when retry.gives_up says so, and then fails at once, unsent, with the code that gave it up."""
        attempt = 0
        waited = 0.0
        status: int | None = None
        while True:
            attempt += 1
            if subject is not None:
                self._raise_if_given_up(operation)
            self.count(operation)
            try:
                with self._in_flight:
                    response = method(**request)
                self._answered = True
                if operation == "ListObjectsV2" and "IsTruncated" not in response and PARSED_HERE not in response:
                    # Any XML parses, so a web page answering 200 would read as an empty bucket.
                    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
                    raise not_s3_api(self._endpoint, operation, 200, headers.get("content-type", ""))
                if subject is not None and self._streaks.get(operation) is not None:
                    self._note_success(operation)
                return response
            except ClientError as error:
                self._answered = True
                raw_code = str(error.response.get("Error", {}).get("Code") or "")
                code = raw_code or "Unknown"
                status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
                if code in CLOCK_SKEW_CODES:
                    raise clock_skewed(operation, code) from None
                if operation == "ListObjectsV2" and answered_by_non_s3(raw_code, status, headers):
                    raise not_s3_api(self._endpoint, operation, status, headers.get("content-type", "")) from None
                retryable = is_retryable(code, status)
                if subject is not None and self._note_failure(operation, subject, code, status, attempt, retryable):
                    raise AwsCallError(operation, code, status, headers) from None
                if not retryable:
                    raise AwsCallError(operation, code, status, headers) from None
                failure = code
            except NoCredentialsError:
                raise no_credentials() from None
            except SSLError as error:
                explained = tls_failure(self._endpoint, str(error))
                if explained is not None:
                    raise explained from None
                failure = type(error).__name__
            except NETWORK_ERRORS as error:
                failure = type(error).__name__
            except SyncError:
                raise
            except BotoCoreError as error:
                raise SyncError(f"{operation} could not be sent: {type(error).__name__}") from None
            delay = self.policy.delay(attempt, self._rng)
            network = failure in _NETWORK_ERROR_NAMES
            if self.policy.exhausted(attempt, waited + delay, first_contact=network and not self._answered):
                if network:
                    raise endpoint_unreachable(self._endpoint, failure, attempt)
                raise retries_exhausted(operation, failure, attempt, waited, bucket, status)
            self._retrying(operation, bucket, failure, attempt)
            self.retry_stats.record(delay)
            waited += delay
            self._sleep(delay)
