"""The operations of the model: changes to S3, to the settings, and what one round's sync goes through.

Each operation is a frozen dataclass whose repr is the Python that builds it, so a shrunk scenario prints as a
ready-to-paste regression test. Operations name what they touch concretely (bucket index, key, bytes) but apply
only when they still make sense: once the shrinker has removed the put a delete depended on, the delete does
nothing. So any sub-list of a scenario's operations is a valid scenario.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from tests.model.world import ARCHIVED_CLASSES, BUCKETS, World, WorldSpec


def body_of(size: int, salt: str) -> bytes:
    """`size` bytes determined by `salt` (so an overwrite with the same salt writes identical bytes)."""
    seed = hashlib.sha256(salt.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


@dataclass(frozen=True)
class Put:
    """PutObject (new key or overwrite), with the headers object details read."""

    bucket: int
    key: str
    size: int
    salt: str = ""
    storage_class: str | None = None
    checksum: str | None = None
    content_type: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    encrypted: bool = False
    same_bytes: bool = False
    tick: int = 1

    def apply(self, world: World) -> None:
        bucket = BUCKETS[self.bucket]
        body = body_of(self.size, self.salt or self.key)
        if self.same_bytes:
            current = world.latest(bucket, self.key)
            if current is None:
                return
            body = current.value  # an overwrite with identical bytes
        world.tick(self.tick)
        extra: dict[str, Any] = {}
        if self.checksum:
            extra["ChecksumAlgorithm"] = self.checksum
        if self.content_type:
            extra["ContentType"] = self.content_type
        if self.metadata:
            extra["Metadata"] = dict(self.metadata)
        if self.tags:
            extra["Tagging"] = "&".join(f"{k}={v}" for k, v in self.tags)
        if self.encrypted:
            extra["ServerSideEncryption"] = "AES256"
        world.put(bucket, self.key, body, storage_class=self.storage_class, extra=extra)


@dataclass(frozen=True)
class BulkPut:
    """Many new objects at once through moto's backend (a bucket's first contents)."""

    bucket: int
    keys: tuple[str, ...]
    size: int = 1
    tick: int = 1

    def apply(self, world: World) -> None:
        world.tick(self.tick)
        world.bulk_put(BUCKETS[self.bucket], list(self.keys), body_of(self.size, "bulk"))


@dataclass(frozen=True)
class MultipartPut:
    bucket: int
    key: str
    part_sizes: tuple[int, ...]
    salt: str = ""
    tick: int = 1

    def apply(self, world: World) -> None:
        world.tick(self.tick)
        parts = [body_of(size, f"{self.salt or self.key}/{n}") for n, size in enumerate(self.part_sizes)]
        world.multipart_put(BUCKETS[self.bucket], self.key, parts)


@dataclass(frozen=True)
class CopyInPlace:
    """CopyObject onto itself with new metadata: a new LastModified (and a new version), same bytes."""

    bucket: int
    key: str
    metadata: tuple[tuple[str, str], ...] = (("copied", "yes"),)
    tick: int = 1

    def apply(self, world: World) -> None:
        bucket = BUCKETS[self.bucket]
        obj = world.latest(bucket, self.key)
        restored = world.restore_state(bucket, self.key) == "restored"
        if obj is None or (obj.storage_class in ARCHIVED_CLASSES and not restored):
            return  # S3 refuses to copy an archived object that is not restored
        world.tick(self.tick)
        world.copy_in_place(bucket, self.key, dict(self.metadata))


@dataclass(frozen=True)
class Delete:
    """DeleteObject without a version id: gone in an unversioned bucket, a delete marker in a versioned one."""

    bucket: int
    key: str
    tick: int = 1

    def apply(self, world: World) -> None:
        bucket = BUCKETS[self.bucket]
        if world.latest(bucket, self.key) is None:
            return
        world.tick(self.tick)
        world.delete(bucket, self.key)


@dataclass(frozen=True)
class DeleteVersion:
    """DeleteObject with a VersionId: the `newest`-th version counting from the latest (0), delete markers included.
    Deleting a key's only version removes the key for good; deleting a delete marker brings the version under it
    back."""

    bucket: int
    key: str
    newest: int = 0
    tick: int = 1

    def apply(self, world: World) -> None:
        bucket = BUCKETS[self.bucket]
        versions = world.versions(bucket, self.key)
        if not world.versioned(bucket) or self.newest >= len(versions):
            return
        world.tick(self.tick)
        world.delete_version(bucket, self.key, str(versions[-1 - self.newest].version_id))


@dataclass(frozen=True)
class Transition:
    """A storage-class change behind LastModified (S3's lifecycle engine)."""

    bucket: int
    key: str
    storage_class: str

    def apply(self, world: World) -> None:
        bucket = BUCKETS[self.bucket]
        if world.latest(bucket, self.key) is not None:
            world.set_storage_class(bucket, self.key, self.storage_class)


@dataclass(frozen=True)
class RestoreStart:
    bucket: int
    key: str

    def apply(self, world: World) -> None:
        bucket = BUCKETS[self.bucket]
        obj = world.latest(bucket, self.key)
        if obj is not None and obj.storage_class in ARCHIVED_CLASSES and world.restore_state(bucket, self.key) is None:
            world.start_restore(bucket, self.key)


@dataclass(frozen=True)
class RestoreComplete:
    bucket: int
    key: str
    days: int = 7

    def apply(self, world: World) -> None:
        bucket = BUCKETS[self.bucket]
        if world.restore_state(bucket, self.key) == "in_progress":
            world.complete_restore(bucket, self.key, self.days)


@dataclass(frozen=True)
class RestoreExpire:
    bucket: int
    key: str

    def apply(self, world: World) -> None:
        bucket = BUCKETS[self.bucket]
        if world.restore_state(bucket, self.key) == "restored":
            world.expire_restore(bucket, self.key)


@dataclass(frozen=True)
class Backdate:
    """The latest version's LastModified moved `seconds` back: a late multipart upload."""

    bucket: int
    key: str
    seconds: int

    def apply(self, world: World) -> None:
        bucket = BUCKETS[self.bucket]
        if world.latest(bucket, self.key) is not None:
            world.backdate(bucket, self.key, self.seconds)


@dataclass(frozen=True)
class Setting:
    """A configuration value changed before this round's sync ('' removes it)."""

    name: str
    value: str

    def apply(self, world: World) -> None:
        """Settings change the connector's configuration, not S3 (see runner.Runner)."""


OPERATIONS = (Put, BulkPut, MultipartPut, CopyInPlace, Delete, DeleteVersion, Transition, RestoreStart,
              RestoreComplete, RestoreExpire, Backdate, Setting)


@dataclass(frozen=True)
class Kill:
    """The sync dies at the `number`-th request of `operation` (or its `number`-th checkpoint); the next sync of the
    round resumes."""

    operation: str
    number: int


@dataclass(frozen=True)
class Round:
    """Operations, then a sync: `kills` are tried first (each a sync that dies), then a sync that must succeed.
    `fresh_state`: the state is deleted before the first of them; `reconcile`: a reconciliation is made due."""

    ops: tuple[Any, ...] = ()
    kills: tuple[Kill, ...] = ()
    fresh_state: bool = False
    reconcile: bool = False


@dataclass(frozen=True)
class Scenario:
    seed: int
    spec: WorldSpec = field(default_factory=WorldSpec)
    rounds: tuple[Round, ...] = ()
