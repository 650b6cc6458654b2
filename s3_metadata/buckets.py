"""What a sync needs to know about each bucket before it lists it.

- Versioning: in a versioned bucket a delete leaves a delete marker, which ListObjectVersions shows, so
  deletes can be found by looking at the versions of the key ranges that changed.
- Where restore status comes from: on AWS, `ListObjectsV2` reports it for every restored or restoring
  object of a page when asked (`OptionalObjectAttributes=RestoreStatus`) at no extra request. An object
  never restored gets no element at all, so a listing that says nothing cannot be told apart from a
  service that ignores the request. The listing is therefore trusted only once a restore it reports has
  been confirmed by HEAD (then for good); until then, and for good once they disagree, HEAD decides.
- Intelligent-Tiering archive tiers are opt-in per bucket configuration; a bucket without one never has
  an object in an archive tier, so its Intelligent-Tiering objects need no HEAD at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Iterable

from s3_metadata.aws import AwsCallError, S3Gateway
from s3_metadata.configuration import Settings
from s3_metadata.errors import AccessDeniedError, AwsError
from s3_metadata.restore import ARCHIVE_CLASSES, ARCHIVE_TIERS, RestoreInfo, restore_from_head
from s3_metadata.rows import listed_object

LISTING, HEAD = "listing", "head"
PROBE_TRACKED = 3
PROBE_LISTED = 20


@dataclass(frozen=True)
class Tiering:
    """What is known about a bucket's Intelligent-Tiering archive tiers.

    `known` False: the configuration could not be read, so objects are only HEADed when sent.
    `archive_after` None (and known): no archive tier, so nothing is ever archived.
    """

    known: bool
    archive_after: timedelta | None = None


@dataclass(frozen=True)
class BucketPlan:
    """`restore_source` says which view of restore status rows trust; `request_restore_status` says whether
    listings ask for RestoreStatus at all (so the range digests cover it whatever the source).

    `head_all_archived`: the listing is known not to report restores (the endpoint rejects or ignores the
    request, or HEAD was chosen), so a restore started on an old archived object changes nothing a listing
    shows: every GLACIER and DEEP_ARCHIVE object is HEADed on every sync, the only way to stay correct there.
    """

    bucket: str
    versioned: bool
    restore_source: str
    request_restore_status: bool
    tiering: Tiering
    decided: bool = False
    head_all_archived: bool = False


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
    def __init__(self, settings: Settings, gateway: S3Gateway, warn: Callable[[str], None]):
        self.settings = settings
        self.gateway = gateway
        self.warn = warn

    def plan(self, bucket: str, prefix: str, tracked: list[str], decided: str | None) -> BucketPlan:
        source, newly_decided, request = self._restore_source(bucket, prefix, tracked, decided)
        known_silent = source == HEAD and (newly_decided or decided == HEAD or not request)
        return BucketPlan(bucket, self._versioned(bucket), source, request, self._tiering(bucket), newly_decided,
                          head_all_archived=known_silent)

    def _versioned(self, bucket: str) -> bool:
        try:
            return self.gateway.bucket_versioning(bucket) in ("Enabled", "Suspended")
        except (AccessDeniedError, AwsError) as error:
            self.warn(f"bucket {bucket}: versioning could not be read ({error}); it is treated as unversioned, so "
                      "deleted objects are only found by reconciliation (reconcile_every_hours).")
            return False

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

    def _restore_source(self, bucket: str, prefix: str, tracked: list[str],
                        decided: str | None) -> tuple[str, bool, bool]:
        """(source, newly decided, ask listings for RestoreStatus). A decision is evidence worth keeping in
        state, so the probe is not repeated; an endpoint that rejects the request is simply not asked."""
        configured = self.settings.restore_status_source
        if configured == HEAD:
            return HEAD, False, False
        if configured == LISTING:
            return LISTING, False, True
        if decided is not None:
            return decided, False, True
        try:
            first = self.gateway.list_page(bucket, prefix, None, None, restore_status=True)
        except AwsError as error:
            self.warn(f"bucket {bucket}: the endpoint rejects listings that ask for RestoreStatus ({error}); restore "
                      "status comes from HEAD.")
            return HEAD, False, False
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
                return HEAD, True, True
            confirmed = confirmed or verdict is True
        if confirmed:
            return LISTING, True, True
        return HEAD, False, True

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
