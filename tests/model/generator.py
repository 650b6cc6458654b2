"""Random rounds, from a seed and what the world holds now: operations of every kind, settings, kills.

Only `random.Random(seed)` and the world's contents decide what comes next, and the world is a deterministic
function of the operations applied to it (world.py), so a seed always produces the same scenario.
"""
from __future__ import annotations

import random
from typing import Any, Callable

from s3_metadata.sketch import key_hash
from tests.model.ops import (
    Backdate, BulkPut, CopyInPlace, Delete, DeleteVersion, Kill, MultipartPut, Put, RestoreComplete, RestoreExpire,
    RestoreStart, Round, Setting, Transition,
)
from tests.model.world import ARCHIVED_CLASSES, BUCKETS, World, WorldSpec

# Key families: each a function of a small number, so bursts land in one key range and overwrites find old keys.
FAMILIES: tuple[Callable[[int], str], ...] = (
    lambda n: f"a/{n:04d}",
    lambda n: f"a/{n:04d}.csv",
    lambda n: f"b/c/{n:03d}.csv",
    lambda n: f"logs/2024/{n:03d}.gz",
    lambda n: f"with space/{n} + plus",
    lambda n: f"pct%2F{n}%20x",
    lambda n: f"ユニコード/データ-{n}",
    lambda n: f"double//slash/{n}",
    lambda n: f"folder{n:02d}/",
    lambda n: "long/" + "x" * (150 + (n * 37) % 850) + f"/{n}",
    lambda n: f"emoji/\U0001F642{n}",
    lambda n: f"tab\there/{n}",
    lambda n: f"Z{n}",
)
NUMBERS = 40
CLASSES = ("STANDARD_IA", "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "INTELLIGENT_TIERING", "ONEZONE_IA", "STANDARD")
PREFIXES = ("", "", "", "a/", "b/", "a/,logs/", "ユニコード/", "folder")
INCLUDES = ("", "", "", "a/**", "**/*.csv", "logs/**/*.gz", "b/**,a/*", "*", "**/*.csv,Z*")
EXCLUDES = ("", "", "", "**/*.gz", "a/00*", "with space/**", "**/", "a/**")
DETAILS = ("", "", "head", "tags", "head,tags")
RANGE_SIZES = ("10", "10", "12", "15", "20")  # the connector accepts 10 and more
# Where a sync dies, and up to which request: the first few LISTs are the buckets' probes, so most numbers reach
# into the pass, where a kill leaves it half done.
KILLS = (("ListObjectsV2", 30), ("ListObjectsV2", 8), ("HeadObject", 25), ("ListObjectVersions", 12),
         ("GetObjectTagging", 6), ("checkpoint", 6), ("ReceiveMessage", 2), ("HeadObject", 1), ("DeleteMessageBatch", 1))
OP_WEIGHTS = (("put", 25), ("multipart", 3), ("overwrite", 14), ("delete", 12), ("delete_version", 6),
              ("copy", 5), ("transition", 9), ("restore_start", 6), ("restore_complete", 4), ("restore_expire", 3),
              ("backdate", 3), ("collide", 1))


def random_spec(rng: random.Random) -> WorldSpec:
    return WorldSpec(versioned=(rng.random() < 0.6, rng.random() < 0.4),
                     regions=("us-east-1", rng.choice(("us-east-1", "us-west-2"))),
                     listing_restore=rng.random() < 0.5,
                     page_size=rng.choice((2, 5, 13, 50)), checkpoint_every=rng.choice((7, 30, 100)),
                     archived_tags=rng.random() < 0.5)


def twin_key(key: str) -> str:
    """A key just after `key` in key order with the same 16-bit key hash (sketch.py): the two share sketch cells."""
    target = key_hash(key)
    number = 0
    while True:
        candidate = f"{key}~{number}"
        if key_hash(candidate) == target:
            return candidate
        number += 1


class Generator:
    def __init__(self, seed: int, spec: WorldSpec):
        self.rng = random.Random(seed * 7919 + 17)
        self.spec = spec
        self.salts = 0

    # -- helpers
    def _salt(self) -> str:
        self.salts += 1
        return f"s{self.salts}"

    def _tick(self, new_key: bool = False) -> int:
        """Seconds on the logical clock before a write. Two writes of one key in the same second could leave
        everything a listing shows unchanged while HEAD's answer changed (S3 lists whole seconds), which no
        listing can see; so only writes of new keys may share a second with the write before."""
        return self.rng.choice((0, 1, 1, 2, 60) if new_key else (1, 1, 1, 2, 60))

    def _details(self) -> dict[str, Any]:
        rng = self.rng
        return {"checksum": rng.choice((None, None, "CRC32", "SHA1", "SHA256")),
                "content_type": rng.choice((None, "text/csv", "application/json")),
                "metadata": tuple(sorted({(f"m{rng.randint(0, 2)}", f"v{rng.randint(0, 3)}")
                                          for _ in range(rng.randint(0, 2))})),
                "tags": tuple(sorted({(f"t{rng.randint(0, 2)}", f"x{rng.randint(0, 3)}")
                                      for _ in range(rng.randint(0, 2))})),
                "encrypted": rng.random() < 0.3}

    def _new_key(self, window: tuple[int, int, int] | None) -> str:
        if window is not None:
            family, low, high = window
            return FAMILIES[family](self.rng.randint(low, high))
        return self.rng.choice(FAMILIES)(self.rng.randrange(NUMBERS))

    def _bucket(self, configured: list[int]) -> int:
        if configured and self.rng.random() < 0.85:
            return self.rng.choice(configured)
        return self.rng.randrange(len(BUCKETS))

    # -- rounds
    def first_round(self) -> Round:
        rng = self.rng
        ops: list[Any] = [Setting("bucket", rng.choice(("0", "0,1", "0,1", "1"))),
                          Setting("range_size", rng.choice(RANGE_SIZES))]
        if rng.random() < 0.3:
            ops.append(Setting("object_details", rng.choice(DETAILS[2:])))
        if rng.random() < 0.3:
            ops.append(Setting("sync_versions", "true"))
        if rng.random() < 0.15:
            ops.append(Setting("prefix", rng.choice(PREFIXES[3:])))
        for bucket in range(len(BUCKETS)):
            keys = sorted({self._new_key(None) for _ in range(rng.randint(8, 70))})
            ops.append(BulkPut(bucket, tuple(keys)))
            for _ in range(rng.randint(0, 6)):
                ops.append(Put(bucket, self._new_key(None), rng.randint(0, 40), self._salt(),
                               storage_class=rng.choice(("GLACIER", "DEEP_ARCHIVE", "STANDARD_IA", None)),
                               **self._details()))
        return Round(tuple(ops))

    def next_round(self, world: World, settings: dict[str, str]) -> Round:
        rng = self.rng
        ops: list[Any] = []
        if rng.random() < 0.3:
            ops += self._setting_changes(settings)
        configured = [int(b) for b in settings.get("bucket", "0").split(",")]
        roll = rng.random()
        count = 0 if roll < 0.08 else rng.randint(1, 5) if roll < 0.6 else rng.randint(6, 30) if roll < 0.9 \
            else rng.randint(31, 200)
        window = None
        if rng.random() < 0.4:
            low = rng.randrange(NUMBERS)
            window = (rng.randrange(len(FAMILIES)), low, low + rng.randint(0, 6))
        for _ in range(count):
            op = self._operation(world, configured, window)
            if op is not None:
                ops += op if isinstance(op, list) else [op]
        kills: tuple[Kill, ...] = ()
        if rng.random() < 0.2:
            kills = tuple(Kill(name, rng.randint(1, most)) for name, most in
                          (rng.choice(KILLS) for _ in range(1 if rng.random() < 0.7 else 2)))
        fresh = rng.random() < 0.04
        reconcile = not fresh and rng.random() < 0.03
        if reconcile and settings.get("reconcile_every_hours") != "6":
            ops.append(Setting("reconcile_every_hours", "6"))
        return Round(tuple(ops), kills, fresh, reconcile)

    def _setting_changes(self, settings: dict[str, str]) -> list[Setting]:
        rng = self.rng
        name = rng.choice(("range_size", "range_size", "object_details", "object_details", "include_patterns",
                           "exclude_patterns", "prefix", "sync_versions", "event_mode", "event_mode", "bucket",
                           "max_concurrency", "restore_status_source"))
        value = {
            "range_size": lambda: rng.choice(RANGE_SIZES),
            "object_details": lambda: rng.choice(DETAILS),
            "include_patterns": lambda: rng.choice(INCLUDES),
            "exclude_patterns": lambda: rng.choice(EXCLUDES),
            "prefix": lambda: rng.choice(PREFIXES),
            "sync_versions": lambda: "" if settings.get("sync_versions") else "true",
            "event_mode": lambda: "" if settings.get("event_mode") else "on",
            "bucket": lambda: rng.choice(("0", "0,1", "1")),
            "max_concurrency": lambda: rng.choice(("1", "4")),
            # `listing` on a store whose listings ignore RestoreStatus is a mistake the connector warns about.
            "restore_status_source": lambda: rng.choice(("", "head", "listing") if self.spec.listing_restore
                                                        else ("", "head")),
        }[name]()
        return [Setting(name, value)]

    def _operation(self, world: World, configured: list[int], window: tuple[int, int, int] | None) -> Any:
        rng = self.rng
        kind = rng.choices([k for k, _ in OP_WEIGHTS], [w for _, w in OP_WEIGHTS])[0]
        bucket = self._bucket(configured)
        name = BUCKETS[bucket]
        existing = world.keys(name)
        if window is not None:
            family, low, high = window
            near = [k for k in existing if k in {FAMILIES[family](n) for n in range(low, high + 1)}]
            existing = near or existing
        if kind == "put" or not existing:
            key = self._new_key(window)
            return Put(bucket, key, rng.choice((0, 1, 5, 17, 300)), self._salt(),
                       storage_class=rng.choice((None,) * 6 + ("GLACIER", "DEEP_ARCHIVE", "STANDARD_IA")),
                       tick=self._tick(world.latest(name, key) is None), **self._details())
        key = rng.choice(existing)
        obj = world.latest(name, key)
        if kind == "multipart":
            return MultipartPut(bucket, rng.choice((key, self._new_key(window))),
                                tuple(rng.randint(5, 20) for _ in range(rng.randint(1, 3))), self._salt(),
                                tick=self._tick())
        if kind == "overwrite":
            how = rng.choice(("same size", "new size", "identical"))
            if how == "identical":
                return Put(bucket, key, obj.size, same_bytes=True, tick=self._tick())
            size = obj.size if how == "same size" else obj.size + rng.randint(1, 9)
            return Put(bucket, key, size, self._salt(), tick=self._tick(), **self._details())
        if kind == "delete":
            return Delete(bucket, key, tick=self._tick())
        if kind == "delete_version":
            keys = world.keys_with_versions(name)
            key = rng.choice(keys) if keys else key
            count = len(world.versions(name, key))
            return DeleteVersion(bucket, key, rng.randrange(max(count, 1)), tick=self._tick())
        if kind == "copy":
            return CopyInPlace(bucket, key, ((f"c{rng.randint(0, 3)}", "yes"),), tick=self._tick())
        if kind == "transition":
            return Transition(bucket, key, rng.choice(CLASSES))
        archived = [k for k in existing if world.latest(name, k).storage_class in ARCHIVED_CLASSES]
        if kind == "restore_start":
            return RestoreStart(bucket, rng.choice(archived)) if archived else Transition(bucket, key, "GLACIER")
        if kind == "restore_complete":
            restoring = [k for k in archived if world.restore_state(name, k) == "in_progress"]
            return RestoreComplete(bucket, rng.choice(restoring), rng.randint(1, 30)) if restoring else None
        if kind == "restore_expire":
            restored = [k for k in archived if world.restore_state(name, k) == "restored"]
            return RestoreExpire(bucket, rng.choice(restored)) if restored else None
        if kind == "backdate":
            return Backdate(bucket, key, rng.choice((30, 3600, 86400 * 3)))
        twin = twin_key(key)
        return [Delete(bucket, key, tick=self._tick()), Put(bucket, twin, 3, self._salt(), tick=0)]
