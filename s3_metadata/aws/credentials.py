"""The credentials every request of a sync is signed with: the configuration's keys, botocore's default chain, or
a role assumed from either that renews itself. Built once per gateway, into its botocore session."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, SSLError

from s3_metadata.aws.envelope import NETWORK_ERRORS
from s3_metadata.configuration import Settings
from s3_metadata.errors import (
    SyncError, classify_client_error, no_credentials, role_not_sent, role_unavailable, role_unreachable,
)
from s3_metadata.retry import is_retryable

ROLE_DURATION_SECONDS = 3600
# A failed role renewal is reported to every worker that asks within this window, without asking STS again.
ROLE_FAILURE_REUSE_SECONDS = 30.0
# The STS client's own retries: botocore's standard mode (3 attempts, jittered backoff). Not ours, because a renewal
# happens inside botocore while a request is signed, outside the envelope (envelope.py); each attempt is still counted.
STS_RETRIES = {"mode": "standard"}


class _NoCache(dict):
    """The fetcher's credential cache, switched off: RefreshableCredentials holds the current credentials and
    decides when to renew them, and a cache would only hand the same ones back."""

    def __contains__(self, key: object) -> bool:
        return False


class AssumedRole:
    """Credentials of `role_arn` that renew themselves, fetched by botocore's own AssumeRoleCredentialFetcher.

    botocore renews them inside the request that notices they are about to expire, while that request is being
    signed and already holds one of the gateway's `max_concurrency` slots. So renewal never goes through the
    gateway's envelope: the STS client has its own retries (standard mode) and takes no slot, and a sync with
    max_concurrency 1 renews as often as it needs to. A failed renewal raises a RoleAssumptionError (or a
    CredentialsError for bad base credentials) that names STS and the role; it is remembered for
    ROLE_FAILURE_REUSE_SECONDS, so the other workers, which botocore holds until the renewal is done, fail at once
    instead of each asking STS in turn.
    """

    def __init__(self, settings: Settings, count: Callable[[str], None], clock: Callable[[], float] = time.monotonic):
        self._role_arn = settings.role_arn
        self._region = settings.aws_region
        self._count = count
        self._clock = clock
        self._lock = threading.Lock()
        self._failure: tuple[type[SyncError], str, float] | None = None
        self._sts_endpoint: str | None = None
        self._base = botocore.session.get_session()
        if settings.aws_access_key_id and settings.aws_secret_access_key:
            self._base.set_credentials(settings.aws_access_key_id, settings.aws_secret_access_key,
                                       settings.aws_session_token)
        source = self._base.get_credentials()
        if source is None:
            raise no_credentials()
        extra: dict[str, Any] = {"RoleSessionName": settings.role_session_name,
                                 "DurationSeconds": ROLE_DURATION_SECONDS}
        if settings.external_id:
            extra["ExternalId"] = settings.external_id
        self._fetcher = AssumeRoleCredentialFetcher(self._sts_client, source, settings.role_arn, extra_args=extra,
                                                    cache=_NoCache())

    def credentials(self) -> RefreshableCredentials:
        """The role's first credentials (fetched now, so a refused role fails before any S3 request)."""
        return RefreshableCredentials.create_from_metadata(metadata=self.fetch(), refresh_using=self.fetch,
                                                           method="sts-assume-role")

    def _sts_client(self, service: str, **credentials: Any) -> Any:
        """The STS client botocore's fetcher asks for, given the source credentials (keys and token). They are
        cleared from this frame however it is left, so that no crash report, which prints our frames' locals, can
        show them (those of the default chain are not in the configuration, the only values it redacts)."""
        try:
            client = self._base.create_client(service, region_name=self._region, **credentials,
                                              config=Config(retries=STS_RETRIES, connect_timeout=10, read_timeout=60))
        finally:
            credentials.clear()
        self._sts_endpoint = client.meta.endpoint_url
        client.meta.events.register("before-send.sts.AssumeRole", self._count_attempt)
        return client

    def _count_attempt(self, **_: Any) -> None:
        self._count("AssumeRole")

    def fetch(self) -> dict[str, Any]:
        """AssumeRole, for botocore's refresh; failures classified (and reused for a short while)."""
        with self._lock:
            if self._failure and self._clock() - self._failure[2] < ROLE_FAILURE_REUSE_SECONDS:
                raise self._failure[0](self._failure[1])
        try:
            return self._fetcher.fetch_credentials()
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code") or "Unknown")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            failure = role_unavailable(self._role_arn, code, status) if is_retryable(code, status) else \
                classify_client_error("AssumeRole", code, status, None, self._role_arn)
        except NoCredentialsError:
            failure = no_credentials()
        except (*NETWORK_ERRORS, SSLError) as error:
            failure = role_unreachable(self._role_arn, self._sts_endpoint, type(error).__name__)
        except BotoCoreError as error:
            failure = role_not_sent(self._role_arn, type(error).__name__)
        with self._lock:
            self._failure = (type(failure), str(failure), self._clock())
        raise failure


def use_credentials(session: Any, settings: Settings, count: Callable[[str], None],
                    clock: Callable[[], float] = time.monotonic) -> None:
    """Give `session` the configuration's keys, if any (else botocore's default chain stands), or the role's
    credentials assumed from them; `count` counts each AssumeRole request."""
    s = settings
    if s.aws_access_key_id and s.aws_secret_access_key:
        session.set_credentials(s.aws_access_key_id, s.aws_secret_access_key, s.aws_session_token)
    if s.role_arn:
        # botocore has no public setter for a session's credentials object.
        session._credentials = AssumedRole(s, count, clock).credentials()
