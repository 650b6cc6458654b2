"""What a sync needs to know about each bucket before it lists it.

- Versioning: in a versioned bucket a delete leaves a delete marker, which ListObjectVersions shows, so
  deletes can be found by looking at the versions of the key ranges that changed.
- Where restore status comes from (see restore_mode.py for the modes): on AWS, `ListObjectsV2` reports it
  for every restored or restoring object of a page when asked (`OptionalObjectAttributes=RestoreStatus`)
  at no extra request. An object never restored gets no element at all, so a listing that says nothing
  cannot be told apart from a service that ignores the request. The listing is trusted once a restore it
  reports has been confirmed by HEAD (then for good); once they disagree, HEAD decides for good. Until
  either happens AWS is `confirming` and an S3-compatible endpoint is `head`.
- Intelligent-Tiering archive tiers are opt-in per bucket configuration; a bucket without one never has
  an object in an archive tier, so its Intelligent-Tiering objects need no HEAD at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Iterable

from s3_metadata.aws import AwsCallError, S3Gateway
from s3_metadata.configuration import Settings
from s3_metadata.errors import AccessDeniedError, AwsError, NotImplementedByStoreError
from s3_metadata.restore import ARCHIVE_CLASSES, ARCHIVE_TIERS, RestoreInfo, restore_from_head
from s3_metadata.restore_mode import CONFIRMING, HEAD, LISTING, RestoreMode, Tiering
from s3_metadata.rows import listed_object

PROBE_TRACKED = 3
PROBE_LISTED = 20


@dataclass(frozen=True)
class BucketPlan:
    """What a sync knows about one bucket before listing it."""

    bucket: str
    versioned: bool
    restore: RestoreMode
    tiering: Tiering


def archive_after(configurations: Iterable[dict[str, Any]]) -> timedelta | None:
    """The shortest time after which an enabled configuration may move objects to an archive tier."""
    days = [tier["Days"] for config in configurations if config.get("Status", "Enabled") == "Enabled"
            for tier in config.get("Tierings", []) if tier.get("AccessTier") in ARCHIVE_TIERS]
    return timedelta(days=min(days)) if days else None


def views_agree(listing: RestoreInfo | None, head: RestoreInfo) -> bool:
    """Whether the listing's restore view matches HEAD's (expiry compared to the second)."""
    if listing is None:
        return True
    same_expiry = (listing.expiry is None) == (head.expiry is None) and (
        listing.expiry is None or abs((listing.expiry - head.expiry).total_seconds()) < 1)  # type: ignore[operator]
    return listing.status == head.status and same_expiry


class BucketInspector:
    def __init__(self, settings: Settings, gateway: S3Gateway, warn: Callable[[str], None],
                 inform: Callable[[str], None] | None = None):
        self.settings = settings
        self.gateway = gateway
        self.warn = warn
        self.inform = inform or warn

    def plan(self, bucket: str, prefix: str, tracked: list[str], decided: str | None, probe: bool = True) -> BucketPlan:
        return BucketPlan(bucket, self._versioned(bucket, prefix),
                          self._restore_mode(bucket, prefix, tracked, decided, probe),
                          self._tiering(bucket))

    def _versioned(self, bucket: str, prefix: str) -> bool:
        """Whether delete markers can exist and be listed: the bucket is (or was) versioned, and the store answers
        ListObjectVersions. A store without versioning (501) or without ListObjectVersions is treated as unversioned:
        its deletes are counted, not named."""
        try:
            if self.gateway.bucket_versioning(bucket) not in ("Enabled", "Suspended"):
                return False
        except NotImplementedByStoreError:
            self.inform(f"bucket {bucket}: the store does not implement versioning; deleted objects are counted, and "
                        "their rows stay until a reconciliation (reconcile_every_hours) or, in event mode, their "
                        "delete events mark them.")
            return False
        except (AccessDeniedError, AwsError) as error:
            self.warn(f"bucket {bucket}: versioning could not be read ({error}); it is treated as unversioned, so "
                      "deleted objects are only found by reconciliation (reconcile_every_hours).")
            return False
        try:
            self.gateway.list_versions_page(bucket, prefix, None, None, max_keys=1)
        except AccessDeniedError:
            self.warn(f"bucket {bucket}: the bucket is versioned, but the credentials lack s3:ListBucketVersions, so "
                      "delete markers cannot be read: deleted objects are counted as in an unversioned bucket, not "
                      "marked deleted. Add s3:ListBucketVersions on the bucket to the IAM policy (docs/permissions.md).")
            return False
        except NotImplementedByStoreError:
            self.warn(f"bucket {bucket}: the store says the bucket is versioned but does not implement "
                      "ListObjectVersions, so delete markers cannot be read: deleted objects are counted as in an "
                      "unversioned bucket (reconciliation or event mode marks them), and s3_object_versions is not "
                      "filled.")
            return False
        return True

    def _tiering(self, bucket: str) -> Tiering:
        try:
            return Tiering(True, archive_after(self.gateway.intelligent_tiering_configurations(bucket)))
        except (AwsCallError, AccessDeniedError, AwsError) as error:
            code = error.code if isinstance(error, AwsCallError) else type(error).__name__
            if code not in ("NotImplemented", "MethodNotAllowed", "501", "405"):
                self.warn(f"bucket {bucket}: Intelligent-Tiering configurations could not be read ({code}); "
                          "an Intelligent-Tiering object moving to an archive tier is seen only when it is next sent. "
                          "Grant s3:GetIntelligentTieringConfiguration to see it on the next sync.")
            return Tiering(False)

    def _restore_mode(self, bucket: str, prefix: str, tracked: list[str], decided: str | None,
                      probe: bool = True) -> RestoreMode:
        """The bucket's mode: the configured one, the one the state remembers, or what a probe shows (without
        `probe`, the mode a probe that found no evidence gives)."""
        configured = self.settings.restore_status_source
        if configured == HEAD:
            return RestoreMode(HEAD, False, "restore_status_source = head")
        if configured == LISTING:
            return RestoreMode(LISTING, True, "restore_status_source = listing")
        if decided == LISTING:
            return RestoreMode(LISTING, True, "a restore the listing reported was confirmed by HEAD")
        if decided == HEAD:
            return RestoreMode(HEAD, True, "the listing once disagreed with HEAD")
        if not probe:
            return self._unproven_mode()
        try:
            first = self.gateway.list_page(bucket, prefix, None, None, restore_status=True)
        except AwsError as error:
            self.warn(f"bucket {bucket}: the endpoint rejects listings that ask for RestoreStatus ({error}); restore "
                      "status comes from HEAD of every archived object.")
            return RestoreMode(HEAD, False, "the endpoint rejects listings that ask for RestoreStatus")
        candidates = [(key, key) for key in tracked[:PROBE_TRACKED]]
        archived = sorted((e for e in first.entries if e.get("StorageClass") in ARCHIVE_CLASSES),
                          key=lambda e: "RestoreStatus" not in e)
        candidates += [(e["Key"], None) for e in archived[:PROBE_LISTED]]
        confirmed = False
        for key, listing_prefix in candidates:
            verdict = self._compare(bucket, key, listing_prefix, first.entries)
            if verdict is False:
                self.warn(f"bucket {bucket}: the listing does not report restore status as HEAD does (checked on "
                          f"{key[:200]!r}); restore status comes from HEAD for this bucket from now on.")
                return RestoreMode(HEAD, True, "the listing disagreed with HEAD", remember=True)
            confirmed = confirmed or verdict is True
        if confirmed:
            return RestoreMode(LISTING, True, "a restore the listing reported was confirmed by HEAD", remember=True)
        return self._unproven_mode()

    def _unproven_mode(self) -> RestoreMode:
        if self.gateway.endpoint_is_custom:
            return RestoreMode(HEAD, True, "an S3-compatible endpoint that has not shown a restore in a listing yet")
        return RestoreMode(CONFIRMING, True, "AWS, no restore seen yet to confirm the listing with")

    def _compare(self, bucket: str, key: str, listing_prefix: str | None,
                 first_page: list[dict[str, Any]]) -> bool | None:
        """True: the listing reported a restore and HEAD agrees; False: they disagree; None: no evidence."""
        entries = first_page
        if listing_prefix is not None:
            entries = self.gateway.list_page(bucket, listing_prefix, None, None, restore_status=True,
                                             max_keys=1).entries
        entry = next((e for e in entries if e["Key"] == key), None)
        if entry is None:
            return None
        obj = listed_object(entry, restore_status_requested=True)
        try:
            head = self.gateway.head_object(bucket, key)
        except AwsCallError:
            return None
        if head is None:
            return None
        from_head = restore_from_head(obj.storage_class, head.restore, head.archive_status)
        if not views_agree(obj.restore, from_head):
            return False
        return True if "RestoreStatus" in entry else None
